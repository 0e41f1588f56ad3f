package flowlib

import (
	"fmt"
	"math"
	"strings"

	. "github.com/gomlx/gomlx/core/graph" //nolint:revive
	"github.com/gomlx/gomlx/ml/layers"
	"github.com/gomlx/gomlx/ml/layers/activation"
	"github.com/gomlx/gomlx/ml/model"
	"github.com/gomlx/gomlx/ml/model/initializer"
	"github.com/gomlx/gomlx/support/exceptions"
)

// CouplingMask chooses which values of an example a coupling layer passes
// through unchanged and conditions on (1), and which it transforms (0). [Mask]
// does it for vectors, [ImageMask] for images.
type CouplingMask interface {
	// String draws the mask, e.g. "1100".
	String() string
	// Validate returns an error unless the mask keeps at least one value and
	// transforms at least one.
	Validate() error
	// Tensor returns the mask as 0s and 1s with x's dtype, shaped to broadcast
	// against x. It panics, naming layer, if x does not have the shape the
	// mask was built for.
	Tensor(layer string, x *Node) *Node
}

// Mask selects the coordinates of vector data that a coupling layer passes
// through unchanged (true) and conditions on; the others (false) are
// transformed. A valid mask has at least one of each.
type Mask []bool

// HalfMask keeps the first half of the coordinates, ⌈dim/2⌉ of them (the
// "split in two halves" of NICE and RealNVP).
func HalfMask(dim int) Mask {
	m := make(Mask, dim)
	for i := range (dim + 1) / 2 {
		m[i] = true
	}
	return m
}

// AlternatingMask keeps the even coordinates 0, 2, 4, ... (RealNVP's
// checkerboard pattern, flattened).
func AlternatingMask(dim int) Mask {
	m := make(Mask, dim)
	for i := range m {
		m[i] = i%2 == 0
	}
	return m
}

// Flip returns the complementary mask: the coordinates kept become the ones
// transformed. Alternating a mask and its flip between layers lets every
// coordinate be transformed.
func (m Mask) Flip() Mask {
	f := make(Mask, len(m))
	for i, keep := range m {
		f[i] = !keep
	}
	return f
}

// String shows the mask as 1s (kept) and 0s (transformed), e.g. "1100".
func (m Mask) String() string {
	var b strings.Builder
	for _, keep := range m {
		if keep {
			b.WriteByte('1')
		} else {
			b.WriteByte('0')
		}
	}
	return b.String()
}

// Validate returns an error unless the mask keeps at least one coordinate and
// transforms at least one.
func (m Mask) Validate() error {
	kept := 0
	for _, keep := range m {
		if keep {
			kept++
		}
	}
	if kept == 0 || kept == len(m) {
		return fmt.Errorf("flowlib: mask %s must keep at least one coordinate and transform at least one", m)
	}
	return nil
}

// Tensor implements [CouplingMask]: a [1, dim] tensor for x of shape [batchSize, dim].
func (m Mask) Tensor(layer string, x *Node) *Node {
	m.check(layer, x)
	values := make([]float64, len(m))
	for i, keep := range m {
		if keep {
			values[i] = 1
		}
	}
	return Reshape(ConvertDType(Const(x.Graph(), values), x.DType()), 1, len(m))
}

func (m Mask) check(layer string, x *Node) {
	requireVectors(layer, x, len(m))
	if err := m.Validate(); err != nil {
		exceptions.Panicf("%s: %v", layer, err)
	}
}

// Conditioner is the neural network inside a coupling layer: it maps the
// kept values, x with the transformed ones zeroed, to outDim features on the
// last axis: [batchSize, dim] → [batchSize, outDim] for vectors ([MLP]),
// [batchSize, H, W, C] → [batchSize, H, W, outDim] for images ([ConvNet]).
// It need not be invertible.
type Conditioner func(scope *model.Scope, x *Node, outDim int) *Node

// MLPConfig configures a multi-layer perceptron conditioner; create it with
// [MLP] and finish with Done.
type MLPConfig struct {
	hidden     []int
	activation activation.Type
}

// MLP starts a fully connected conditioner with the given hidden layer sizes
// (e.g. MLP(64, 64)) and ReLU activations. Its output layer starts at zero, so
// a coupling layer that uses it starts as the identity map: training begins
// from the base distribution and no layer starts out scaling by exp(large).
func MLP(hidden ...int) *MLPConfig {
	return &MLPConfig{hidden: hidden, activation: activation.TypeRelu}
}

// Activation sets the activation by name ("relu", "tanh", "silu", "gelu", ...).
func (c *MLPConfig) Activation(name string) *MLPConfig {
	c.activation = activation.FromName(name)
	return c
}

// Done returns the conditioner.
func (c *MLPConfig) Done() Conditioner {
	hidden, act := c.hidden, c.activation
	return func(scope *model.Scope, x *Node, outDim int) *Node {
		h := x
		for i, size := range hidden {
			h = layers.DenseWithBias(scope.At("hidden_%d", i), h, size)
			h = activation.Apply(act, h)
		}
		return layers.DenseWithBias(scope.At("output").WithInitializer(initializer.Zero), h, outDim)
	}
}

// AdditiveCoupling is NICE's coupling layer (Dinh et al. 2014,
// https://arxiv.org/abs/1410.8516). With a the kept coordinates and b the
// transformed ones:
//
//	Forward:  y_a = x_a,  y_b = x_b + t(x_a)
//	Inverse:  x_a = y_a,  x_b = y_b − t(y_a)
//
// The Jacobian is triangular with ones on the diagonal: log|det J| = 0. The
// layer preserves volume, so a NICE flow needs a scaling layer (e.g.
// [ElementwiseAffine]) to change density.
type AdditiveCoupling struct {
	Mask        CouplingMask
	Conditioner Conditioner
}

// NewAdditiveCoupling returns an additive coupling layer.
func NewAdditiveCoupling(mask CouplingMask, conditioner Conditioner) *AdditiveCoupling {
	return &AdditiveCoupling{Mask: mask, Conditioner: conditioner}
}

// Name implements [Named].
func (c *AdditiveCoupling) Name() string { return "additive_coupling" }

func (c *AdditiveCoupling) shift(scope *model.Scope, x *Node) *Node {
	keep := c.Mask.Tensor("AdditiveCoupling", x)
	features := x.Shape().Dimensions[x.Rank()-1]
	t := checkConditionerOutput("AdditiveCoupling", c.Conditioner(scope.At("conditioner"), Mul(x, keep), features), x, features)
	return Mul(t, OneMinus(keep)) // Only the transformed coordinates move.
}

// Forward implements [Bijector].
func (c *AdditiveCoupling) Forward(scope *model.Scope, x *Node) (y, logDet *Node) {
	return Add(x, c.shift(scope, x)), Zeros(x.Graph(), batchShape(x))
}

// Inverse implements [Bijector]. y_a = x_a, so the shift is recomputed exactly.
func (c *AdditiveCoupling) Inverse(scope *model.Scope, y *Node) (x, logDet *Node) {
	return Sub(y, c.shift(scope, y)), Zeros(y.Graph(), batchShape(y))
}

// DefaultScaleBound bounds the log-scale of [AffineCoupling]: |s| < 3, so one
// layer scales a coordinate by at most e³ ≈ 20 either way.
const DefaultScaleBound = 3.0

// AffineCoupling is RealNVP's coupling layer (Dinh et al. 2016,
// https://arxiv.org/abs/1605.08803). With a the kept coordinates and b the
// transformed ones, and the conditioner giving s and t from x_a:
//
//	Forward:  y_a = x_a,  y_b = x_b · exp(s(x_a)) + t(x_a),   log|det J| = Σ s(x_a)
//	Inverse:  x_a = y_a,  x_b = (y_b − t(y_a)) · exp(−s(y_a)), log|det J| = −Σ s(y_a)
//
// The Jacobian ∂y/∂x is triangular (y_a does not depend on x_b) with diagonal
// 1 on a and exp(s) on b, so its log-determinant is the sum of s: no O(D³)
// determinant, and s and t can be any network.
//
// The raw log-scale r from the conditioner is bounded smoothly as
// s = B · tanh(r / B), with B = ScaleBound: near zero s ≈ r, and s never
// exceeds ±B, so one bad step cannot make exp(s) overflow.
//
// With Contracting set, s = log sigmoid(r + 2) − log sigmoid(2) instead:
// Glow's sigmoid(r + 2) scale, shifted by flowlib so that the layer is the
// identity at r = 0. It stretches by at most 1.14× in the Forward direction
// and shrinks by any amount; image flows need it, and leave stretching to
// ActNorm (docs/concepts.md, "Coupling layers", says why).
//
// With a channel mask ([ChannelMask]) the layer slices the channels rather
// than multiplying by the mask, so the conditioner maps the kept channels to
// s and t for the transformed ones only: C/2 channels in, C out, where the
// masked form takes C in and gives 2C out, half of which it discards.
type AffineCoupling struct {
	Mask        CouplingMask
	Conditioner Conditioner
	ScaleBound  float64
	Contracting bool
}

// NewAffineCoupling returns an affine coupling layer with [DefaultScaleBound].
func NewAffineCoupling(mask CouplingMask, conditioner Conditioner) *AffineCoupling {
	return &AffineCoupling{Mask: mask, Conditioner: conditioner, ScaleBound: DefaultScaleBound}
}

// Name implements [Named].
func (c *AffineCoupling) Name() string { return "affine_coupling" }

// scaleAndShift computes s and t from the kept coordinates of x, zero on them.
func (c *AffineCoupling) scaleAndShift(scope *model.Scope, x *Node) (logScale, shift *Node) {
	keep := c.Mask.Tensor("AffineCoupling", x)
	transform := OneMinus(keep)
	features := x.Shape().Dimensions[x.Rank()-1]
	h := checkConditionerOutput("AffineCoupling", c.Conditioner(scope.At("conditioner"), Mul(x, keep), 2*features), x, 2*features)
	last := x.Rank() - 1
	logScale = c.boundLogScale(SliceAxis(h, last, AxisRange(0, features)))
	shift = SliceAxis(h, last, AxisRange(features, 2*features))
	return Mul(logScale, transform), Mul(shift, transform)
}

// boundLogScale turns the conditioner's raw log-scale into s (see [AffineCoupling]).
func (c *AffineCoupling) boundLogScale(raw *Node) *Node {
	if c.Contracting {
		// log sigmoid(v) = −softplus(−v).
		return AddScalar(Neg(Softplus(Neg(AddScalar(raw, 2)))), math.Log1p(math.Exp(-2)))
	}
	bound := c.ScaleBound
	if bound <= 0 {
		bound = DefaultScaleBound
	}
	return MulScalar(Tanh(DivScalar(raw, bound)), bound)
}

// Forward implements [Bijector].
func (c *AffineCoupling) Forward(scope *model.Scope, x *Node) (y, logDet *Node) {
	if split, ok := channelSplitOf(c.Mask, x); ok {
		return c.splitForward(scope, x, split, false)
	}
	s, t := c.scaleAndShift(scope, x)
	// On kept coordinates s = t = 0, so y = x there exactly.
	return Add(Mul(x, Exp(s)), t), sumPerExample(s)
}

// Inverse implements [Bijector].
func (c *AffineCoupling) Inverse(scope *model.Scope, y *Node) (x, logDet *Node) {
	if split, ok := channelSplitOf(c.Mask, y); ok {
		return c.splitForward(scope, y, split, true)
	}
	s, t := c.scaleAndShift(scope, y)
	return c.invert(y, s, t), Neg(sumPerExample(s))
}

// contractingInverseLimit bounds the inverse of a contracting coupling (see
// invert): image flows' values are within ±10 in logit space, so only
// samples that have already overflowed reach it.
const contractingInverseLimit = 1e6

// invert is the coupling's inverse on the transformed coordinates,
// x = (y − t)·exp(−s). With the contracting scale exp(−s) has no bound: a
// latent drawn at a high temperature can grow by exp(−s) in every step until
// it overflows, to ±Inf on pure Go and to NaN on XLA (measured on notebook 07's Glow).
// For that scale the factor is capped at e⁸⁰ and the result clipped to
// ±contractingInverseLimit, so such a sample saturates (its pixels black or
// white) on every backend; inputs whose inverse stays within the limit, all
// real data among them, are inverted exactly.
func (c *AffineCoupling) invert(y, s, t *Node) *Node {
	if !c.Contracting {
		return Mul(Sub(y, t), Exp(Neg(s)))
	}
	x := Mul(Sub(y, t), Exp(MinScalar(Neg(s), 80)))
	return ClipScalar(x, -contractingInverseLimit, contractingInverseLimit)
}

// channelSplit is a channel mask's two halves: the kept channels are
// [keptStart, keptStart+kept), the others are transformed.
type channelSplit struct{ keptStart, kept, channels int }

// channelSplitOf returns the halves of a channel mask (see [ImageMask]). For
// such a mask, the coupling slices the channels instead of multiplying by the
// mask: the conditioner sees only the kept channels and predicts s and t for
// only the transformed ones. That is the same function as the masked form,
// whose zeroed inputs and discarded outputs do nothing, at about half the
// cost of the conditioner's first and last layers.
func channelSplitOf(mask CouplingMask, x *Node) (channelSplit, bool) {
	m, ok := mask.(ImageMask)
	if !ok || m.Checkerboard {
		return channelSplit{}, false
	}
	if err := m.Validate(); err != nil {
		exceptions.Panicf("AffineCoupling: %v", err)
	}
	requireImages("AffineCoupling", x, 0, 0, m.Channels)
	kept := (m.Channels + 1) / 2
	if m.Flipped {
		return channelSplit{keptStart: kept, kept: m.Channels - kept, channels: m.Channels}, true
	}
	return channelSplit{keptStart: 0, kept: kept, channels: m.Channels}, true
}

// splitForward is Forward (or, with inverse set, Inverse) for a channel split.
func (c *AffineCoupling) splitForward(scope *model.Scope, x *Node, split channelSplit, inverse bool) (y, logDet *Node) {
	last := x.Rank() - 1
	keptStart, keptEnd := split.keptStart, split.keptStart+split.kept
	kept := SliceAxis(x, last, AxisRange(keptStart, keptEnd))
	var moved *Node
	if keptStart == 0 {
		moved = SliceAxis(x, last, AxisRange(keptEnd, split.channels))
	} else {
		moved = SliceAxis(x, last, AxisRange(0, keptStart))
	}
	movedChannels := split.channels - split.kept
	h := checkConditionerOutput("AffineCoupling", c.Conditioner(scope.At("conditioner"), kept, 2*movedChannels), moved, 2*movedChannels)
	s := c.boundLogScale(SliceAxis(h, last, AxisRange(0, movedChannels)))
	t := SliceAxis(h, last, AxisRange(movedChannels, 2*movedChannels))
	if inverse {
		moved, logDet = c.invert(moved, s, t), Neg(sumPerExample(s))
	} else {
		moved, logDet = Add(Mul(moved, Exp(s)), t), sumPerExample(s)
	}
	if keptStart == 0 {
		return Concatenate([]*Node{kept, moved}, last), logDet
	}
	return Concatenate([]*Node{moved, kept}, last), logDet
}

// checkConditionerOutput panics unless h has x's shape with outDim features on
// the last axis.
func checkConditionerOutput(layer string, h, x *Node, outDim int) *Node {
	want := x.Shape().Clone()
	want.Dimensions[x.Rank()-1] = outDim
	if !h.Shape().Equal(want) {
		exceptions.Panicf("flowlib: %s: the conditioner returned shape %s, want %s", layer, h.Shape(), want)
	}
	return h
}
