package flowlib

import (
	"github.com/gomlx/compute/dtypes"
	. "github.com/gomlx/gomlx/core/graph" //nolint:revive
	"github.com/gomlx/gomlx/ml/model"
	"github.com/gomlx/gomlx/support/exceptions"
)

// Flow is a normalizing flow: a base distribution on the latent space and a
// bijector from data to latent. By the change of variables,
//
//	log p(x) = log p_base(f(x)) + log|det ∂f/∂x|
//
// The bijector's variables live in the sub-scope "bijector", the base's in "base".
//
// A Flow is itself a [Distribution] (and a [ConditionalDistribution]), so it
// can be the base of another flow. With a context (see
// [ConditionalBijector]), it is a conditional flow p(x | c): the context
// reaches every layer that takes one and the base, if it is conditional.
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

// EventShape implements [Distribution]: the shape of one example, which is
// the base's event shape (every bijector keeps the number of values per
// example, and those of this package that fold an example unfold it again).
func (f *Flow) EventShape() []int { return f.Base.EventShape() }

// Forward maps data x to the latent z = f(x) and returns log|det ∂f/∂x|.
// It panics on an empty batch, like LogProb.
func (f *Flow) Forward(scope *model.Scope, x *Node) (z, logDet *Node) {
	return f.ForwardWithContext(scope, x, nil)
}

// ForwardWithContext is Forward given a context [batchSize, ...] (nil for none).
func (f *Flow) ForwardWithContext(scope *model.Scope, x, context *Node) (z, logDet *Node) {
	requireNonEmpty("Forward", x)
	return ForwardWithContext(f.Bijector, f.bijectorScope(scope), x, context)
}

// Inverse maps a latent z back to data x = f⁻¹(z) and returns log|det ∂f⁻¹/∂z|.
// It panics on an empty batch, like LogProb.
func (f *Flow) Inverse(scope *model.Scope, z *Node) (x, logDet *Node) {
	return f.InverseWithContext(scope, z, nil)
}

// InverseWithContext is Inverse given a context (nil for none).
func (f *Flow) InverseWithContext(scope *model.Scope, z, context *Node) (x, logDet *Node) {
	requireNonEmpty("Inverse", z)
	return InverseWithContext(f.Bijector, f.bijectorScope(scope), z, context)
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
	return f.LogProbWithContext(scope, x, nil)
}

// LogProbWithContext is log p(x | c) for each example and its row of the
// context (nil for none), shape [batchSize]; it implements
// [ConditionalDistribution].
func (f *Flow) LogProbWithContext(scope *model.Scope, x, context *Node) *Node {
	requireNonEmpty("LogProb", x)
	z, logDet := f.ForwardWithContext(scope, x, context)
	return Add(logProbWithContext(f.Base, f.baseScope(scope), z, context), logDet)
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

// SampleWithContext draws one sample per row of the context at the given
// temperature: z from the base (given the context, if the base is
// conditional), then x = f⁻¹(z; c). It implements [ConditionalDistribution].
func (f *Flow) SampleWithContext(scope *model.Scope, context *Node, temperature float64) *Node {
	x, _ := f.SampleWithLogProbAndContext(scope, context, temperature)
	return x
}

// SampleWithLogProbAndContext is SampleWithContext that also returns
// log p(x | c) of each sample.
func (f *Flow) SampleWithLogProbAndContext(scope *model.Scope, context *Node, temperature float64) (x, logProb *Node) {
	if context == nil || context.Rank() == 0 {
		exceptions.Panicf("flowlib: SampleWithContext needs a context [n, ...], one row per sample; " +
			"use Sample to draw without one")
	}
	requireSampleCount("SampleWithContext", context.Shape().Dimensions[0])
	z := sampleWithContext(f.Base, f.baseScope(scope), context, temperature)
	x, logDet := f.InverseWithContext(scope, z, context)
	return x, Sub(logProbWithContext(f.Base, f.baseScope(scope), z, context), logDet)
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
