package flowlib_test

import (
	"errors"
	"math"
	"testing"

	"github.com/gomlx/compute"
	"github.com/gomlx/compute/dtypes"
	. "github.com/gomlx/gomlx/core/graph" //nolint:revive
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/model"

	"github.com/flowbook/flowbook/flowlib"
	"github.com/flowbook/flowbook/flowlib/flowcheck"
)

// residualBlock is a small block of dimension dim with the exact log-det.
func residualBlock(dim int) *flowlib.ResidualBlock {
	chain := flowlib.ResidualFlow(dim).NumBlocks(1).ActNorm(false).Hidden(8).
		LogDet(flowlib.LogDetExact, 0).Bijector()
	return chain.Layers[0].(*flowlib.ResidualBlock)
}

// TestResidualBlockPassesToolkit checks a residual block with the exact
// log-det in float32 and float64: the fixed-point inverse round trip, the
// log-det against the brute-force Jacobian, gradients reaching every
// trainable variable; and a two-block ResidualFlow with ActNorms.
func TestResidualBlockPassesToolkit(t *testing.T) {
	be := testBackend(t)
	for _, dtype := range []dtypes.DType{dtypes.Float32, dtypes.Float64} {
		t.Run(dtype.String(), func(t *testing.T) {
			passesToolkit(t, be, residualBlock(3), dtype, 3, 2)
		})
	}
	t.Run("flow", func(t *testing.T) {
		chain := flowlib.ResidualFlow(2).NumBlocks(2).Hidden(8).Activation("elu").LogDet(flowlib.LogDetExact, 0).Bijector()
		passesToolkit(t, be, chain, dtypes.Float64, 2, 2)
	})
}

// spectralNorm is the largest singular value of m [in][out], by power
// iteration on mᵀm to convergence.
func spectralNorm(m [][]float64) float64 {
	in, out := len(m), len(m[0])
	u := make([]float64, out)
	for j := range u {
		u[j] = 1 + 0.1*float64(j)
	}
	sigma := 0.0
	for range 500 {
		v := make([]float64, in)
		for i := range in {
			for j := range out {
				v[i] += m[i][j] * u[j]
			}
		}
		nu := make([]float64, out)
		for j := range out {
			for i := range in {
				nu[j] += m[i][j] * v[i]
			}
		}
		n := 0.0
		for _, x := range nu {
			n += x * x
		}
		n = math.Sqrt(n)
		sigma = math.Sqrt(n)
		for j := range nu {
			u[j] = nu[j] / n
		}
	}
	return sigma
}

// TestResidualLipschitz measures Lip(g) < 1: with large random weights
// (far above the bound before normalisation), every normalised weight's
// exact spectral norm is at most c = 0.9 (to 1%), and the largest spectral
// norm of J_g over 64 random points, the local Lipschitz constant, is
// below c.
func TestResidualLipschitz(t *testing.T) {
	be := testBackend(t)
	block := residualBlock(3)
	block.PowerIterations = 30
	store := model.NewStore()
	store.SetParam(model.ParamInitialSeed, int64(9))
	x := flowcheck.RandomInput(dtypes.Float64, 3, 2, 64, 3)
	if err := flowcheck.RandomizeVariables(be, store, block, x, 2, 5); err != nil {
		t.Fatal(err)
	}
	weights, err := model.ExecOnceN(be, store, func(scope *model.Scope, x *Node) []*Node { return block.Weights(scope, x) }, x)
	if err != nil {
		t.Fatal(err)
	}
	bound := 1.0
	for i, w := range weights {
		dims := w.Shape().Dimensions
		flat := flowcheck.ToFloat64(w)
		m := make([][]float64, dims[0])
		for r := range m {
			m[r] = flat[r*dims[1] : (r+1)*dims[1]]
		}
		s := spectralNorm(m)
		bound *= s
		t.Logf("layer %d: spectral norm %.4f (c = %g)", i, s, block.Coefficient)
		if s > block.Coefficient*1.01 {
			t.Errorf("layer %d: spectral norm %.4f above c = %g", i, s, block.Coefficient)
		}
	}
	jac, _, err := flowcheck.Jacobian(be, store, block, x)
	if err != nil {
		t.Fatal(err)
	}
	lip := 0.0
	for _, j := range jac {
		for i := range j {
			j[i][i]-- // J_g = J − I
		}
		lip = math.Max(lip, spectralNorm(j))
	}
	t.Logf("Lip(g): product of spectral norms %.4f, max ‖J_g‖₂ over 64 points %.4f", bound, lip)
	if lip >= block.Coefficient || bound >= 1 {
		t.Errorf("g is not a contraction: max ‖J_g‖ = %.4f, bound %.4f", lip, bound)
	}
}

// logDetRows runs Forward of block on n copies of x (each row gets its
// own probe) and returns the log-dets and their gradients with respect to
// the rows.
func logDetRows(t *testing.T, be compute.Backend, store *model.Store, block flowlib.Bijector, x []float64, n int) (ld []float64, grad []float64) {
	t.Helper()
	rows := make([]float64, 0, n*len(x))
	for range n {
		rows = append(rows, x...)
	}
	out, err := model.ExecOnceN(be, store, func(scope *model.Scope, x *Node) []*Node {
		_, ld := block.Forward(scope, x)
		return []*Node{ld, Gradient(ReduceAllSum(ld), x)[0]}
	}, flowcheck.FromFloat64(rows, dtypes.Float64, n, len(x)))
	if err != nil {
		t.Fatal(err)
	}
	return flowcheck.ToFloat64(out[0]), flowcheck.ToFloat64(out[1])
}

// TestResidualLogDetEstimators checks i-ResNet's series estimator and the
// Russian roulette against the exact log-det of a random block at one
// point, over 3000 probes: means within 4 standard errors, variances
// reported; and the roulette's Neumann-series gradient (with respect to the
// input) against the exact log-det's gradient; gradients of both reach
// every variable.
func TestResidualLogDetEstimators(t *testing.T) {
	be := testBackend(t)
	block := residualBlock(3)
	store := model.NewStore()
	store.SetParam(model.ParamInitialSeed, int64(11))
	x := flowcheck.RandomInput(dtypes.Float64, 2, 3, 1, 3)
	if err := flowcheck.RandomizeVariables(be, store, block, x, 1, 6); err != nil {
		t.Fatal(err)
	}
	point := flowcheck.ToFloat64(x)
	exact, exactGrad := logDetRows(t, be, store, block, point, 1)
	const n = 3000
	for _, tc := range []struct {
		mode  flowlib.LogDetMode
		terms int
	}{{flowlib.LogDetSeries, 12}, {flowlib.LogDetRoulette, 12}} {
		b := *block
		b.LogDet, b.Terms = tc.mode, tc.terms
		if unreached, err := flowcheck.GradientsReach(be, store, &b, x); err != nil || len(unreached) > 0 {
			t.Errorf("%s: the gradient does not reach %v (%v)", tc.mode, unreached, err)
		}
		ld, grad := logDetRows(t, be, store, &b, point, n)
		mean, se := meanSE(ld)
		t.Logf("%s (%d terms): mean %.5f ± %.5f (SE), exact %.5f, variance %.5f", tc.mode, tc.terms, mean, se, exact[0], se*se*n)
		if math.Abs(mean-exact[0]) > 4*se+1e-4 {
			t.Errorf("%s: mean %.5f ± %.5f is not the exact %.5f", tc.mode, mean, se, exact[0])
		}
		for d := range 3 {
			col := make([]float64, n)
			for i := range n {
				col[i] = grad[i*3+d]
			}
			gm, gse := meanSE(col)
			t.Logf("  ∂/∂x_%d: mean %.5f ± %.5f, exact %.5f", d, gm, gse, exactGrad[d])
			if math.Abs(gm-exactGrad[d]) > 4*gse+1e-4 {
				t.Errorf("%s: gradient %d: mean %.5f ± %.5f is not the exact %.5f", tc.mode, d, gm, gse, exactGrad[d])
			}
		}
	}
}

// TestResidualErrors checks a fixed point that cannot converge (one
// iteration, a tolerance of 1e-12) gives ErrFixedPointNotConverged, and bad
// configurations give ParamErrors naming the key.
func TestResidualErrors(t *testing.T) {
	be := testBackend(t)
	flow := flowlib.ResidualFlow(2).NumBlocks(1).Hidden(8).LogDet(flowlib.LogDetExact, 0).Inverse(1, 1e-12).Done()
	store := model.NewStore()
	z := tensors.FromValue([][]float64{{0.5, -1}, {2, 1}})
	if err := flowcheck.RandomizeVariables(be, store, flow.Bijector, z, 1, 1); err != nil {
		t.Fatal(err)
	}
	if _, err := flowlib.InvertResidual(be, store, flow, z); !errors.Is(err, flowlib.ErrFixedPointNotConverged) {
		t.Errorf("one iteration: got %v, want ErrFixedPointNotConverged", err)
	}
	flow = flowlib.ResidualFlow(2).NumBlocks(1).Hidden(8).LogDet(flowlib.LogDetExact, 0).Done()
	if _, err := flowlib.InvertResidual(be, store, flow, z); err != nil {
		t.Errorf("100 iterations: %v", err)
	}
	if _, err := flowlib.InvertResidual(be, store, flow, tensors.FromValue([][]float64{{math.Inf(1), 0}})); err == nil {
		t.Error("InvertResidual of an Inf: no error")
	}
	for _, tc := range []struct {
		config *flowlib.ResidualFlowConfig
		key    string
	}{
		{flowlib.ResidualFlow(2).Coefficient(1), flowlib.ParamResFlowCoefficient},
		{flowlib.ResidualFlow(2).Activation("relu6"), flowlib.ParamResFlowActivation},
		{flowlib.ResidualFlow(2).LogDet("taylor", 3), flowlib.ParamResFlowLogDet},
		{flowlib.ResidualFlow(2).LogDet(flowlib.LogDetSeries, 0), flowlib.ParamResFlowTerms},
		{flowlib.ResidualFlow(2).RouletteP(1), flowlib.ParamResFlowRouletteP},
		{flowlib.ResidualFlow(2).Inverse(0, 1e-5), flowlib.ParamResFlowMaxIterations},
		{flowlib.ResidualFlow(2).Inverse(10, 0), flowlib.ParamResFlowTolerance},
		{flowlib.ResidualFlow(2).NumBlocks(0), flowlib.ParamResFlowBlocks},
		{flowlib.ResidualFlow(2).PowerIterations(0), flowlib.ParamResFlowPowerIterations},
	} {
		var perr *flowlib.ParamError
		if err := tc.config.Validate(); !errors.As(err, &perr) || perr.Key != tc.key {
			t.Errorf("%s: got %v, want a ParamError for %s", tc.config, err, tc.key)
		}
	}
}
