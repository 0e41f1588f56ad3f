package changeofvariables

import "math"

// SquareOfUniformDensity returns the density p_X(x) of x = u², where u is
// uniform on (0, 1): the density itself, not its log.
//
// Derive it first: on (0, 1) the inverse map is f(x) = √x, p_U = 1 there, and
// p_X(x) = p_U(f(x)) · |f'(x)|. Outside (0, 1) the density is 0. It grows
// without bound as x → 0 and still integrates to 1.
//
// The grader checks values against the closed form and compares the density
// with a histogram of 200,000 samples of u².
func SquareOfUniformDensity(x float64) float64 {
	if x <= 0 || x >= 1 {
		return 0
	}
	return 1 / (2 * math.Sqrt(x)) // p_U = 1 times d√x/dx
}
