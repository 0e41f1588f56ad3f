// Package nice holds the exercises for notebook 03, "Invertibility and a first
// flow" (notebooks/03-invertibility-nice.ipynb).
//
// A flow layer must be invertible, with a cheap inverse and a cheap
// log-determinant. These tasks write the inverse of NICE's additive coupling
// (without ever inverting its network), an elementwise bijector of your own,
// a chain whose log-det is the sum of its layers', and finally a NICE that
// must learn: its held-out negative log-likelihood has to fall below a
// threshold that no volume-preserving flow can reach. Write the body of each
// function (each says what to compute in its doc comment), then run its grader:
//
//	scripts/go test ./exercises/03-invertibility-nice/                           every task, with messages
//	scripts/go test -run TestCouplingInverse ./exercises/03-invertibility-nice/  one task
//	scripts/grade 03                                                     a table of points
//
// Tasks:
//
//  1. [Coupling.Inverse] (2 points): the inverse of an additive coupling,
//     given its Forward, round-tripped with random non-invertible conditioners.
//  2. [LeakyReLU] (3 points): a leaky-ReLU bijector, Forward and Inverse with
//     log-det Σ_j log α·[x_j < 0], checked against the brute-force Jacobian.
//  3. [Chain] (3 points): a composition whose log-det is the sum of its
//     layers', in both directions, checked against the brute-force Jacobian.
//  4. [NICE] (4 points): additive couplings, reversals and a final scaling,
//     trained on [EightGaussians]: the held-out NLL must fall below 1.70 nats,
//     under the log 2π ≈ 1.838 floor of volume-preserving flows.
//
// The reference solutions are in solutions/03-invertibility-nice/: try first.
package nice
