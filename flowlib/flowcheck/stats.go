package flowcheck

import "math"

// MeanStdErr returns the mean of values and the standard error of that mean,
// s/√n with s the sample standard deviation (n − 1 in its denominator): the
// "± SE" of an estimate averaged over independent examples, such as a mean
// log-likelihood or a Monte Carlo KL. With fewer than two values the
// standard error is NaN (it cannot be estimated); with none the mean is NaN
// too.
func MeanStdErr(values []float64) (mean, stdErr float64) {
	n := float64(len(values))
	if len(values) == 0 {
		return math.NaN(), math.NaN()
	}
	for _, v := range values {
		mean += v
	}
	mean /= n
	if len(values) < 2 {
		return mean, math.NaN()
	}
	var squares float64
	for _, v := range values {
		squares += (v - mean) * (v - mean)
	}
	return mean, math.Sqrt(squares / (n - 1) / n)
}
