package residual

import "math"

// SpectralNorm estimates σ(W), the spectral norm of the matrix w (the
// largest singular value; w has rows rows of cols values, w[i] is row i),
// by power iteration, as spectral normalisation does it (Miyato et al.
// 2018, https://arxiv.org/abs/1802.05957; flowlib.ResidualBlock). From the
// start vector u (rows values, not zero, not necessarily of unit length),
// repeat iterations times (iterations ≥ 1)
//
//	v ← Wᵀu / ‖Wᵀu‖,   u ← W v / ‖W v‖
//
// with ‖·‖ the Euclidean norm, then return σ̂ = uᵀ W v from the last u and
// v, and that last u (of unit length): training keeps it for its next step,
// so that one or a few iterations per step are enough. v ∝ (WᵀW)^k·v₀
// tends to the top right singular vector, and σ̂ rises to σ(W) from below
// (σ̂ ≤ σ(W) always). Do not change w or u.
func SpectralNorm(w [][]float64, u []float64, iterations int) (sigma float64, uNext []float64) {
	rows, cols := len(w), len(w[0])
	uNext = make([]float64, rows)
	copy(uNext, u)
	v := make([]float64, cols)
	for range iterations {
		for j := range cols {
			v[j] = 0
			for i := range rows {
				v[j] += w[i][j] * uNext[i]
			}
		}
		normalize(v)
		for i := range rows {
			uNext[i] = 0
			for j := range cols {
				uNext[i] += w[i][j] * v[j]
			}
		}
		normalize(uNext)
	}
	for i := range rows {
		for j := range cols {
			sigma += uNext[i] * w[i][j] * v[j]
		}
	}
	return sigma, uNext
}

// normalize divides v by its Euclidean norm, in place.
func normalize(v []float64) {
	norm := 0.0
	for _, x := range v {
		norm += x * x
	}
	norm = math.Sqrt(norm)
	for i := range v {
		v[i] /= norm
	}
}

// SpectralNormalize returns W/max(1, σ/c) for the matrix w, its spectral
// norm sigma (σ̂ from SpectralNorm, say) and the bound c > 0: when σ > c, w
// divided by σ/c, whose spectral norm is then c; when σ ≤ c, a copy of w
// unchanged. Spectral normalisation only ever shrinks a matrix: a
// residual block needs Lip(g) < 1, and a weight already within the bound
// stays as it is. Return a new matrix; do not change w.
func SpectralNormalize(w [][]float64, sigma, c float64) [][]float64 {
	scale := math.Max(1, sigma/c)
	out := make([][]float64, len(w))
	for i, row := range w {
		out[i] = make([]float64, len(row))
		for j, x := range row {
			out[i][j] = x / scale
		}
	}
	return out
}
