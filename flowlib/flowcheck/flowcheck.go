// Package flowcheck checks bijectors numerically: that they invert, that
// their log-determinants are right, and that training can reach every
// variable. The library's tests, the exercise graders and the notebooks all
// use these same checks.
//
// Every check takes a backend, a [model.Store] holding the bijector's
// variables (the bijector is built in the store's root scope), the bijector
// and a batch x of shape [batchSize, ...], float32 or float64. The results are
// plain numbers, so a test can compare them with its own tolerance:
//
//   - [Invertibility]: max |f⁻¹(f(x)) − x| and max |log|det J_f(x)| + log|det J_f⁻¹(f(x))||.
//   - [LogDetError]: max |returned log-det − log|det J||, where J is the brute-force
//     Jacobian [Jacobian] (one reverse-mode pass per output coordinate, since
//     GoMLX has no Jacobian op) and log|det J| is computed in float64 by LU
//     decomposition ([LogAbsDet]).
//   - [GradientsReach]: the variables that the gradient of a maximum-likelihood
//     loss does not reach.
//
// Layers that start as the identity (zero-initialised conditioners, ActNorm)
// would pass the first two checks trivially: call [RandomizeVariables] first.
package flowcheck

import (
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/gomlx/compute"
	"github.com/gomlx/compute/dtypes"
	. "github.com/gomlx/gomlx/core/graph" //nolint:revive
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/model"

	"github.com/flowbook/flowbook/flowlib"
	"github.com/flowbook/flowbook/flowlib/internal/graphpanic"
	"github.com/flowbook/flowbook/flowlib/internal/linalg"
)

// Invertibility runs x through Forward and back through Inverse and returns
// the largest absolute round-trip error max|f⁻¹(f(x)) − x| and the largest
// |logDetForward + logDetInverse| (which must be 0: the inverse's Jacobian is
// the inverse matrix, whose determinant is the reciprocal).
func Invertibility(backend compute.Backend, store *model.Store, b flowlib.Bijector, x *tensors.Tensor) (roundTrip, logDetSum float64, err error) {
	outs, err := run(backend, store, x, func(scope *model.Scope, x *Node) []*Node {
		y, ldF := b.Forward(scope, x)
		back, ldI := b.Inverse(scope, y)
		checkLogDet("Forward", ldF, x.Shape().Dimensions[0])
		checkLogDet("Inverse", ldI, x.Shape().Dimensions[0])
		return []*Node{ReduceAllMax(Abs(Sub(back, x))), ReduceAllMax(Abs(Add(ldF, ldI)))}
	})
	if err != nil {
		return 0, 0, err
	}
	return scalar(outs[0]), scalar(outs[1]), nil
}

// Jacobian returns the brute-force Jacobian of Forward at each example,
// jac[b][i][j] = ∂y_i/∂x_j (coordinates flattened), and the log-det Forward
// returned. Examples do not interact, so row i for the whole batch is the
// gradient of Σ_batch y_i with respect to x.
func Jacobian(backend compute.Backend, store *model.Store, b flowlib.Bijector, x *tensors.Tensor) (jac [][][]float64, logDet []float64, err error) {
	batch, dim := x.Shape().Dimensions[0], x.Shape().Size()/x.Shape().Dimensions[0]
	outs, err := run(backend, store, x, func(scope *model.Scope, x *Node) []*Node {
		y, ld := b.Forward(scope, x)
		checkLogDet("Forward", ld, batch)
		flat := Reshape(y, batch, dim)
		rows := make([]*Node, dim)
		for i := range dim {
			grad := Gradient(ReduceAllSum(SliceAxis(flat, 1, AxisElem(i))), x)[0]
			rows[i] = Reshape(grad, batch, 1, dim)
		}
		return []*Node{Concatenate(rows, 1), ld} // [batch, dim, dim]
	})
	if err != nil {
		return nil, nil, err
	}
	values := ToFloat64(outs[0])
	jac = make([][][]float64, batch)
	for e := range batch {
		jac[e] = make([][]float64, dim)
		for i := range dim {
			jac[e][i] = values[(e*dim+i)*dim : (e*dim+i+1)*dim]
		}
	}
	return jac, ToFloat64(outs[1]), nil
}

// LogDetError returns max over the batch of |log-det returned by Forward −
// log|det J|| with J the brute-force [Jacobian].
func LogDetError(backend compute.Backend, store *model.Store, b flowlib.Bijector, x *tensors.Tensor) (float64, error) {
	jac, logDet, err := Jacobian(backend, store, b, x)
	if err != nil {
		return 0, err
	}
	worst := 0.0
	for e := range jac {
		want := LogAbsDet(jac[e])
		worst = math.Max(worst, math.Abs(want-logDet[e]))
		if math.IsNaN(want) || math.IsNaN(logDet[e]) {
			return math.NaN(), nil
		}
	}
	return worst, nil
}

// LogAbsDet returns log|det m| of a square matrix by LU decomposition with
// partial pivoting, in float64: the sum of log|pivot|. It returns −Inf for a
// singular matrix.
func LogAbsDet(m [][]float64) float64 { return linalg.LogAbsDet(m) }

// GradientsReach builds the maximum-likelihood loss of x under a standard
// normal base, mean(½‖f(x)‖² − log|det J|), and returns the paths of the
// trainable variables that the bijector used whose gradient is exactly zero
// or not finite. An empty result means training can move every variable.
func GradientsReach(backend compute.Backend, store *model.Store, b flowlib.Bijector, x *tensors.Tensor) (unreached []string, err error) {
	var used []*model.Variable
	outs, err := run(backend, store, x, func(scope *model.Scope, x *Node) []*Node {
		y, ld := b.Forward(scope, x)
		loss := ReduceAllMean(Sub(MulScalar(ReduceSum(Square(Reshape(y, y.Shape().Dimensions[0], -1)), 1), 0.5), ld))
		g := x.Graph()
		used = used[:0]
		var nodes []*Node
		for v := range store.IterVariables() {
			if v.Trainable && v.InUseByGraph(g) {
				used = append(used, v)
				nodes = append(nodes, v.NodeValue(g))
			}
		}
		if len(nodes) == 0 {
			return []*Node{ScalarZero(g, x.DType())}
		}
		grads := Gradient(loss, nodes...)
		norms := make([]*Node, len(grads))
		for i, gr := range grads {
			norms[i] = ReduceAllSum(Abs(gr))
		}
		return norms
	})
	if err != nil {
		return nil, err
	}
	for i, v := range used {
		if n := scalar(outs[i]); n == 0 || math.IsNaN(n) || math.IsInf(n, 0) {
			unreached = append(unreached, v.Path())
		}
	}
	return unreached, nil
}

// RandomizeVariables creates the bijector's variables (by running Forward on
// x once) and adds Gaussian noise of standard deviation scale to every
// trainable one, so that layers initialised as the identity are checked as
// the general maps they become during training.
func RandomizeVariables(backend compute.Backend, store *model.Store, b flowlib.Bijector, x *tensors.Tensor, scale float64, seed uint64) error {
	if _, err := run(backend, store, x, func(scope *model.Scope, x *Node) []*Node {
		y, _ := b.Forward(scope, x)
		return []*Node{ReduceAllSum(y)}
	}); err != nil {
		return err
	}
	rng := rand.New(rand.NewPCG(seed, seed+1))
	for v := range store.IterVariables() {
		if !v.Trainable || !v.DType().IsFloat() {
			continue
		}
		value, err := v.Value()
		if err != nil {
			return err
		}
		noisy := ToFloat64(value)
		for i := range noisy {
			noisy[i] += scale * rng.NormFloat64()
		}
		if err := v.SetValue(FromFloat64(noisy, value.DType(), value.Shape().Dimensions...)); err != nil {
			return err
		}
	}
	return nil
}

// RandomInput returns a [dims...] tensor of the given dtype with entries
// uniform in [−maxAbs, maxAbs], reproducible from seed.
func RandomInput(dtype dtypes.DType, maxAbs float64, seed uint64, dims ...int) *tensors.Tensor {
	rng := rand.New(rand.NewPCG(seed, seed^0xabcdef))
	size := 1
	for _, d := range dims {
		size *= d
	}
	values := make([]float64, size)
	for i := range values {
		values[i] = maxAbs * (2*rng.Float64() - 1)
	}
	return FromFloat64(values, dtype, dims...)
}

// run executes fn(root scope, x) once and returns its outputs; graph-building
// panics come back as errors.
func run(backend compute.Backend, store *model.Store, x *tensors.Tensor, fn func(*model.Scope, *Node) []*Node) ([]*tensors.Tensor, error) {
	if x.Shape().Rank() < 2 {
		return nil, fmt.Errorf("flowcheck: x must have shape [batchSize, ...], got %s", x.Shape())
	}
	// Failures must be error panics raised inside the graph function: GoMLX
	// v0.28.16 recovers nothing else, and the deferred Finalize then waits
	// forever (see graphpanic). A nil output would panic only after the
	// function returns, so it is checked here.
	exec, err := model.NewExec(backend, store, func(scope *model.Scope, x *Node) []*Node {
		defer graphpanic.AsError()
		outs := fn(scope, x)
		for i, out := range outs {
			if out == nil {
				panic(fmt.Errorf("flowcheck: result %d of the check is a nil node: the bijector returned nil (an unwritten Forward or Inverse, or a missing log-det?)", i))
			}
		}
		return outs
	})
	if err != nil {
		return nil, err
	}
	defer exec.Finalize()
	return exec.Call(x)
}

// checkLogDet fails the check, with an error GoMLX reports, when a log-det is
// not one value per example.
func checkLogDet(direction string, logDet *Node, batch int) {
	if logDet == nil {
		return // reported as a nil result by run
	}
	if dims := logDet.Shape().Dimensions; len(dims) != 1 || dims[0] != batch {
		panic(fmt.Errorf("flowcheck: %s returned a log-det of shape %v, want [%d]: one value per example (was it summed over the batch?)", direction, dims, batch))
	}
}

func scalar(t *tensors.Tensor) float64 { return ToFloat64(t)[0] }

// ToFloat64 returns a float32 or float64 tensor's values, flattened
// row-major, as float64: the counterpart of [FromFloat64], for comparing
// results in float64. It panics on a tensor of another dtype.
func ToFloat64(t *tensors.Tensor) []float64 {
	var out []float64
	t.MustConstFlatData(func(flat any) {
		switch f := flat.(type) {
		case []float32:
			out = make([]float64, len(f))
			for i, v := range f {
				out[i] = float64(v)
			}
		case []float64:
			out = append([]float64(nil), f...)
		default:
			panic(fmt.Sprintf("flowcheck.ToFloat64: expected a float32 or float64 tensor, got %s", t.Shape()))
		}
	})
	return out
}

// FromFloat64 returns values (row-major, of the given dimensions) as a tensor
// of dtype, float32 or float64: test inputs built in float64 for either dtype.
func FromFloat64(values []float64, dtype dtypes.DType, dims ...int) *tensors.Tensor {
	if dtype == dtypes.Float64 {
		return tensors.FromFlatDataAndDimensions(values, dims...)
	}
	f32 := make([]float32, len(values))
	for i, v := range values {
		f32[i] = float32(v)
	}
	return tensors.FromFlatDataAndDimensions(f32, dims...)
}
