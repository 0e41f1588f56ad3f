package flowlib

import (
	"fmt"
	"math"

	"github.com/gomlx/compute/dtypes"
	"github.com/gomlx/compute/shapes"
	. "github.com/gomlx/gomlx/core/graph" //nolint:revive
	"github.com/gomlx/gomlx/ml/model"
	"github.com/gomlx/gomlx/ml/model/initializer"
	"github.com/gomlx/gomlx/support/exceptions"
)

// Integer discrete flows (IDF; Hoogeboom et al. 2019, "Integer Discrete
// Flows and Lossless Compression", https://arxiv.org/abs/1905.07376) model
// integer data x ∈ ℤ^D directly, with no dequantization: a bijection f of
// ℤ^D onto itself moves no volume, so the probability of x is that of its
// latent, exactly,
//
//	P(x) = P_Z(f(x))
//
// with P_Z a distribution over integer vectors ([DiscretizedLogistic]). The
// layers are additive couplings whose shifts are rounded to integers
// ([IntegerCoupling]); training backpropagates through the rounding with the
// straight-through estimator ([RoundStraightThrough]). [IDF] builds the model.
// Data is integers stored as float32 or float64 values; Flow.LogProb of such
// a flow is the exact log-probability mass in nats, so −Flow.LogProb is a
// code length (in nats) that an entropy coder could reach, which is how the
// paper compresses losslessly.

// RoundStraightThrough rounds x to the nearest integer (halves to even) and
// lets the gradient through unchanged, as if it were the identity: the
// straight-through estimator (Bengio et al. 2013,
// https://arxiv.org/abs/1308.3432), which IDF trains with.
//
// Rounding is piecewise constant, so its true derivative is zero almost
// everywhere (and undefined at the half-integers): through Round alone no
// gradient would reach the conditioners of an [IntegerCoupling]. The
// straight-through gradient 1 is not the derivative of the function computed,
// so the gradients it gives are biased; IDF's paper trains with it all the
// same, and reports that the bias can hurt as more rounding layers are
// stacked.
//
// It computes StopGradient(Round(x)) + (x − StopGradient(x)), the same as
// the more common x + StopGradient(Round(x) − x) (both have value Round(x)
// and gradient 1), written so that the value is Round(x) plus an exact zero.
func RoundStraightThrough(x *Node) *Node {
	return Add(StopGradient(Round(x)), Sub(x, StopGradient(x)))
}

// DiscretizedLogistic is a factorised distribution over integer vectors
// z ∈ ℤ^Dim: each coordinate is a logistic with mean μ_i and scale s_i whose
// mass is gathered onto the nearest integer,
//
//	P(z_i = k) = σ((k + ½ − μ_i)/s_i) − σ((k − ½ − μ_i)/s_i)
//
// with σ the sigmoid, the logistic's CDF; with Components = K > 1, each
// coordinate is instead a mixture of K of them with weights π_{j,i}, as in
// IDF's prior:
//
//	P(z_i = k) = Σ_j π_{j,i} · P_j(z_i = k)
//
// The coordinates are independent: log P(z) = Σ_i log P(z_i).
//
// The variables are "means" and "log_scales", [K, Dim], and for a mixture
// "logits" [K, Dim] (π = softmax over the K components, per coordinate).
// A single component starts as the standard logistic (μ = 0, s = 1) rounded;
// a mixture's means start at random with standard deviation InitSpread, so
// that the components do not all learn the same thing.
//
// The difference of sigmoids is evaluated without subtracting nearly equal
// numbers: with a = (k − ½ − μ)/s and b = (k + ½ − μ)/s, so b − a = 1/s,
//
//	σ(b) − σ(a) = σ(b) · σ(−a) · (1 − e^{−1/s})
//	log P      = −softplus(−b) − softplus(a) + log(1 − e^{−1/s})
//
// Far in the left tail σ(−a) ≈ 1 and log σ(b) ≈ b; far in the right tail,
// by the logistic's symmetry σ(−x) = 1 − σ(x), σ(b) ≈ 1 and log σ(−a) ≈ a:
// every term stays finite, so the log-mass is finite and accurate in float32
// even a million scales away from the mean, where the plain difference is
// 0 − 0 or 1 − 1.
//
// LogProb is the exact log-probability mass in nats at integer z; at other
// values it computes the same formula, which is not a probability of
// anything (values are not checked in the graph; see [IntegerCoupling]'s
// CheckData).
type DiscretizedLogistic struct {
	Dim, Components int
	// InitSpread is the standard deviation of a mixture's random initial
	// means (default 1); a single component starts at 0.
	InitSpread float64
}

// NewDiscretizedLogistic returns a learnable discretized logistic on integer
// vectors of size dim, starting at μ = 0, s = 1.
func NewDiscretizedLogistic(dim int) *DiscretizedLogistic {
	return &DiscretizedLogistic{Dim: dim, Components: 1, InitSpread: 1}
}

// NewDiscretizedLogisticMixture returns a learnable mixture of k discretized
// logistics in each coordinate of integer vectors of size dim.
func NewDiscretizedLogisticMixture(k, dim int) *DiscretizedLogistic {
	return &DiscretizedLogistic{Dim: dim, Components: k, InitSpread: 1}
}

// EventShape implements [Distribution].
func (d *DiscretizedLogistic) EventShape() []int { return []int{d.Dim} }

// params returns the log-weights (log-softmax over the components), means
// and log-scales, each [K, Dim]. A single component has log-weight 0 and no
// "logits" variable.
func (d *DiscretizedLogistic) params(scope *model.Scope, g *Graph, dtype dtypes.DType) (logWeights, means, logScales *Node) {
	if d.Dim < 1 || d.Components < 1 {
		exceptions.Panicf("flowlib: DiscretizedLogistic needs Dim ≥ 1 and Components ≥ 1, got Dim = %d, Components = %d",
			d.Dim, d.Components)
	}
	shape := shapes.Make(dtype, d.Components, d.Dim)
	zero := scope.WithInitializer(initializer.Zero)
	if d.Components == 1 {
		means = zero.VariableWithShape("means", shape).NodeValue(g)
		return Zeros(g, shape), means, zero.VariableWithShape("log_scales", shape).NodeValue(g)
	}
	spread := d.InitSpread
	if spread <= 0 {
		spread = 1
	}
	random := scope.WithInitializer(initializer.RandomNormalFn(scope, spread))
	logits := zero.VariableWithShape("logits", shape).NodeValue(g)
	means = random.VariableWithShape("means", shape).NodeValue(g)
	logScales = zero.VariableWithShape("log_scales", shape).NodeValue(g)
	return LogSoftmax(logits, 0), means, logScales
}

// LogPMF returns log P(z_i) of every coordinate of z [batchSize, Dim], in
// nats, shape [batchSize, Dim]; LogProb is its sum over the coordinates.
// Bits per coordinate are −LogPMF / ln 2.
func (d *DiscretizedLogistic) LogPMF(scope *model.Scope, z *Node) *Node {
	checkEvent("DiscretizedLogistic", []int{d.Dim}, z)
	logWeights, means, logScales := d.params(scope, z.Graph(), z.DType())
	invScale := Exp(Neg(logScales)) // 1/s = b − a, [K, Dim]
	centered := Sub(InsertAxes(z, 1), InsertAxes(means, 0))
	a := Mul(AddScalar(centered, -0.5), InsertAxes(invScale, 0)) // [batchSize, K, Dim]
	b := Mul(AddScalar(centered, 0.5), InsertAxes(invScale, 0))
	logWidth := logOneMinusExpNeg(invScale)
	logP := Add(Neg(Add(Softplus(Neg(b)), Softplus(a))), InsertAxes(logWidth, 0))
	if d.Components == 1 {
		return Squeeze(logP, 1)
	}
	return logSumExp(Add(logP, InsertAxes(logWeights, 0)), 1)
}

// logOneMinusExpNeg is log(1 − e^{−δ}) for δ > 0, accurate for small δ
// (where 1 − e^{−δ} ≈ δ would lose the digits of a plain subtraction) and
// large δ alike, by 1 − e^{−δ} = tanh(δ/2)·(1 + e^{−δ}). (log(−expm1(−δ))
// is the usual form, but GoMLX v0.28.16 has no gradient for Expm1.)
func logOneMinusExpNeg(delta *Node) *Node {
	return Add(Log(Tanh(MulScalar(delta, 0.5))), Softplus(Neg(delta)))
}

// LogProb implements [Distribution]: log P(z) = Σ_i log P(z_i), shape
// [batchSize].
func (d *DiscretizedLogistic) LogProb(scope *model.Scope, z *Node) *Node {
	return sumPerExample(d.LogPMF(scope, z))
}

// Sample implements [Distribution]: integers (stored in dtype) drawn
// exactly from the distribution, at temperature 1. For each coordinate it
// picks a component j with probability π_j (inverse CDF), draws a logistic
// y = μ_j + T·s_j·logit(u) for u uniform, and returns Round(y): y falls in
// (k − ½, k + ½) with probability P(z = k), so rounding discretizes it
// exactly. The temperature T scales the spread (u is kept 10⁻⁷ away from 0
// and 1, which cuts the tails beyond about 16 scales, a mass of 2·10⁻⁷).
func (d *DiscretizedLogistic) Sample(scope *model.Scope, g *Graph, dtype dtypes.DType, n int, temperature float64) *Node {
	requireSampleCount("DiscretizedLogistic.Sample", n)
	logWeights, means, logScales := d.params(scope, g, dtype)
	shape := shapes.Make(dtype, n, d.Dim)
	mu, logS := means, logScales // [1, Dim] for one component, broadcast over the samples
	if d.Components > 1 {
		// Component j = #{j' : cdf_{j'} < u}, per sample and coordinate.
		cdf := CumSum(Exp(logWeights), 0)                                                     // [K, Dim]
		u := scope.RandomUniform(g, shape)                                                    // [n, Dim]
		below := ConvertDType(LessThan(InsertAxes(cdf, 0), InsertAxes(u, 1)), dtype)          // [n, K, Dim]
		j := MinScalar(ReduceSum(below, 1), float64(d.Components-1))                          // guards cdf_K ≈ 1 − ε
		oneHot := Transpose(OneHot(ConvertDType(j, dtypes.Int32), d.Components, dtype), 1, 2) // [n, K, Dim]
		mu = ReduceSum(Mul(oneHot, InsertAxes(means, 0)), 1)
		logS = ReduceSum(Mul(oneHot, InsertAxes(logScales, 0)), 1)
	}
	u := ClipScalar(scope.RandomUniform(g, shape), 1e-7, 1-1e-7) // RandomUniform may return exactly 0.
	logistic := Sub(Log(u), Log1p(Neg(u)))
	return Round(Add(mu, Mul(MulScalar(logistic, temperature), Exp(logS))))
}

// IntegerCoupling is IDF's coupling layer: an additive coupling whose shift
// is rounded to an integer, so it maps integer vectors to integer vectors.
// With a the coordinates the mask keeps and b the others,
//
//	Forward:  z_a = x_a,  z_b = x_b + ⌊t(x_a)⌉
//	Inverse:  x_a = z_a,  x_b = z_b − ⌊t(z_a)⌉
//
// where ⌊·⌉ is [RoundStraightThrough] and t the conditioner (an [MLP]),
// which sees x with the transformed coordinates zeroed. It is a bijection of
// ℤ^D onto itself, and a bijection of a countable set moves no probability
// mass around but keeps each point's own: log|det J| is replaced by exactly
// 0, and P_X(x) = P_Z(f(x)). (Seen as a map of ℝ^D it is piecewise a
// translation, whose Jacobian determinant is 1 too.)
//
// The integers are exact: in float32 every integer up to 2^24 is
// representable, and sums and differences of such integers are computed
// exactly, so Inverse(Forward(x)) == x bit for bit while the values stay
// below 2^24 in magnitude (2^53 in float64).
//
// The graph cannot check that x holds integers: a non-integer x gives
// non-integer z and a meaningless log-probability. [IntegerCoupling.CheckData],
// which [Flow.CheckData] calls when this is a flow's first layer (as in [IDF]),
// rejects it with an error; the training and inference packages call it on
// their data. Input: [batchSize, dim] with dim = len(Mask).
//
// The layer's variables are those of the conditioner, in the sub-scope
// "conditioner".
type IntegerCoupling struct {
	Mask        Mask
	Conditioner Conditioner
}

// NewIntegerCoupling returns an integer additive coupling layer.
func NewIntegerCoupling(mask Mask, conditioner Conditioner) *IntegerCoupling {
	return &IntegerCoupling{Mask: mask, Conditioner: conditioner}
}

// Name implements [Named].
func (c *IntegerCoupling) Name() string { return "integer_coupling" }

// Forward implements [Bijector].
func (c *IntegerCoupling) Forward(scope *model.Scope, x *Node) (z, logDet *Node) {
	return c.apply(scope, x, false)
}

// Inverse implements [Bijector].
func (c *IntegerCoupling) Inverse(scope *model.Scope, z *Node) (x, logDet *Node) {
	return c.apply(scope, z, true)
}

func (c *IntegerCoupling) apply(scope *model.Scope, x *Node, inverse bool) (*Node, *Node) {
	const layer = "IntegerCoupling"
	keep := c.Mask.Tensor(layer, x) // checks [batchSize, len(Mask)] and the mask
	dim := len(c.Mask)
	t := c.Conditioner(scope.At("conditioner"), Mul(x, keep), dim)
	checkConditionerOutput(layer, t, x, dim)
	shift := RoundStraightThrough(t)
	var y *Node
	if inverse {
		y = Sub(x, shift)
	} else {
		y = Add(x, shift)
	}
	kept := GreaterThan(keep, ScalarZero(x.Graph(), x.DType()))
	return Where(kept, x, y), Zeros(x.Graph(), batchShape(x))
}

// CheckData implements [DataChecker]: every value must be an integer of
// magnitude at most 2^24, the range in which float32 holds every integer.
func (c *IntegerCoupling) CheckData(values []float32, valuesPerExample int) error {
	return checkIntegers(values, valuesPerExample, 1<<24)
}

// CheckData64 implements [DataChecker]: [IntegerCoupling.CheckData] for
// float64 data, whose integers are exact up to 2^53.
func (c *IntegerCoupling) CheckData64(values []float64, valuesPerExample int) error {
	return checkIntegers(values, valuesPerExample, 1<<53)
}

// checkIntegers returns an error naming the first value that is not an
// integer of magnitude at most maxAbs.
func checkIntegers[T float32 | float64](values []T, valuesPerExample int, maxAbs float64) error {
	per := max(valuesPerExample, 1)
	for i, v := range values {
		f := float64(v)
		if f != math.Trunc(f) || math.Abs(f) > maxAbs {
			return fmt.Errorf("value %v of example %d (coordinate %d) is not an integer of magnitude at most %g: "+
				"an integer discrete flow gives the probability of integer data (stored as float values); "+
				"give it the integers themselves (e.g. raw pixel levels), not rescaled or noisy values",
				v, i/per, i%per, maxAbs)
		}
	}
	return nil
}

// Hyperparameters read by [IDFConfig.FromScope], with their defaults. (A model
// description, [ReadSpec], does not know IDF models yet.)
const (
	// ParamIDFCouplings (int, default 8) is the number of integer coupling layers.
	ParamIDFCouplings = "idf_couplings"
	// ParamIDFHidden ([]int, default [64, 64]) are the hidden sizes of each conditioner MLP.
	ParamIDFHidden = "idf_hidden"
	// ParamIDFMask (string, default "half") is the [MaskPattern]: "half" or "alternating".
	ParamIDFMask = "idf_mask"
	// ParamIDFActivation (string, default "relu") is the conditioners' activation.
	ParamIDFActivation = "idf_activation"
)

// IDFConfig configures an integer discrete flow; create it with [IDF] and
// finish with Done.
type IDFConfig struct {
	dim        int
	base       Distribution
	couplings  int
	hidden     []int
	mask       MaskPattern
	activation string
}

// IDF starts an integer discrete flow (Hoogeboom et al. 2019,
// https://arxiv.org/abs/1905.07376) for integer vectors of size dim: a stack
// of [IntegerCoupling] layers whose masks alternate between a pattern and its
// flip, so that what one layer keeps the next one shifts, on a discrete base.
// The resulting [Flow]'s LogProb is the exact log-probability mass log P(x)
// in nats of integer data x (given as float values), so training by maximum
// likelihood (package training) minimises the code length −log P(x). The
// defaults: 8 couplings, conditioners MLP(64, 64) with ReLU, "half" masks,
// and a [NewDiscretizedLogistic](dim) base.
//
// The paper's image model adds a multi-scale architecture, factored-out
// latents with learned conditional priors, and a mixture prior
// ([NewDiscretizedLogisticMixture]); this builder is its vector form.
func IDF(dim int) *IDFConfig {
	return &IDFConfig{dim: dim, couplings: 8, hidden: []int{64, 64}, mask: MaskHalf, activation: "relu"}
}

// Base sets the base distribution, which should be a distribution over
// integer vectors of size dim (default [NewDiscretizedLogistic](dim)); with
// a continuous one, Flow.LogProb is a density at integer points, not a
// probability.
func (c *IDFConfig) Base(d Distribution) *IDFConfig { c.base = d; return c }

// NumCouplings sets the number of integer coupling layers.
func (c *IDFConfig) NumCouplings(n int) *IDFConfig { c.couplings = n; return c }

// Hidden sets the hidden layer sizes of every conditioner MLP.
func (c *IDFConfig) Hidden(sizes ...int) *IDFConfig { c.hidden = sizes; return c }

// Mask sets the mask pattern: [MaskHalf] or [MaskAlternating].
func (c *IDFConfig) Mask(pattern MaskPattern) *IDFConfig { c.mask = pattern; return c }

// Activation sets the conditioners' activation ("relu", "tanh", "silu", ...).
func (c *IDFConfig) Activation(name string) *IDFConfig { c.activation = name; return c }

// FromScope reads the ParamIDF* hyperparameters from the scope (and its
// parents), keeping the current values for those not set.
func (c *IDFConfig) FromScope(scope *model.Scope) *IDFConfig {
	c.couplings = model.GetParamOr(scope, ParamIDFCouplings, c.couplings)
	c.hidden = model.GetParamOr(scope, ParamIDFHidden, c.hidden)
	c.mask = MaskPattern(model.GetParamOr(scope, ParamIDFMask, string(c.mask)))
	c.activation = model.GetParamOr(scope, ParamIDFActivation, c.activation)
	return c
}

// Validate reports a configuration that cannot be built; an error about
// one hyperparameter is a [*ParamError] naming its key.
func (c *IDFConfig) Validate() error {
	switch {
	case c.dim < 2:
		return &ParamError{Key: ParamDim, Value: c.dim,
			Reason: "IDF needs data of dimension at least 2 (a coupling layer splits the coordinates)"}
	case c.couplings < 1:
		return &ParamError{Key: ParamIDFCouplings, Value: c.couplings, Reason: "must be at least 1"}
	case c.mask != MaskHalf && c.mask != MaskAlternating:
		return &ParamError{Key: ParamIDFMask, Value: string(c.mask),
			Reason: fmt.Sprintf("unknown mask; valid: %s, %s", MaskHalf, MaskAlternating)}
	}
	for _, h := range c.hidden {
		if h < 1 {
			return &ParamError{Key: ParamIDFHidden, Value: c.hidden, Reason: "hidden sizes must be positive"}
		}
	}
	if c.base != nil {
		if event := c.base.EventShape(); len(event) != 1 || event[0] != c.dim {
			return fmt.Errorf("flowlib: IDF(%d) needs a base with event shape [%d], got %v", c.dim, c.dim, event)
		}
	}
	return checkActivation(ParamIDFActivation, c.activation)
}

// Bijector returns the IDF bijector alone, a [Chain] of [IntegerCoupling]
// layers. It panics on an invalid configuration, like Done.
func (c *IDFConfig) Bijector() *Chain {
	if err := c.Validate(); err != nil {
		exceptions.Panicf("%v", err) // The message starts with "flowlib:".
	}
	mask := HalfMask(c.dim)
	if c.mask == MaskAlternating {
		mask = AlternatingMask(c.dim)
	}
	conditioner := MLP(c.hidden...).Activation(c.activation).Done()
	layers := make([]Bijector, c.couplings)
	for i := range layers {
		layers[i] = NewIntegerCoupling(mask, conditioner)
		mask = mask.Flip() // Swap the halves: the next layer shifts what this one kept.
	}
	return NewChain(layers...)
}

// Done returns the IDF: the base distribution and the [Chain] of
// [IDFConfig.Bijector]. Its first layer is an [IntegerCoupling], so
// [Flow.CheckData] (and with it the training and inference packages)
// rejects non-integer data. It panics on an invalid configuration; call
// Validate first to get an error instead.
func (c *IDFConfig) Done() *Flow {
	chain := c.Bijector()
	base := c.base
	if base == nil {
		base = NewDiscretizedLogistic(c.dim)
	}
	return &Flow{Base: base, Bijector: chain}
}
