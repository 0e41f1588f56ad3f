package realnvp

import (
	"math/rand/v2"

	"github.com/gomlx/compute"
	. "github.com/gomlx/gomlx/core/graph" //nolint:revive
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/model"

	"github.com/flowbook/flowbook/flowlib"
	"github.com/flowbook/flowbook/flowlib/data"
	"github.com/flowbook/flowbook/flowlib/inference"
)

// Comparison is a flow's exact log-likelihood next to a VAE's two lower
// bounds on its own log-likelihood, each averaged over the same points, in
// nats per point.
type Comparison struct {
	FlowLogLikelihood float64 // mean log p_flow(x): exact
	ELBO              float64 // mean single-sample ELBO of the VAE: a lower bound of its log p(x)
	IWAE              float64 // mean IWAE bound of the VAE with k samples: a tighter one
}

// Given code (not part of the exercise): NormalNoise.

// NormalNoise is given: a float32 tensor of the given dimensions filled with
// independent standard normal values, the same for the same seed.
func NormalNoise(seed uint64, dims ...int) *tensors.Tensor {
	rng := rand.New(rand.NewPCG(seed, 0x5eed))
	size := 1
	for _, d := range dims {
		size *= d
	}
	values := make([]float32, size)
	for i := range values {
		values[i] = float32(rng.NormFloat64())
	}
	return tensors.FromFlatDataAndDimensions(values, dims...)
}

// The exercise: CompareFlowAndVAE.

// CompareFlowAndVAE evaluates, on the same points (float32, N×dim), the
// flow's exact mean log-likelihood and the VAE's mean ELBO and mean IWAE
// bound with k samples per point:
//
//   - FlowLogLikelihood: the mean of log p(x) under the flow, whose variables
//     are in flowStore (inference.MeanLogProb does it).
//   - ELBO and IWAE: draw eps := NormalNoise(seed, k, points.N, vae.Latent),
//     noise for k samples per point. In one graph run with vaeStore (the VAE's
//     variables), compute the log-weights log w_i = [ELBO](scope, vae, x, ε_i)
//     for i = 0 … k−1, with ε_i = eps[i] of shape [N, Latent]
//     (Reshape(SliceAxis(eps, 0, AxisElem(i)), N, Latent)); Stack them into
//     [k, N]. ELBO is the mean over the points of log w_0 (one sample per
//     point), IWAE the mean of [IWAEBound] of all k.
//
// For any VAE, ELBO ≤ IWAE ≤ the VAE's own mean log p(x) (up to Monte Carlo
// noise). When the flow and the VAE model the same density, the flow's
// number is the one the VAE's bounds approach from below.
func CompareFlowAndVAE(be compute.Backend, flowStore *model.Store, flow *flowlib.Flow,
	vaeStore *model.Store, vae *VAE, points *data.Samples, k int, seed uint64) (Comparison, error) {
	flowLL, err := inference.MeanLogProb(be, flowStore, flow, points)
	if err != nil {
		return Comparison{}, err
	}
	x := tensors.FromFlatDataAndDimensions(points.Values, points.N, points.Dim)
	eps := NormalNoise(seed, k, points.N, vae.Latent)
	outs, err := model.CallOnceN(be, vaeStore, func(scope *model.Scope, x, eps *Node) []*Node {
		logWeights := make([]*Node, k)
		for i := range logWeights {
			epsI := Reshape(SliceAxis(eps, 0, AxisElem(i)), points.N, vae.Latent)
			logWeights[i] = ELBO(scope, vae, x, epsI)
		}
		iwae := IWAEBound(Stack(logWeights, 0))
		return []*Node{ReduceAllMean(logWeights[0]), ReduceAllMean(iwae)}
	}, x, eps)
	if err != nil {
		return Comparison{}, err
	}
	return Comparison{
		FlowLogLikelihood: flowLL,
		ELBO:              float64(tensors.ToScalar[float32](outs[0])),
		IWAE:              float64(tensors.ToScalar[float32](outs[1])),
	}, nil
}
