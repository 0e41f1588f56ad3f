package flowlib

import (
	"github.com/gomlx/compute/dtypes"
	. "github.com/gomlx/gomlx/core/graph" //nolint:revive
	"github.com/gomlx/gomlx/ml/model"
	"github.com/gomlx/gomlx/support/exceptions"
)

// A conditional flow models p(x | c): a density of the data x given a
// context c, one context per example, such as a class label one-hot, a
// parameter of a simulator, or an observation. The context reaches every
// layer's conditioner (and, optionally, the base distribution), so the map
// from x to the latent, and with it the density, changes with c. Layers that
// have no conditioner (ActNorm, permutations, squeezes) ignore the context.

// ConditionalBijector is a [Bijector] whose map also depends on a context:
// a tensor [batchSize, ...] with one row per example, of the data's dtype.
// ForwardWithContext and InverseWithContext must use the same variables as
// Forward and Inverse, which map as if there were no context information
// (the conditioner sees no context features, so a layer built for a context
// must be given one).
type ConditionalBijector interface {
	Bijector
	ForwardWithContext(scope *model.Scope, x, context *Node) (y, logDet *Node)
	InverseWithContext(scope *model.Scope, y, context *Node) (x, logDet *Node)
}

// ForwardWithContext applies b in the Forward direction, giving it the
// context if it is a [ConditionalBijector] and the context is not nil; other
// bijectors ignore the context.
func ForwardWithContext(b Bijector, scope *model.Scope, x, context *Node) (y, logDet *Node) {
	if cb, ok := b.(ConditionalBijector); ok && context != nil {
		return cb.ForwardWithContext(scope, x, context)
	}
	return b.Forward(scope, x)
}

// InverseWithContext is [ForwardWithContext] for the Inverse direction.
func InverseWithContext(b Bijector, scope *model.Scope, y, context *Node) (x, logDet *Node) {
	if cb, ok := b.(ConditionalBijector); ok && context != nil {
		return cb.InverseWithContext(scope, y, context)
	}
	return b.Inverse(scope, y)
}

// ConditionalDistribution is a [Distribution] that can also depend on a
// context [batchSize, ...]. SampleWithContext draws one sample per row of
// the context, of the context's dtype.
type ConditionalDistribution interface {
	Distribution
	LogProbWithContext(scope *model.Scope, z, context *Node) *Node
	SampleWithContext(scope *model.Scope, context *Node, temperature float64) *Node
}

// logProbWithContext is d's log-density, given the context if d is conditional.
func logProbWithContext(d Distribution, scope *model.Scope, z, context *Node) *Node {
	if cd, ok := d.(ConditionalDistribution); ok && context != nil {
		return cd.LogProbWithContext(scope, z, context)
	}
	return d.LogProb(scope, z)
}

// sampleWithContext draws one sample of d per row of the context.
func sampleWithContext(d Distribution, scope *model.Scope, context *Node, temperature float64) *Node {
	if cd, ok := d.(ConditionalDistribution); ok {
		return cd.SampleWithContext(scope, context, temperature)
	}
	return d.Sample(scope, context.Graph(), context.DType(), context.Shape().Dimensions[0], temperature)
}

// withContext appends the context to a conditioner's input x on the last
// axis. A context [batchSize, c] given with images [batchSize, H, W, C] is
// repeated at every pixel; an image-shaped context [batchSize, H, W, c] is
// appended as extra channels. A nil context returns x.
func withContext(layer string, x, context *Node) *Node {
	if context == nil {
		return x
	}
	requireNonEmpty(layer+" context", context)
	dims := x.Shape().Dimensions
	cdims := context.Shape().Dimensions
	switch {
	case context.DType() != x.DType():
		exceptions.Panicf("flowlib: %s: the context has dtype %s but the data %s; convert the context to %s",
			layer, context.DType(), x.DType(), x.DType())
	case cdims[0] != dims[0]:
		exceptions.Panicf("flowlib: %s: the context has %d rows (shape %s) for a batch of %d examples (shape %s); "+
			"give one context row per example", layer, cdims[0], context.Shape(), dims[0], x.Shape())
	}
	switch {
	case context.Rank() == 2 && x.Rank() > 2:
		shape := append([]int{cdims[0]}, dims[1:]...)
		shape[len(shape)-1] = cdims[1]
		spread := Reshape(context, append(append([]int{cdims[0]}, ones(x.Rank()-2)...), cdims[1])...)
		context = BroadcastToDims(spread, shape...)
	case context.Rank() != x.Rank():
		exceptions.Panicf("flowlib: %s: a context of shape %s does not fit data of shape %s; give a context "+
			"[batchSize, features], or, for images, [batchSize, height, width, channels]", layer, context.Shape(), x.Shape())
	}
	for a := 1; a < x.Rank()-1; a++ {
		if context.Shape().Dimensions[a] != dims[a] {
			exceptions.Panicf("flowlib: %s: an image-shaped context %s must have the data's height and width %s",
				layer, context.Shape(), x.Shape())
		}
	}
	return Concatenate([]*Node{x, context}, x.Rank()-1)
}

// ones is n ones.
func ones(n int) []int {
	s := make([]int, n)
	for i := range s {
		s[i] = 1
	}
	return s
}

// ConditionalDiagonalGaussian is a base distribution that depends on the
// context: N(μ(c), diag σ(c)²), where a conditioner maps the context [batchSize,
// c] to μ and the raw log σ (2·size values for events of size values). The
// log σ is bounded as ScaleBound·tanh(raw/ScaleBound) (0 means
// [DefaultScaleBound]). An [MLP], whose output layer starts at zero, makes it
// start as N(0, I) for every context. Its variables are the conditioner's, in
// the sub-scope "conditioner".
//
// It needs a context: LogProb and Sample without one panic, saying so.
type ConditionalDiagonalGaussian struct {
	Event       []int
	Conditioner Conditioner
	ScaleBound  float64
}

// NewConditionalDiagonalGaussian returns N(μ(c), diag σ(c)²) on events of the
// given shape, with μ and log σ computed from the context by conditioner.
func NewConditionalDiagonalGaussian(conditioner Conditioner, event ...int) *ConditionalDiagonalGaussian {
	return &ConditionalDiagonalGaussian{Event: event, Conditioner: conditioner}
}

// EventShape implements [Distribution].
func (d *ConditionalDiagonalGaussian) EventShape() []int { return d.Event }

// LogProb implements [Distribution]; it panics, since the distribution needs a context.
func (d *ConditionalDiagonalGaussian) LogProb(_ *model.Scope, _ *Node) *Node {
	exceptions.Panicf("flowlib: ConditionalDiagonalGaussian needs a context: use LogProbWithContext " +
		"(or Flow.LogProbWithContext)")
	return nil
}

// Sample implements [Distribution]; it panics, since the distribution needs a context.
func (d *ConditionalDiagonalGaussian) Sample(_ *model.Scope, _ *Graph, _ dtypes.DType, _ int, _ float64) *Node {
	exceptions.Panicf("flowlib: ConditionalDiagonalGaussian needs a context: use SampleWithContext " +
		"(or Flow.SampleWithContext)")
	return nil
}

// params returns μ and log σ for each row of the context, shaped [batchSize, event...].
func (d *ConditionalDiagonalGaussian) params(scope *model.Scope, context *Node) (mean, logStd *Node) {
	if context.Rank() != 2 {
		exceptions.Panicf("flowlib: ConditionalDiagonalGaussian takes a context [batchSize, features], got shape %s",
			context.Shape())
	}
	requireNonEmpty("ConditionalDiagonalGaussian context", context)
	size := eventSize(d.Event)
	h := d.Conditioner(scope.At("conditioner"), context, 2*size)
	if want := []int{context.Shape().Dimensions[0], 2 * size}; h.Rank() != 2 || h.Shape().Dimensions[1] != want[1] ||
		h.Shape().Dimensions[0] != want[0] {
		exceptions.Panicf("flowlib: ConditionalDiagonalGaussian: the conditioner returned shape %s, want %v", h.Shape(), want)
	}
	dims := append([]int{context.Shape().Dimensions[0]}, d.Event...)
	mean, raw := lastAxisHalves(h)
	bound := d.ScaleBound
	if bound <= 0 {
		bound = DefaultScaleBound
	}
	return Reshape(mean, dims...), Reshape(MulScalar(Tanh(DivScalar(raw, bound)), bound), dims...)
}

// LogProbWithContext implements [ConditionalDistribution].
func (d *ConditionalDiagonalGaussian) LogProbWithContext(scope *model.Scope, z, context *Node) *Node {
	checkEvent("ConditionalDiagonalGaussian", d.Event, z)
	if context.Rank() == 0 || context.Shape().Dimensions[0] != z.Shape().Dimensions[0] {
		exceptions.Panicf("flowlib: ConditionalDiagonalGaussian: context of shape %s for a batch of shape %s; "+
			"give one context row per example", context.Shape(), z.Shape())
	}
	mean, logStd := d.params(scope, context)
	standardized := Mul(Sub(z, mean), Exp(Neg(logStd)))
	perCoord := Add(AddScalar(Square(standardized), log2Pi), MulScalar(logStd, 2))
	return MulScalar(sumPerExample(perCoord), -0.5)
}

// SampleWithContext implements [ConditionalDistribution].
func (d *ConditionalDiagonalGaussian) SampleWithContext(scope *model.Scope, context *Node, temperature float64) *Node {
	mean, logStd := d.params(scope, context)
	eps := MulScalar(scope.RandomNormal(context.Graph(), mean.Shape()), temperature)
	return Add(mean, Mul(eps, Exp(logStd)))
}
