// Package vae is a small Gaussian variational autoencoder for vectors, for
// comparing with flows: a flow computes log p(x) exactly, a VAE only bounds
// it from below.
//
// The model (Kingma & Welling 2013, https://arxiv.org/abs/1312.6114) has a
// latent z of size Latent and Gaussians everywhere:
//
//	prior     p(z)   = N(0, I)
//	decoder   p(x|z) = N(μ_x(z), diag σ_x(z)²)
//	encoder   q(z|x) = N(μ_z(x), diag σ_z(x)²)
//
// Its marginal log p(x) = log ∫ p(x|z) p(z) dz has no closed form. Two lower
// bounds do: the evidence lower bound, [ELBO], and the importance-weighted
// bound of Burda, Grosse & Salakhutdinov (2015,
// https://arxiv.org/abs/1509.00519), [IWAEBound], which tightens as the
// number of samples K grows and reaches log p(x) as K → ∞. [Train] fits a VAE
// by maximising the ELBO; [Evaluate] measures both bounds on data, with their
// standard errors.
//
// Exercise 2 of notebook 05 (exercises/05-realnvp-2d) asks for ELBO and
// IWAEBound: its grader rejects answers that call this package's versions.
package vae

import (
	"math"

	. "github.com/gomlx/gomlx/core/graph" //nolint:revive
	"github.com/gomlx/gomlx/ml/layers"
	"github.com/gomlx/gomlx/ml/layers/activation"
	"github.com/gomlx/gomlx/ml/model"
	"github.com/gomlx/gomlx/support/exceptions"
)

// VAE is a Gaussian variational autoencoder. Encode maps x [batchSize, dim]
// to the encoder's μ_z and log σ_z, each [batchSize, Latent]; Decode maps z
// [batchSize, Latent] to the decoder's μ_x and log σ_x, each [batchSize,
// dim]. Their variables live in the scope they are given. [NewMLP] builds one
// from two MLPs; any pair of graph functions will do (a linear-Gaussian VAE,
// whose log p(x) is known, tests the bounds).
type VAE struct {
	Latent int
	Encode func(scope *model.Scope, x *Node) (mean, logStd *Node)
	Decode func(scope *model.Scope, z *Node) (mean, logStd *Node)
}

// MLPConfig configures a VAE whose encoder and decoder are MLPs; create it
// with [NewMLP] and finish with Done.
type MLPConfig struct {
	dim, latent int
	hidden      []int
	activation  activation.Type
	logStdBound float64
}

// NewMLP starts a VAE for vectors of size dim with a latent of size latent:
// by default both networks have hidden layers of 64 and 64 units with ReLU.
func NewMLP(dim, latent int) *MLPConfig {
	return &MLPConfig{dim: dim, latent: latent, hidden: []int{64, 64}, activation: activation.TypeRelu, logStdBound: 6}
}

// Hidden sets the hidden layer sizes of both MLPs.
func (c *MLPConfig) Hidden(sizes ...int) *MLPConfig { c.hidden = sizes; return c }

// Activation sets the activation by name ("relu", "tanh", "silu", ...).
func (c *MLPConfig) Activation(name string) *MLPConfig {
	c.activation = activation.FromName(name)
	return c
}

// LogStdBound sets B in log σ = B·tanh(r/B), which keeps every standard
// deviation of the encoder and the decoder between e^−B and e^B (default 6),
// so that no σ collapses to 0 while training.
func (c *MLPConfig) LogStdBound(b float64) *MLPConfig { c.logStdBound = b; return c }

// Done returns the VAE. Its encoder's variables live in the sub-scope
// "encoder", its decoder's in "decoder", all initialised at random by the
// store's initializer. (Output layers that start at zero, as flowlib's
// coupling conditioners do, make the decoder ignore z at first: the encoder
// then gets no gradient but the KL term's, which pulls q(z|x) onto the prior,
// and training tends to stay there, the "posterior collapse".)
func (c *MLPConfig) Done() *VAE {
	if c.dim < 1 || c.latent < 1 {
		exceptions.Panicf("vae: NewMLP needs dim and latent of at least 1, got %d and %d", c.dim, c.latent)
	}
	if !(c.logStdBound > 0) {
		exceptions.Panicf("vae: LogStdBound must be positive, got %g", c.logStdBound)
	}
	hidden, act, bound, dim, latent := c.hidden, c.activation, c.logStdBound, c.dim, c.latent
	mlp := func(scope *model.Scope, x *Node, outDim int) (mean, logStd *Node) {
		h := x
		for i, size := range hidden {
			h = activation.Apply(act, layers.DenseWithBias(scope.At("hidden_%d", i), h, size))
		}
		out := layers.DenseWithBias(scope.At("output"), h, 2*outDim)
		mean = Slice(out, AxisRange(), AxisRange(0, outDim))
		raw := Slice(out, AxisRange(), AxisRange(outDim, 2*outDim))
		return mean, MulScalar(Tanh(DivScalar(raw, bound)), bound)
	}
	return &VAE{
		Latent: latent,
		Encode: func(scope *model.Scope, x *Node) (mean, logStd *Node) {
			requireRows("Encode", x, dim)
			return mlp(scope.At("encoder"), x, latent)
		},
		Decode: func(scope *model.Scope, z *Node) (mean, logStd *Node) {
			requireRows("Decode", z, latent)
			return mlp(scope.At("decoder"), z, dim)
		},
	}
}

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

// ELBO returns the single-sample estimate of the evidence lower bound of
// each example of x [batchSize, dim], shape [batchSize], with the given
// standard normal noise eps [batchSize, Latent]:
//
//	z = μ_z(x) + σ_z(x) ⊙ ε                      (reparameterised: differentiable in the encoder)
//	ELBO = log p(x|z) + log p(z) − log q(z|x)
//
// Averaged over ε it is E_q[log p(x, z) − log q(z|x)] = log p(x) −
// KL(q(z|x) ‖ p(z|x)) ≤ log p(x), equal to log p(x) exactly when q(z|x) is
// the true posterior.
func ELBO(scope *model.Scope, v *VAE, x, eps *Node) *Node {
	mean, logStd := v.Encode(scope, x)
	if !eps.Shape().Equal(mean.Shape()) {
		exceptions.Panicf("vae: ELBO's noise must have the encoder's shape %s, got %s", mean.Shape(), eps.Shape())
	}
	z := Add(mean, Mul(Exp(logStd), eps))
	decMean, decLogStd := v.Decode(scope, z)
	zero := ZerosLike(z)
	return Sub(Add(LogNormal(x, decMean, decLogStd), LogNormal(z, zero, zero)), LogNormal(z, mean, logStd))
}

// LogWeights returns the importance log-weights log w_k = log p(x, z_k) −
// log q(z_k|x) of K samples z_k ∼ q(z|x) for each example of x [batchSize,
// dim], given the noise eps [K, batchSize, Latent], as [K, batchSize]: each is
// a single-sample [ELBO], all K computed in one batch of K·batchSize.
func LogWeights(scope *model.Scope, v *VAE, x, eps *Node) *Node {
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
// log p(x) (Burda et al. 2015, Theorem 1); IWAE_1 is the ELBO.
func IWAEBound(logWeights *Node) *Node {
	if logWeights.Rank() != 2 {
		exceptions.Panicf("vae: IWAEBound takes log-weights [K, batchSize], got %s", logWeights.Shape())
	}
	k := logWeights.Shape().Dimensions[0]
	m := StopGradient(ReduceAndKeep(logWeights, ReduceMax, 0))
	sum := Add(Squeeze(m, 0), Log(ReduceSum(Exp(Sub(logWeights, m)), 0)))
	return AddScalar(sum, -math.Log(float64(k)))
}
