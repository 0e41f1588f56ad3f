package flowlib

import (
	. "github.com/gomlx/gomlx/core/graph" //nolint:revive
	"github.com/gomlx/gomlx/ml/model"
	"github.com/gomlx/gomlx/support/exceptions"
)

// FactorOut is the multi-scale split of RealNVP (Dinh et al. 2016, section
// 3.6) and Glow: half of the channels leave the flow here, and only the other
// half goes on through Inner, at the next scale. On images [batchSize, H, W, C]
// with C even:
//
//	Forward:  x = (x_kept, x_out) split on channels
//	          y = concat(Inner(x_kept), ε)     where ε = x_out, or with a
//	          learned prior ε = (x_out − μ(x_kept)) · exp(−log σ(x_kept))
//
// The latent keeps the input's shape, so the base distribution is a standard
// normal over the whole image, and the flow's cost falls by half at every
// scale. The factored-out half is "Gaussianised" early: it is what the flow
// deems coarse-grained enough to stop transforming.
//
// With LearnedPrior (Glow's "split" prior), x_out given x_kept is modelled as
// N(μ(x_kept), σ(x_kept)²) rather than N(0, 1): a conditioner (a [ConvNet]
// with zero-initialised output, so it starts as the standard normal) reads
// x_kept and the affine map above turns x_out into ε, adding −Σ log σ to the
// log-det. Because ε is what the base distribution sees, sampling at a
// temperature T draws x_out = μ + σ·T·ε, as Glow does.
//
// Inner must keep the shape of x_kept: [batchSize, H, W, C/2]. A multi-scale
// model nests FactorOut layers: see [Glow] and [RealNVPImage].
type FactorOut struct {
	// Channels is C, the channel count of the input.
	Channels int
	// Inner transforms the kept half; nil means the identity.
	Inner Bijector
	// LearnedPrior turns on the conditional Gaussian prior of the factored-out half.
	LearnedPrior bool
	// Prior computes μ and the raw log σ (2·C/2 channels) from the kept half;
	// nil uses ConvNet(32).
	Prior Conditioner
	// ScaleBound bounds log σ as ScaleBound · tanh(raw / ScaleBound); 0 means [DefaultScaleBound].
	ScaleBound float64
}

// NewFactorOut returns a multi-scale split over the given channel count, with
// inner applied to the kept half.
func NewFactorOut(channels int, inner Bijector) *FactorOut {
	return &FactorOut{Channels: channels, Inner: inner}
}

// Name implements [Named].
func (f *FactorOut) Name() string { return "factor_out" }

func (f *FactorOut) check(x *Node) {
	requireImages("FactorOut", x, 0, 0, f.Channels)
	if f.Channels%2 != 0 {
		exceptions.Panicf("flowlib: FactorOut needs an even channel count, got %d; squeeze the image first", f.Channels)
	}
}

// prior returns μ and log σ of the factored-out half given the kept half.
func (f *FactorOut) prior(scope *model.Scope, kept, context *Node) (mean, logStd *Node) {
	prior := f.Prior
	if prior == nil {
		prior = ConvNet(32).Done()
	}
	h := checkConditionerOutput("FactorOut prior", prior(scope.At("prior"), withContext("FactorOut prior", kept, context), f.Channels), kept, f.Channels)
	mean, raw := lastAxisHalves(h)
	bound := f.ScaleBound
	if bound <= 0 {
		bound = DefaultScaleBound
	}
	return mean, MulScalar(Tanh(DivScalar(raw, bound)), bound)
}

// Forward implements [Bijector].
func (f *FactorOut) Forward(scope *model.Scope, x *Node) (y, logDet *Node) {
	return f.ForwardWithContext(scope, x, nil)
}

// Inverse implements [Bijector].
func (f *FactorOut) Inverse(scope *model.Scope, y *Node) (x, logDet *Node) {
	return f.InverseWithContext(scope, y, nil)
}

// ForwardWithContext implements [ConditionalBijector]: the context reaches
// Inner and the learned prior.
func (f *FactorOut) ForwardWithContext(scope *model.Scope, x, context *Node) (y, logDet *Node) {
	f.check(x)
	kept, out := lastAxisHalves(x)
	logDet = Zeros(x.Graph(), batchShape(x))
	if f.LearnedPrior {
		mean, logStd := f.prior(scope, kept, context)
		out = Mul(Sub(out, mean), Exp(Neg(logStd)))
		logDet = Neg(sumPerExample(logStd))
	}
	if f.Inner != nil {
		var ld *Node
		in := kept
		kept, ld = ForwardWithContext(f.Inner, scope.At("inner"), kept, context)
		f.checkInner("Forward", in, kept)
		logDet = Add(logDet, ld)
	}
	return Concatenate([]*Node{kept, out}, 3), logDet
}

// InverseWithContext implements [ConditionalBijector].
func (f *FactorOut) InverseWithContext(scope *model.Scope, y, context *Node) (x, logDet *Node) {
	f.check(y)
	kept, out := lastAxisHalves(y)
	logDet = Zeros(y.Graph(), batchShape(y))
	if f.Inner != nil {
		var ld *Node
		in := kept
		kept, ld = InverseWithContext(f.Inner, scope.At("inner"), kept, context)
		f.checkInner("Inverse", in, kept)
		logDet = ld
	}
	if f.LearnedPrior {
		mean, logStd := f.prior(scope, kept, context)
		out = Add(Mul(out, Exp(logStd)), mean)
		logDet = Add(logDet, sumPerExample(logStd))
	}
	return Concatenate([]*Node{kept, out}, 3), logDet
}

func (f *FactorOut) checkInner(direction string, in, out *Node) {
	if !out.Shape().Equal(in.Shape()) {
		exceptions.Panicf("flowlib: FactorOut's inner bijector %s turned shape %s into %s; it must keep the shape "+
			"(end it with an Unsqueeze2x2 for every Squeeze2x2)", direction, in.Shape(), out.Shape())
	}
}
