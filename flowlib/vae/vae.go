package vae

import (
	"fmt"
	"math"

	"github.com/gomlx/compute/dtypes"
	"github.com/gomlx/compute/shapes"
	. "github.com/gomlx/gomlx/core/graph" //nolint:revive
	"github.com/gomlx/gomlx/ml/layers"
	"github.com/gomlx/gomlx/ml/layers/activation"
	"github.com/gomlx/gomlx/ml/model"
	"github.com/gomlx/gomlx/support/exceptions"
)

// Likelihood is the distribution of a decoder, p(x|z).
type Likelihood int

const (
	// Gaussian is p(x|z) = N(μ_x(z), diag σ_x²), for continuous data. With
	// [New], σ_x is learned, one value per coordinate, and bounded below by
	// MinStd (see [MLPConfig.MinStd] for why).
	Gaussian Likelihood = iota
	// Bernoulli is p(x|z) = Π_i p_i^{x_i} (1 − p_i)^{1−x_i} with
	// p = sigmoid(ℓ(z)), for binary data: every value must be 0 or 1.
	Bernoulli
)

// String returns "Gaussian" or "Bernoulli".
func (l Likelihood) String() string {
	switch l {
	case Gaussian:
		return "Gaussian"
	case Bernoulli:
		return "Bernoulli"
	}
	return fmt.Sprintf("Likelihood(%d)", int(l))
}

// Model is a variational autoencoder. Encode maps x [batchSize, Dim] to the
// encoder's μ_z and log σ_z, each [batchSize, Latent]. Decode maps z
// [batchSize, Latent] to the decoder's parameters [batchSize, Dim]: for a
// Gaussian Likelihood the mean μ_x and log σ_x, for a Bernoulli one the
// logits ℓ and a nil logStd. Their variables live in the scope they are
// given.
//
// [New] builds one from two MLPs. Any pair of graph functions will do (a
// linear-Gaussian model, whose log p(x) is known, tests the bounds); Dim may
// then be 0, and the data are not checked against it.
type Model struct {
	Dim, Latent int
	Likelihood  Likelihood
	Encode      func(scope *model.Scope, x *Node) (mean, logStd *Node)
	Decode      func(scope *model.Scope, z *Node) (params, logStd *Node)

	// monteCarloKL makes Train use the one-sample KL estimate (NewMLP's).
	monteCarloKL bool
	// width is the widest layer, which sizes the evaluation batches (0: unknown).
	width int
}

// VAE is the name [Model] had before [New] existed; notebook 05 and [NewMLP]
// use it.
type VAE = Model

// MLPConfig configures a [Model] whose encoder and decoder are MLPs; create
// it with [New] (or [NewMLP]) and finish with Done.
type MLPConfig struct {
	dim, latent int
	hidden      []int
	activation  activation.Type
	likelihood  Likelihood
	logStdBound float64
	minStd      float64
	initStd     float64
	// perPointStd is NewMLP's decoder: σ_x(z) from the network, bounded by logStdBound.
	perPointStd bool
}

// New starts a VAE for vectors of size dim. Defaults: a latent of size 2,
// hidden layers of 64 and 64 units with tanh in both networks, a Gaussian
// decoder with σ_x ≥ 0.01, starting at σ_x = 0.1.
//
//	m := vae.New(784).Latent(16).Hidden(256).Decoder(vae.Bernoulli).Done()
func New(dim int) *MLPConfig {
	return &MLPConfig{dim: dim, latent: 2, hidden: []int{64, 64}, activation: activation.TypeTanh,
		likelihood: Gaussian, logStdBound: 6, minStd: 0.01, initStd: 0.1}
}

// NewMLP starts a Gaussian VAE as notebook 05 builds it: New(dim).Latent(latent)
// with ReLU, except that the decoder computes σ_x(z) with its network, bounded by
// [MLPConfig.LogStdBound] alone, and that [Train] uses the one-sample
// estimate of the KL term for it. That decoder's σ can reach e^−6 ≈ 0.0025,
// where one badly fitted point costs 10⁵ nats, and training it is sensitive
// to the initial weights; New's decoder is the better default.
func NewMLP(dim, latent int) *MLPConfig {
	c := New(dim).Latent(latent)
	c.activation, c.perPointStd = activation.TypeRelu, true
	return c
}

// Latent sets the size of z (default 2).
func (c *MLPConfig) Latent(k int) *MLPConfig { c.latent = k; return c }

// Hidden sets the hidden layer sizes of both MLPs (default 64, 64). No sizes
// makes both maps affine, as in probabilistic PCA.
func (c *MLPConfig) Hidden(sizes ...int) *MLPConfig { c.hidden = sizes; return c }

// Decoder sets the decoder's distribution, [Gaussian] (the default) or [Bernoulli].
func (c *MLPConfig) Decoder(l Likelihood) *MLPConfig { c.likelihood = l; return c }

// Activation sets the activation by name ("tanh", the default of New, "relu",
// NewMLP's, "silu", ...).
func (c *MLPConfig) Activation(name string) *MLPConfig {
	c.activation = activation.FromName(name)
	return c
}

// LogStdBound sets B in log σ = B·tanh(r/B), which keeps the encoder's
// standard deviations (and NewMLP's decoder's) between e^−B and e^B
// (default 6), so that no exp overflows while training.
func (c *MLPConfig) LogStdBound(b float64) *MLPConfig { c.logStdBound = b; return c }

// MinStd sets the floor of the Gaussian decoder's σ_x = softplus(r) + MinStd
// (default 0.01). Without a floor the likelihood is degenerate: a decoder
// that puts its mean exactly on a training point can shrink σ_x towards 0
// and make log p(x) grow without bound (Mattei & Frellsen 2018,
// https://arxiv.org/abs/1802.04826), which on data with repeated or
// quantised values it does. The floor caps log p(x|z) at
// −Dim·(log MinStd + ½ log 2π); choose it below the noise level of the
// data and, for quantised data, no smaller than the quantisation step.
func (c *MLPConfig) MinStd(s float64) *MLPConfig { c.minStd = s; return c }

// InitialStd sets the Gaussian decoder's σ_x before training (default 0.1;
// it must exceed MinStd). Starting well below the spread of the data makes
// the decoder explain the data through z from the first steps; started at
// the data's spread, it explains them as noise instead, the KL term pulls
// q(z|x) onto the prior, and the ELBO stays near a single Gaussian's (on
// moons, 1000 steps: about −2.5 nats from σ_x = 1, −2.2 from 0.1, −2.67
// for the best Gaussian).
func (c *MLPConfig) InitialStd(s float64) *MLPConfig { c.initStd = s; return c }

// Done returns the Model. Its encoder's variables live in the sub-scope
// "encoder" ("hidden_0", ..., "output", each a dense layer), its decoder's
// in "decoder" (the same, and for a Gaussian decoder "raw_std" [Dim], with
// σ_x = softplus(raw_std) + MinStd, starting at σ_x = InitialStd). The dense layers
// start at random, by the store's initializer. (Output layers that start at
// zero, as flowlib's coupling conditioners do, make the decoder ignore z at
// first: the encoder then gets no gradient but the KL term's, which pulls
// q(z|x) onto the prior, and training tends to stay there, the "posterior
// collapse".)
//
// Done panics on a dim, latent or hidden size below 1, a bound or floor
// that is not positive, an InitialStd not above MinStd, or an unknown
// decoder.
func (c *MLPConfig) Done() *Model {
	switch {
	case c.dim < 1 || c.latent < 1:
		exceptions.Panicf("vae: New needs dim and latent of at least 1, got %d and %d", c.dim, c.latent)
	case !(c.logStdBound > 0):
		exceptions.Panicf("vae: LogStdBound must be positive, got %g", c.logStdBound)
	case !(c.minStd > 0):
		exceptions.Panicf("vae: MinStd must be positive (it keeps the likelihood bounded), got %g", c.minStd)
	case !(c.initStd > c.minStd) || math.IsInf(c.initStd, 0):
		exceptions.Panicf("vae: InitialStd must be finite and above MinStd = %g, got %g", c.minStd, c.initStd)
	case c.likelihood != Gaussian && c.likelihood != Bernoulli:
		exceptions.Panicf("vae: unknown decoder %s: use vae.Gaussian or vae.Bernoulli", c.likelihood)
	case c.perPointStd && c.likelihood != Gaussian:
		exceptions.Panicf("vae: NewMLP builds Gaussian decoders only; use vae.New(dim).Decoder(vae.Bernoulli)")
	}
	width := max(c.dim, 2*c.latent)
	for _, h := range c.hidden {
		if h < 1 {
			exceptions.Panicf("vae: hidden layer sizes must be at least 1, got %v", c.hidden)
		}
		width = max(width, h)
	}
	hidden, act, bound, dim, latent := append([]int(nil), c.hidden...), c.activation, c.logStdBound, c.dim, c.latent
	mlp := func(scope *model.Scope, x *Node, outDim int) *Node {
		h := x
		for i, size := range hidden {
			h = activation.Apply(act, layers.DenseWithBias(scope.At("hidden_%d", i), h, size))
		}
		return layers.DenseWithBias(scope.At("output"), h, outDim)
	}
	// meanAndLogStd splits an MLP's 2·d outputs into a mean and a bounded log σ.
	meanAndLogStd := func(scope *model.Scope, x *Node, d int) (mean, logStd *Node) {
		out := mlp(scope, x, 2*d)
		mean = Slice(out, AxisRange(), AxisRange(0, d))
		raw := Slice(out, AxisRange(), AxisRange(d, 2*d))
		return mean, MulScalar(Tanh(DivScalar(raw, bound)), bound)
	}
	m := &Model{Dim: dim, Latent: latent, Likelihood: c.likelihood, monteCarloKL: c.perPointStd, width: width}
	m.Encode = func(scope *model.Scope, x *Node) (mean, logStd *Node) {
		requireRows("Encode", x, dim)
		return meanAndLogStd(scope.At("encoder"), x, latent)
	}
	minStd, rawInit := c.minStd, softplusInverse(c.initStd-c.minStd)
	switch {
	case c.perPointStd:
		m.Decode = func(scope *model.Scope, z *Node) (mean, logStd *Node) {
			requireRows("Decode", z, latent)
			return meanAndLogStd(scope.At("decoder"), z, dim)
		}
	case c.likelihood == Gaussian:
		m.Decode = func(scope *model.Scope, z *Node) (mean, logStd *Node) {
			requireRows("Decode", z, latent)
			scope = scope.At("decoder")
			mean = mlp(scope, z, dim)
			std := AddScalar(Softplus(rawStd(scope, z.Graph(), z.DType(), dim, rawInit)), minStd)
			logStd = BroadcastToShape(InsertAxes(Log(std), 0), mean.Shape())
			return mean, logStd
		}
	default:
		m.Decode = func(scope *model.Scope, z *Node) (logits, logStd *Node) {
			requireRows("Decode", z, latent)
			return mlp(scope.At("decoder"), z, dim), nil
		}
	}
	return m
}

// rawStd is the decoder's variable raw_std [dim], created with the value
// rawInit in every coordinate (σ_x = InitialStd), not by the store's
// initializer.
func rawStd(scope *model.Scope, g *Graph, dtype dtypes.DType, dim int, rawInit float64) *Node {
	var init any
	if dtype == dtypes.Float64 {
		v := make([]float64, dim)
		for i := range v {
			v[i] = rawInit
		}
		init = v
	} else {
		v := make([]float32, dim)
		for i := range v {
			v[i] = float32(rawInit)
		}
		init = v
	}
	return scope.VariableWithValue("raw_std", init).NodeValue(g)
}

// softplusInverse is r with softplus(r) = y, for y > 0.
func softplusInverse(y float64) float64 { return y + math.Log(-math.Expm1(-y)) }

func requireRows(what string, x *Node, size int) {
	if x.Rank() != 2 || x.Shape().Dimensions[1] != size || x.Shape().Dimensions[0] < 1 {
		exceptions.Panicf("vae: %s takes [batchSize, %d] with batchSize ≥ 1, got %s", what, size, x.Shape())
	}
}

// LogNormal returns log N(x; mean, diag(exp(logStd)²)) summed over the last
// axis: x, mean and logStd have the same shape [..., d], the result that
// shape without its last axis.
//
//	log N = −½ Σ_i (((x_i − μ_i)/σ_i)² + 2 log σ_i + log 2π)
func LogNormal(x, mean, logStd *Node) *Node {
	u := Mul(Sub(x, mean), Exp(Neg(logStd)))
	perCoord := AddScalar(Add(Square(u), MulScalar(logStd, 2)), math.Log(2*math.Pi))
	return MulScalar(ReduceSum(perCoord, -1), -0.5)
}

// KLStandardNormal returns KL(N(μ, diag σ²) ‖ N(0, I)) in closed form,
// summed over the last axis: mean and logStd [..., d], the result [...].
//
//	KL = ½ Σ_i (μ_i² + σ_i² − 1 − 2 log σ_i)
func KLStandardNormal(mean, logStd *Node) *Node {
	perCoord := Sub(Add(Square(mean), Exp(MulScalar(logStd, 2))), AddScalar(MulScalar(logStd, 2), 1))
	return MulScalar(ReduceSum(perCoord, -1), 0.5)
}

// logLikelihood is log p(x|z) per example, from the decoder's outputs.
func (m *Model) logLikelihood(x, params, logStd *Node) *Node {
	if m.Likelihood == Bernoulli {
		// x·ℓ − softplus(ℓ) = x log p + (1 − x) log(1 − p), stable for any ℓ.
		return ReduceSum(Sub(Mul(x, params), Softplus(params)), -1)
	}
	if logStd == nil {
		exceptions.Panicf("vae: a Gaussian decoder must return its log σ, got nil")
	}
	return LogNormal(x, params, logStd)
}

// checkInput panics unless x is [batchSize, Dim] with batchSize ≥ 1 (any
// width when Dim is 0).
func (m *Model) checkInput(what string, x *Node) {
	if m == nil || m.Encode == nil || m.Decode == nil || m.Latent < 1 {
		exceptions.Panicf("vae: %s needs a Model with Encode, Decode and Latent ≥ 1; build one with vae.New(dim)...Done()", what)
	}
	dims := x.Shape().Dimensions
	if x.Rank() != 2 || dims[0] < 1 || (m.Dim > 0 && dims[1] != m.Dim) {
		want := "Dim"
		if m.Dim > 0 {
			want = fmt.Sprint(m.Dim)
		}
		exceptions.Panicf("vae: %s takes x of shape [batchSize, %s] with batchSize ≥ 1, got %s", what, want, x.Shape())
	}
}

// encodeSample returns q's parameters and the reparameterised sample
// z = μ_z(x) + σ_z(x) ⊙ ε, with ε = eps [batchSize, Latent], or drawn in the
// graph (scope.RandomNormal) when eps is nil.
func (m *Model) encodeSample(scope *model.Scope, x, eps *Node) (mean, logStd, z *Node) {
	mean, logStd = m.Encode(scope, x)
	if eps == nil {
		eps = scope.RandomNormal(x.Graph(), mean.Shape())
	}
	if !eps.Shape().Equal(mean.Shape()) {
		exceptions.Panicf("vae: ELBO's noise must have the encoder's shape %s, got %s", mean.Shape(), eps.Shape())
	}
	return mean, logStd, Add(mean, Mul(Exp(logStd), eps))
}

// ELBO returns the single-sample estimate of the evidence lower bound of
// each example of x [batchSize, Dim], shape [batchSize], with the
// closed-form KL term ([KLStandardNormal]):
//
//	z    = μ_z(x) + σ_z(x) ⊙ ε                 (reparameterised: differentiable in the encoder)
//	ELBO = log p(x|z) − KL(q(z|x) ‖ p(z))
//
// ε is eps [batchSize, Latent], standard normal noise, or, when eps is nil,
// drawn in the graph with scope.RandomNormal. Averaged over ε it is
// E_q[log p(x|z)] − KL = log p(x) − KL(q(z|x) ‖ p(z|x)) ≤ log p(x), equal to
// log p(x) exactly when q(z|x) is the true posterior; its variance is lower
// than that of the package-level [ELBO], which estimates the KL term from
// the same sample, and its expectation the same.
func (m *Model) ELBO(scope *model.Scope, x, eps *Node) *Node {
	m.checkInput("ELBO", x)
	mean, logStd, z := m.encodeSample(scope, x, eps)
	params, decLogStd := m.Decode(scope, z)
	return Sub(m.logLikelihood(x, params, decLogStd), KLStandardNormal(mean, logStd))
}

// KL returns KL(q(z|x) ‖ p(z)) of each example of x [batchSize, Dim], in
// closed form, shape [batchSize]: the "rate" of the ELBO, in nats.
func (m *Model) KL(scope *model.Scope, x *Node) *Node {
	m.checkInput("KL", x)
	mean, logStd := m.Encode(scope, x)
	return KLStandardNormal(mean, logStd)
}

// IWAE returns the importance-weighted bound of each example of x
// [batchSize, Dim] with k samples z_i ∼ q(z|x), drawn in the graph with
// scope.RandomNormal, shape [batchSize]:
//
//	IWAE_k = log (1/k) Σ_i p(x|z_i) p(z_i) / q(z_i|x)
//
// computed as a log-sum-exp ([IWAEBound]). In expectation ELBO = IWAE_1 ≤
// IWAE_k ≤ log p(x), and IWAE_k → log p(x) as k → ∞ (Burda et al. 2016,
// https://arxiv.org/abs/1509.00519). IWAE_1 is the one-sample [ELBO] with
// the KL estimated from the sample, equal to [Model.ELBO] in expectation.
// The graph holds k·batchSize rows.
func (m *Model) IWAE(scope *model.Scope, x *Node, k int) *Node {
	m.checkInput("IWAE", x)
	if k < 1 {
		exceptions.Panicf("vae: IWAE needs k ≥ 1 samples per example, got %d", k)
	}
	eps := scope.RandomNormal(x.Graph(), shapes.Make(x.DType(), k, x.Shape().Dimensions[0], m.Latent))
	return IWAEBound(LogWeights(scope, m, x, eps))
}

// ELBO returns the single-sample estimate of the evidence lower bound of
// each example of x [batchSize, Dim], shape [batchSize], with the given
// standard normal noise eps [batchSize, Latent], estimating the KL term
// from the same sample:
//
//	z    = μ_z(x) + σ_z(x) ⊙ ε
//	ELBO = log p(x|z) + log p(z) − log q(z|x)  =  log p(x, z) − log q(z|x)
//
// Averaged over ε it is the ELBO, like [Model.ELBO]; it is the log-weight of
// importance sampling with proposal q, which [LogWeights] and [IWAEBound]
// build on.
func ELBO(scope *model.Scope, v *Model, x, eps *Node) *Node {
	v.checkInput("ELBO", x)
	if eps == nil {
		exceptions.Panicf("vae: ELBO needs its noise eps [batchSize, %d]; use Model.ELBO to draw it in the graph", v.Latent)
	}
	recon, logPrior, logQ := v.elboTerms(scope, x, eps)
	return Sub(Add(recon, logPrior), logQ)
}

// elboTerms returns log p(x|z), log p(z) and log q(z|x) at the sample z of eps.
func (m *Model) elboTerms(scope *model.Scope, x, eps *Node) (recon, logPrior, logQ *Node) {
	mean, logStd, z := m.encodeSample(scope, x, eps)
	params, decLogStd := m.Decode(scope, z)
	zero := ZerosLike(z)
	return m.logLikelihood(x, params, decLogStd), LogNormal(z, zero, zero), LogNormal(z, mean, logStd)
}

// LogWeights returns the importance log-weights log w_k = log p(x, z_k) −
// log q(z_k|x) of K samples z_k ∼ q(z|x) for each example of x [batchSize,
// Dim], given the noise eps [K, batchSize, Latent], as [K, batchSize]: each
// is a single-sample [ELBO], all K computed in one batch of K·batchSize.
func LogWeights(scope *model.Scope, v *Model, x, eps *Node) *Node {
	v.checkInput("LogWeights", x)
	dims := eps.Shape().Dimensions
	if eps.Rank() != 3 || dims[1] != x.Shape().Dimensions[0] {
		exceptions.Panicf("vae: LogWeights' noise must be [K, batchSize = %d, Latent], got %s", x.Shape().Dimensions[0], eps.Shape())
	}
	k, n := dims[0], dims[1]
	tiled := Reshape(BroadcastToDims(InsertAxes(x, 0), append([]int{k}, x.Shape().Dimensions...)...), k*n, -1)
	lw := ELBO(scope, v, tiled, Reshape(eps, k*n, dims[2]))
	return Reshape(lw, k, n)
}

// IWAEBound returns the importance-weighted bound of each example from K
// log-weights logWeights [K, batchSize] (from [LogWeights]):
//
//	IWAE_K = log (1/K Σ_k w_k) = logsumexp_k(log w_k) − log K,   shape [batchSize]
//
// computed stably (the largest log-weight is taken out before exp). Its
// expectation is a lower bound of log p(x) that grows with K and tends to
// log p(x) (Burda et al. 2016, Theorem 1); IWAE_1 is the ELBO.
func IWAEBound(logWeights *Node) *Node {
	if logWeights.Rank() != 2 {
		exceptions.Panicf("vae: IWAEBound takes log-weights [K, batchSize], got %s", logWeights.Shape())
	}
	k := logWeights.Shape().Dimensions[0]
	m := StopGradient(ReduceAndKeep(logWeights, ReduceMax, 0))
	sum := Add(Squeeze(m, 0), Log(ReduceSum(Exp(Sub(logWeights, m)), 0)))
	return AddScalar(sum, -math.Log(float64(k)))
}
