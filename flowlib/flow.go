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
// It panics on an empty batch, like LogProb.
func (f *Flow) Forward(scope *model.Scope, x *Node) (z, logDet *Node) {
	requireNonEmpty("Forward", x)
	return f.Bijector.Forward(f.bijectorScope(scope), x)
}

// Inverse maps a latent z back to data x = f⁻¹(z) and returns log|det ∂f⁻¹/∂z|.
// It panics on an empty batch, like LogProb.
func (f *Flow) Inverse(scope *model.Scope, z *Node) (x, logDet *Node) {
	requireNonEmpty("Inverse", z)
	return f.Bijector.Inverse(f.bijectorScope(scope), z)
}

// LogProb returns the exact log-density log p(x) of each example, in nats,
// shape [batchSize].
//
// The shape is checked while the graph is built: an empty batch
// ([0, ...]), a scalar or a wrong rank panics with a message saying so
// (executors turn it into an error). The values are not validated inside the
// graph: a NaN or Inf in an example, or a value outside the domain of the
// first layer (integer pixel levels for an image flow, [0, 1] for a leading
// [Logit]), silently gives NaN or ±Inf for that example. Call [Flow.CheckData]
// or [Flow.CheckTensor] on data from outside first; the training package
// does, for training, evaluation and reconstruction alike.
func (f *Flow) LogProb(scope *model.Scope, x *Node) *Node {
	requireNonEmpty("LogProb", x)
	z, logDet := f.Forward(scope, x)
	return Add(f.Base.LogProb(f.baseScope(scope), z), logDet)
}

// Sample draws n samples: z from the base at the given temperature (1 is the
// model itself), then x = f⁻¹(z). The result has shape [n, event...]. It
// panics unless n ≥ 1.
func (f *Flow) Sample(scope *model.Scope, g *Graph, dtype dtypes.DType, n int, temperature float64) *Node {
	x, _ := f.SampleWithLogProb(scope, g, dtype, n, temperature)
	return x
}

// SampleWithLogProb is Sample that also returns log p(x) of each sample under
// the model (at temperature 1 this is the density the samples come from):
// log p(x) = log p_base(z) − log|det ∂f⁻¹/∂z|.
func (f *Flow) SampleWithLogProb(scope *model.Scope, g *Graph, dtype dtypes.DType, n int, temperature float64) (x, logProb *Node) {
	requireSampleCount("Sample", n)
	z := f.Base.Sample(f.baseScope(scope), g, dtype, n, temperature)
	x, logDet := f.Inverse(scope, z)
	return x, Sub(f.Base.LogProb(f.baseScope(scope), z), logDet)
}

// Trace returns x and the tensor after each layer on the way to the latent
// (data → latent). If the bijector is not a [Chain], it returns just x and z.
func (f *Flow) Trace(scope *model.Scope, x *Node) []*Node {
	requireNonEmpty("Trace", x)
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
	requireNonEmpty("InverseTrace", z)
	if chain, ok := f.Bijector.(*Chain); ok {
		trace, _ := chain.InverseTrace(f.bijectorScope(scope), z)
		return trace
	}
	x, _ := f.Inverse(scope, z)
	return []*Node{z, x}
}
