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
	"github.com/flowbook/flowbook/flowlib/flowcheck"
)

// refNonlinearODE is a nonlinear, time-dependent field in D = 3 that
// counts its calls and panics, with a message, on a state of the wrong length.
func refNonlinearODE(calls *int) VectorField {
	return func(t float64, y []float64) []float64 {
		if calls != nil {
			*calls++
		}
		if len(y) != 3 {
			panic(fmt.Sprintf("the vector field takes 3 values, got %d", len(y)))
		}
		return []float64{
			-y[1] + math.Sin(t)*y[0],
			y[0]*y[2] - 0.5*t,
			math.Cos(y[0]) - y[2]*(1+t*t),
		}
	}
}

// graderRK4Mistakes are the steps of the plausible RK4 mistakes, with hints.
func graderRK4Mistakes(f VectorField, t float64, y []float64, h float64) []grading.VecDiagnosis {
	var out []grading.VecDiagnosis
	for _, m := range []struct{ variant, hint string }{
		{"euler", "that is Euler's step, y + h·f(t, y): RK4 combines four slopes, y + (h/6)·(k1 + 2·k2 + 2·k3 + k4)"},
		{"midpoint", "that is the midpoint method (RK2), y + h·k2: RK4 goes on to k3 and k4 and combines all four, (h/6)·(k1 + 2·k2 + 2·k3 + k4)"},
		{"equal-weights", "the slopes are weighted equally, (h/4)·(k1 + k2 + k3 + k4): the midpoint slopes count double, (h/6)·(k1 + 2·k2 + 2·k3 + k4)"},
		{"times-t", "k2 and k3 are evaluated at time t: they are slopes at the middle of the step, f(t + h/2, …) (and k4 at t + h)"},
		{"k4-half", "k4 is the slope at the end of the step, f(t + h, y + h·k3), not at t + h/2"},
		{"k4-from-k2", "k4 = f(t + h, y + h·k3): it uses k3, the last midpoint slope, not k2"},
		{"no-h6", "the combination is multiplied by h/6: y + (h/6)·(k1 + 2·k2 + 2·k3 + k4)"},
	} {
		out = append(out, grading.VecMistake(refRK4StepVariant(f, t, y, h, m.variant), m.hint))
	}
	return append(out, grading.VecMistake(y, "the step returns y unchanged: return y + (h/6)·(k1 + 2·k2 + 2·k3 + k4)"))
}

// refRotation is the damped rotation A = [[−0.3, 2], [−2, −0.3]].
var refRotation = [][]float64{{-0.3, 2}, {-2, -0.3}}

func TestRK4Step(t *testing.T) {
	grading.Run(t, func(c *grading.C) {
		for n, tc := range []struct{ t, h float64 }{{0, 0.1}, {0.7, -0.25}, {-1.3, 0.5}, {2, 1e-3}, {0.4, 0.8}} {
			calls := 0
			f := refNonlinearODE(&calls)
			y := grading.Scale(0.8, graderVector(3, uint64(80+n)))
			what := fmt.Sprintf("RK4Step(f, t = %g, y, h = %g) for dy/dt = (−y₁ + sin(t)·y₀, y₀y₂ − t/2, cos(y₀) − y₂(1 + t²))", tc.t, tc.h)
			given := slices.Clone(y)
			calls = 0
			got := RK4Step(f, tc.t, given, tc.h)
			used := calls
			if got == nil {
				c.Fatalf("%s", grading.Explain(what, "3 values", "nil", "RK4Step returns nil: is it still the stub? Write its body (see its doc comment)"))
			}
			if !slices.Equal(given, y) {
				c.Fatalf("%s", grading.Explain(what+": y after the call", grading.Short(y), grading.Short(given),
					"RK4Step changed y: build each stage's point y + a·k in a new slice, and return a new slice"))
			}
			want := refRK4Step(refNonlinearODE(nil), tc.t, y, tc.h)
			if !c.CloseEach(what, got, want, 1e-13, "k1 = f(t, y), k2 = f(t + h/2, y + (h/2)k1), k3 = f(t + h/2, y + (h/2)k2), k4 = f(t + h, y + h·k3); y + (h/6)(k1 + 2k2 + 2k3 + k4)",
				graderRK4Mistakes(refNonlinearODE(nil), tc.t, y, tc.h)...) {
				return
			}
			if used != 4 {
				c.Fatalf("%s", grading.Explain(what+": the calls of f", "4 (k1, k2, k3, k4)", fmt.Sprint(used),
					"one RK4 step evaluates f four times: its number of function evaluations (NFE) is 4"))
			}
		}

		// f of t alone: RK4 is Simpson's rule, exact for cubics.
		p := func(t float64) []float64 { return []float64{1 - 2*t + 3*t*t - 0.5*t*t*t, 4 * t * t * t} }
		pInt := func(t float64) []float64 {
			return []float64{t - t*t + t*t*t - 0.125*t*t*t*t, t * t * t * t}
		}
		for _, tc := range []struct{ t, h float64 }{{0, 1}, {-0.5, 2}, {1.5, -0.75}} {
			y := []float64{0.3, -1.2}
			got := RK4Step(func(t float64, _ []float64) []float64 { return p(t) }, tc.t, slices.Clone(y), tc.h)
			a, b := pInt(tc.t+tc.h), pInt(tc.t)
			want := grading.Map(y, func(i int, v float64) float64 { return v + a[i] - b[i] })
			if !c.CloseEach(fmt.Sprintf("RK4Step for dy/dt = (1 − 2t + 3t² − t³/2, 4t³), a cubic in t alone, from t = %g with h = %g: exact (RK4 is Simpson's rule there)", tc.t, tc.h),
				got, want, 1e-12, "for f(t) alone RK4 is Simpson's rule, exact for cubics: check the times t, t + h/2, t + h/2, t + h and the weights 1, 2, 2, 1 over 6",
				graderRK4Mistakes(func(t float64, _ []float64) []float64 { return p(t) }, tc.t, y, tc.h)...) {
				return
			}
		}

		// The global order: error ∝ h⁴ over a fixed interval.
		y0 := []float64{1, 0.5}
		exact := refMatVec(refExpm(refScale(2, refRotation)), y0)
		linear := func(_ float64, y []float64) []float64 { return refMatVec(refRotation, y) }
		var errs []float64
		for _, steps := range []int{8, 16, 32} {
			y := slices.Clone(y0)
			h := 2 / float64(steps)
			for i := range steps {
				y = RK4Step(linear, float64(i)*h, y, h)
			}
			errs = append(errs, refNorm2(grading.Add(y, grading.Scale(-1, exact))))
		}
		for i := range 2 {
			order := math.Log2(errs[i] / errs[i+1])
			if !(order > 3.6 && order < 4.5) {
				hint := "halving h must divide RK4's error by about 2⁴ = 16"
				switch {
				case order > 0.6 && order < 1.4:
					hint = "the error halves with h: that is a first-order method (Euler's)"
				case order > 1.6 && order < 2.4:
					hint = "the error falls as h²: a second-order method (the midpoint method, or wrong weights or times)"
				case order > 2.6 && order < 3.4:
					hint = "the error falls as h³: one of the stages is off (the times or the weights of k1 … k4)"
				}
				c.Fatalf("%s", grading.Explain(fmt.Sprintf("the order of RK4Step on dy/dt = Ay (a damped rotation) over [0, 2]: log₂(error with %d steps / error with %d steps)", 8<<i, 16<<i),
					"4 (between 3.6 and 4.5)", fmt.Sprintf("%.3g (errors %.3g, %.3g)", order, errs[i], errs[i+1]), hint))
			}
		}
		c.Logf("RK4Step on a damped rotation, 8/16/32 steps: errors %.3g, %.3g, %.3g (order %.2f, %.2f)",
			errs[0], errs[1], errs[2], math.Log2(errs[0]/errs[1]), math.Log2(errs[1]/errs[2]))

		// Against flowlib.RK4, in a graph: six steps backwards from t = 0.2 to −0.7.
		m := [][]float64{{0.4, -1.1, 0.3}, {0.9, 0.2, -0.5}, {-0.6, 0.8, 0.1}}
		host := func(t float64, y []float64) []float64 {
			return grading.Map(refMatVec(m, y), func(_ int, v float64) float64 { return (1 + t) * math.Tanh(v) })
		}
		start := []float64{0.7, -0.4, 1.2}
		lib := grading.Values(grading.Exec(c, "flowlib.RK4 on the same ODE (the grader's reference)", func(y0 *Node) *Node {
			mt := Const(y0.Graph(), grading.Transpose(m))
			field := func(t *Node, y []*Node) []*Node {
				my := Reshape(MatMul(Reshape(y[0], 1, 3), mt), 3)
				return []*Node{Mul(OnePlus(t), Tanh(my))}
			}
			return flowlib.RK4(field, []*Node{y0}, 0.2, -0.7, 6)[0]
		}, grading.Tensor(start, 3))[0])
		y := slices.Clone(start)
		h := -0.9 / 6
		for i := range 6 {
			y = RK4Step(host, 0.2+float64(i)*h, y, h)
		}
		if c.CloseEach("six RK4Step calls from t = 0.2 to t = −0.7 (h = −0.15) for dy/dt = (1 + t)·tanh(My), against flowlib.RK4", y, lib, 1e-12,
			"your steps must agree with flowlib.RK4's on the same ODE, backwards in time too (h < 0)") {
			c.Logf("six steps backwards agree with flowlib.RK4")
		}
	})
}

// refField is a vector field with its Jacobian, and its description.
type refField struct {
	name string
	f    VectorField
	jac  Jacobian
}

// refLinearField is f(t, z) = s(t)·A z, with ∂f/∂z = s(t)·A.
func refLinearField(name string, a [][]float64, s func(t float64) float64) refField {
	return refField{name,
		func(t float64, z []float64) []float64 { return grading.Scale(s(t), refMatVec(a, z)) },
		func(t float64, _ []float64) [][]float64 { return refScale(s(t), a) }}
}

// refTanhField is f(t, z) = 0.8·tanh(W z + t·b + c) + t·B z in D = 3, with
// its Jacobian 0.8·diag(1 − tanh²)·W + t·B.
var refTanhW = [][]float64{{0.9, -0.7, 0.4}, {0.3, 0.8, -1.1}, {-0.5, 0.6, 0.7}}
var refTanhB = [][]float64{{0.2, 0.5, 0}, {-0.4, 0.1, 0.3}, {0.6, -0.2, -0.3}}
var refTanhBias, refTanhShift = []float64{0.5, -1, 0.8}, []float64{0.1, 0.3, -0.4}

func refTanhField() refField {
	pre := func(t float64, z []float64) []float64 {
		return grading.Map(refMatVec(refTanhW, z), func(i int, v float64) float64 { return v + t*refTanhBias[i] + refTanhShift[i] })
	}
	return refField{"f(t, z) = 0.8·tanh(Wz + t·b + c) + t·Bz, nonlinear and time-dependent",
		func(t float64, z []float64) []float64 {
			bz := refMatVec(refTanhB, z)
			return grading.Map(pre(t, z), func(i int, v float64) float64 { return 0.8*math.Tanh(v) + t*bz[i] })
		},
		func(t float64, z []float64) [][]float64 {
			a := pre(t, z)
			j := make([][]float64, 3)
			for i := range j {
				j[i] = make([]float64, 3)
				d := 0.8 * (1 - math.Tanh(a[i])*math.Tanh(a[i]))
				for k := range j[i] {
					j[i][k] = d*refTanhW[i][k] + t*refTanhB[i][k]
				}
			}
			return j
		}}
}

// refTanhFieldGraph is refTanhField in graph ops, as a CNF's FieldFunc: t a
// scalar or [batchSize], z [batchSize, 3].
func refTanhFieldGraph(_ *model.Scope, t, z *Node) *Node {
	g := z.Graph()
	tc := Reshape(t, -1, 1)
	pre := Add(Add(MatMul(z, Const(g, grading.Transpose(refTanhW))), Mul(tc, Const(g, [][]float64{refTanhBias}))), Const(g, [][]float64{refTanhShift}))
	return Add(MulScalar(Tanh(pre), 0.8), Mul(tc, MatMul(z, Const(g, grading.Transpose(refTanhB)))))
}

// refDet is det m by elimination with partial pivoting.
func refDet(m [][]float64) float64 {
	a := graderClone(m)
	det := 1.0
	for k := range a {
		p := k
		for i := k + 1; i < len(a); i++ {
			if math.Abs(a[i][k]) > math.Abs(a[p][k]) {
				p = i
			}
		}
		if p != k {
			a[k], a[p] = a[p], a[k]
			det = -det
		}
		det *= a[k][k]
		for i := k + 1; i < len(a); i++ {
			f := a[i][k] / a[k][k]
			for j := k; j < len(a); j++ {
				a[i][j] -= f * a[k][j]
			}
		}
	}
	return det
}

// refCNFVariant integrates [z, ℓ] as CNFLogDensity does ("") or as a
// plausible mistake does: "trace-sign" (dℓ/dt = −tr), "forward" (from
// t = 0 to 1 with h = +1/steps), "times-from-0" (step i at t = i·h),
// "times-up" (step i at t = i/steps while stepping back), "det"
// (dℓ/dt = det ∂f/∂z); the log-density is then formed with the mistakes
// "base-at-x", "no-normaliser" and "no-logdet" too.
func refCNFVariant(fl refField, x []float64, steps int, variant string) (z0 []float64, logProb float64) {
	d := len(x)
	aug := func(t float64, y []float64) []float64 {
		z := y[:d]
		out := append(fl.f(t, z), 0)
		j := fl.jac(t, z)
		switch variant {
		case "det":
			out[d] = refDet(j)
		case "trace-sign":
			out[d] = -refTrace(j)
		default:
			out[d] = refTrace(j)
		}
		return out
	}
	y := append(slices.Clone(x), 0)
	h := -1 / float64(steps)
	for i := range steps {
		t := 1 + float64(i)*h
		step := h
		switch variant {
		case "forward":
			t, step = float64(i)/float64(steps), -h
		case "times-from-0":
			t = float64(i) * h
		case "times-up":
			t = float64(i) / float64(steps)
		}
		y = refRK4Step(aug, t, y, step)
	}
	z0 = y[:d]
	switch variant {
	case "base-at-x":
		return z0, refLogNormal(x) + y[d]
	case "no-normaliser":
		return z0, refLogNormal(z0) + 0.5*float64(d)*math.Log(2*math.Pi) + y[d]
	case "no-logdet":
		return z0, refLogNormal(z0)
	}
	return z0, refLogNormal(z0) + y[d]
}

// graderCNFMistakes are the log-densities of the plausible mistakes, with hints.
func graderCNFMistakes(fl refField, x []float64, steps int) []grading.Diagnosis {
	var out []grading.Diagnosis
	for _, m := range []struct{ variant, hint string }{
		{"trace-sign", "the trace enters with the wrong sign: ℓ accumulates +tr(∂f/∂z) as t runs from 1 down to 0 (h < 0), so ℓ(0) = −∫₀¹ tr dt, and log p(x) = log N(z0) + ℓ(0)"},
		{"forward", "the integration runs from t = 0 to t = 1: the data are at t = 1 and the base at t = 0, so start at z = x, t = 1, and step back with h = −1/steps"},
		{"times-from-0", "the steps start at t = 0: the integration starts at t = 1 and goes down, step i starting at t = 1 + i·h with h = −1/steps"},
		{"times-up", "the time runs the wrong way: stepping back from t = 1 with h = −1/steps, step i starts at t = 1 + i·h = 1 − i/steps, not i/steps"},
		{"det", "that is the determinant of ∂f/∂z: the instantaneous change of variables takes its trace, d log p/dt = −tr(∂f/∂z)"},
		{"base-at-x", "the base density is evaluated at x: it is the density of the latent, log N(z0; 0, I), at the end of the integration"},
		{"no-normaliser", "the normalising constant −(D/2)·log 2π of the standard normal is missing"},
		{"no-logdet", "the accumulated trace is missing: log p(x) = log N(z0) + ℓ(0), with ℓ(0) = −∫₀¹ tr(∂f/∂z) dt"},
	} {
		_, lp := refCNFVariant(fl, x, steps, m.variant)
		out = append(out, grading.Mistake(lp, m.hint))
	}
	return out
}

// graderCNFZMistakes are the z0 of the plausible mistakes in the times, with hints.
func graderCNFZMistakes(fl refField, x []float64, steps int) []grading.VecDiagnosis {
	var out []grading.VecDiagnosis
	for _, m := range []struct{ variant, hint string }{
		{"forward", "z went forwards from t = 0 to 1: the data are at t = 1, so integrate back to t = 0 (h = −1/steps)"},
		{"times-from-0", "the steps start at t = 0: the integration starts at t = 1 and goes down, step i starting at t = 1 + i·h"},
		{"times-up", "the time runs the wrong way: step i of h = −1/steps starts at t = 1 − i/steps, not i/steps"},
	} {
		v, _ := refCNFVariant(fl, x, steps, m.variant)
		out = append(out, grading.VecMistake(v, m.hint))
	}
	return out
}

func TestCNFLogDensity(t *testing.T) {
	grading.Run(t, func(c *grading.C) {
		a2 := refWithNorm(graderMatrix(2, 2, 91), 0.8)
		a3 := refWithNorm(graderMatrix(3, 3, 92), 1.1)
		const steps = 64
		// Linear fields, against the closed form: z0 = e^{−∫s}·x, log p = log N(z0) − ∫s·tr A.
		for _, tc := range []struct {
			field refField
			a     [][]float64
			integ float64 // ∫₀¹ s(t) dt
		}{
			{refLinearField("the linear field f = Az (2×2 A)", a2, func(float64) float64 { return 1 }), a2, 1},
			{refLinearField("the linear field f = Az (3×3 A)", a3, func(float64) float64 { return 1 }), a3, 1},
			{refLinearField("the field f = (1 + t)·Az (3×3 A)", a3, func(t float64) float64 { return 1 + t }), a3, 1.5},
		} {
			for _, x := range [][]float64{graderVector(len(tc.a), 93), grading.Scale(2, graderVector(len(tc.a), 94))} {
				what := fmt.Sprintf("CNFLogDensity(f, ∂f/∂z, x, %d steps) for %s at x = %s", steps, tc.field.name, grading.Short(x))
				given := slices.Clone(x)
				z0, lp := CNFLogDensity(tc.field.f, tc.field.jac, given, steps)
				if z0 == nil {
					c.Fatalf("%s", grading.Explain(what, fmt.Sprintf("z0 (%d values) and log p(x)", len(x)), "nil",
						"CNFLogDensity returns nil: is it still the stub? Write its body (see its doc comment)"))
				}
				if !slices.Equal(given, x) {
					c.Fatalf("%s", grading.Explain(what+": x after the call", grading.Short(x), grading.Short(given), "CNFLogDensity changed x: integrate a copy"))
				}
				if len(z0) != len(x) {
					c.Fatalf("%s", grading.Explain(what+": the number of values of z0", fmt.Sprint(len(x)), fmt.Sprint(len(z0)),
						"z0 is the point at t = 0, D values (without the accumulated ℓ)"))
				}
				wantZ := refMatVec(refExpm(refScale(-tc.integ, tc.a)), x)
				wantLP := refLogNormal(wantZ) - tc.integ*refTrace(tc.a)
				if !c.CloseEach(what+": z0 against the closed form e^{−∫A}·x", z0, wantZ, 1e-7,
					"z0 = z(0), from z(1) = x integrated back with dz/dt = f(t, z)",
					append(graderCNFZMistakes(tc.field, x, steps), grading.VecMistake(x, "z0 is x itself: integrate z from t = 1 to 0"))...) {
					return
				}
				if !c.Close(what+": log p(x) against the closed form log N(e^{−∫A}x) − ∫tr A", lp, wantLP, 1e-7,
					"log p(x) = log N(z0; 0, I) + ℓ(0), with ℓ(0) = ∫₁⁰ tr(∂f/∂z) dt = −∫₀¹ tr dt",
					graderCNFMistakes(tc.field, x, steps)...) {
					return
				}
			}
		}

		// A nonlinear, time-dependent field.
		fl := refTanhField()
		xs := [][]float64{{0.5, -1, 0.3}, {1.5, 0.3, -0.8}, {-2, 2, 1}}
		var learner []float64
		for _, x := range xs {
			what := fmt.Sprintf("CNFLogDensity(f, ∂f/∂z, x = %s, 16 steps) for %s", grading.Short(x), fl.name)
			z0, lp := CNFLogDensity(fl.f, fl.jac, slices.Clone(x), 16)
			if len(z0) != 3 {
				c.Fatalf("%s", grading.Explain(what+": the number of values of z0", "3", fmt.Sprint(len(z0)), "z0 is the point at t = 0"))
			}
			wantZ, wantLP := refCNFVariant(fl, x, 16, "")
			if !c.CloseEach(what+": z0, against the grader's RK4 on [z, ℓ]", z0, wantZ, 1e-10,
				"16 RK4 steps of h = −1/16 from z = x at t = 1, step i starting at t = 1 + i·h", graderCNFZMistakes(fl, x, 16)...) {
				return
			}
			if !c.Close(what+": log p(x), against the grader's RK4 on [z, ℓ]", lp, wantLP, 1e-10,
				"integrate [z, ℓ] together (dℓ/dt = tr ∂f/∂z at the same stages as z), then log N(z0) + ℓ(0)",
				graderCNFMistakes(fl, x, 16)...) {
				return
			}
			// The change of variables itself: ℓ(0) is log|det ∂z0/∂x|, by central differences of your z0.
			z0, lp = CNFLogDensity(fl.f, fl.jac, slices.Clone(x), steps)
			learner = append(learner, lp)
			jac := make([][]float64, 3)
			for i := range jac {
				jac[i] = make([]float64, 3)
			}
			const eps = 1e-5
			for k := range 3 {
				up, down := slices.Clone(x), slices.Clone(x)
				up[k] += eps
				down[k] -= eps
				zu, _ := CNFLogDensity(fl.f, fl.jac, up, steps)
				zd, _ := CNFLogDensity(fl.f, fl.jac, down, steps)
				for i := range 3 {
					jac[i][k] = (zu[i] - zd[i]) / (2 * eps)
				}
			}
			if !c.Close(fmt.Sprintf("CNFLogDensity at x = %s, %d steps: log p(x) − log N(z0) against log|det ∂z0/∂x| of your own z0 (central differences, flowcheck.LogAbsDet)", grading.Short(x), steps),
				lp-refLogNormal(z0), flowcheck.LogAbsDet(jac), 1e-6,
				"ℓ(0) = −∫₀¹ tr(∂f/∂z) dt is the log-det of the map x ↦ z0 (the instantaneous change of variables)") {
				return
			}
		}

		// Against flowlib.CNFLogProb: the same field as a CNF's FieldFunc, integrated adaptively to 10⁻¹⁰.
		cnf := &flowlib.CNF{Dim: 3, Activation: "tanh", Steps: 1, Trace: flowlib.TraceExact, FieldFunc: refTanhFieldGraph}
		flow := &flowlib.Flow{Base: flowlib.NewStandardNormal(3), Bijector: cnf}
		dp := flowlib.DormandPrince{RTol: 1e-11, ATol: 1e-11, MaxSteps: 20000}
		lib, stats, err := flowlib.CNFLogProb(c.Backend(), model.NewStore(), flow, grading.Tensor(grading.Flatten(xs), len(xs), 3), dp, 1)
		c.NoError(err, "flowlib.CNFLogProb on the same field (the grader's reference)", "the grader's reference failed: report it")
		if c.CloseEach(fmt.Sprintf("CNFLogDensity with %d steps at the 3 points, against flowlib.CNFLogProb (Dormand–Prince to 10⁻¹¹, exact trace)", steps), learner, lib, 1e-6,
			"your log-density must agree with flowlib's CNF on the same field (base at t = 0, data at t = 1)") {
			c.Logf("agrees with flowlib.CNFLogProb (NFE %d) to 10⁻⁶ at %d points", stats.NFE, len(xs))
		}
	})
}
