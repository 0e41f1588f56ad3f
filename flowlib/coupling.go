package flowlib

import (
	"fmt"
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

// Coupling is the coupling wrapper (Dinh et al. 2014, 2016): the mask splits
// each example into kept values x_a and transformed values x_b, the
// conditioner computes the transform's parameters from x_a (and the context,
// if there is one), and the transform moves x_b:
//
//	Forward:  y_a = x_a,  y_b = τ(x_b; θ(x_a))
//	Inverse:  x_a = y_a,  x_b = τ⁻¹(y_b; θ(y_a))
//
// The Jacobian is triangular (y_a does not depend on x_b) with diagonal 1 on
// a and dτ/dx on b, so log|det J| is the sum of the transform's per-value
// log-dets over b: no O(D³) determinant, and the conditioner can be any
// network. The inverse recomputes θ exactly, since y_a = x_a.
//
// The conditioner sees x with the transformed values zeroed and returns
// ParamsPerValue·F features on the last axis (F the input's features), laid
// out as ParamsPerValue blocks of F: block j is θ's j-th entry for every
// value; entries for kept values are ignored. With a channel mask
// ([ChannelMask]) the wrapper slices the channels instead of multiplying by
// the mask: the conditioner sees only the kept channels and returns
// parameters for only the transformed ones (ParamsPerValue blocks of their
// channel count), the same function at about half the cost of the first and
// last layers.
//
// With a context (see [ConditionalBijector]), the context is appended to the
// conditioner's input on the last axis: a context [batchSize, c] is repeated
// at every pixel of an image.
//
// The layer's variables are those of the conditioner, in the sub-scope
// "conditioner".
type Coupling struct {
	Mask        CouplingMask
	Conditioner Conditioner
	Transform   Transform
}

// NewCoupling returns a coupling layer.
func NewCoupling(mask CouplingMask, conditioner Conditioner, transform Transform) *Coupling {
	return &Coupling{Mask: mask, Conditioner: conditioner, Transform: transform}
}

// Name implements [Named]: the transform's name and "_coupling", such as
// "affine_coupling".
func (c *Coupling) Name() string { return c.Transform.Name() + "_coupling" }

// Forward implements [Bijector].
func (c *Coupling) Forward(scope *model.Scope, x *Node) (y, logDet *Node) {
	return c.apply(scope, x, nil, false)
}

// Inverse implements [Bijector].
func (c *Coupling) Inverse(scope *model.Scope, y *Node) (x, logDet *Node) {
	return c.apply(scope, y, nil, true)
}

// ForwardWithContext implements [ConditionalBijector].
func (c *Coupling) ForwardWithContext(scope *model.Scope, x, context *Node) (y, logDet *Node) {
	return c.apply(scope, x, context, false)
}

// InverseWithContext implements [ConditionalBijector].
func (c *Coupling) InverseWithContext(scope *model.Scope, y, context *Node) (x, logDet *Node) {
	return c.apply(scope, y, context, true)
}

// displayName names the layer in error messages, e.g. "AffineCoupling".
func (c *Coupling) displayName() string {
	var b strings.Builder
	for _, word := range strings.Split(c.Name(), "_") {
		if word != "" {
			b.WriteString(strings.ToUpper(word[:1]) + word[1:])
		}
	}
	return b.String()
}

// apply is Forward (or, with inverse set, Inverse) with an optional context.
func (c *Coupling) apply(scope *model.Scope, x, context *Node, inverse bool) (*Node, *Node) {
	layer := c.displayName()
	if split, ok := channelSplitOf(layer, c.Mask, x); ok {
		return c.applySplit(scope, layer, x, context, split, inverse)
	}
	keep := c.Mask.Tensor(layer, x)
	features := x.Shape().Dimensions[x.Rank()-1]
	params := c.params(scope, layer, Mul(x, keep), context, x, features)
	moved := OneMinus(keep)
	if m, ok := c.Transform.(maskedTransform); ok {
		y, logDet := m.masked(x, params, moved, inverse)
		return y, sumPerExample(logDet)
	}
	y, logDet := c.step(x, params, inverse)
	// Kept values pass through untouched (y = x exactly); only the others move
	// and count in the log-det.
	kept := GreaterThan(keep, ScalarZero(x.Graph(), x.DType()))
	return Where(kept, x, y), sumPerExample(Mul(logDet, moved))
}

// maskedTransform is implemented by transforms that apply a coupling mask
// themselves: moved is 1 on the values to transform and 0 on the others,
// which must come back unchanged with log-det 0. Additive and Affine do, by
// zeroing their parameters' effect there; that is the arithmetic flowlib's
// couplings have always had, so trained models and their numbers stay the
// same to the last bit.
type maskedTransform interface {
	masked(x *Node, params []*Node, moved *Node, inverse bool) (y, logDet *Node)
}

// applySplit is apply for a channel split.
func (c *Coupling) applySplit(scope *model.Scope, layer string, x, context *Node, split channelSplit, inverse bool) (*Node, *Node) {
	last := x.Rank() - 1
	keptStart, keptEnd := split.keptStart, split.keptStart+split.kept
	kept := SliceAxis(x, last, AxisRange(keptStart, keptEnd))
	var moved *Node
	if keptStart == 0 {
		moved = SliceAxis(x, last, AxisRange(keptEnd, split.channels))
	} else {
		moved = SliceAxis(x, last, AxisRange(0, keptStart))
	}
	params := c.params(scope, layer, kept, context, moved, split.channels-split.kept)
	moved, logDet := c.step(moved, params, inverse)
	if keptStart == 0 {
		return Concatenate([]*Node{kept, moved}, last), sumPerExample(logDet)
	}
	return Concatenate([]*Node{moved, kept}, last), sumPerExample(logDet)
}

// params runs the conditioner on input (with the context appended) and cuts
// its output into the transform's parameters, each shaped like target, which
// has features values on its last axis.
func (c *Coupling) params(scope *model.Scope, layer string, input, context, target *Node, features int) []*Node {
	n := c.Transform.ParamsPerValue()
	h := c.Conditioner(scope.At("conditioner"), withContext(layer, input, context), n*features)
	checkConditionerOutput(layer, h, target, n*features)
	last := h.Rank() - 1
	params := make([]*Node, n)
	for j := range params {
		params[j] = SliceAxis(h, last, AxisRange(j*features, (j+1)*features))
	}
	return params
}

// step applies the transform in the given direction.
func (c *Coupling) step(x *Node, params []*Node, inverse bool) (y, logDet *Node) {
	if inverse {
		return c.Transform.Inverse(x, params)
	}
	return c.Transform.Forward(x, params)
}

// AdditiveCoupling is NICE's coupling layer (Dinh et al. 2014,
// https://arxiv.org/abs/1410.8516): a [Coupling] with the [Additive]
// transform. With a the kept coordinates and b the transformed ones:
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

func (c *AdditiveCoupling) coupling() *Coupling {
	return NewCoupling(c.Mask, c.Conditioner, Additive{})
}

// Forward implements [Bijector].
func (c *AdditiveCoupling) Forward(scope *model.Scope, x *Node) (y, logDet *Node) {
	return c.coupling().Forward(scope, x)
}

// Inverse implements [Bijector].
func (c *AdditiveCoupling) Inverse(scope *model.Scope, y *Node) (x, logDet *Node) {
	return c.coupling().Inverse(scope, y)
}

// ForwardWithContext implements [ConditionalBijector].
func (c *AdditiveCoupling) ForwardWithContext(scope *model.Scope, x, context *Node) (y, logDet *Node) {
	return c.coupling().ForwardWithContext(scope, x, context)
}

// InverseWithContext implements [ConditionalBijector].
func (c *AdditiveCoupling) InverseWithContext(scope *model.Scope, y, context *Node) (x, logDet *Node) {
	return c.coupling().InverseWithContext(scope, y, context)
}

// AffineCoupling is RealNVP's coupling layer (Dinh et al. 2016,
// https://arxiv.org/abs/1605.08803): a [Coupling] with the [Affine]
// transform. With a the kept coordinates and b the transformed ones, and the
// conditioner giving s and t from x_a:
//
//	Forward:  y_a = x_a,  y_b = x_b · exp(s(x_a)) + t(x_a),   log|det J| = Σ s(x_a)
//	Inverse:  x_a = y_a,  x_b = (y_b − t(y_a)) · exp(−s(y_a)), log|det J| = −Σ s(y_a)
//
// ScaleBound, Contracting and MinScale choose how the raw log-scale becomes
// s (see [Affine]): by default s = 3·tanh(r/3); Contracting selects Glow's
// sigmoid scale, which image flows use, floored at MinScale.
type AffineCoupling struct {
	Mask        CouplingMask
	Conditioner Conditioner
	ScaleBound  float64
	Contracting bool
	MinScale    float64 // the floor of the contracting scale (see [Affine])
}

// NewAffineCoupling returns an affine coupling layer with [DefaultScaleBound].
func NewAffineCoupling(mask CouplingMask, conditioner Conditioner) *AffineCoupling {
	return &AffineCoupling{Mask: mask, Conditioner: conditioner, ScaleBound: DefaultScaleBound}
}

// Name implements [Named].
func (c *AffineCoupling) Name() string { return "affine_coupling" }

func (c *AffineCoupling) coupling() *Coupling {
	return NewCoupling(c.Mask, c.Conditioner, Affine{ScaleBound: c.ScaleBound, Contracting: c.Contracting, MinScale: c.MinScale})
}

// Forward implements [Bijector].
func (c *AffineCoupling) Forward(scope *model.Scope, x *Node) (y, logDet *Node) {
	return c.coupling().Forward(scope, x)
}

// Inverse implements [Bijector].
func (c *AffineCoupling) Inverse(scope *model.Scope, y *Node) (x, logDet *Node) {
	return c.coupling().Inverse(scope, y)
}

// ForwardWithContext implements [ConditionalBijector].
func (c *AffineCoupling) ForwardWithContext(scope *model.Scope, x, context *Node) (y, logDet *Node) {
	return c.coupling().ForwardWithContext(scope, x, context)
}

// InverseWithContext implements [ConditionalBijector].
func (c *AffineCoupling) InverseWithContext(scope *model.Scope, y, context *Node) (x, logDet *Node) {
	return c.coupling().InverseWithContext(scope, y, context)
}

// channelSplit is a channel mask's two halves: the kept channels are
// [keptStart, keptStart+kept), the others are transformed.
type channelSplit struct{ keptStart, kept, channels int }

// channelSplitOf returns the halves of a channel mask (see [ImageMask] and
// [Coupling]); ok is false for other masks.
func channelSplitOf(layer string, mask CouplingMask, x *Node) (split channelSplit, ok bool) {
	m, ok := mask.(ImageMask)
	if !ok || m.Checkerboard {
		return channelSplit{}, false
	}
	if err := m.Validate(); err != nil {
		exceptions.Panicf("%s: %v", layer, err)
	}
	requireImages(layer, x, 0, 0, m.Channels)
	kept := (m.Channels + 1) / 2
	if m.Flipped {
		return channelSplit{keptStart: kept, kept: m.Channels - kept, channels: m.Channels}, true
	}
	return channelSplit{keptStart: 0, kept: kept, channels: m.Channels}, true
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
