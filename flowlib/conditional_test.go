package flowlib_test

import (
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/gomlx/compute"
	"github.com/gomlx/compute/dtypes"
	"github.com/gomlx/compute/shapes"
	. "github.com/gomlx/gomlx/core/graph" //nolint:revive
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/model"
	"github.com/gomlx/gomlx/support/exceptions"

	"github.com/flowbook/flowbook/flowlib"
	"github.com/flowbook/flowbook/flowlib/flowcheck"
)

// givenContext is a conditional flow with its context fixed to one row for
// every example (no context if row is nil): an ordinary Bijector, so
// flowcheck can check it.
type givenContext struct {
	flow *flowlib.Flow
	row  []float64
}

func (g givenContext) context(x *Node) *Node {
	if g.row == nil {
		return nil
	}
	c := ConvertDType(Const(x.Graph(), [][]float64{g.row}), x.DType())
	return BroadcastToDims(c, x.Shape().Dimensions[0], len(g.row))
}

func (g givenContext) Forward(scope *model.Scope, x *Node) (*Node, *Node) {
	return g.flow.ForwardWithContext(scope, x, g.context(x))
}

func (g givenContext) Inverse(scope *model.Scope, y *Node) (*Node, *Node) {
	return g.flow.InverseWithContext(scope, y, g.context(y))
}

// logProb is log p(x | row) of every point of x.
func (g givenContext) logProb(be compute.Backend, store *model.Store, x *tensors.Tensor) []float64 {
	return flowcheck.ToFloat64(model.MustExecOnce(be, store, func(scope *model.Scope, x *Node) *Node {
		return g.flow.LogProbWithContext(scope, x, g.context(x))
	}, x))
}

// gridPoints is the square [−half, half]² sampled every step, and the area of one cell.
func gridPoints(half, step float64) (*tensors.Tensor, float64) {
	var xy []float64
	n := int(math.Round(2*half/step)) + 1
	for i := range n {
		for j := range n {
			xy = append(xy, -half+float64(i)*step, -half+float64(j)*step)
		}
	}
	return tensors.FromFlatDataAndDimensions(xy, n*n, 2), step * step
}

// integral is ∫ p over the grid: ≈ 1 for a density with its mass inside it.
func integral(logProbs []float64, cell float64) float64 {
	total := 0.0
	for _, lp := range logProbs {
		total += math.Exp(lp) * cell
	}
	return total
}

// randomized creates the variables of the flow (run with a context) and
// adds noise to all of them, so that the checks see a general flow rather
// than the identity it starts as.
func randomized(t *testing.T, be compute.Backend, g givenContext, scale float64) *model.Store {
	t.Helper()
	store := model.NewStore()
	x := flowcheck.RandomInput(dtypes.Float64, 2, 1, 8, 2)
	g.logProb(be, store, x)
	if err := flowcheck.RandomizeVariables(be, store, g, x, scale, 5); err != nil {
		t.Fatal(err)
	}
	return store
}

// conditionalFlow is a small conditional flow on the plane with a
// one-number context, with a conditional base or a fixed one.
func conditionalFlow(conditionalBase bool) *flowlib.Flow {
	mlp := flowlib.MLP(16).Activation("tanh").Done()
	var base flowlib.Distribution = flowlib.NewStandardNormal(2)
	if conditionalBase {
		base = flowlib.NewConditionalDiagonalGaussian(mlp, 2)
	}
	return flowlib.NewFlow(base,
		flowlib.NewAffineCoupling(flowlib.HalfMask(2), mlp),
		flowlib.NewActNorm(2),
		flowlib.NewAffineCoupling(flowlib.HalfMask(2).Flip(), mlp),
		flowlib.NewCoupling(flowlib.HalfMask(2), mlp, flowlib.Additive{}))
}

// TestConditionalFlow checks p(x | c) for three contexts: it is a density
// for each (it integrates to 1 over the plane), it changes with the context
// (through the conditioners alone, or with the base too), it inverts with the
// exact log-det, and its samples' log-probs are those LogProbWithContext gives.
func TestConditionalFlow(t *testing.T) {
	be := testBackend(t)
	grid, cell := gridPoints(12, 0.08)
	for _, conditionalBase := range []bool{false, true} {
		name := map[bool]string{false: "fixed_base", true: "conditional_base"}[conditionalBase]
		t.Run(name, func(t *testing.T) {
			flow := conditionalFlow(conditionalBase)
			store := randomized(t, be, givenContext{flow, []float64{0}}, 0.1)
			var densities [][]float64
			for _, c := range []float64{-1, 0, 1} {
				g := givenContext{flow, []float64{c}}
				lp := g.logProb(be, store, grid)
				total := integral(lp, cell)
				t.Logf("context %g: ∫ p(x | c) dx = %.5f", c, total)
				if math.Abs(total-1) > 1e-3 {
					t.Errorf("context %g: ∫ p(x | c) dx = %.4f over the grid, want 1 ± 0.001", c, total)
				}
				densities = append(densities, lp)
				x := flowcheck.RandomInput(dtypes.Float64, 2, 9, 16, 2)
				roundTrip, logDetSum, err := flowcheck.Invertibility(be, store, g, x)
				if err != nil {
					t.Fatal(err)
				}
				ldErr, err := flowcheck.LogDetError(be, store, g, x)
				if err != nil {
					t.Fatal(err)
				}
				if roundTrip > 1e-9 || logDetSum > 1e-9 || ldErr > 1e-6 {
					t.Errorf("context %g: round trip %.2e, forward+inverse log-det %.2e, log-det vs brute force %.2e; "+
						"want < 1e-9, 1e-9, 1e-6", c, roundTrip, logDetSum, ldErr)
				}
			}
			if d := maxAbsDiff(densities[0], densities[2]); d < 0.1 {
				t.Errorf("log p(x | c = −1) and log p(x | c = 1) differ by at most %.3f: the context does not reach the flow", d)
			}

			// Samples: one per context row, and their log-probs are the model's.
			context := tensors.FromFlatDataAndDimensions([]float64{-1, -0.5, 0, 0.5, 1, 1}, 6, 1)
			outs := model.MustExecOnceN(be, store, func(scope *model.Scope, c *Node) []*Node {
				x, logProb := flow.SampleWithLogProbAndContext(scope, c, 1)
				return []*Node{x, ReduceAllMax(Abs(Sub(logProb, flow.LogProbWithContext(scope, x, c))))}
			}, context)
			if dims := outs[0].Shape().Dimensions; !slices.Equal(dims, []int{6, 2}) {
				t.Errorf("SampleWithContext gave shape %v, want [6 2]", dims)
			}
			if d := outs[1].Value().(float64); d > 1e-9 {
				t.Errorf("the samples' log-probs differ from LogProbWithContext by %.2e", d)
			}
		})
	}
}

func maxAbsDiff(a, b []float64) float64 {
	d := 0.0
	for i := range a {
		d = max(d, math.Abs(a[i]-b[i]))
	}
	return d
}

// TestFlowAsBase puts a RealNVP flow under another flow's layers: the
// result is a density, and its samples' log-probs are its own.
func TestFlowAsBase(t *testing.T) {
	be := testBackend(t)
	inner := flowlib.RealNVP(2).NumCouplings(2).Hidden(8).Done()
	outer := flowlib.NewFlow(inner, flowlib.NewAffineCoupling(flowlib.HalfMask(2), flowlib.MLP(8).Done()), flowlib.NewActNorm(2))
	if got := outer.EventShape(); !slices.Equal(got, []int{2}) {
		t.Fatalf("EventShape() = %v, want [2]", got)
	}
	store := randomized(t, be, givenContext{outer, nil}, 0.1)
	var innerVariables int
	for v := range store.IterVariables() {
		if strings.HasPrefix(v.Scope(), "/base/bijector") {
			innerVariables++
		}
	}
	if innerVariables == 0 {
		t.Fatal("no variables under /base/bijector: the inner flow's layers did not run")
	}
	grid, cell := gridPoints(12, 0.08)
	lp := flowcheck.ToFloat64(model.MustExecOnce(be, store, func(scope *model.Scope, x *Node) *Node {
		return outer.LogProb(scope, x)
	}, grid))
	total := integral(lp, cell)
	t.Logf("∫ p(x) dx = %.5f", total)
	if math.Abs(total-1) > 1e-3 {
		t.Errorf("∫ p(x) dx = %.4f over the grid, want 1 ± 0.001", total)
	}
	d := model.MustExecOnce(be, store, func(scope *model.Scope, g *Graph) *Node {
		x, logProb := outer.SampleWithLogProb(scope, g, dtypes.Float64, 64, 1)
		return ReduceAllMax(Abs(Sub(logProb, outer.LogProb(scope, x))))
	}).Value().(float64)
	if d > 1e-9 {
		t.Errorf("the samples' log-probs differ from LogProb by %.2e", d)
	}
}

// TestContextErrors checks that a context that does not fit, or a missing
// one, is refused while the graph is built, with a message that says so.
func TestContextErrors(t *testing.T) {
	be := testBackend(t)
	flow := conditionalFlow(true)
	x := flowcheck.RandomInput(dtypes.Float64, 1, 1, 4, 2)
	cases := []struct {
		name string
		fn   func(scope *model.Scope, x *Node) *Node
		want string
	}{
		{"wrong_rows", func(scope *model.Scope, x *Node) *Node {
			return flow.LogProbWithContext(scope, x, Zeros(x.Graph(), shapes.Make(x.DType(), 3, 1)))
		}, "one context row per example"},
		{"wrong_dtype", func(scope *model.Scope, x *Node) *Node {
			return flow.LogProbWithContext(scope, x, Zeros(x.Graph(), shapes.Make(dtypes.Float32, 4, 1)))
		}, "convert the context"},
		{"no_context", func(scope *model.Scope, x *Node) *Node {
			return flow.LogProb(scope, x)
		}, "needs a context"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := exceptions.TryCatch[error](func() { model.MustExecOnce(be, model.NewStore(), tc.fn, x) })
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("got error %v, want one containing %q", err, tc.want)
			}
		})
	}
}
