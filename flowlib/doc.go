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
// (zuko, nflows and the RealNVP paper use the same convention; distrax and
// normflows write the generative direction as forward, and papers vary, so
// check which way a text's f points. The notebooks show both.)
//
// # The pieces
//
//   - [Bijector] is the one small interface: Forward and Inverse of (scope, x).
//     [Chain] composes bijectors: it applies them in order, adds their log-dets,
//     and runs the inverse in reverse order.
//   - A coupling layer is three parts: a [Conditioner] (an [MLP] or a
//     [ConvNet]) computes parameters, a [Transform] ([Additive], [Affine])
//     moves each value with them, and the [Coupling] wrapper, with a
//     [CouplingMask], decides what the parameters may depend on.
//   - Layers: [ElementwiseAffine], [AdditiveCoupling] (NICE), [AffineCoupling]
//     (RealNVP) with [Mask] patterns, [ReversePermutation] and
//     [RandomPermutation], [ActNorm] with data-dependent initialisation, and the
//     [Planar] and [Radial] flows of Rezende & Mohamed.
//   - Base distributions ([Distribution]): [StandardNormal], [DiagonalGaussian]
//     and [GaussianMixture].
//   - [Flow] joins a base distribution and a bijector: LogProb, Sample (with a
//     temperature) and Trace (the tensor after each layer). A Flow is itself a
//     [Distribution], so it can be another flow's base.
//   - Conditional flows p(x | c): a context tensor, one row per example,
//     reaches every [ConditionalBijector] (couplings, chains, [FactorOut]) and
//     a [ConditionalDistribution] base ([ConditionalDiagonalGaussian]) through
//     [Flow.LogProbWithContext] and [Flow.SampleWithContext].
//   - Autoregressive layers: the [Autoregressive] wrapper with a [MADE]
//     conditioner ([NewMAFLayer]: density in one pass, [NewIAFLayer]: samples
//     in one pass), and the [RationalQuadraticSpline] transform of neural
//     spline flows, which fits couplings and autoregressive layers alike.
//   - [RealNVP] builds a RealNVP model for vector data; [MAF], [IAF] and [NSF]
//     build the autoregressive and spline models.
//   - Residual and continuous flows, whose log-dets are a series or an
//     integral: [ResidualBlock] (spectrally normalised, inverted by
//     fixed-point iteration, log-det exact, by i-ResNet's power series or by
//     the Russian roulette of Residual Flows) and [ResidualFlow]; the ODE
//     solvers [RK4] (in the graph) and [DormandPrince] (adaptive, on the
//     host); the [CNF] with an exact or Hutchinson trace, built by [FFJORD]
//     (maximum likelihood) or [FlowMatching] (regression,
//     [CNF.FlowMatchingLoss], through [Flow.TrainingLoss]).
//   - Images [batchSize, H, W, C]: [Squeeze2x2] and [Unsqueeze2x2],
//     [CheckerboardMask] and [ChannelMask] for the couplings, a [ConvNet]
//     conditioner on [Conv2D], per-channel [ActNorm], [Invertible1x1Conv] (LU
//     or matrix-exponential), the multi-scale [FactorOut] (with Glow's learned
//     prior), and the preprocessing layers [UniformDequantization],
//     [VariationalDequantization] and [Logit]. [Glow] and [RealNVPImage] build
//     whole multi-scale models for 8-bit images.
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
// # Images, dequantization and bits/dim
//
// Pixels are integers x ∈ {0, …, 255}^D, while a flow is a density on ℝ^D,
// which on discrete points can grow without bound. Dequantization models
// y = (x + u)/256 instead, with noise u ∈ [0, 1)^D, so the continuous density
// spreads each pixel value's probability over its own cell. Then
//
//	log P(x) ≥ E_u[ log p(y) ] − D·log 256                     (u uniform)
//	log P(x) ≥ E_u[ log p(y) − log q(u|x) ] − D·log 256       (u ~ q(u|x))
//
// (Theis et al. 2016; Ho et al. 2019, Flow++). [UniformDequantization] and
// [VariationalDequantization] return −D·log 256 (and −log q(u|x)) as their
// log-dets, so for a flow that starts with one of them Flow.LogProb(x), with x
// given as pixel values 0…255, is a one-sample estimate of that bound on the
// discrete log-likelihood. Bits per dimension is its negative in base 2, per
// value:
//
//	bits/dim = −log P(x) / (D · ln 2)
//	         = −( log p_Z(z) + Σ_layers log|det J| − D·log 256 ) / (D · ln 2)
//
// where the layers include the preprocessing ([Logit]). A model that knows
// nothing (uniform over the 256 values) scores exactly 8 bits/dim.
//
// Shapes are written [batchSize, ...]: the first axis always indexes examples,
// and log-dets have shape [batchSize].
//
// # Bad input
//
// Shapes are checked while a graph is built, and a bad one panics with a
// message that names the layer and says what to do (GoMLX's executors return
// it as an error): a wrong rank or size, an empty batch ([0, ...], which
// GoMLX cannot broadcast against the layers' variables), or Sample with
// n < 1. Values cannot be checked inside a graph: a NaN, an Inf or a value
// outside a layer's domain silently gives NaN or ±Inf for its example. Check
// data from outside with [Flow.CheckData] or [Flow.CheckTensor] (finite
// values for every flow, plus the first layer's domain); the training package
// does so before it trains or evaluates, and stops on a non-finite loss
// without writing NaN into the model. [ActNorm] refuses to initialise from a
// batch whose statistics are not finite, and [CheckActNormInit] reports it.
package flowlib
