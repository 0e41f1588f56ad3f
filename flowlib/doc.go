// Package flowlib is a library of normalizing flows built on GoMLX.
//
// A normalizing flow models a density p(x) by an invertible map f from data x
// to a latent z = f(x) whose density p_Z is simple (a standard normal, say).
// The change-of-variables formula gives the exact log-likelihood:
//
//	log p(x) = log p_Z(f(x)) + log |det ∂f(x)/∂x|
//
// and sampling runs the map backwards: z ~ p_Z, x = f⁻¹(z).
//
// # Direction convention
//
// In flowlib, Forward is the normalizing direction, data → latent, the one
// that training and density evaluation use. Inverse is the generative
// direction, latent → data, the one that sampling uses. Both return the
// transformed tensor and log|det J| of the map they compute, one value per
// example, so Forward's and Inverse's log-dets at matching points add to zero.
// (zuko and nflows use the same convention; distrax, normflows and several
// papers, RealNVP among them, write the generative direction as forward. The
// notebooks show both.)
//
// # The pieces
//
//   - [Bijector] is the one small interface: Forward and Inverse of (scope, x).
//     [Chain] composes bijectors: it applies them in order, adds their log-dets,
//     and runs the inverse in reverse order.
//   - Layers: [ElementwiseAffine], [AdditiveCoupling] (NICE), [AffineCoupling]
//     (RealNVP) with [Mask] patterns and an [MLP] conditioner, [ReversePermutation] and
//     [RandomPermutation], [ActNorm] with data-dependent initialisation, and the
//     [Planar] and [Radial] flows of Rezende & Mohamed.
//   - Base distributions ([Distribution]): [StandardNormal], [DiagonalGaussian]
//     and [GaussianMixture].
//   - [Flow] joins a base distribution and a bijector: LogProb, Sample (with a
//     temperature) and Trace (the tensor after each layer).
//   - [RealNVP] builds a RealNVP model for vector data.
//
// Training lives in the training sub-package, the checks (invertibility,
// log-det against the brute-force Jacobian, gradients) in flowcheck, toy and
// CSV data in data, and the choice of compute backend in backend.
//
// # Scopes and variables
//
// Every bijector creates its variables inside the [model.Scope] it is given.
// [Chain] gives element i the sub-scope "NN_name" (e.g. "03_affine_coupling")
// through [model.Scope.At], which may be entered any number of times, so
// Forward and Inverse of the same layer see exactly the same variables, even in
// the same graph. Custom bijectors should enter their own sub-scopes with At as
// well, not In, which panics when a scope is entered twice.
//
// Shapes are written [batchSize, ...]: the first axis always indexes examples,
// and log-dets have shape [batchSize].
package flowlib
