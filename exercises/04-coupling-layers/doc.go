// Package coupling is the exercise set of notebook 04, "Coupling layers"
// (notebooks/04-coupling-layers.ipynb): RealNVP's affine coupling layer
// written by hand, masks that swap halves between layers, a log-scale that
// cannot overflow, and the checkerboard mask of image flows.
//
// The tasks, each a function to complete in this package and graded by one
// test:
//
//   - [AffineCoupling.Forward] (3 points, coupling.go): y = x·exp(s) + t on the
//     transformed coordinates, log|det J| = Σ_j s_j per example.
//   - [AffineCoupling.Inverse] (3 points, coupling.go): x = (y − t)·exp(−s),
//     log|det J| = −Σ_j s_j.
//   - [AlternatingStack] (3 points, stack.go): k couplings whose masks
//     alternate, so that every output depends on every input.
//   - [BoundScale] (2 points, scale.go): s = B·tanh(r/B), finite for any r.
//   - [CheckerboardMask] (2 points, mask.go): the H×W checkerboard of RealNVP's
//     image couplings, and its flip.
//
// Grade them with
//
//	scripts/go test ./exercises/04-coupling-layers/
//
// or, for a table of points, scripts/grade 04. Every failure says what was
// checked, what was expected, what your code gave, and a hint.
//
// Conventions, as in flowlib: Forward is the normalizing direction (data →
// latent), tensors are [batchSize, dim], and a log-determinant has one value
// per example, shape [batchSize], never summed over the batch.
package coupling
