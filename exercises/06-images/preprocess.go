package imageflows

import (
	. "github.com/gomlx/gomlx/core/graph" //nolint:revive // GoMLX's idiom: graph ops read like math.
	"github.com/gomlx/gomlx/ml/model"
)

// Dequantize is uniform dequantization with rescaling, the first layer of an
// image flow. For integer pixel values x in 0…255 [batchSize, ...] and noise u
// of the same shape, uniform in [0, 1) and drawn by the caller, it returns
//
//	y = (x + u) / 256                       (in [0, 1), same shape as x)
//	logDet = log|det ∂y/∂(x + u)| = −D·log 256   (one value per example, [batchSize])
//
// where D is the number of values per example (every axis but the first).
// flowlib's UniformDequantization draws u itself, keeps it a margin δ away
// from the cell edges and adds D·log(1 − 2δ) for that; here u is given and
// there is no margin.
func Dequantize(x, u *Node) (y, logDet *Node) {
	// TODO(exercise): rescale x + u and return the constant log-det, one per example.
	return nil, nil
}

// Logit is RealNVP's logit preprocessing as a bijector (flowlib.Logit is the
// library's version). It maps y in [0, 1] to the real line, squeezed by α
// away from 0 and 1, where the logit is infinite:
//
//	Forward:  p = α + (1 − 2α)·y,  z = log p − log(1 − p)
//	          logDet = Σ_i [log(1 − 2α) − log p_i − log(1 − p_i)]
//	Inverse:  y = (sigmoid(z) − α) / (1 − 2α)
//	          logDet = −(the Forward log-det at that y)
//
// The sums run over every axis but the first: each log-det has shape
// [batchSize], one value per example. The scope is not used (the layer has
// no variables); it is there to satisfy flowlib.Bijector.
type Logit struct {
	// Alpha is α, in [0, 0.5).
	Alpha float64
}

// Forward maps y in [0, 1] to z on the real line and returns log|det ∂z/∂y|.
func (l Logit) Forward(scope *model.Scope, y *Node) (z, logDet *Node) {
	// TODO(exercise): squeeze by α, take the logit, and sum the per-value log-derivative per example.
	return nil, nil
}

// Inverse maps z back to y and returns log|det ∂y/∂z|.
func (l Logit) Inverse(scope *model.Scope, z *Node) (y, logDet *Node) {
	// TODO(exercise): sigmoid, then undo the squeeze; the log-det is minus the forward one.
	return nil, nil
}
