package autoregressive

import "math"

// Spline is a monotone rational-quadratic spline g, the transform of Neural
// Spline Flows (Durkan et al. 2019, https://arxiv.org/abs/1906.04032) and of
// flowlib.RationalQuadraticSpline: on [−B, B] a piecewise rational-quadratic
// function through K+1 knots (Xs[k], Ys[k]) with derivative Ds[k] at knot k,
// and the identity outside (the linear tails).
//
// Xs and Ys are increasing, with Xs[0] = Ys[0] = −B and Xs[K] = Ys[K] = B;
// the Ds are positive (flowlib makes Ds[0] = Ds[K] = 1, so that g' is
// continuous at ±B, but the methods below must not assume it). Bin k is
// [Xs[k], Xs[k+1]], of width w = Xs[k+1] − Xs[k] and height h = Ys[k+1] −
// Ys[k]; s = h/w is its slope and ξ = (x − Xs[k])/w ∈ [0, 1] the position
// of x in it. With d_k = Ds[k] and d_{k+1} = Ds[k+1]:
//
//	g(x)  = Ys[k] + h·(s·ξ² + d_k·ξ(1−ξ)) / (s + (d_k + d_{k+1} − 2s)·ξ(1−ξ))
//	g'(x) = s²·(d_{k+1}·ξ² + 2s·ξ(1−ξ) + d_k·(1−ξ)²) / (s + (d_k + d_{k+1} − 2s)·ξ(1−ξ))²
//
// so that g(Xs[k]) = Ys[k] and g'(Xs[k]) = Ds[k] at every knot.
type Spline struct {
	Xs, Ys []float64 // the K+1 knots
	Ds     []float64 // the derivatives at the knots
}

// Bin returns the bin of v among K+1 increasing knots (K bins): the k with
// knots[k] ≤ v < knots[k+1], and K−1, the last bin, for v = knots[K]. A
// value exactly at an interior knot belongs to the bin on its right. v is in
// [knots[0], knots[K]]. (A linear search is fine; sort.SearchFloat64s is a
// binary one, but read what it returns at a knot.)
func Bin(knots []float64, v float64) int {
	k := 0
	for k < len(knots)-2 && v >= knots[k+1] {
		k++
	}
	return k
}

// Forward returns y = g(x): the formula above for −B ≤ x ≤ B, in the bin
// Bin(s.Xs, x), and y = x outside [−B, B].
func (s Spline) Forward(x float64) float64 {
	if x < s.Xs[0] || x > s.Xs[len(s.Xs)-1] {
		return x // the tails: the identity
	}
	k := Bin(s.Xs, x)
	w, h := s.Xs[k+1]-s.Xs[k], s.Ys[k+1]-s.Ys[k]
	slope := h / w
	xi := (x - s.Xs[k]) / w
	xi1 := xi * (1 - xi)
	return s.Ys[k] + h*(slope*xi*xi+s.Ds[k]*xi1)/(slope+(s.Ds[k]+s.Ds[k+1]-2*slope)*xi1)
}

// LogDet returns log g'(x), the log-det of Forward at x: from the formula
// for g' above for −B ≤ x ≤ B, computed as a sum of logs (2·log s + log of
// the numerator's sum − 2·log of the denominator), and 0 outside [−B, B].
func (s Spline) LogDet(x float64) float64 {
	if x < s.Xs[0] || x > s.Xs[len(s.Xs)-1] {
		return 0 // the tails: g' = 1
	}
	k := Bin(s.Xs, x)
	w, h := s.Xs[k+1]-s.Xs[k], s.Ys[k+1]-s.Ys[k]
	slope := h / w
	xi := (x - s.Xs[k]) / w
	xi1 := xi * (1 - xi)
	num := s.Ds[k+1]*xi*xi + 2*slope*xi1 + s.Ds[k]*(1-xi)*(1-xi)
	den := slope + (s.Ds[k]+s.Ds[k+1]-2*slope)*xi1
	return 2*math.Log(slope) + math.Log(num) - 2*math.Log(den)
}

// Inverse returns x = g⁻¹(y): y itself outside [−B, B]; inside, in the bin
// k = Bin(s.Ys, y) of y among the Ys, x = Xs[k] + ξ·w with ξ the root in
// [0, 1] of a·ξ² + b·ξ + c = 0, where
//
//	a = h·(s − d_k) + (y − Ys[k])·(d_k + d_{k+1} − 2s)
//	b = h·d_k − (y − Ys[k])·(d_k + d_{k+1} − 2s)
//	c = −s·(y − Ys[k])
//
// In exact arithmetic that root is (−b + √(b² − 4ac))/(2a). Compute it in a
// form that does not divide by a (multiply the numerator and the denominator
// by −b − √(b² − 4ac)): a is 0 in a bin where the spline is a straight line,
// and small where it nearly is, and the graders test both.
func (s Spline) Inverse(y float64) float64 {
	if y < s.Ys[0] || y > s.Ys[len(s.Ys)-1] {
		return y // the tails, inverted: the identity
	}
	k := Bin(s.Ys, y)
	w, h := s.Xs[k+1]-s.Xs[k], s.Ys[k+1]-s.Ys[k]
	slope := h / w
	dy := y - s.Ys[k]
	curve := s.Ds[k] + s.Ds[k+1] - 2*slope
	a := h*(slope-s.Ds[k]) + dy*curve
	b := h*s.Ds[k] - dy*curve
	c := -slope * dy
	disc := math.Max(b*b-4*a*c, 0)
	xi := 2 * c / (-b - math.Sqrt(disc))
	return s.Xs[k] + xi*w
}
