package flowlib

import (
	"fmt"

	. "github.com/gomlx/gomlx/core/graph" //nolint:revive // GoMLX's idiom: graph ops read like math.
	"github.com/gomlx/gomlx/ml/model"
	"github.com/gomlx/gomlx/support/exceptions"
)

// Bijector is an invertible map with a tractable log-determinant.
//
// Forward maps data to latent (the normalizing direction), Inverse maps latent
// to data. Each returns the transformed tensor [batchSize, ...] and log|det J|
// of the map it computed, with shape [batchSize]: one value per example, never
// summed over the batch. The output has as many values per example as the
// input; most bijectors keep the shape itself, a few ([Squeeze2x2]) rearrange it.
//
// Implementations create their variables in the scope they are given and must
// use the same variables in both directions. Graph-building errors panic, as
// everywhere in GoMLX; executors turn the panics into errors.
type Bijector interface {
	Forward(scope *model.Scope, x *Node) (y, logDet *Node)
	Inverse(scope *model.Scope, y *Node) (x, logDet *Node)
}

// Named is implemented by bijectors that have a short snake_case name, used to
// name their scope in a [Chain] and in error messages.
type Named interface {
	Name() string
}

// NameOf returns the name of a bijector: its Name method if it has one, else
// "bijector".
func NameOf(b Bijector) string {
	if n, ok := b.(Named); ok {
		return n.Name()
	}
	return "bijector"
}

// Chain composes bijectors: Forward applies Layers[0] first, Inverse undoes
// them in reverse order, and the log-dets add (the chain rule for Jacobians:
// det(AB) = det A · det B).
//
// Layer i lives in the sub-scope [Chain.LayerScopeName](i).
type Chain struct {
	Layers []Bijector
}

// NewChain returns the composition of layers, the first applied first in the
// Forward (data → latent) direction.
func NewChain(layers ...Bijector) *Chain {
	return &Chain{Layers: layers}
}

// Name implements [Named].
func (c *Chain) Name() string { return "chain" }

// LayerScopeName is the sub-scope name of layer i, e.g. "03_affine_coupling".
func (c *Chain) LayerScopeName(i int) string {
	return fmt.Sprintf("%02d_%s", i, NameOf(c.Layers[i]))
}

// layerScope returns a fresh view of layer i's scope. At (not In) lets Forward
// and Inverse enter the same scope more than once in one graph.
func (c *Chain) layerScope(scope *model.Scope, i int) *model.Scope {
	return scope.At("%s", c.LayerScopeName(i))
}

// Forward implements [Bijector].
func (c *Chain) Forward(scope *model.Scope, x *Node) (y, logDet *Node) {
	return c.ForwardWithContext(scope, x, nil)
}

// Inverse implements [Bijector].
func (c *Chain) Inverse(scope *model.Scope, y *Node) (x, logDet *Node) {
	return c.InverseWithContext(scope, y, nil)
}

// ForwardWithContext implements [ConditionalBijector]: the context goes to
// every layer that takes one.
func (c *Chain) ForwardWithContext(scope *model.Scope, x, context *Node) (y, logDet *Node) {
	trace, logDets := c.ForwardTraceWithContext(scope, x, context)
	return trace[len(trace)-1], sumLogDets(x, logDets)
}

// InverseWithContext implements [ConditionalBijector].
func (c *Chain) InverseWithContext(scope *model.Scope, y, context *Node) (x, logDet *Node) {
	trace, logDets := c.InverseTraceWithContext(scope, y, context)
	return trace[len(trace)-1], sumLogDets(y, logDets)
}

// ForwardTrace runs Forward layer by layer and returns the tensor before the
// first layer and after each one (len(Layers)+1 tensors), and each layer's
// log-det. The notebooks draw it to show a flow warping space step by step.
func (c *Chain) ForwardTrace(scope *model.Scope, x *Node) (trace, logDets []*Node) {
	return c.ForwardTraceWithContext(scope, x, nil)
}

// ForwardTraceWithContext is ForwardTrace with a context (nil for none).
func (c *Chain) ForwardTraceWithContext(scope *model.Scope, x, context *Node) (trace, logDets []*Node) {
	requireNonEmpty("Chain", x)
	trace = []*Node{x}
	for i, layer := range c.Layers {
		var ld *Node
		x, ld = ForwardWithContext(layer, c.layerScope(scope, i), x, context)
		checkLayerOutput(c, i, "Forward", trace[len(trace)-1], x, ld)
		trace = append(trace, x)
		logDets = append(logDets, ld)
	}
	return trace, logDets
}

// InverseTrace runs Inverse from the last layer to the first and returns the
// tensor before the first inverted layer and after each one, and their log-dets.
func (c *Chain) InverseTrace(scope *model.Scope, y *Node) (trace, logDets []*Node) {
	return c.InverseTraceWithContext(scope, y, nil)
}

// InverseTraceWithContext is InverseTrace with a context (nil for none).
func (c *Chain) InverseTraceWithContext(scope *model.Scope, y, context *Node) (trace, logDets []*Node) {
	requireNonEmpty("Chain", y)
	trace = []*Node{y}
	for i := len(c.Layers) - 1; i >= 0; i-- {
		var ld *Node
		y, ld = InverseWithContext(c.Layers[i], c.layerScope(scope, i), y, context)
		checkLayerOutput(c, i, "Inverse", trace[len(trace)-1], y, ld)
		trace = append(trace, y)
		logDets = append(logDets, ld)
	}
	return trace, logDets
}

// checkLayerOutput panics with a message naming the layer if a bijector broke
// the contract (a change of batch size, dtype or number of values per example,
// or a log-det that is not one value per example).
func checkLayerOutput(c *Chain, i int, direction string, in, out, logDet *Node) {
	name := c.LayerScopeName(i)
	if out.DType() != in.DType() || out.Shape().Size() != in.Shape().Size() ||
		out.Rank() == 0 || out.Shape().Dimensions[0] != in.Shape().Dimensions[0] {
		exceptions.Panicf("flowlib: layer %s %s changed the shape from %s to %s; bijectors must keep the batch "+
			"size, the dtype and the number of values per example", name, direction, in.Shape(), out.Shape())
	}
	if logDet.Rank() != 1 || logDet.Shape().Dimensions[0] != in.Shape().Dimensions[0] {
		exceptions.Panicf("flowlib: layer %s %s returned a log-det of shape %s, want [batchSize=%d] (one value per example)",
			name, direction, logDet.Shape(), in.Shape().Dimensions[0])
	}
}

// sumLogDets adds per-layer log-dets; an empty chain is the identity (log-det 0).
func sumLogDets(x *Node, logDets []*Node) *Node {
	if len(logDets) == 0 {
		return Zeros(x.Graph(), batchShape(x))
	}
	total := logDets[0]
	for _, ld := range logDets[1:] {
		total = Add(total, ld)
	}
	return total
}

// Invert swaps the directions of a bijector: its Forward is b's Inverse. Use
// it to put a layer defined in the generative direction into a flow.
func Invert(b Bijector) Bijector { return inverted{b} }

type inverted struct{ b Bijector }

func (v inverted) Name() string { return "inverse_" + NameOf(v.b) }
func (v inverted) Forward(scope *model.Scope, x *Node) (*Node, *Node) {
	return v.b.Inverse(scope, x)
}
func (v inverted) Inverse(scope *model.Scope, y *Node) (*Node, *Node) {
	return v.b.Forward(scope, y)
}
func (v inverted) ForwardWithContext(scope *model.Scope, x, context *Node) (*Node, *Node) {
	return InverseWithContext(v.b, scope, x, context)
}
func (v inverted) InverseWithContext(scope *model.Scope, y, context *Node) (*Node, *Node) {
	return ForwardWithContext(v.b, scope, y, context)
}
