package imageflows

import (
	"math"

	. "github.com/gomlx/gomlx/core/graph" //nolint:revive // GoMLX's idiom: graph ops read like math.
)

// BitsPerDim converts log-likelihoods to bits per dimension, the unit image
// models are compared in. logProb holds log P(x) of each example in nats (the
// natural log), one value per example; dim is D, the number of values per
// example (28·28·1 = 784 for MNIST). The result is the negative
// log-likelihood in bits, divided by D, averaged over the examples:
//
//	bits/dim = mean over i of −logProb[i] / (D · ln 2)
//
// A model that gives each of the 256^D images of D 8-bit values the same
// probability 256^−D costs exactly 8 bits/dim.
func BitsPerDim(logProb []float64, dim int) float64 {
	nll := 0.0
	for _, lp := range logProb {
		nll -= lp
	}
	nll /= float64(len(logProb)) // per example
	return nll / (float64(dim) * math.Ln2)
}

// DiscreteLogLikelihood returns the dequantization bound on log P(x), the
// log-likelihood of a discrete 8-bit image x, one value per example
// [batchSize], from
//
//   - latentLogProb [batchSize]: the log-density of z₀ = logit(p) under the
//     learned part of the flow, log p_Z(f(z₀)) + log|det ∂f/∂z₀|;
//   - y [batchSize, H, W, C]: the dequantized image rescaled to [0, 1),
//     y = (x + u)/256;
//   - alpha: the logit's α, in [0, 0.5).
//
// It adds the log-dets of the two fixed layers in front of the learned flow,
// the logit and the rescaling by 1/256:
//
//	log P(x) ≥ latentLogProb + Σ_i [log(1 − 2α) − log p_i − log(1 − p_i)] − D·log 256
//	p_i = α + (1 − 2α)·y_i
//
// where the sum runs over the D = H·W·C values of each example. Write the
// logit's log-det out here rather than calling your Logit, so that this task
// does not depend on that one. The result works for any dtype of y.
func DiscreteLogLikelihood(latentLogProb, y *Node, alpha float64) *Node {
	batch := y.Shape().Dimensions[0]
	d := y.Shape().Size() / batch
	p := AddScalar(MulScalar(y, 1-2*alpha), alpha)
	perValue := Sub(AddScalar(Neg(Log(p)), math.Log(1-2*alpha)), Log(OneMinus(p)))
	logitLogDet := ReduceSum(Reshape(perValue, batch, d), 1)
	return AddScalar(Add(latentLogProb, logitLogDet), -float64(d)*math.Log(256))
}
