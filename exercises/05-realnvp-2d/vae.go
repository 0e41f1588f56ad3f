package realnvp

import (
	"math"

	. "github.com/gomlx/gomlx/core/graph" //nolint:revive // GoMLX's idiom: graph ops read like math.
	"github.com/gomlx/gomlx/ml/model"
)

// Given code (not part of the exercise): VAE and LogNormal.

// VAE is a variational autoencoder with Gaussian distributions everywhere
// (given). With a latent z of size Latent:
//
//	prior     p(z)   = N(0, I)
//	decoder   p(x|z) = N(μ_x, diag(σ_x²)),  μ_x, log σ_x = Decode(scope, z)
//	encoder   q(z|x) = N(μ_z, diag(σ_z²)),  μ_z, log σ_z = Encode(scope, x)
//
// Encode maps x [batchSize, dim] to μ_z and log σ_z [batchSize, Latent];
// Decode maps z [batchSize, Latent] to μ_x and log σ_x [batchSize, dim].
// Their variables, if any, live in the scope they are given.
//
// Unlike a flow, a VAE cannot compute log p(x) = log ∫ p(x|z) p(z) dz: it
// bounds it from below, with [ELBO] and [IWAEBound].
type VAE struct {
	Latent int
	Encode func(scope *model.Scope, x *Node) (mean, logStd *Node)
	Decode func(scope *model.Scope, z *Node) (mean, logStd *Node)
}

// LogNormal is given: log N(x; mean, diag(exp(logStd)²)), summed over the last
// axis. x, mean and logStd have the same shape [..., d]; the result has that
// shape without the last axis. For the prior N(0, I), pass ZerosLike(z) as the
// mean and as the logStd.
func LogNormal(x, mean, logStd *Node) *Node {
	standardized := Mul(Sub(x, mean), Exp(Neg(logStd)))
	perCoord := AddScalar(Add(Square(standardized), MulScalar(logStd, 2)), math.Log(2*math.Pi))
	return MulScalar(ReduceSum(perCoord, -1), -0.5)
}

// The exercise: ELBO and IWAEBound.

// ELBO returns the single-sample estimate of the evidence lower bound of each
// example of x [batchSize, dim], shape [batchSize]:
//
//	z = μ_z + exp(log σ_z) ⊙ ε                (the reparameterization trick)
//	ELBO = log p(x|z) + log p(z) − log q(z|x)
//
// with μ_z, log σ_z = v.Encode(scope, x), ε [batchSize, Latent] the given
// standard normal noise, and the three log-densities from [LogNormal].
//
// Its average over ε is E_q[log p(x, z) − log q(z|x)] = log p(x) − KL(q(z|x) ‖
// p(z|x)) ≤ log p(x), with equality exactly when q(z|x) is the true posterior
// p(z|x): then the estimate equals log p(x) for every ε.
func ELBO(scope *model.Scope, v *VAE, x, eps *Node) *Node {
	// TODO(exercise): sample z by reparameterization and combine the three log-densities.
	return nil
}

// IWAEBound returns the importance-weighted bound of each example from the
// log-weights log w_k = log p(x, z_k) − log q(z_k|x) of K samples z_k ~ q(z|x)
// (each one a single-sample [ELBO]), given as logWeights [K, batchSize]:
//
//	IWAE_K = log (1/K Σ_k w_k) = logsumexp_k(log w_k) − log K,   shape [batchSize]
//
// It is a lower bound of log p(x) that tightens as K grows, and tends to
// log p(x) (Burda et al. 2015); for K = 1 it is the ELBO.
//
// Compute it stably: the log-weights can be −1000 (exp underflows to 0) or
// +1000 (exp overflows). Subtract the largest log-weight m before exp and
// add it back after: logsumexp = m + log Σ_k exp(log w_k − m). GoMLX has no
// LogSumExp; ReduceMax, ReduceSum and InsertAxes (or ReduceAndKeep) help.
func IWAEBound(logWeights *Node) *Node {
	// TODO(exercise): the log of the mean of the weights, computed stably.
	return nil
}
