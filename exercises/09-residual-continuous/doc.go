// Package residual is the exercise set of notebook 09, "Residual and
// continuous flows" (notebooks/09-residual-continuous.ipynb): spectral
// normalisation by power iteration, the fixed-point inverse of a residual
// block y = x + g(x), its log-det as a power series of traces, Hutchinson's
// trace estimator and its variance, a Runge–Kutta step, the log-density of a
// continuous flow by the instantaneous change of variables, and flow
// matching's target, written in plain Go and checked against exact singular
// values and determinants, the matrix exponential, exhaustive sums over
// every sign vector, finite differences and flowlib.
//
// Tasks (points):
//
//   - SpectralNorm and SpectralNormalize (3): σ(W) by power iteration, and
//     W/max(1, σ̂/c) (spectral.go).
//   - FixedPointInverse (3): invert y = x + g(x) by x ← y − g(x), with a
//     tolerance, an iteration cap and an error when it does not converge
//     (residual.go).
//   - PowerSeriesLogDet (2): log det(I + J) ≈ Σ_k (−1)^{k+1} tr(J^k)/k
//     (residual.go).
//   - HutchinsonTrace and HutchinsonVariance (2): tr(A) from probes εᵀAε,
//     and the variance of one Rademacher probe (residual.go).
//   - RK4Step (2): one step of the classic Runge–Kutta method (ode.go).
//   - CNFLogDensity (3): log p(x) of a continuous flow, integrating the
//     point and −tr(∂f/∂z) together from the data (t = 1) to the base
//     (t = 0) (ode.go).
//   - FlowMatchingPath and FlowMatchingLoss (2): the optimal-transport path
//     x_t, its velocity u_t and the regression loss (flowmatching.go).
//
// Check your answers with
//
//	scripts/go test ./exercises/09-residual-continuous/
//
// or, for a table of points, scripts/grade 09. A task passes when its test
// passes; a failure says what was checked, the expected and the actual
// value, and a hint about the likely mistake.
package residual
