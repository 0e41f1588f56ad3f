package flowlib

import (
	"fmt"
	"math"

	. "github.com/gomlx/gomlx/core/graph" //nolint:revive
	"github.com/gomlx/gomlx/ml/model"
	"github.com/gomlx/gomlx/support/exceptions"
)

// UniformDequantization turns integer data 0…Levels−1 into continuous data in
// [0, 1) by adding uniform noise and scaling, the first layer of an image flow:
//
//	Forward:  y = (x + u) / Levels, u ~ U[δ, 1−δ)^D,  log-det = −D · log Levels + D · log(1 − 2δ)
//	Inverse:  x = clamp(⌊y · Levels⌋, 0, Levels − 1), log-det = +D · log Levels
//
// Forward is random, not a bijection: it is the stochastic step of the
// dequantization bound (see "Images, dequantization and bits/dim" in the
// package documentation). Inverse, quantization, undoes it exactly: ⌊x + u⌋ =
// x. The noise keeps δ = 10⁻⁴ away from the edges of the cell, so that small
// numerical errors of the layers after it do not move a value into the next
// cell; the log(1 − 2δ) term is −log q(u) for that narrower uniform, and costs
// 0.0003 bits/dim. A float64 round trip is exact. A float32 Glow is off by
// 7·10⁻⁴ of a level untrained and 1.6·10⁻³ trained (notebook 07), more than
// δ: about one pixel in 10⁴ then comes back one level off.
//
// The graph does not check that x holds integers in 0…Levels−1: other values
// (rescaled pixels, NaN) silently give a meaningless or NaN log-density. Check
// data from outside with [UniformDequantization.CheckData] or
// [Flow.CheckData]. Input: [batchSize, ...] of rank at least 2.
type UniformDequantization struct {
	// Levels is the number of integer values (256 for 8-bit images).
	Levels int
}

// NewUniformDequantization returns uniform dequantization for data with the
// given number of levels (256 for 8-bit images).
func NewUniformDequantization(levels int) *UniformDequantization {
	return &UniformDequantization{Levels: levels}
}

// Name implements [Named].
func (d *UniformDequantization) Name() string { return "uniform_dequantization" }

// Forward implements [Bijector].
func (d *UniformDequantization) Forward(scope *model.Scope, x *Node) (y, logDet *Node) {
	levels := checkLevels("UniformDequantization", d.Levels)
	requireExamples("UniformDequantization", x)
	u := AddScalar(MulScalar(scope.RandomUniform(x.Graph(), x.Shape()), 1-2*DequantizationMargin), DequantizationMargin)
	return DivScalar(Add(x, u), levels), scaleLogDet(x, math.Log1p(-2*DequantizationMargin)-math.Log(levels))
}

// Inverse implements [Bijector].
func (d *UniformDequantization) Inverse(_ *model.Scope, y *Node) (x, logDet *Node) {
	levels := checkLevels("UniformDequantization", d.Levels)
	requireExamples("UniformDequantization", y)
	return quantize(y, levels), scaleLogDet(y, math.Log(levels))
}

// VariationalDequantization is Flow++'s dequantization (Ho et al. 2019,
// https://arxiv.org/abs/1902.00275): the noise u comes from a learned density
// q(u | x) instead of the uniform one, so the dequantized data is smooth where
// the model wants it and the bound on log P(x) is tighter. q is itself a flow:
//
//	ε ~ N(0, I),  v = g(ε; x) (Couplings affine coupling layers whose
//	conditioners see the image),  u = δ + (1 − 2δ)·sigmoid(v)
//	log q(u|x) = log N(ε) − log|det ∂v/∂ε| − Σ log sigmoid'(v) − D·log(1 − 2δ)
//
// with the margin δ = 10⁻⁴ of [UniformDequantization].
//
// Forward returns y = (x + u)/Levels with log-det −D·log Levels − log q(u|x);
// Inverse is quantization, as for [UniformDequantization]. Images only:
// [batchSize, H, W, C]. As for [UniformDequantization], the values are not
// checked in the graph: call CheckData.
type VariationalDequantization struct {
	// Levels is the number of integer values (256 for 8-bit images).
	Levels int
	// Couplings is the number of affine coupling layers in q; 0 means 4.
	Couplings int
	// Hidden is the channel count of their conditioners; 0 means 32.
	Hidden int
}

// NewVariationalDequantization returns variational dequantization with 4
// coupling layers of 32 hidden channels.
func NewVariationalDequantization(levels int) *VariationalDequantization {
	return &VariationalDequantization{Levels: levels, Couplings: 4, Hidden: 32}
}

// Name implements [Named].
func (d *VariationalDequantization) Name() string { return "variational_dequantization" }

// Forward implements [Bijector].
func (d *VariationalDequantization) Forward(scope *model.Scope, x *Node) (y, logDet *Node) {
	levels := checkLevels("VariationalDequantization", d.Levels)
	requireImages("VariationalDequantization", x, 0, 0, 0)
	u, logQ := d.Noise(scope, x, scope.RandomNormal(x.Graph(), x.Shape()))
	logDet = Sub(scaleLogDet(x, -math.Log(levels)), logQ)
	return DivScalar(Add(x, u), levels), logDet
}

// Noise maps standard normal noise eps (x's shape) to the dequantization noise
// u ∈ (δ, 1−δ) for the images x, and returns log q(u|x) per example. Forward
// calls it with fresh noise; it is exported so that q can be inspected.
func (d *VariationalDequantization) Noise(scope *model.Scope, x, eps *Node) (u, logQ *Node) {
	levels := checkLevels("VariationalDequantization", d.Levels)
	requireImages("VariationalDequantization", x, 0, 0, 0)
	couplings, hidden := d.Couplings, d.Hidden
	if couplings <= 0 {
		couplings = 4
	}
	if hidden <= 0 {
		hidden = 32
	}
	dims := x.Shape().Dimensions
	context := AddScalar(MulScalar(x, 2/(levels-1)), -1) // the image in [−1, 1]
	logQ = MulScalar(sumPerExample(AddScalar(Square(eps), log2Pi)), -0.5)
	v := eps
	mask := CheckerboardMask(dims[1], dims[2])
	conditioner := ConvNet(hidden).Done()
	for i := range couplings {
		if i%2 == 1 {
			mask = mask.Flip()
		}
		keep := mask.Tensor("VariationalDequantization", v)
		in := Concatenate([]*Node{Mul(v, keep), context}, 3)
		h := conditioner(scope.At("coupling_%d", i), in, 2*dims[3])
		raw, shift := lastAxisHalves(h)
		transform := OneMinus(keep)
		s := Mul(MulScalar(Tanh(DivScalar(raw, DefaultScaleBound)), DefaultScaleBound), transform)
		v = Add(Mul(v, Exp(s)), Mul(shift, transform))
		logQ = Sub(logQ, sumPerExample(s))
	}
	// u = δ + (1 − 2δ)·sigmoid(v); log sigmoid'(v) = log sigmoid(v) + log sigmoid(−v).
	u = AddScalar(MulScalar(Sigmoid(v), 1-2*DequantizationMargin), DequantizationMargin)
	logQ = Add(logQ, sumPerExample(Add(Softplus(Neg(v)), Softplus(v))))
	logQ = Sub(logQ, scaleLogDet(x, math.Log1p(-2*DequantizationMargin)))
	return u, logQ
}

// Inverse implements [Bijector].
func (d *VariationalDequantization) Inverse(_ *model.Scope, y *Node) (x, logDet *Node) {
	levels := checkLevels("VariationalDequantization", d.Levels)
	requireImages("VariationalDequantization", y, 0, 0, 0)
	return quantize(y, levels), scaleLogDet(y, math.Log(levels))
}

// Logit is the preprocessing of RealNVP (Dinh et al. 2016, section 4.1): it
// maps data in [0, 1] to the real line, squeezed by α away from 0 and 1 where
// the logit is infinite:
//
//	Forward:  p = α + (1 − 2α)·y,  z = log p − log(1 − p)
//	          log-det = Σ log(1 − 2α) − log p − log(1 − p)
//	Inverse:  y = (sigmoid(z) − α) / (1 − 2α)
//
// RealNVP used α = 0.05. α = 0 is the plain logit.
//
// Its domain is [0, 1], and (0, 1) for α = 0. The graph does not check the
// values: at graph time Logit computes the formulas above as they are, so a
// value outside [0, 1] gives NaN, and with α = 0 exactly 0 or 1 gives ∓Inf
// (and an infinite log-det), for that example only. Check data from outside
// with [Logit.CheckData], or [Flow.CheckData] for a flow that starts with
// Logit, as the training package does; after a dequantization layer the
// values are inside (0, 1) by construction. Input: [batchSize, ...], vectors
// or images, rank at least 2.
type Logit struct {
	// Alpha is α, in [0, 0.5).
	Alpha float64
}

// NewLogit returns the logit preprocessing with squeeze α.
func NewLogit(alpha float64) *Logit { return &Logit{Alpha: alpha} }

// Name implements [Named].
func (l *Logit) Name() string { return "logit" }

func (l *Logit) check() {
	if !(l.Alpha >= 0 && l.Alpha < 0.5) {
		exceptions.Panicf("flowlib: Logit needs 0 ≤ alpha < 0.5, got %v", l.Alpha)
	}
}

// Forward implements [Bijector].
func (l *Logit) Forward(_ *model.Scope, y *Node) (z, logDet *Node) {
	l.check()
	requireExamples("Logit", y)
	p := AddScalar(MulScalar(y, 1-2*l.Alpha), l.Alpha)
	logP, log1mP := Log(p), Log1p(Neg(p))
	z = Sub(logP, log1mP)
	perValue := Sub(AddScalar(Neg(logP), math.Log(1-2*l.Alpha)), log1mP)
	return z, sumPerExample(perValue)
}

// Inverse implements [Bijector].
func (l *Logit) Inverse(_ *model.Scope, z *Node) (y, logDet *Node) {
	l.check()
	requireExamples("Logit", z)
	y = DivScalar(AddScalar(Sigmoid(z), -l.Alpha), 1-2*l.Alpha)
	// log p + log(1 − p) with p = sigmoid(z), computed without cancellation.
	logP, log1mP := Neg(Softplus(Neg(z))), Neg(Softplus(z))
	perValue := Add(Add(logP, log1mP), ConstAs(z, -math.Log(1-2*l.Alpha)))
	return y, sumPerExample(perValue)
}

// CheckData implements [DataChecker]: every value must be in [0, 1], and
// strictly inside (0, 1) when Alpha is 0, where the logit of 0 and 1 is
// infinite. It is the check the graph does not make (see [Logit]).
func (l *Logit) CheckData(values []float32, valuesPerExample int) error {
	return checkUnitInterval(l.Alpha, values, valuesPerExample)
}

// CheckData64 implements [DataChecker]: [Logit.CheckData] for float64 data.
func (l *Logit) CheckData64(values []float64, valuesPerExample int) error {
	return checkUnitInterval(l.Alpha, values, valuesPerExample)
}

// checkUnitInterval does the work of Logit.CheckData in either precision.
func checkUnitInterval[T float32 | float64](alpha float64, values []T, valuesPerExample int) error {
	if !(alpha >= 0 && alpha < 0.5) {
		return fmt.Errorf("logit alpha must be in [0, 0.5), got %v", alpha)
	}
	per := max(valuesPerExample, 1)
	for i, v := range values {
		switch {
		case !(v >= 0 && v <= 1): // also NaN
			return fmt.Errorf("value %v of example %d, coordinate %d is outside [0, 1], the domain of the Logit layer "+
				"(it would give NaN there): rescale the data into [0, 1] first, e.g. pixel/256", v, i/per, i%per)
		case alpha == 0 && (v == 0 || v == 1):
			return fmt.Errorf("value %v of example %d, coordinate %d is the edge of [0, 1], where Logit with alpha = 0 "+
				"is infinite: use alpha > 0 (RealNVP used 0.05), or keep the data strictly inside (0, 1), e.g. by dequantizing",
				v, i/per, i%per)
		}
	}
	return nil
}

// DequantizationMargin is δ, the distance the dequantization noise keeps from
// the edges of each integer's cell (see [UniformDequantization]).
const DequantizationMargin = 1e-4

// checkLevels returns levels as a float64, panicking unless it is at least 2.
func checkLevels(layer string, levels int) float64 {
	if levels < 2 {
		exceptions.Panicf("flowlib: %s needs at least 2 levels (256 for 8-bit images), got %d", layer, levels)
	}
	return float64(levels)
}

// scaleLogDet is perValue · (values per example), one per example.
func scaleLogDet(x *Node, perValue float64) *Node {
	n := x.Shape().Size() / x.Shape().Dimensions[0]
	return BroadcastToShape(ConstAs(x, perValue*float64(n)), batchShape(x))
}

// quantize maps y ∈ [0, 1) back to the integers clamp(⌊y·levels⌋, 0, levels−1).
func quantize(y *Node, levels float64) *Node {
	return ClipScalar(Floor(MulScalar(y, levels)), 0, levels-1)
}

// CheckData implements [DataChecker]: every value must be an integer in
// 0…Levels−1.
func (d *UniformDequantization) CheckData(values []float32, valuesPerExample int) error {
	return checkIntegerLevels(values, valuesPerExample, d.Levels)
}

// CheckData64 implements [DataChecker]: [UniformDequantization.CheckData]
// for float64 data.
func (d *UniformDequantization) CheckData64(values []float64, valuesPerExample int) error {
	return checkIntegerLevels(values, valuesPerExample, d.Levels)
}

// CheckData implements [DataChecker]: every value must be an integer in
// 0…Levels−1.
func (d *VariationalDequantization) CheckData(values []float32, valuesPerExample int) error {
	return checkIntegerLevels(values, valuesPerExample, d.Levels)
}

// CheckData64 implements [DataChecker]: [VariationalDequantization.CheckData]
// for float64 data.
func (d *VariationalDequantization) CheckData64(values []float64, valuesPerExample int) error {
	return checkIntegerLevels(values, valuesPerExample, d.Levels)
}

func checkIntegerLevels[T float32 | float64](values []T, valuesPerExample, levels int) error {
	for i, v := range values {
		if !(v >= 0 && v <= T(levels-1) && v == T(math.Floor(float64(v)))) {
			return fmt.Errorf("value %v of example %d (position %d) is not an integer in 0…%d: this model dequantizes "+
				"%d-level data, so give it raw pixel values, not rescaled or normalised ones",
				v, i/max(valuesPerExample, 1), i%max(valuesPerExample, 1), levels-1, levels)
		}
	}
	return nil
}
