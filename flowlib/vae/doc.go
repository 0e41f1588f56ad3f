// Package vae is a small variational autoencoder for vectors, to compare
// with flows: a flow computes log p(x) exactly, a VAE only bounds it from
// below.
//
// A VAE (Kingma & Welling 2014, https://arxiv.org/abs/1312.6114) models data
// through a latent z: a decoder p(x|z) on a prior p(z) = N(0, I), whose
// marginal p(x) = ∫ p(x|z) p(z) dz no network computes. It is trained with
// an encoder q(z|x), which turns that integral into a lower bound on
// log p(x), the ELBO.
//
//	prior     p(z)   = N(0, I)                                  [Latent]
//	encoder   q(z|x) = N(μ_z(x), diag σ_z(x)²)                  an MLP
//	decoder   p(x|z) = N(μ_x(z), diag σ_x²)       (Gaussian)    an MLP for μ_x, a learned σ_x per coordinate
//	          p(x|z) = Π_i Bernoulli(x_i; sigmoid(ℓ_i(z)))  (Bernoulli: binary data)
//
// The bounds, for each example and in expectation over the samples z ∼ q:
//
//	ELBO   = E_q[log p(x|z)] − KL(q(z|x) ‖ p(z))            = log p(x) − KL(q(z|x) ‖ p(z|x))
//	IWAE_k = E[ log (1/k) Σ_{i=1..k} p(x, z_i)/q(z_i|x) ]   (z_1..z_k ∼ q independently)
//
// with ELBO = IWAE_1 ≤ IWAE_k ≤ IWAE_{k+1} ≤ log p(x) and IWAE_k → log p(x)
// as k → ∞ (Burda, Grosse & Salakhutdinov 2016, https://arxiv.org/abs/1509.00519,
// Theorem 1). A single estimate of either is random: it can lie above
// log p(x); only its mean is a bound.
//
// # The pieces
//
//   - [New] builds a [Model] (encoder and decoder MLPs, Gaussian or Bernoulli
//     decoder); its variables live in the sub-scopes "encoder" and "decoder"
//     of the scope it is given.
//   - In the graph: [Model.ELBO] (one reparameterised sample, the closed-form
//     KL), [Model.KL], [Model.IWAE]; and the lower-level [ELBO] (the
//     one-sample KL), [LogWeights], [IWAEBound], [LogNormal] and
//     [KLStandardNormal].
//   - On the host, one value per example, batched: [ELBOs], [IWAEs],
//     [Evaluate] (several k at once, with standard errors), [Sample] and
//     [SampleMeans].
//   - [Train] maximises the ELBO with Adam.
//
// [NewMLP] and the name [VAE] are the API notebook 05 was written with; they
// still work as they did. Exercise 2 of notebook 05
// (exercises/05-realnvp-2d) asks for ELBO and IWAEBound: its grader rejects
// answers that call this package's versions.
package vae
