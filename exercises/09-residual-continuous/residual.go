package residual

import "errors"

// ErrNotConverged is the error (wrapped) that FixedPointInverse returns when
// its iteration does not reach the tolerance within the iteration cap.
var ErrNotConverged = errors.New("the fixed-point iteration did not converge")

// FixedPointInverse inverts a residual block y = x + g(x) (i-ResNet,
// Behrmann et al. 2019, https://arxiv.org/abs/1811.00995): given y, it
// finds the x with x + g(x) = y, the fixed point of x ↦ y − g(x), by the
// iteration x ← y − g(x) from x = y, as flowlib.ResidualBlock.Inverse does.
//
// Each round calls g once, on the current x, and computes the residual
// r = x + g(x) − y. When max_i |r_i| ≤ tol, stop: return x and the number
// of updates made so far (0 when y itself solves it). Otherwise update
// x ← y − g(x) (which is x − r) and count the update. After maxIter
// updates, check the residual a last time; if it is still above tol,
// return the last x, maxIter and an error that wraps ErrNotConverged
// (fmt.Errorf("...: %w", ErrNotConverged)). A NaN residual (an iteration
// that blew up) is not ≤ tol.
//
// When g is a contraction, Lip(g) = L < 1, Banach's fixed-point theorem
// says the iteration converges, the error shrinking at least by L per
// update, so about log(tol)/log(L) updates reach tol. When Lip(g) ≥ 1 it
// may oscillate or diverge even where y has an inverse: never loop
// without the cap, never return such an x without the error. Do not
// change y.
func FixedPointInverse(y []float64, g func(x []float64) []float64, tol float64, maxIter int) (x []float64, iterations int, err error) {
	// TODO(exercise): from x = y: the residual x + g(x) − y; stop when its largest |r_i| ≤ tol, else x ← y − g(x); an error wrapping ErrNotConverged after maxIter updates.
	return nil, 0, nil
}

// PowerSeriesLogDet returns the first terms terms (terms ≥ 1) of the power
// series of log det(I + J) for the square matrix j,
//
//	log det(I + J) = Σ_{k≥1} (−1)^{k+1} tr(J^k)/k = tr J − tr(J²)/2 + tr(J³)/3 − …
//
// i-ResNet's log-det of a residual block, whose Jacobian is I + J_g: the
// series converges when the spectral radius of J is below 1, as it is when
// Lip(g) < 1, and the error after n terms is at most ‖J‖^{n+1}/((n+1)(1 −
// ‖J‖)). Compute the powers by repeated products (J^k = J^{k−1}·J) and
// their traces exactly (flowlib estimates each trace with Hutchinson's
// estimator instead, for large D). Do not change j.
func PowerSeriesLogDet(j [][]float64, terms int) float64 {
	// TODO(exercise): Σ_{k=1}^{terms} (−1)^{k+1} tr(J^k)/k, with J^k = J^{k−1}·J.
	return 0
}

// HutchinsonTrace returns Hutchinson's estimate of tr(A) for the square
// matrix a from the given probes (each a vector ε of len(a) values): the
// mean over the probes of
//
//	εᵀAε = Σ_i Σ_j ε_i·A_ij·ε_j.
//
// For probes whose entries are independent with mean 0 and variance 1
// (Rademacher, ±1 with probability ½ each, as FFJORD and flowlib draw
// them, or standard normal) E[εᵀAε] = Σ_ij A_ij·E[ε_iε_j] = tr(A): the
// estimate is unbiased, and it needs only the product Aε (for a Jacobian,
// one vector–Jacobian product), never the diagonal of A. Do not change a
// or the probes.
func HutchinsonTrace(a [][]float64, probes [][]float64) float64 {
	// TODO(exercise): the mean over the probes of εᵀAε.
	return 0
}

// HutchinsonVariance returns Var(εᵀAε) for one Rademacher probe ε, the
// variance of HutchinsonTrace with a single probe (with n probes it is this
// divided by n). Since ε_i² = 1,
//
//	εᵀAε = tr(A) + Σ_{i<j} (A_ij + A_ji)·ε_iε_j,
//
// and the products ε_iε_j (i < j) have mean 0, variance 1 and are
// uncorrelated with each other, so
//
//	Var(εᵀAε) = Σ_{i<j} (A_ij + A_ji)² = 2·Σ_{i≠j} S_ij²,   S = (A + Aᵀ)/2.
//
// Only the symmetric part of A counts, and its diagonal not at all: a
// diagonal A has an exact estimate with one probe. (Standard normal probes
// have variance 2·Σ_ij S_ij², diagonal included.) Do not change a.
func HutchinsonVariance(a [][]float64) float64 {
	// TODO(exercise): Σ_{i<j} (A_ij + A_ji)².
	return 0
}
