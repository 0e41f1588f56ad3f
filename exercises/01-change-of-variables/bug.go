package changeofvariables

import "math"

// BuggyTanhNormalLogProb is meant to return log p_X(x) for x = tanh(z) with z
// standard normal, on −1 < x < 1. It is given, and it has a bug: it forgets a
// term of the change of variables. Do not fix it here; find the bug with
// [IntegrateDensity] and write the right version in [TanhNormalLogProb].
func BuggyTanhNormalLogProb(x float64) float64 {
	z := math.Atanh(x)
	return -z*z/2 - 0.5*math.Log(2*math.Pi)
}

// IntegrateDensity returns ∫ exp(logProb(x)) dx over [lo, hi], by the
// midpoint rule with n equal cells: the cell width times the sum of the
// density at the n cell centres. A log-density that is right integrates to
// about 1 over its support; one that is wrong usually does not.
func IntegrateDensity(logProb func(x float64) float64, lo, hi float64, n int) float64 {
	// TODO(exercise): sum exp(logProb) at the n cell centres, times the cell width.
	return 0
}

// TanhNormalLogProb returns log p_X(x) for x = tanh(z) with z standard normal,
// for −1 < x < 1: the fixed [BuggyTanhNormalLogProb]. The inverse map is
// f(x) = artanh(x), whose derivative is 1/(1 − x²).
func TanhNormalLogProb(x float64) float64 {
	// TODO(exercise): add the term BuggyTanhNormalLogProb forgets.
	return 0
}
