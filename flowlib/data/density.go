package data

import (
	"fmt"
	"math"
)

// TrueLogDensity returns the exact log-density log p(x, y) of the named toy
// dataset, and ok=false when there is no closed form (or the name is
// unknown). Densities are computed in float64, mixtures with log-sum-exp so
// that points far from every component give a large negative number rather
// than log(0) = -Inf.
//
// Closed forms exist for:
//
//   - "8gaussians": log of (1/8)·Σ_k N((x, y); c_k, EightGaussiansStd²·I).
//   - "checkerboard": log(1/8) on the dark squares (8 squares of area 1)
//     and -Inf elsewhere.
//   - "rings": with r = √(x²+y²), log of
//     (1/4)·Σ_k φ((r−r_k)/σ) / (σ·Φ(r_k/σ)) · 1/(2πr), where φ and Φ are
//     the standard normal density and CDF: the truncated normal density of
//     the radius, times the uniform density of the angle, divided by the
//     Jacobian r of polar coordinates. The 1/r makes it +Inf at the origin
//     itself, an integrable spike carrying negligible mass (the nearest ring
//     is 6 standard deviations away).
//
// "moons", "circles", "spirals" and "pinwheel" have no closed form (their
// noise is added after a nonlinear map) and return ok=false.
func TrueLogDensity(name string) (logp func(x, y float64) float64, ok bool) {
	switch name {
	case "8gaussians":
		return eightGaussiansLogDensity, true
	case "checkerboard":
		return checkerboardLogDensity, true
	case "rings":
		return ringsLogDensity, true
	}
	return nil, false
}

func eightGaussiansLogDensity(x, y float64) float64 {
	const variance = EightGaussiansStd * EightGaussiansStd
	var terms [8]float64
	for k := range terms {
		cx, cy := eightGaussiansCentre(k)
		dx, dy := x-cx, y-cy
		terms[k] = -(dx*dx + dy*dy) / (2 * variance)
	}
	// Normalisation of one 2D Gaussian, and the 1/8 mixture weight.
	return logSumExp(terms[:]) - math.Log(2*math.Pi*variance) - math.Log(8)
}

func checkerboardLogDensity(x, y float64) float64 {
	if math.IsNaN(x) || math.IsNaN(y) {
		return math.NaN()
	}
	i, j := math.Floor(x+2), math.Floor(y+2)
	if i < 0 || i > 3 || j < 0 || j > 3 || int(i+j)%2 != 0 {
		return math.Inf(-1)
	}
	return -math.Log(8)
}

func ringsLogDensity(x, y float64) float64 {
	r := math.Hypot(x, y)
	var terms [len(ringsRadii)]float64
	for k, rk := range ringsRadii {
		z := (r - rk) / ringsStd
		// Dividing by Φ(r_k/σ) renormalises the normal after cutting off r ≤ 0.
		terms[k] = -z*z/2 - math.Log(normalCDF(rk/ringsStd))
	}
	logRadius := logSumExp(terms[:]) - math.Log(ringsStd*math.Sqrt(2*math.Pi)) - math.Log(float64(len(ringsRadii)))
	return logRadius - math.Log(2*math.Pi*r)
}

// normalCDF is Φ, the standard normal cumulative distribution function.
// Erfc keeps full precision in the far tails, where 1+Erf would not.
func normalCDF(z float64) float64 {
	return 0.5 * math.Erfc(-z/math.Sqrt2)
}

// logSumExp returns log Σ exp(v_i) without overflow or underflow, by
// factoring out the largest term.
func logSumExp(v []float64) float64 {
	m := math.Inf(-1)
	for _, x := range v {
		m = max(m, x)
	}
	if math.IsInf(m, -1) {
		return m // every term is exp(-Inf) = 0
	}
	var sum float64
	for _, x := range v {
		sum += math.Exp(x - m)
	}
	return m + math.Log(sum)
}

// MeanTrueLogLikelihood returns the mean of TrueLogDensity(name) over the
// examples in s: an estimate of E_p[log p], the best mean log-likelihood any
// model can expect on data from that dataset (see the package doc). It
// returns an error if the dataset has no closed-form density, or if s is
// empty or not 2D.
func MeanTrueLogLikelihood[T Float](name string, s *SamplesOf[T]) (float64, error) {
	logp, ok := TrueLogDensity(name)
	if !ok {
		return 0, fmt.Errorf("data: dataset %q has no closed-form density; those that do: 8gaussians, checkerboard, rings", name)
	}
	if err := s.check(); err != nil {
		return 0, fmt.Errorf("data: MeanTrueLogLikelihood(%q): %w", name, err)
	}
	if s.Dim != 2 {
		return 0, fmt.Errorf("data: MeanTrueLogLikelihood(%q): samples have Dim %d, toy datasets are 2D", name, s.Dim)
	}
	if s.N == 0 {
		return 0, fmt.Errorf("data: MeanTrueLogLikelihood(%q): samples are empty", name)
	}
	var sum float64
	for i := range s.N {
		row := s.Row(i)
		sum += logp(float64(row[0]), float64(row[1]))
	}
	return sum / float64(s.N), nil
}
