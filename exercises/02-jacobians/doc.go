// Package jacobians holds the exercises for notebook 02, "Jacobians and
// determinants" (notebooks/02-jacobians.ipynb).
//
// A flow's log-likelihood needs log|det J_f(x)|, the log of the factor by
// which f scales volume near x. These tasks compute it for affine maps (by
// hand, then by LU decomposition), put an affine map into a flowlib.Bijector
// checked with flowlib/flowcheck, add up the log-dets of a composition into a
// log-likelihood, take the O(D) shortcut for triangular matrices, and build a
// Jacobian by automatic differentiation. Write the body of each function (each
// says what to compute in its doc comment), then run its grader:
//
//	scripts/go test ./exercises/02-jacobians/                        every task, with messages
//	scripts/go test -run TestLogAbsDetLU ./exercises/02-jacobians/   one task
//	scripts/grade 02                                         a table of points
//
// Tasks:
//
//  1. [LogAbsDet2x2] (1 point): log|det A| of a 2×2 matrix by hand.
//  2. [LogAbsDetLU] (3 points): log|det A| of a D×D matrix by LU decomposition
//     with partial pivoting, checked against flowcheck.LogAbsDet.
//  3. [AffineMap] (3 points): f(x) = A·x + b as a bijector, Forward and
//     Inverse with their per-example log-dets, checked with
//     flowcheck.LogDetError and flowcheck.Invertibility.
//  4. [ComposedLogProb] (3 points): a chain's log-det from its layers' log-dets,
//     and log p(x) under a standard normal base, checked against the
//     brute-force Jacobian of the whole chain.
//  5. [TriangularLogAbsDet] (2 points): log|det| of a triangular matrix in O(D).
//  6. [Jacobian] and [Spherical] (3 points): a Jacobian by autodiff, one
//     Gradient per output, and det J = r²·sin θ for spherical coordinates.
//
// The reference solutions are in solutions/02-jacobians/: try first.
package jacobians
