// Package glow is the exercise set of notebook 07, "Glow"
// (notebooks/07-glow.ipynb): the layers Glow adds to RealNVP, written from
// scratch and checked against flowcheck's brute-force Jacobians and against
// flowlib, and sampling at a temperature.
//
// Tasks (points):
//
//   - ActNormInit (2): ActNorm's data-dependent initialisation (actnorm.go).
//   - ActNorm (3): the per-channel affine layer, both directions, with its
//     log-det H·W·Σ log|s| (actnorm.go).
//   - LUMatrix (2): W = P·L·(U + diag s) from its LU factors, in plain Go (lu.go).
//   - LULogAbsDet (1): log|det W| from the LU factors (lu.go).
//   - TriangularInverse (3): (I + N)⁻¹ for a strictly triangular N with matrix
//     products only (lu.go).
//   - Conv1x1 (3): the invertible 1×1 convolution's forward map and log-det
//     (conv1x1.go).
//   - SampleAtTemperature (2): samples at temperature T and their
//     log-likelihood under the model (temperature.go).
//
// Check your answers with
//
//	scripts/go test ./exercises/07-glow/
//
// or, for a table of points, scripts/grade 07. A task passes when its test
// passes; a failure says what was checked, the expected and the actual
// value, and a hint about the likely mistake.
package glow
