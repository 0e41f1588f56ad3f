package glow

import "github.com/flowbook/flowbook/exercises/internal/grading"

// This file holds the graders' own helpers, not tasks; the ones the chapters
// share are in the grading package.

// rows splits v into rows of n values.
func rows(v []float64, n int) [][]float64 {
	out := make([][]float64, len(v)/n)
	for i := range out {
		out[i] = v[i*n : (i+1)*n]
	}
	return out
}

// mul returns the matrix product a·b.
func mul(a, b [][]float64) [][]float64 {
	out := make([][]float64, len(a))
	for i := range a {
		out[i] = make([]float64, len(b[0]))
		for j := range b[0] {
			for k := range b {
				out[i][j] += a[i][k] * b[k][j]
			}
		}
	}
	return out
}

// identity returns the n×n identity.
func identity(n int) [][]float64 {
	out := make([][]float64, n)
	for i := range out {
		out[i] = make([]float64, n)
		out[i][i] = 1
	}
	return out
}

// addM returns the sum of equal-size matrices.
func addM(ms ...[][]float64) [][]float64 {
	out := make([][]float64, len(ms[0]))
	for i := range out {
		out[i] = make([]float64, len(ms[0][i]))
		for _, m := range ms {
			for j, v := range m[i] {
				out[i][j] += v
			}
		}
	}
	return out
}

// scaleM returns s·m.
func scaleM(s float64, m [][]float64) [][]float64 {
	return rows(grading.Scale(s, grading.Flatten(m)), len(m[0]))
}
