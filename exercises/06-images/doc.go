// Package imageflows is the exercise set of notebook 06, "Flows on images"
// (notebooks/06-images.ipynb): the fixed layers in front of every image flow
// and the unit image models are compared in. You write, in plain Go and with
// GoMLX graph ops, what flowlib's UniformDequantization, Logit and Squeeze2x2
// do, and the bits/dim bookkeeping that ties them to a likelihood.
//
// Tasks (points):
//
//   - BitsPerDim (2): the mean negative log-likelihood in bits per value
//     (bitsperdim.go).
//   - DiscreteLogLikelihood (3): the log-likelihood of the discrete image,
//     from the latent log-density plus the logit's and the rescaling's
//     log-dets (bitsperdim.go).
//   - Dequantize (2): uniform dequantization y = (x + u)/256 and its log-det
//     (preprocess.go).
//   - Logit (3): the logit preprocessing with α, both directions, checked
//     against flowcheck's brute-force Jacobian (preprocess.go).
//   - Squeeze2x2 (3): space to depth and back with Reshape and
//     TransposeAllDims, in flowlib's channel order (squeeze.go).
//
// Check your answers with
//
//	scripts/go test ./exercises/06-images/
//
// or, for a table of points, scripts/grade 06. A task passes when its test
// passes; a failure says what was checked, the expected and the actual
// value, and a hint about the likely mistake.
package imageflows
