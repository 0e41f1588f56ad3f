package vae_test

import (
	"math"
	"math/rand/v2"

	"github.com/gomlx/gomlx/core/tensors"

	"github.com/flowbook/flowbook/flowlib/data"
	"github.com/flowbook/flowbook/flowlib/flowcheck"
)

// vaeNoise is a float32 tensor of standard normal values, the same for the same seed.
func vaeNoise(seed uint64, dims ...int) *tensors.Tensor {
	rng := rand.New(rand.NewPCG(seed, 99))
	size := 1
	for _, d := range dims {
		size *= d
	}
	v := make([]float32, size)
	for i := range v {
		v[i] = float32(rng.NormFloat64())
	}
	return tensors.FromFlatDataAndDimensions(v, dims...)
}

// meanSE is the mean of v and its standard error.
func meanSE(v []float64) (float64, float64) { return flowcheck.MeanStdErr(v) }

// pairedDiff is the mean of a[i] − b[i] and its standard error: differences
// on the same points (and the same noise) have a far smaller spread than
// either series.
func pairedDiff(a, b []float64) (float64, float64) {
	d := make([]float64, len(a))
	for i := range a {
		d[i] = a[i] - b[i]
	}
	return meanSE(d)
}

// bestGaussian is the mean log-likelihood of 2D points under the Gaussian
// fitted to them by maximum likelihood: −½ log det Σ − log 2π − 1.
func bestGaussian(s *data.Samples) float64 {
	var m [2]float64
	var c [3]float64 // xx, yy, xy
	n := float64(s.N)
	for i := range s.N {
		m[0] += float64(s.Values[2*i]) / n
		m[1] += float64(s.Values[2*i+1]) / n
	}
	for i := range s.N {
		dx, dy := float64(s.Values[2*i])-m[0], float64(s.Values[2*i+1])-m[1]
		c[0], c[1], c[2] = c[0]+dx*dx/n, c[1]+dy*dy/n, c[2]+dx*dy/n
	}
	return -0.5*math.Log(c[0]*c[1]-c[2]*c[2]) - math.Log(2*math.Pi) - 1
}

// allFinite reports whether every value is finite.
func allFinite[T float32 | float64](v []T) bool {
	for _, x := range v {
		if math.IsNaN(float64(x)) || math.IsInf(float64(x), 0) {
			return false
		}
	}
	return true
}
