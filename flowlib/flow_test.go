package flowlib_test

import (
	"math"
	"strings"
	"testing"

	"github.com/gomlx/compute/dtypes"
	. "github.com/gomlx/gomlx/core/graph" //nolint:revive
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/model"

	"github.com/flowbook/flowbook/flowlib"
	"github.com/flowbook/flowbook/flowlib/flowcheck"
)

// grid returns the centres of an n×n grid on [-lim, lim]² and the cell area.
func grid(n int, lim float64) (points []float32, cellArea float64) {
	step := 2 * lim / float64(n)
	for i := range n {
		for j := range n {
			points = append(points, float32(-lim+(float64(i)+0.5)*step), float32(-lim+(float64(j)+0.5)*step))
		}
	}
	return points, step * step
}

// TestDensitiesIntegrateToOne is the change-of-variables formula checked
// numerically: the density of a flow with random (non-identity) variables, and
// of each base distribution, integrates to 1 over the plane. For the flows,
// the same integral without the log-det term must be far from 1, or the check
// would not test the log-det at all.
//
// The noise added to the variables is small enough that the densities'
// tails stay inside the grid: a RealNVP with noise 0.2 put up to 1% of its
// mass beyond ±30 (its initial weights, drawn by the backend's random number
// generator, differ between pure Go and XLA, and so does the flow).
func TestDensitiesIntegrateToOne(t *testing.T) {
	be := testBackend(t)
	mixture := flowlib.NewGaussianMixture(3, 2)
	cases := map[string]struct {
		flow        *flowlib.Flow
		noise       float64
		hasBijector bool
	}{
		"standard_normal":   {flowlib.NewFlow(flowlib.NewStandardNormal(2)), 0.2, false},
		"diagonal_gaussian": {flowlib.NewFlow(flowlib.NewDiagonalGaussian(2)), 0.2, false},
		"mixture":           {flowlib.NewFlow(mixture), 0.2, false},
		"realnvp":           {flowlib.RealNVP(2).NumCouplings(4).Hidden(16).Done(), 0.15, true},
		"planar_radial":     {flowlib.NewFlow(flowlib.NewStandardNormal(2), flowlib.NewPlanar(2), flowlib.NewRadial(2), flowlib.NewElementwiseAffine(2)), 0.2, true},
	}
	points, area := grid(1000, 30)
	x := tensors.FromFlatDataAndDimensions(points, len(points)/2, 2)
	integral := func(logp *tensors.Tensor) float64 {
		total := 0.0
		for _, v := range tensors.MustCopyFlatData[float32](logp) {
			total += math.Exp(float64(v)) * area
		}
		return total
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			flow := tc.flow
			store := model.NewStore()
			store.SetParam(model.ParamInitialSeed, int64(3))
			// Randomise every variable (bijector and base) so the density is not
			// just the standard normal.
			asBijector := logProbAsBijector{flow}
			if err := flowcheck.RandomizeVariables(be, store, asBijector, x, tc.noise, 5); err != nil {
				t.Fatal(err)
			}
			outs := model.MustCallOnceN(be, store, func(scope *model.Scope, x *Node) []*Node {
				logp := flow.LogProb(scope, x)
				_, logDet := flow.Forward(scope, x)
				return []*Node{logp, Sub(logp, logDet)}
			}, x)
			if total := integral(outs[0]); math.Abs(total-1) > 5e-3 {
				t.Errorf("∫ p(x) dx over [-30,30]² = %.5f, want 1 (±5e-3)", total)
			}
			if tc.hasBijector {
				if without := integral(outs[1]); math.Abs(without-1) < 0.05 {
					t.Errorf("without the log-det the integral is %.5f, too close to 1 for the check to test the log-det", without)
				}
			}
		})
	}
}

// logProbAsBijector lets RandomizeVariables create a flow's variables: its
// "forward" evaluates the log-density (and returns it as the log-det).
type logProbAsBijector struct{ flow *flowlib.Flow }

func (b logProbAsBijector) Forward(scope *model.Scope, x *Node) (*Node, *Node) {
	return x, b.flow.LogProb(scope, x)
}
func (b logProbAsBijector) Inverse(scope *model.Scope, y *Node) (*Node, *Node) {
	return b.Forward(scope, y)
}

// TestSampleTemperature checks samples' shape and spread: a standard normal at
// temperature T has standard deviation T, and the flow's samples are the
// inverse of its latents.
func TestSampleTemperature(t *testing.T) {
	be := testBackend(t)
	for _, temperature := range []float64{0.5, 1} {
		store := model.NewStore()
		store.SetParam(model.ParamInitialSeed, int64(11))
		flow := flowlib.NewFlow(flowlib.NewStandardNormal(3), flowlib.NewElementwiseAffine(3))
		out := model.MustExecOnce(be, store, func(scope *model.Scope, g *Graph) *Node {
			return flow.Sample(scope, g, dtypes.Float32, 20000, temperature)
		})
		if got := out.Shape().Dimensions; got[0] != 20000 || got[1] != 3 {
			t.Fatalf("sample shape %v, want [20000 3]", got)
		}
		values := tensors.MustCopyFlatData[float32](out)
		sumSq := 0.0
		for _, v := range values {
			sumSq += float64(v) * float64(v)
		}
		std := math.Sqrt(sumSq / float64(len(values)))
		if math.Abs(std-temperature) > 0.02 {
			t.Errorf("temperature %g: sample std %.4f, want %.2f", temperature, std, temperature)
		}
	}
}

// TestMixtureSamplesFollowWeights checks the mixture sampler against its own
// log-density: the mean log-prob of its samples must match the density's
// entropy estimate from a grid, and every component must be used.
func TestMixtureSampleLogProbMatchesDensity(t *testing.T) {
	be := testBackend(t)
	store := model.NewStore()
	store.SetParam(model.ParamInitialSeed, int64(5))
	mixture := flowlib.NewGaussianMixture(4, 2)
	mixture.InitSpread = 3
	flow := flowlib.NewFlow(mixture)
	// Mean log-prob of samples (a Monte Carlo estimate of −entropy).
	lp := model.MustExecOnce(be, store, func(scope *model.Scope, g *Graph) *Node {
		_, logProb := flow.SampleWithLogProb(scope, g, dtypes.Float32, 50000, 1)
		return ReduceAllMean(logProb)
	})
	monteCarlo := float64(tensors.ToScalar[float32](lp))
	// The same integral on a grid: ∫ p log p.
	points, area := grid(1000, 30)
	x := tensors.FromFlatDataAndDimensions(points, len(points)/2, 2)
	logp := model.MustExecOnce(be, store, func(scope *model.Scope, x *Node) *Node { return flow.LogProb(scope, x) }, x)
	exact := 0.0
	for _, v := range tensors.MustCopyFlatData[float32](logp) {
		exact += math.Exp(float64(v)) * float64(v) * area
	}
	if math.Abs(monteCarlo-exact) > 0.03 {
		t.Errorf("mean log-prob of samples %.4f, but ∫ p log p = %.4f: the sampler does not follow the density", monteCarlo, exact)
	}
}

// TestActNormDataDependentInit checks that the first training-mode Forward
// sets ActNorm's variables so that the batch comes out standardised, and that
// later calls keep them.
func TestActNormDataDependentInit(t *testing.T) {
	be := testBackend(t)
	store := model.NewStore()
	layer := flowlib.NewActNorm(2)
	x := tensors.FromValue([][]float32{{1, 10}, {3, 20}, {5, 30}, {7, 40}})
	forward := func(training bool) []float32 {
		out := model.MustExecOnce(be, store, func(scope *model.Scope, x *Node) *Node {
			scope.SetTraining(x.Graph(), training)
			y, _ := layer.Forward(scope, x)
			return y
		}, x)
		return tensors.MustCopyFlatData[float32](out)
	}
	if y := forward(false); y[0] != 1 || y[1] != 10 {
		t.Fatalf("before initialisation (not training) ActNorm should be the identity, got %v", y)
	}
	y := forward(true)
	for c := range 2 {
		mean, sq := 0.0, 0.0
		for b := range 4 {
			mean += float64(y[b*2+c]) / 4
			sq += float64(y[b*2+c]) * float64(y[b*2+c]) / 4
		}
		if math.Abs(mean) > 1e-5 || math.Abs(sq-1) > 1e-4 {
			t.Errorf("feature %d after data-dependent init: mean %.3g, variance %.5f; want 0 and 1", c, mean, sq)
		}
	}
	// A second batch with other statistics must not re-initialise it.
	x = tensors.FromValue([][]float32{{100, 0}, {300, 0}})
	again := model.MustExecOnce(be, store, func(scope *model.Scope, x *Node) *Node {
		scope.SetTraining(x.Graph(), true)
		y, _ := layer.Forward(scope, x)
		return y
	}, x)
	if v := tensors.MustCopyFlatData[float32](again)[0]; math.Abs(float64(v)-(100-4)/math.Sqrt(5)) > 1e-3 {
		t.Errorf("ActNorm re-initialised on a later batch: got %v, want (100−4)/√5", v)
	}
}

// TestChainTraceAndOrder checks that a Chain's Forward trace has one tensor
// per layer and that Inverse undoes the layers in reverse order.
func TestChainTraceAndOrder(t *testing.T) {
	be := testBackend(t)
	store := model.NewStore()
	chain := flowlib.NewChain(flowlib.NewElementwiseAffine(2), flowlib.NewReversePermutation(), flowlib.NewElementwiseAffine(2))
	x := flowcheck.RandomInput(dtypes.Float32, 2, 1, 5, 2)
	if err := flowcheck.RandomizeVariables(be, store, chain, x, 0.5, 3); err != nil {
		t.Fatal(err)
	}
	outs := model.MustExecOnceN(be, store, func(scope *model.Scope, x *Node) []*Node {
		trace, logDets := chain.ForwardTrace(scope, x)
		y, _ := chain.Forward(scope, x)
		back, _ := chain.Inverse(scope, y)
		return []*Node{Const(x.Graph(), int32(len(trace))), Const(x.Graph(), int32(len(logDets))), ReduceAllMax(Abs(Sub(back, x))), ReduceAllMax(Abs(Sub(trace[3], y)))}
	}, x)
	if n := tensors.ToScalar[int32](outs[0]); n != 4 {
		t.Errorf("trace has %d tensors, want 4 (input + 3 layers)", n)
	}
	if n := tensors.ToScalar[int32](outs[1]); n != 3 {
		t.Errorf("trace has %d log-dets, want 3", n)
	}
	if e := tensors.ToScalar[float32](outs[2]); e > 1e-5 {
		t.Errorf("Chain inverse does not undo forward: error %g", e)
	}
	if e := tensors.ToScalar[float32](outs[3]); e != 0 {
		t.Errorf("last trace tensor differs from Forward's output by %g", e)
	}
}

// TestBadInputsGiveClearErrors checks that misuse fails with a message that
// names the problem, through GoMLX's executor (which turns panics into errors).
func TestBadInputsGiveClearErrors(t *testing.T) {
	be := testBackend(t)
	cases := []struct {
		name string
		b    flowlib.Bijector
		x    *tensors.Tensor
		want string
	}{
		{"wrong_dimension", flowlib.RealNVP(2).Bijector(), tensors.FromValue([][]float32{{1, 2, 3}}), "built for 2 features"},
		{"wrong_dimension_coupling", flowlib.NewAffineCoupling(flowlib.HalfMask(2), flowlib.MLP(4).Done()), tensors.FromValue([][]float32{{1, 2, 3}}), "built for dimension 2"},
		{"not_vectors", flowlib.NewAffineCoupling(flowlib.HalfMask(4), flowlib.MLP(4).Done()), tensors.FromValue([][][]float32{{{1, 2}, {3, 4}}}), "expects vector data"},
		{"bad_mask", flowlib.NewAffineCoupling(flowlib.Mask{true, true}, flowlib.MLP(4).Done()), tensors.FromValue([][]float32{{1, 2}}), "must keep at least one coordinate and transform at least one"},
		{"actnorm_features", flowlib.NewActNorm(3), tensors.FromValue([][]float32{{1, 2}}), "built for 3 features"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, _, err := flowcheck.Invertibility(be, model.NewStore(), c.b, c.x)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("got error %v, want one containing %q", err, c.want)
			}
		})
	}
	if err := flowlib.RealNVP(1).Validate(); err == nil || !strings.Contains(err.Error(), "dimension at least 2") {
		t.Errorf("RealNVP(1).Validate() = %v, want an error about the dimension", err)
	}
	if _, err := flowlib.NewPermutation([]int{0, 0, 1}); err == nil {
		t.Error("NewPermutation accepted a repeated index")
	}
}
