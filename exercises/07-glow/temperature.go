package glow

import (
	. "github.com/gomlx/gomlx/core/graph" //nolint:revive // GoMLX's idiom: graph ops read like math.
	"github.com/gomlx/gomlx/ml/model"

	"github.com/flowbook/flowbook/flowlib"
)

// SampleAtTemperature draws samples from flow at temperature t, with a
// standard normal base, from the noise eps [n, event...] (standard normal,
// drawn by the caller so that the result is reproducible):
//
//	z = t·eps,  x = f⁻¹(z)   (flow.Inverse)
//
// and returns x and the log-likelihood of each sample under the model itself
// (the base at temperature 1), one value per sample [n]:
//
//	log p(x) = log p_Z(z) − log|det ∂f⁻¹/∂z|
//
// with log p_Z from flow.Base.LogProb (its variables, if any, live in the
// sub-scope scope.At("base")) and the log-det that flow.Inverse returns.
// Lower temperatures give more likely samples: see the notebook's formula
// for p_T.
func SampleAtTemperature(scope *model.Scope, flow *flowlib.Flow, eps *Node, t float64) (x, logProb *Node) {
	// TODO(exercise): scale the noise, invert the flow, and combine the base log-density with the log-det.
	return nil, nil
}
