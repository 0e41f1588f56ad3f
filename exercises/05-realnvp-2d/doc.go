// Package realnvp is the exercise set of notebook 05, "RealNVP on 2D data"
// (notebooks/05-realnvp-2d.ipynb): a RealNVP of your own, trained on the two
// moons; a flow's exact log-likelihood next to a variational autoencoder's
// bounds on it (the ELBO and the importance-weighted bound); and the density
// of a flow on a grid.
//
// The tasks, each graded by one test:
//
//   - [NewRealNVP2D] (2 points, flow.go): ActNorm + affine coupling blocks with
//     alternating half masks and MLP conditioners, on a standard normal base.
//   - Training it on moons (3 points, flow.go): the test trains
//     NewRealNVP2D(6, 32, 32) for 1000 steps and requires a held-out NLL below
//     1.55 nats (an untrained flow scores 2.9).
//   - [ELBO] (3 points, vae.go): the single-sample evidence lower bound of a
//     Gaussian VAE, log p(x|z) + log p(z) − log q(z|x) with z = μ + σ·ε.
//   - [IWAEBound] (3 points, vae.go): the importance-weighted bound
//     log (1/K Σ_k w_k), computed stably from the log-weights.
//   - [CompareFlowAndVAE] (2 points, compare.go): a flow's exact mean
//     log-likelihood next to a VAE's ELBO and IWAE bound on the same points.
//   - [DensityGrid] (3 points, density.go): a flow's density at the centres of
//     a grid of cells, and the probability mass it puts in the box.
//
// Grade them with
//
//	scripts/go test ./exercises/05-realnvp-2d/
//
// or, for a table of points, scripts/grade 05. Every failure says what was
// checked, what was expected, what your code gave, and a hint.
//
// Conventions, as in flowlib: Forward maps data to latent, z = f(x), and
// log p(x) = log p_Z(f(x)) + log|det ∂f/∂x|, one value per example, in nats.
package realnvp
