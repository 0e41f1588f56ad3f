package jacobians

import (
	"math"

	. "github.com/gomlx/gomlx/core/graph" //nolint:revive // GoMLX's idiom: graph ops read like math.
)

// ComposedLogProb takes what a chain's ForwardTrace gives for a batch x: the
// latent z [batchSize, D] after the last layer, and the log-dets of the
// layers, each [batchSize], layer k's evaluated at its own input h_{k−1}. It
// returns, per example (shape [batchSize]):
//
//	logDet  = log|det J_f(x)| = Σ_k layerLogDets[k]
//	logProb = log p(x) = log p_Z(z) + logDet,  with log p_Z(z) = −½ Σ_i (z_i² + log 2π)
//
// the chain rule for f = f_K ∘ … ∘ f_1 (the Jacobians multiply, so their
// log-dets add), and the change of variables in flowlib's direction, data →
// latent, where the log-det is added. layerLogDets has at least one entry.
func ComposedLogProb(z *Node, layerLogDets []*Node) (logDet, logProb *Node) {
	logDet = layerLogDets[0]
	for _, ld := range layerLogDets[1:] {
		logDet = Add(logDet, ld)
	}
	logBase := MulScalar(ReduceSum(AddScalar(Square(z), math.Log(2*math.Pi)), 1), -0.5)
	return logDet, Add(logBase, logDet)
}
