package grading

import "math/rand/v2"

// Small float64 vector and matrix helpers for computing the values the
// graders compare with.

// Fill returns n copies of v.
func Fill(n int, v float64) []float64 {
	out := make([]float64, n)
	for i := range out {
		out[i] = v
	}
	return out
}

// Map returns f(i, v[i]) for every entry of v.
func Map(v []float64, f func(i int, x float64) float64) []float64 {
	out := make([]float64, len(v))
	for i, x := range v {
		out[i] = f(i, x)
	}
	return out
}

// Scale returns s·v.
func Scale(s float64, v []float64) []float64 {
	return Map(v, func(_ int, x float64) float64 { return s * x })
}

// Add returns the entry-wise sum of vectors of equal length.
func Add(vs ...[]float64) []float64 {
	out := make([]float64, len(vs[0]))
	for _, v := range vs {
		for i, x := range v {
			out[i] += x
		}
	}
	return out
}

// Sum returns the sum of v's entries.
func Sum(v []float64) float64 {
	total := 0.0
	for _, x := range v {
		total += x
	}
	return total
}

// PerExample sums v, batch examples of len(v)/batch values each (row-major
// [batch, ...]), over each example's values: one sum per example.
func PerExample(v []float64, batch int) []float64 {
	d := len(v) / batch
	out := make([]float64, batch)
	for i, x := range v {
		out[i/d] += x
	}
	return out
}

// UniformValues returns n reproducible values uniform in [lo, hi), the same
// for the same seed.
func UniformValues(n int, lo, hi float64, seed uint64) []float64 {
	rng := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	v := make([]float64, n)
	for i := range v {
		v[i] = lo + (hi-lo)*rng.Float64()
	}
	return v
}

// Flatten returns the rows of m one after the other (row-major order).
func Flatten(m [][]float64) []float64 {
	var out []float64
	for _, row := range m {
		out = append(out, row...)
	}
	return out
}

// Transpose returns mᵀ.
func Transpose(m [][]float64) [][]float64 {
	out := make([][]float64, len(m[0]))
	for j := range out {
		out[j] = make([]float64, len(m))
		for i := range m {
			out[j][i] = m[i][j]
		}
	}
	return out
}
