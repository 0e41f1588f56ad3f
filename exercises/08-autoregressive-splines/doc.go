// Package autoregressive is the exercise set of notebook 08, "Autoregressive
// and spline flows" (notebooks/08-autoregressive-splines.ipynb): MADE's
// degrees and masks, the two directions of an autoregressive layer (MAF's
// D-pass inverse, IAF's one-pass sampling), and the rational-quadratic
// spline of Neural Spline Flows, written in plain Go and checked against a
// brute-force Jacobian, bisection, finite differences and flowlib.
//
// Tasks (points):
//
//   - Degrees (2): the degrees of MADE's inputs and hidden units for an
//     order and a context (made.go).
//   - Masks (3): the masks from the degrees, ≥ in the hidden layers and >
//     at the output, checked on the Jacobian of a network that uses them
//     (made.go).
//   - MAFInverse (3): invert a MAF layer one coordinate at a time in its
//     order, with log|det ∂x/∂z| (maf.go).
//   - IAFSample (1): an IAF layer's sample and its log-density in one pass
//     (maf.go).
//   - Bin and Spline.Forward (3): the bin of a value, exactly at the knots
//     too, and the spline with its identity tails (spline.go).
//   - Spline.LogDet (2): log g'(x) (spline.go).
//   - Spline.Inverse (3): the inverse, with the root of the quadratic in a
//     form that stays accurate (spline.go).
//
// Check your answers with
//
//	scripts/go test ./exercises/08-autoregressive-splines/
//
// or, for a table of points, scripts/grade 08. A task passes when its test
// passes; a failure says what was checked, the expected and the actual
// value, and a hint about the likely mistake.
package autoregressive
