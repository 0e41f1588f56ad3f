package autoregressive

import (
	"fmt"
	"math"
	"strings"
	"testing"

	. "github.com/gomlx/gomlx/core/graph" //nolint:revive

	"github.com/flowbook/flowbook/exercises/internal/grading"
	"github.com/flowbook/flowbook/flowlib"
)

// refSplineVariant is g(x) ("") or what a plausible mistake computes instead.
func refSplineVariant(sp Spline, x float64, variant string) float64 {
	k := len(sp.Xs) - 1
	if !refInside(sp.Xs, x) {
		switch variant {
		case "tails-clamped":
			return math.Copysign(sp.Xs[k], x)
		case "no-tails":
		default:
			return x
		}
	}
	knots := sp.Xs
	if variant == "bin-ys" {
		knots = sp.Ys
	}
	p := refParts(sp, refBin(knots, math.Max(knots[0], math.Min(x, knots[k]))))
	xi := (x - p.x0) / p.w
	if variant == "xi-raw" {
		xi = x - p.x0
	}
	s, d0 := p.s, p.d0
	if variant == "slope-inverted" {
		s = p.w / p.h
	}
	if variant == "d-swapped" {
		d0 = p.d1
	}
	xi1 := xi * (1 - xi)
	den := s + (p.d0+p.d1-2*s)*xi1
	if variant == "den-plain" {
		den = s
	}
	y0 := p.y0
	if variant == "no-y0" {
		y0 = 0
	}
	return y0 + p.h*(s*xi*xi+d0*xi1)/den
}

// refSplineForwardFlowlib is flowlib.RationalQuadraticSpline.Forward at the
// points, with raw parameters that give sp's knots (sp.Ds[0] = sp.Ds[K] = 1):
// an independent implementation of g, in a graph.
func refSplineForwardFlowlib(c *grading.C, sp Spline, points []float64) []float64 {
	k := len(sp.Xs) - 1
	b := sp.Xs[k]
	const m = 1e-9 // minimum bin sizes and derivative, far below the splines' own
	raw := make([]float64, 3*k-1)
	for i := range k {
		raw[i] = math.Log(((sp.Xs[i+1]-sp.Xs[i])/(2*b) - m) / (1 - m*float64(k)))
		raw[k+i] = math.Log(((sp.Ys[i+1]-sp.Ys[i])/(2*b) - m) / (1 - m*float64(k)))
	}
	for i := 1; i < k; i++ {
		v := (sp.Ds[i] - m) * math.Ln2 / (1 - m) // softplus(raw) = v
		raw[2*k+i-1] = v + math.Log(-math.Expm1(-v))
	}
	rq := flowlib.RationalQuadraticSpline{Bins: k, Bound: b, MinBinWidth: m, MinBinHeight: m, MinDerivative: m}
	outs := grading.Exec(c, "flowlib.RationalQuadraticSpline.Forward on the same knots (the grader's reference)", func(x *Node) *Node {
		params := make([]*Node, len(raw))
		for j, r := range raw {
			params[j] = AddScalar(ZerosLike(x), r)
		}
		y, _ := rq.Forward(x, params)
		return y
	}, grading.Tensor(points, len(points)))
	return grading.Values(outs[0])
}

// graderSplineDesc describes a spline for a failure message.
func graderSplineDesc(name string, sp Spline) string {
	return fmt.Sprintf("the spline with %s (Xs %v, Ys %v, Ds %v)", name, sp.Xs, sp.Ys, sp.Ds)
}

// graderKnotHint is the hint for a wrong value at a knot or a tail, by where
// the point is; "" elsewhere.
func graderKnotHint(tail, knot, edge string) func(label string) string {
	return func(label string) string {
		switch {
		case strings.HasPrefix(label, "in a tail"):
			return tail
		case strings.HasPrefix(label, "exactly at the interior knot"):
			return knot
		case strings.HasPrefix(label, "exactly at"):
			return edge
		}
		return ""
	}
}

func TestSplineForward(t *testing.T) {
	grading.Run(t, func(c *grading.C) {
		// Bin, on the knots of every spline (both rows), exactly at the knots too.
		for _, tc := range graderSplines {
			for _, knots := range [][]float64{tc.sp.Xs, tc.sp.Ys} {
				k := len(knots) - 1
				points, labels := graderSplinePoints(knots, false)
				got := graderEach(c, "Bin(knots, v)", points, labels, func(v float64) float64 { return float64(Bin(knots, v)) })
				allZero := k > 1
				for _, g := range got {
					allZero = allZero && g == 0
				}
				for i, v := range points {
					want := refBin(knots, v)
					if got[i] == float64(want) {
						continue
					}
					hint := "bin k holds knots[k] ≤ v < knots[k+1]; the last knot, B, belongs to the last bin, K−1"
					switch {
					case allZero:
						hint = "Bin returns 0 for every value: is it still the stub? Write its body (see its doc comment)"
					case strings.HasPrefix(labels[i], "exactly at the interior knot") && got[i] == float64(want-1):
						hint = "a value exactly at knot k belongs to bin k, the one on its right (knots[k] ≤ v < knots[k+1]): compare with ≥, not > (sort.SearchFloat64s returns the index of the knot itself there, one more than the bin to its left)"
					case labels[i] == "exactly at B, the last knot" && got[i] == float64(k):
						hint = fmt.Sprintf("there are K = %d bins, 0 … %d, for the K+1 knots: v = B, the last knot, is in the last bin, K−1", k, k-1)
					case labels[i] == "exactly at −B, the first knot" && got[i] == -1:
						hint = "v = −B, the first knot, is in bin 0: knots[0] ≤ v"
					}
					c.Fatalf("%s", grading.Explain(fmt.Sprintf("Bin(%v, %v) (%s)", knots, v, labels[i]), fmt.Sprint(want), fmt.Sprint(got[i]), hint))
				}
			}
		}

		for n, tc := range graderSplines {
			sp := tc.sp
			points, labels := graderSplinePoints(sp.Xs, true)
			got := graderEach(c, "Spline.Forward", points, labels, sp.Forward)
			want := grading.Map(points, func(_ int, x float64) float64 { return refSplineForward(sp, x) })
			variant := func(v string) []float64 {
				return grading.Map(points, func(_ int, x float64) float64 { return refSplineVariant(sp, x, v) })
			}
			what := "Spline.Forward for " + graderSplineDesc(tc.name, sp)
			if !graderCompare(c, what, points, labels, got, want, 1e-12,
				"in bin k: y = Ys[k] + h·(s·ξ² + d_k·ξ(1−ξ)) / (s + (d_k + d_{k+1} − 2s)·ξ(1−ξ)) with s = h/w and ξ = (x − Xs[k])/w",
				graderKnotHint("outside [−B, B] the spline is the identity: y = x (the linear tails)",
					"g passes through every knot: g(Xs[k]) = Ys[k] (at a knot ξ = 0 in the bin to its right)",
					"g(±B) = ±B: the first and last knots are (−B, −B) and (B, B)"),
				grading.VecMistake(variant("tails-clamped"), "the tails are the identity, y = x outside [−B, B], not clamped to ±B"),
				grading.VecMistake(variant("no-tails"), "outside [−B, B] the spline is the identity, y = x: the formula holds only inside, where ξ ∈ [0, 1]"),
				grading.VecMistake(variant("slope-inverted"), "the slope of the bin is s = h/w (height over width), not w/h"),
				grading.VecMistake(variant("d-swapped"), "the numerator's ξ(1−ξ) term has d_k, the derivative at the bin's left knot, not d_{k+1}"),
				grading.VecMistake(variant("den-plain"), "the denominator is s + (d_k + d_{k+1} − 2s)·ξ(1−ξ), not s alone"),
				grading.VecMistake(variant("no-y0"), "add the bin's bottom, Ys[k]: y = Ys[k] + h·(…)/(…)"),
				grading.VecMistake(variant("xi-raw"), "ξ is the position in the bin as a fraction of its width, (x − Xs[k])/w"),
				grading.VecMistake(variant("bin-ys"), "the bin of x is found among the Xs, Bin(s.Xs, x); the Ys are for the inverse")) {
				return
			}
			if n < 2 { // Ds[0] = Ds[K] = 1: a spline flowlib can represent
				lib := refSplineForwardFlowlib(c, sp, points)
				if !graderCompare(c, what+", against flowlib.RationalQuadraticSpline", points, labels, got, lib, 1e-9,
					"your spline differs from flowlib's on the same knots", nil) {
					return
				}
				c.Logf("%s: agrees with flowlib.RationalQuadraticSpline at %d points", tc.name, len(points))
			}
		}
	})
}

// refLogDetVariant is log g'(x) ("") or what a plausible mistake computes.
func refLogDetVariant(sp Spline, x float64, variant string) float64 {
	k := len(sp.Xs) - 1
	if !refInside(sp.Xs, x) && variant != "no-tails" {
		return 0
	}
	p := refParts(sp, refBin(sp.Xs, math.Max(sp.Xs[0], math.Min(x, sp.Xs[k]))))
	xi := (x - p.x0) / p.w
	xi1 := xi * (1 - xi)
	d0, d1 := p.d0, p.d1
	if variant == "d-swapped" {
		d0, d1 = d1, d0
	}
	num := d1*xi*xi + 2*p.s*xi1 + d0*(1-xi)*(1-xi)
	den := p.s + (p.d0+p.d1-2*p.s)*xi1
	switch variant {
	case "no-s2":
		return math.Log(num) - 2*math.Log(den)
	case "den-once":
		return 2*math.Log(p.s) + math.Log(num) - math.Log(den)
	case "slope-only":
		return math.Log(p.s)
	case "no-log":
		return p.s * p.s * num / (den * den)
	case "neg":
		return -(2*math.Log(p.s) + math.Log(num) - 2*math.Log(den))
	}
	return 2*math.Log(p.s) + math.Log(num) - 2*math.Log(den)
}

func TestSplineLogDet(t *testing.T) {
	grading.Run(t, func(c *grading.C) {
		for _, tc := range graderSplines {
			sp := tc.sp
			points, labels := graderSplinePoints(sp.Xs, true)
			got := graderEach(c, "Spline.LogDet", points, labels, sp.LogDet)
			what := "Spline.LogDet for " + graderSplineDesc(tc.name, sp)

			want := grading.Map(points, func(_ int, x float64) float64 { return refSplineLogDet(sp, x) })
			variant := func(v string) []float64 {
				return grading.Map(points, func(_ int, x float64) float64 { return refLogDetVariant(sp, x, v) })
			}
			hint := "log g'(x) = 2·log s + log(d_{k+1}·ξ² + 2s·ξ(1−ξ) + d_k·(1−ξ)²) − 2·log(s + (d_k + d_{k+1} − 2s)·ξ(1−ξ))"
			if !graderCompare(c, what, points, labels, got, want, 1e-10, hint,
				graderKnotHint("outside [−B, B] the spline is the identity, g'(x) = 1: the log-det is 0",
					"at knot k the derivative is d_k (that is what the Ds are): log g'(Xs[k]) = log Ds[k]",
					"at ±B the spline still applies (the tails start beyond): log g'(±B) = log Ds[0] or log Ds[K]"),
				grading.VecMistake(variant("neg"), "the sign is flipped: the forward's log-det is +log g'(x); −log g' is the inverse's"),
				grading.VecMistake(variant("no-s2"), "the factor s² is missing: log g'(x) starts with 2·log s"),
				grading.VecMistake(variant("den-once"), "the denominator is squared in g': subtract 2·log(den), not log(den)"),
				grading.VecMistake(variant("slope-only"), "that is log s, the slope of the bin as if the spline were a straight line: the derivative terms (the d's and ξ) are missing"),
				grading.VecMistake(variant("d-swapped"), "d_{k+1} multiplies ξ² and d_k multiplies (1−ξ)², so that g' = d_k at the left knot (ξ = 0) and d_{k+1} at the right one"),
				grading.VecMistake(variant("no-log"), "that is g'(x) itself: return its log"),
				grading.VecMistake(variant("no-tails"), "outside [−B, B] the spline is the identity: log g'(x) = 0 there")) {
				return
			}
			// An independent check, of the formula too: a finite difference of g
			// inside the bins (central, Richardson-extrapolated), good to what
			// the rounding of g allows where g is very flat.
			for i, x := range points {
				if !strings.HasPrefix(labels[i], "inside bin") {
					continue
				}
				h := 1e-3 * refParts(sp, refBin(sp.Xs, x)).w
				central := func(h float64) float64 { return (refSplineForward(sp, x+h) - refSplineForward(sp, x-h)) / (2 * h) }
				fd := (4*central(h/2) - central(h)) / 3
				tol := 1e-7 + 1e-14*math.Max(1, math.Abs(x))/(h*fd)
				if !c.Close(fmt.Sprintf("%s at %v (%s): against log of a finite difference of g, (g(x+ε) − g(x−ε))/2ε", what, x, labels[i]), got[i], math.Log(fd), tol, hint) {
					return
				}
			}
		}
	})
}

// refInverseVariant is what a plausible mistake computes for g⁻¹(y).
func refInverseVariant(sp Spline, y float64, variant string) float64 {
	k := len(sp.Ys) - 1
	if !refInside(sp.Ys, y) && variant != "no-tails" {
		return y
	}
	knots := sp.Ys
	if variant == "bin-xs" {
		knots = sp.Xs
	}
	p := refParts(sp, refBin(knots, math.Max(knots[0], math.Min(y, knots[k]))))
	dy := y - p.y0
	curve := p.d0 + p.d1 - 2*p.s
	a := p.h*(p.s-p.d0) + dy*curve
	b := p.h*p.d0 - dy*curve
	cc := -p.s * dy
	root := math.Sqrt(math.Max(b*b-4*a*cc, 0))
	xi := 2 * cc / (-b - root)
	switch variant {
	case "other-stable":
		xi = 2 * cc / (-b + root)
	case "other-school":
		xi = (-b - root) / (2 * a)
	case "school":
		xi = (-b + root) / (2 * a)
	case "xi-only":
		return xi
	case "no-x0":
		return xi * p.w
	}
	return p.x0 + xi*p.w
}

func TestSplineInverse(t *testing.T) {
	grading.Run(t, func(c *grading.C) {
		for _, tc := range graderSplines {
			sp := tc.sp
			points, labels := graderSplinePoints(sp.Ys, true)
			got := graderEach(c, "Spline.Inverse", points, labels, sp.Inverse)
			want := grading.Map(points, func(_ int, y float64) float64 { return refSplineInverse(sp, y) })
			variant := func(v string) []float64 {
				return grading.Map(points, func(_ int, y float64) float64 { return refInverseVariant(sp, y, v) })
			}
			what := "Spline.Inverse for " + graderSplineDesc(tc.name, sp) + ", against bisection on g"
			// 10⁻⁸: near the right end of a bin whose left derivative is large, b = h·d_k − (y − Ys[k])·(…)
			// cancels in any form of the root, and x is found only to about 10⁻¹⁰.
			if !graderCompare(c, what, points, labels, got, want, 1e-8,
				"x = Xs[k] + ξ·w with k = Bin(s.Ys, y) and ξ the root of a·ξ² + b·ξ + c = 0 in [0, 1]",
				graderKnotHint("outside [−B, B] the spline is the identity, and so is its inverse: x = y",
					"g⁻¹(Ys[k]) = Xs[k]: at a knot y − Ys[k] = 0, so c = 0 and the root in the bin is ξ = 0",
					"g⁻¹(±B) = ±B"),
				grading.VecMistake(variant("other-stable"), "that is the other root of the quadratic, which lies outside the bin: the one in [0, 1] is ξ = 2c/(−b − √(b² − 4ac))"),
				grading.VecMistake(variant("other-school"), "that is the other root of the quadratic, (−b − √(b² − 4ac))/(2a), which lies outside the bin: the one in [0, 1] is (−b + √…)/(2a) = 2c/(−b − √…)"),
				grading.VecMistake(variant("school"), "that is the root (−b + √(b² − 4ac))/(2a), which divides 0 by 0 wherever a = 0 (in a bin that is a straight line, or at a bin's end where its slope s equals the derivative there) and loses digits where a is small: use the form ξ = 2c/(−b − √(b² − 4ac)), which never divides by a"),
				grading.VecMistake(variant("bin-xs"), "find the bin of y among the Ys, Bin(s.Ys, y): y is a value of g, and the bins of g's values are [Ys[k], Ys[k+1]]"),
				grading.VecMistake(variant("no-tails"), "outside [−B, B] the inverse is the identity too: x = y"),
				grading.VecMistake(variant("xi-only"), "that is ξ, the position in the bin: x = Xs[k] + ξ·w"),
				grading.VecMistake(variant("no-x0"), "add the bin's left edge: x = Xs[k] + ξ·w")) {
				return
			}
			back := grading.Map(got, func(_ int, x float64) float64 { return refSplineForward(sp, x) })
			if !graderCompare(c, "g(Spline.Inverse(y)) = y for "+graderSplineDesc(tc.name, sp), points, labels, back, points, 1e-10,
				"the inverse must undo the forward map", nil) {
				return
			}
		}

		// A bin where the spline is a straight line (d_k = d_{k+1} = s = 2): a = 0 there.
		linear := Spline{Xs: []float64{-4, -1, 1, 4}, Ys: []float64{-4, -2, 2, 4}, Ds: []float64{1, 2, 2, 1}}
		nearly := Spline{Xs: []float64{-4, -1, 1, 4}, Ys: []float64{-4, -2, 2, 4}, Ds: []float64{1, 2 * (1 + 1e-10), 2 * (1 + 1e-10), 1}}
		for _, tc := range []struct {
			name string
			sp   Spline
			hint string
		}{
			{"a straight line in bin 1 (d_1 = d_2 = h/w = 2, so a = 0)", linear,
				"a = 0 in this bin, where the spline is a straight line: (−b + √(b² − 4ac))/(2a) divides 0 by 0 there; use ξ = 2c/(−b − √(b² − 4ac)), which never divides by a"},
			{"bin 1 nearly a straight line (d_1 = d_2 = 2·(1 + 10⁻¹⁰), so |a| ≤ 10⁻⁹)", nearly,
				"a is tiny in this bin, where the spline is nearly straight: (−b + √(b² − 4ac))/(2a) subtracts two nearly equal numbers and divides the error by the small a, losing most of its digits; ξ = 2c/(−b − √(b² − 4ac)) adds numbers of one sign and stays accurate"},
		} {
			for _, y := range []float64{-1.9, -1.3, -0.4, 0, 0.7, 1.5, 1.99} {
				want := refSplineInverse(tc.sp, y)
				got := graderCall(c, "Spline.Inverse", y, "inside bin 1", tc.sp.Inverse)
				if !c.Close(fmt.Sprintf("Spline.Inverse(%v) for the spline with %s (Xs %v, Ys %v)", y, tc.name, tc.sp.Xs, tc.sp.Ys), got, want, 1e-10, tc.hint) {
					return
				}
			}
		}
	})
}
