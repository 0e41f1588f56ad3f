package autoregressive

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
	// TODO(exercise): find k with knots[k] ≤ v < knots[k+1]; the last knot belongs to the last bin.
	return 0
}

// Forward returns y = g(x): the formula above for −B ≤ x ≤ B, in the bin
// Bin(s.Xs, x), and y = x outside [−B, B].
func (s Spline) Forward(x float64) float64 {
	// TODO(exercise): the identity outside [−B, B]; inside, find the bin and evaluate the formula.
	return 0
}

// LogDet returns log g'(x), the log-det of Forward at x: from the formula
// for g' above for −B ≤ x ≤ B, computed as a sum of logs (2·log s + log of
// the numerator's sum − 2·log of the denominator), and 0 outside [−B, B].
func (s Spline) LogDet(x float64) float64 {
	// TODO(exercise): 0 outside [−B, B]; inside, log g'(x) as a sum of logs.
	return 0
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
	// TODO(exercise): the identity outside [−B, B]; inside, the bin among the Ys, then the root of the quadratic in the stable form.
	return 0
}
