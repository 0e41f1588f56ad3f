package residual

import (
	"fmt"
	"math"
	"slices"
	"testing"

	. "github.com/gomlx/gomlx/core/graph" //nolint:revive
	"github.com/gomlx/gomlx/ml/model"

	"github.com/flowbook/flowbook/exercises/internal/grading"
	"github.com/flowbook/flowbook/flowlib"
)

// refPathVariant is flow matching's x_t and u_t ("") or what a plausible
// mistake computes: "no-sigma" (u = x₁ − x₀, x_t = (1 − t)x₀ + t·x₁),
// "target-no-sigma" (x_t right, u = x₁ − x₀), "swapped" (x₀ and x₁
// exchanged), "t-flipped" (t and 1 − t exchanged), "sigma-on-x1"
// (x_t = (1 − t)·x₀ + t·(1 − σ)·x₁: σ_min on the data's coefficient).
func refPathVariant(x0, x1 []float64, t, s float64, variant string) (xt, ut []float64) {
	xt, ut = make([]float64, len(x0)), make([]float64, len(x0))
	for i := range x0 {
		a, b := x0[i], x1[i]
		if variant == "swapped" {
			a, b = b, a
		}
		tt := t
		if variant == "t-flipped" {
			tt = 1 - t
		}
		xt[i] = (1-(1-s)*tt)*a + tt*b
		ut[i] = b - (1-s)*a
		switch variant {
		case "no-sigma":
			xt[i], ut[i] = (1-t)*a+t*b, b-a
		case "target-no-sigma":
			ut[i] = b - a
		case "sigma-on-x1":
			xt[i], ut[i] = (1-t)*a+t*(1-s)*b, (1-s)*b-a
		}
	}
	return xt, ut
}

// refFMField is a nonlinear time-dependent field in D = 3, on the host,
// and refFMFieldGraph the same in graph ops (t [batchSize], z [batchSize, 3]).
var refFMBias = []float64{0.4, -0.2, 0.9}

func refFMField(t float64, z []float64) []float64 {
	return grading.Map(z, func(i int, v float64) float64 { return 0.7*math.Tanh(v) + t*refFMBias[i] - 0.3*z[(i+1)%3] })
}

func refFMFieldGraph(_ *model.Scope, t, z *Node) *Node {
	g := z.Graph()
	shifted := Concatenate([]*Node{Slice(z, AxisRange(), AxisRange(1, 3)), Slice(z, AxisRange(), AxisRange(0, 1))}, 1)
	return Sub(Add(MulScalar(Tanh(z), 0.7), Mul(Reshape(t, -1, 1), Const(g, [][]float64{refFMBias}))), MulScalar(shifted, 0.3))
}

// refFMLossVariant is the loss ("") or a plausible mistake's: "at-x0" (the
// field evaluated at x₀), "at-x1", "mean" (averaged over the dimensions),
// "target-no-sigma".
func refFMLossVariant(f VectorField, x0, x1 []float64, t, s float64, variant string) float64 {
	xt, ut := refPathVariant(x0, x1, t, s, "")
	switch variant {
	case "at-x0":
		xt = x0
	case "at-x1":
		xt = x1
	case "target-no-sigma":
		_, ut = refPathVariant(x0, x1, t, s, "target-no-sigma")
	}
	v := f(t, xt)
	loss := 0.0
	for i := range ut {
		loss += (v[i] - ut[i]) * (v[i] - ut[i])
	}
	if variant == "mean" {
		loss /= float64(len(ut))
	}
	return loss
}

func TestFlowMatching(t *testing.T) {
	grading.Run(t, func(c *grading.C) {
		for n, tc := range []struct {
			d     int
			t, s  float64
			label string
		}{
			{3, 0.3, 0.1, ""}, {5, 0.77, 0.05, ""}, {2, 0, 0.2, " (t = 0: the path starts at x₀)"},
			{4, 1, 0.1, " (t = 1: the path ends at x₁ + σ_min·x₀)"}, {3, 0.5, 0, " (σ_min = 0: a straight line from x₀ to x₁)"},
		} {
			x0, x1 := graderVector(tc.d, uint64(200+n)), grading.Add(grading.Fill(tc.d, 2), graderVector(tc.d, uint64(300+n)))
			what := fmt.Sprintf("FlowMatchingPath(x₀, x₁, t = %g, σ_min = %g) in D = %d%s", tc.t, tc.s, tc.d, tc.label)
			g0, g1 := slices.Clone(x0), slices.Clone(x1)
			xt, ut := FlowMatchingPath(g0, g1, tc.t, tc.s)
			if xt == nil || ut == nil {
				c.Fatalf("%s", grading.Explain(what, fmt.Sprintf("x_t and u_t, %d values each", tc.d), "nil",
					"FlowMatchingPath returns nil: is it still the stub? Write its body (see its doc comment)"))
			}
			if !slices.Equal(g0, x0) || !slices.Equal(g1, x1) {
				c.Fatalf("%s", grading.Explain(what+": x₀ and x₁ after the call", "unchanged", "changed", "FlowMatchingPath changed its inputs: return new slices"))
			}
			wantX, wantU := refPathVariant(x0, x1, tc.t, tc.s, "")
			xMistakes, uMistakes := []grading.VecDiagnosis{}, []grading.VecDiagnosis{}
			for _, m := range []struct{ variant, hint string }{
				{"swapped", "x₀ and x₁ are swapped: the path starts at the base sample x₀ (t = 0) and ends at the data x₁ (t = 1): x_t = (1 − (1 − σ_min)t)·x₀ + t·x₁"},
				{"t-flipped", "t and 1 − t are swapped: at t = 0 the path is at x₀, at t = 1 near x₁: x_t = (1 − (1 − σ_min)t)·x₀ + t·x₁"},
				{"target-no-sigma", "the target ignores σ_min: u_t = d x_t/dt = x₁ − (1 − σ_min)·x₀, not x₁ − x₀"},
				{"no-sigma", "σ_min is left out: x_t = (1 − (1 − σ_min)t)·x₀ + t·x₁, u_t = x₁ − (1 − σ_min)·x₀ (the path ends at x₁ + σ_min·x₀, not at x₁)"},
				{"sigma-on-x1", "σ_min shrinks the base's coefficient, not the data's: x_t = (1 − (1 − σ_min)t)·x₀ + t·x₁"},
			} {
				vx, vu := refPathVariant(x0, x1, tc.t, tc.s, m.variant)
				if !grading.AllNear(vx, wantX, 1e-12) {
					xMistakes = append(xMistakes, grading.VecMistake(vx, m.hint))
				}
				if !grading.AllNear(vu, wantU, 1e-12) {
					uMistakes = append(uMistakes, grading.VecMistake(vu, m.hint))
				}
			}
			if !c.CloseEach(what+": x_t", xt, wantX, 1e-12, "x_t = (1 − (1 − σ_min)·t)·x₀ + t·x₁", xMistakes...) {
				return
			}
			if !c.CloseEach(what+": u_t", ut, wantU, 1e-12, "u_t = x₁ − (1 − σ_min)·x₀", uMistakes...) {
				return
			}
			// u_t is the velocity of the path: d x_t/dt by central differences of your own x_t.
			const h = 1e-4
			up, _ := FlowMatchingPath(x0, x1, tc.t+h, tc.s)
			down, _ := FlowMatchingPath(x0, x1, tc.t-h, tc.s)
			fd := grading.Map(up, func(i int, v float64) float64 { return (v - down[i]) / (2 * h) })
			if !c.CloseEach(what+": u_t against d x_t/dt (central differences of your x_t)", ut, fd, 1e-8,
				"u_t is the time derivative of the path x_t: with x_t = (1 − (1 − σ_min)t)·x₀ + t·x₁ it is x₁ − (1 − σ_min)·x₀") {
				return
			}
		}
		// The endpoints.
		x0, x1 := graderVector(4, 401), graderVector(4, 402)
		for _, s := range []float64{0, 0.1} {
			start, _ := FlowMatchingPath(x0, x1, 0, s)
			end, _ := FlowMatchingPath(x0, x1, 1, s)
			if !c.CloseEach(fmt.Sprintf("FlowMatchingPath at t = 0 (σ_min = %g): x₀", s), start, x0, 1e-14, "the path starts at the base sample: x_0 = x₀") ||
				!c.CloseEach(fmt.Sprintf("FlowMatchingPath at t = 1 (σ_min = %g): x₁ + σ_min·x₀", s), end, grading.Add(x1, grading.Scale(s, x0)), 1e-14,
					"the path ends at the data point, blurred by σ_min: x_1 = x₁ + σ_min·x₀") {
				return
			}
		}

		// The loss, against the grader's, with a nonlinear field.
		for n, tc := range []struct{ t, s float64 }{{0.25, 0.1}, {0.9, 0}, {0.6, 0.05}} {
			x0, x1 := graderVector(3, uint64(500+n)), grading.Add(grading.Fill(3, -1), graderVector(3, uint64(600+n)))
			what := fmt.Sprintf("FlowMatchingLoss(f, x₀, x₁, t = %g, σ_min = %g) for f(t, z) = 0.7·tanh(z) + t·b − 0.3·(z shifted)", tc.t, tc.s)
			got := FlowMatchingLoss(refFMField, slices.Clone(x0), slices.Clone(x1), tc.t, tc.s)
			want := refFMLossVariant(refFMField, x0, x1, tc.t, tc.s, "")
			if !c.Close(what, got, want, 1e-12, "Σ_d (f(t, x_t)_d − (u_t)_d)², with x_t and u_t from FlowMatchingPath",
				grading.Mistake(refFMLossVariant(refFMField, x0, x1, tc.t, tc.s, "at-x0"), "the field is evaluated at x₀: regress f(t, x_t), at the point of the path at time t"),
				grading.Mistake(refFMLossVariant(refFMField, x0, x1, tc.t, tc.s, "at-x1"), "the field is evaluated at x₁: regress f(t, x_t), at the point of the path at time t"),
				grading.Mistake(refFMLossVariant(refFMField, x0, x1, tc.t, tc.s, "mean"), "the squares are averaged over the dimensions: the loss is their sum, Σ_d"),
				grading.Mistake(refFMLossVariant(refFMField, x0, x1, tc.t, tc.s, "target-no-sigma"), "the target ignores σ_min: u_t = x₁ − (1 − σ_min)·x₀")) {
				return
			}
		}

		// Against flowlib's CNF.FlowMatchingLoss: its times t (drawn in the graph) and its x_t, read off its field.
		const batch, sigma = 6, 0.08
		x0s, x1s := graderVector(batch*3, 701), grading.Add(grading.Fill(batch*3, 1.5), graderVector(batch*3, 702))
		var seenT, seenX *Node
		cnf := &flowlib.CNF{Dim: 3, Activation: "tanh", Steps: 1, Trace: flowlib.TraceExact, SigmaMin: sigma, Objective: flowlib.ObjectiveFlowMatching,
			FieldFunc: func(scope *model.Scope, t, z *Node) *Node {
				seenT, seenX = t, z
				return refFMFieldGraph(scope, t, z)
			}}
		outs := grading.ExecModel(c, "flowlib's CNF.FlowMatchingLoss on the same field (the grader's reference)", model.NewStore(),
			func(scope *model.Scope, x1, x0 *Node) (*Node, *Node, *Node) {
				loss := cnf.FlowMatchingLoss(scope, x1, x0)
				return loss, seenT, seenX
			}, grading.Tensor(x1s, batch, 3), grading.Tensor(x0s, batch, 3))
		loss, ts, xts := grading.Values(outs[0]), grading.Values(outs[1]), grading.Values(outs[2])
		for i := range batch {
			x0, x1 := x0s[3*i:3*i+3], x1s[3*i:3*i+3]
			what := fmt.Sprintf("example %d of flowlib's CNF.FlowMatchingLoss (σ_min = %g, its t = %.4f)", i, sigma, ts[i])
			xt, _ := FlowMatchingPath(slices.Clone(x0), slices.Clone(x1), ts[i], sigma)
			if !c.CloseEach(what+": your x_t against the point flowlib's loss evaluates its field at", xt, xts[3*i:3*i+3], 1e-12,
				"your path must agree with flowlib's at the same t") {
				return
			}
			if !c.Close(what+": your FlowMatchingLoss against flowlib's", FlowMatchingLoss(refFMField, slices.Clone(x0), slices.Clone(x1), ts[i], sigma), loss[i], 1e-10,
				"your loss must agree with flowlib's on the same field, pair and t") {
				return
			}
		}
		c.Logf("FlowMatchingPath and FlowMatchingLoss agree with flowlib's CNF.FlowMatchingLoss on %d pairs", batch)
	})
}
