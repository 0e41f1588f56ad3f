package flowlib_test

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/gomlx/compute"
	"github.com/gomlx/compute/dtypes"
	"github.com/gomlx/compute/shapes"
	. "github.com/gomlx/gomlx/core/graph" //nolint:revive
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/model"

	"github.com/flowbook/flowbook/flowlib"
	"github.com/flowbook/flowbook/flowlib/flowcheck"
	"github.com/flowbook/flowbook/flowlib/internal/graphpanic"
)

// splineRun evaluates fn on inputs with a fresh store and returns its outputs as float64.
func splineRun(t *testing.T, be compute.Backend, fn func(in []*Node) []*Node, inputs ...any) [][]float64 {
	t.Helper()
	exec, err := model.NewExec(be, model.NewStore(), func(_ *model.Scope, in []*Node) []*Node {
		defer graphpanic.AsError()
		return fn(in)
	})
	if err != nil {
		t.Fatal(err)
	}
	defer exec.Finalize()
	outs, err := exec.Call(inputs...)
	if err != nil {
		t.Fatal(err)
	}
	var res [][]float64
	for _, o := range outs {
		res = append(res, flowcheck.ToFloat64(o))
	}
	return res
}

// splineParams spreads raw [P] to P parameters of x's shape [N, 1].
func splineParams(raw, x *Node) []*Node {
	n := raw.Shape().Dimensions[0]
	params := make([]*Node, n)
	for j := range params {
		params[j] = BroadcastToDims(Reshape(SliceAxis(raw, 0, AxisElem(j)), 1, 1), x.Shape().Dimensions...)
	}
	return params
}

// TestRationalQuadraticSpline checks the spline transform at its knots
// (bin edges, ±B among them), inside its bins, in its tails and beyond, for
// ordinary, zero and extreme (±1e4) raw parameters: the inverse undoes the
// forward map, the log-dets of both directions cancel, the forward log-det
// matches a central finite difference of the forward map (float64,
// ordinary parameters), the tails are the identity, the map is increasing,
// and nothing is NaN.
func TestRationalQuadraticSpline(t *testing.T) {
	be := testBackend(t)
	spline := flowlib.RationalQuadraticSpline{Bins: 5, Bound: 3}
	p := spline.ParamsPerValue()
	if p != 14 {
		t.Fatalf("ParamsPerValue %d, want 3·5−1 = 14", p)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	ordinary, steep, extreme, zero := make([]float64, p), make([]float64, p), make([]float64, p), make([]float64, p)
	for j := range ordinary {
		ordinary[j] = 0.5 * rng.NormFloat64()
		steep[j] = 1.5 * rng.NormFloat64()    // bins with slopes from e⁻¹⁰ to e³
		extreme[j] = 1e4 * float64(1-2*(j%2)) // +1e4, −1e4, ...: the smallest and largest bins and derivatives
		if j%3 == 0 {
			extreme[j] = -extreme[j]
		}
	}
	for _, dtype := range []dtypes.DType{dtypes.Float64, dtypes.Float32} {
		for _, tc := range []struct {
			name string
			raw  []float64
			// Tolerances for the round trip and |log-det f + log-det f⁻¹|,
			// in float64 and float32 (0: not checked), and for the finite
			// difference (float64 only; 0: not checked: on steep bins the
			// second derivative makes a central difference inaccurate).
			trip64, trip32, sum64, sum32, finiteDiff float64
		}{
			{"ordinary", ordinary, 1e-12, 1e-5, 1e-12, 1e-4, 1e-5}, // O(h) at the knots, where d²y/dx² jumps
			{"zero (identity)", zero, 1e-15, 1e-6, 1e-15, 1e-6, 1e-6},
			{"steep", steep, 1e-11, 1e-5, 1e-9, 1e-3, 0},
			// Float32 cannot resolve where within a bin 0.006 wide with slopes
			// from 1e-3 to 1e4 a value came from: only finite and close.
			{"extreme", extreme, 1e-9, 1e-4, 1e-7, 0, 0},
		} {
			tripTol, sumTol := tc.trip64, tc.sum64
			if dtype == dtypes.Float32 {
				tripTol, sumTol = tc.trip32, tc.sum32
			}
			t.Run(fmt.Sprintf("%s/%s", dtype, tc.name), func(t *testing.T) {
				raw := flowcheck.FromFloat64(tc.raw, dtype, p)
				knots := splineRun(t, be, func(in []*Node) []*Node {
					xs, ys, ds := spline.Knots(splineParams(in[0], Zeros(in[0].Graph(), shapes.Make(in[0].DType(), 1, 1))))
					return []*Node{xs, ys, ds}
				}, raw)
				xs, ys, ds := knots[0], knots[1], knots[2]
				if xs[0] != -3 || xs[5] != 3 || ys[0] != -3 || ys[5] != 3 || ds[0] != 1 || ds[5] != 1 {
					t.Fatalf("knots xs %v ys %v derivatives %v: want ends at ±3 with derivative 1", xs, ys, ds)
				}
				// The points: every knot, points inside every bin, the tails.
				points := slices.Clone(xs)
				for k := range 5 {
					for _, f := range []float64{0.01, 0.3, 0.5, 0.77, 0.99} {
						points = append(points, xs[k]+f*(xs[k+1]-xs[k]))
					}
				}
				points = append(points, -3.001, 3.001, -4, 4.5, -50, 1e3)
				slices.Sort(points)
				n := len(points)
				const h = 1e-6
				shifted := func(d float64) *tensors.Tensor {
					v := make([]float64, n)
					for i := range v {
						v[i] = points[i] + d
					}
					return flowcheck.FromFloat64(v, dtype, n, 1)
				}
				outs := splineRun(t, be, func(in []*Node) []*Node {
					params := splineParams(in[1], in[0])
					y, ld := spline.Forward(in[0], params)
					back, ldInv := spline.Inverse(y, params)
					yPlus, _ := spline.Forward(in[2], params)
					yMinus, _ := spline.Forward(in[3], params)
					return []*Node{y, ld, back, ldInv, yPlus, yMinus}
				}, shifted(0), raw, shifted(h), shifted(-h))
				y, ld, back, ldInv, yPlus, yMinus := outs[0], outs[1], outs[2], outs[3], outs[4], outs[5]
				worstTrip, worstSum, worstFD := 0.0, 0.0, 0.0
				for i, x := range points {
					for _, v := range []float64{y[i], ld[i], back[i], ldInv[i]} {
						if math.IsNaN(v) || math.IsInf(v, 0) {
							t.Fatalf("x = %g: non-finite result (y %g, log-det %g, inverse %g, its log-det %g)", x, y[i], ld[i], back[i], ldInv[i])
						}
					}
					if math.Abs(x) > 3 && (y[i] != float64(float32(x)) && y[i] != x || ld[i] != 0) {
						t.Errorf("x = %g in the tail: y = %g, log-det %g; want the identity", x, y[i], ld[i])
					}
					if i > 0 && y[i] < y[i-1] {
						t.Errorf("not increasing: f(%g) = %g < f(%g) = %g", x, y[i], points[i-1], y[i-1])
					}
					// A flat stretch (dy/dx ≪ 1) turns y's rounding error δ into
					// δ/(dy/dx) in x: measure the error in y's units there.
					worstTrip = math.Max(worstTrip, math.Abs(back[i]-x)*math.Min(1, math.Exp(ld[i]))/math.Max(1, math.Abs(x)))
					worstSum = math.Max(worstSum, math.Abs(ld[i]+ldInv[i]))
					if tc.finiteDiff > 0 && dtype == dtypes.Float64 {
						fd := (yPlus[i] - yMinus[i]) / (2 * h)
						worstFD = math.Max(worstFD, math.Abs(math.Exp(ld[i])-fd)/fd)
					}
				}
				if worstTrip > tripTol {
					t.Errorf("round trip error %.3g > %.3g", worstTrip, tripTol)
				}
				if sumTol > 0 && worstSum > sumTol {
					t.Errorf("|log-det forward + log-det inverse| = %.3g > %.3g", worstSum, sumTol)
				}
				if worstFD > tc.finiteDiff {
					t.Errorf("dy/dx = exp(log-det) differs from the finite difference by %.3g (relative) > %g", worstFD, tc.finiteDiff)
				}
				t.Logf("%d points: round trip %.2g, log-det sum %.2g, log-det vs finite difference %.2g (relative)", n, worstTrip, worstSum, worstFD)
			})
		}
	}
}

// TestSplineFlowsPassTheToolkit checks the spline in an IAF layer, on
// inputs reaching into the tails, in float32 and float64: the spline's
// coupling (NSF-C) and MAF (NSF-AR) layers are checked as the NSF builder
// makes them, with permutations, by TestVectorFlowsPassTheToolkit.
func TestSplineFlowsPassTheToolkit(t *testing.T) {
	be := testBackend(t)
	const dim = 4
	spline := flowlib.RationalQuadraticSpline{Bins: 6, Bound: 2}
	made := flowlib.MADE(16).Activation("tanh").Done()
	for _, dtype := range toolkitDTypes() {
		for _, tc := range []struct {
			name string
			b    flowlib.Bijector
		}{
			{"spline_iaf", flowlib.NewIAFLayer(made, spline)},
		} {
			t.Run(fmt.Sprintf("%s/%s", dtype, tc.name), func(t *testing.T) {
				passesToolkit(t, be, tc.b, dtype, dim, 3)
			})
		}
	}
}

// TestSplineImageCouplings checks the spline in image couplings, with a
// ConvNet conditioner and checkerboard and channel masks, on values that
// reach into the tails, in float32 and float64.
func TestSplineImageCouplings(t *testing.T) {
	be := testBackend(t)
	spline := flowlib.RationalQuadraticSpline{Bins: 4, Bound: 1.5}
	conv := flowlib.ConvNet(4).Done()
	for _, dtype := range toolkitDTypes() {
		for _, tc := range []struct {
			name string
			b    flowlib.Bijector
		}{
			{"checkerboard", flowlib.NewChain(flowlib.NewCoupling(flowlib.CheckerboardMask(4, 4), conv, spline),
				flowlib.NewCoupling(flowlib.CheckerboardMask(4, 4).Flip(), conv, spline))},
			{"channels", flowlib.NewChain(flowlib.NewCoupling(flowlib.ChannelMask(2), conv, spline),
				flowlib.NewCoupling(flowlib.ChannelMask(2).Flip(), conv, spline))},
		} {
			t.Run(fmt.Sprintf("%s/%s", dtype, tc.name), func(t *testing.T) {
				x := flowcheck.RandomInput(dtype, 2, 1, 2, 4, 4, 2)
				s, err := flowcheck.Randomized(be, tc.b, x, 0.1, 2)
				if err != nil {
					t.Fatal(err)
				}
				if s.RoundTrip > 1e-4 || s.LogDetSum > 1e-4 || s.LogDetError > 1e-3 || math.IsNaN(s.LogDetError) {
					t.Errorf("%s; want round trip and log-det sum ≤ 1e-4, log-det error ≤ 1e-3", s)
				}
				t.Log(s)
			})
		}
	}
}
