package changeofvariables

// AffineGaussianLogProb returns log p_X(x) for x = μ + σz, where z is a
// standard normal N(0, 1) and σ ≠ 0 may be negative.
//
// Use the change of variables: the inverse map is f(x) = (x − μ)/σ, so
//
//	log p_X(x) = log N(f(x); 0, 1) + log|f'(x)|,   log N(z; 0, 1) = −z²/2 − ½ log 2π.
//
// The grader compares the result with the density of N(μ, σ²), for σ > 0 and
// for σ < 0.
func AffineGaussianLogProb(x, mu, sigma float64) float64 {
	// TODO(exercise): compute z = f(x) and add the log-det term log|f'(x)|.
	return 0
}
