package nice

import (
	. "github.com/gomlx/gomlx/core/graph" //nolint:revive // GoMLX's idiom: graph ops read like math.
	"github.com/gomlx/gomlx/ml/model"

	"github.com/flowbook/flowbook/flowlib"
)

// Chain composes bijectors, f = f_K ∘ … ∘ f_1 with f_1 = Layers[0]:
//
//	Forward:  h_0 = x, h_k = f_k(h_{k−1}), z = h_K;   log|det J_f(x)| = Σ_k log|det J_{f_k}(h_{k−1})|
//	Inverse:  undo the layers in reverse order, Layers[K−1]'s Inverse first;
//	          the log-det is the sum of the layers' Inverse log-dets
//
// Each log-det is [batchSize], one value per example. Layer i must run in the
// scope LayerScope(scope, i) in both directions, so that Forward and Inverse
// use the same variables. An empty chain is the identity, with log-det 0
// (zeroLogDet).
type Chain struct {
	Layers []flowlib.Bijector
}

// Name implements flowlib.Named.
func (c *Chain) Name() string { return "chain" }

// Forward implements flowlib.Bijector: see the type's documentation.
func (c *Chain) Forward(scope *model.Scope, x *Node) (z, logDet *Node) {
	logDet = zeroLogDet(x)
	for i, layer := range c.Layers {
		var ld *Node
		x, ld = layer.Forward(LayerScope(scope, i), x)
		logDet = Add(logDet, ld)
	}
	return x, logDet
}

// Inverse implements flowlib.Bijector: see the type's documentation.
func (c *Chain) Inverse(scope *model.Scope, z *Node) (x, logDet *Node) {
	logDet = zeroLogDet(z)
	for i := len(c.Layers) - 1; i >= 0; i-- {
		var ld *Node
		z, ld = c.Layers[i].Inverse(LayerScope(scope, i), z)
		logDet = Add(logDet, ld)
	}
	return z, logDet
}

// LayerScope is given: the scope of layer i of a chain, "layer_00",
// "layer_01", ... under scope.
func LayerScope(scope *model.Scope, i int) *model.Scope {
	return scope.At("layer_%02d", i)
}
