package flowlib

import (
	"github.com/gomlx/compute/dtypes"
	. "github.com/gomlx/gomlx/core/graph" //nolint:revive
	"github.com/gomlx/gomlx/ml/model"
)

// Flow is a normalizing flow: a base distribution on the latent space and a
// bijector from data to latent. By the change of variables,
//
//	log p(x) = log p_base(f(x)) + log|det ∂f/∂x|
//
// The bijector's variables live in the sub-scope "bijector", the base's in "base".
type Flow struct {
	Base     Distribution
	Bijector Bijector
}

// NewFlow returns a flow with the given base distribution whose bijector is
// the [Chain] of layers (applied in order from data to latent).
func NewFlow(base Distribution, layers ...Bijector) *Flow {
	return &Flow{Base: base, Bijector: NewChain(layers...)}
}

func (f *Flow) bijectorScope(scope *model.Scope) *model.Scope { return scope.At("bijector") }
func (f *Flow) baseScope(scope *model.Scope) *model.Scope     { return scope.At("base") }

// Forward maps data x to the latent z = f(x) and returns log|det ∂f/∂x|.
func (f *Flow) Forward(scope *model.Scope, x *Node) (z, logDet *Node) {
	return f.Bijector.Forward(f.bijectorScope(scope), x)
}

// Inverse maps a latent z back to data x = f⁻¹(z) and returns log|det ∂f⁻¹/∂z|.
func (f *Flow) Inverse(scope *model.Scope, z *Node) (x, logDet *Node) {
	return f.Bijector.Inverse(f.bijectorScope(scope), z)
}

// LogProb returns the exact log-density log p(x) of each example, in nats,
// shape [batchSize].
func (f *Flow) LogProb(scope *model.Scope, x *Node) *Node {
	z, logDet := f.Forward(scope, x)
	return Add(f.Base.LogProb(f.baseScope(scope), z), logDet)
}

// Sample draws n samples: z from the base at the given temperature (1 is the
// model itself), then x = f⁻¹(z). The result has shape [n, event...].
func (f *Flow) Sample(scope *model.Scope, g *Graph, dtype dtypes.DType, n int, temperature float64) *Node {
	x, _ := f.SampleWithLogProb(scope, g, dtype, n, temperature)
	return x
}

// SampleWithLogProb is Sample that also returns log p(x) of each sample under
// the model (at temperature 1 this is the density the samples come from):
// log p(x) = log p_base(z) − log|det ∂f⁻¹/∂z|.
func (f *Flow) SampleWithLogProb(scope *model.Scope, g *Graph, dtype dtypes.DType, n int, temperature float64) (x, logProb *Node) {
	z := f.Base.Sample(f.baseScope(scope), g, dtype, n, temperature)
	x, logDet := f.Inverse(scope, z)
	return x, Sub(f.Base.LogProb(f.baseScope(scope), z), logDet)
}

// Trace returns x and the tensor after each layer on the way to the latent
// (data → latent). If the bijector is not a [Chain], it returns just x and z.
func (f *Flow) Trace(scope *model.Scope, x *Node) []*Node {
	if chain, ok := f.Bijector.(*Chain); ok {
		trace, _ := chain.ForwardTrace(f.bijectorScope(scope), x)
		return trace
	}
	z, _ := f.Forward(scope, x)
	return []*Node{x, z}
}

// InverseTrace returns z and the tensor after each inverted layer on the way
// back to data (latent → data): the picture of a flow warping the base
// distribution into the data, one layer at a time.
func (f *Flow) InverseTrace(scope *model.Scope, z *Node) []*Node {
	if chain, ok := f.Bijector.(*Chain); ok {
		trace, _ := chain.InverseTrace(f.bijectorScope(scope), z)
		return trace
	}
	x, _ := f.Inverse(scope, z)
	return []*Node{z, x}
}

// DataChecker is implemented by bijectors that accept only some inputs, such
// as the dequantization layers, which need integer pixel values. CheckData
// returns an error describing the first value it rejects; values holds
// examples row-major, valuesPerExample each.
type DataChecker interface {
	CheckData(values []float32, valuesPerExample int) error
}

// CheckData checks data for the flow's first layer (descending into chains):
// for an image flow, that the values are integer pixel values. Call it on
// data from outside before training or evaluating; the graph cannot report bad
// values itself.
func (f *Flow) CheckData(values []float32, valuesPerExample int) error {
	b := f.Bijector
	for {
		chain, ok := b.(*Chain)
		if !ok || len(chain.Layers) == 0 {
			break
		}
		b = chain.Layers[0]
	}
	if checker, ok := b.(DataChecker); ok {
		return checker.CheckData(values, valuesPerExample)
	}
	return nil
}
