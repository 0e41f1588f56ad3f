package flowlib

import (
	"math"

	. "github.com/gomlx/gomlx/core/graph" //nolint:revive
)

// Transform is the elementwise part of a flow layer: an invertible,
// monotone map of each value on its own, y_i = τ(x_i; θ_i), whose parameters
// θ_i a conditioner computes. A layer is a conditioner (what computes θ,
// e.g. [MLP]), a Transform (how θ moves a value, e.g. [Affine]) and a wrapper
// (what θ may depend on: a coupling mask, see [Coupling]).
//
// A transform is a pure function of its parameters; it owns no variables.
// Forward and Inverse take ParamsPerValue tensors, each of x's shape (θ's
// j-th entry for every value), and return the result and log|dy_i/dx_i| per
// value, also of x's shape: the wrapper sums the log-dets of the values it
// transforms. Inverse's log-det is that of the inverse map, so it is the
// negative of Forward's at the corresponding point.
type Transform interface {
	// Name is a snake_case name, such as "affine": a [Coupling] with this
	// transform is named Name() + "_coupling".
	Name() string
	// ParamsPerValue is the number of parameters per transformed value.
	ParamsPerValue() int
	Forward(x *Node, params []*Node) (y, logDet *Node)
	Inverse(y *Node, params []*Node) (x, logDet *Node)
}

// Additive is NICE's transform, y = x + t, with one parameter t per value
// and log-det 0: it moves values but never changes volume.
type Additive struct{}

// Name implements [Transform].
func (Additive) Name() string { return "additive" }

// ParamsPerValue implements [Transform]: the shift t.
func (Additive) ParamsPerValue() int { return 1 }

// Forward implements [Transform].
func (Additive) Forward(x *Node, params []*Node) (y, logDet *Node) {
	return Add(x, params[0]), ZerosLike(x)
}

// Inverse implements [Transform].
func (Additive) Inverse(y *Node, params []*Node) (x, logDet *Node) {
	return Sub(y, params[0]), ZerosLike(y)
}

// masked implements maskedTransform: y = x ± t·moved.
func (Additive) masked(x *Node, params []*Node, moved *Node, inverse bool) (y, logDet *Node) {
	shift := Mul(params[0], moved)
	if inverse {
		return Sub(x, shift), ZerosLike(x)
	}
	return Add(x, shift), ZerosLike(x)
}

// DefaultScaleBound bounds the log-scale of [Affine]: |s| < 3, so one layer
// scales a value by at most e³ ≈ 20 either way.
const DefaultScaleBound = 3.0

// Affine is RealNVP's transform, y = x·exp(s) + t, with two parameters per
// value, a raw log-scale r and a shift t, and log|dy/dx| = s.
//
// The raw log-scale is bounded smoothly as s = B·tanh(r/B), with B =
// ScaleBound (0 means [DefaultScaleBound]): near zero s ≈ r, and |s| < B, so
// one bad step cannot make exp(s) overflow.
//
// With Contracting set, the scale is Glow's sigmoid(r + 2) instead, shifted
// so that the transform is the identity at r = 0 and floored at MinScale = m:
//
//	exp(s) = m + (1 − m)·σ(r + 2)/σ(2)
//
// It stretches by at most 1.14× in the Forward direction, which image flows
// need (they leave stretching to [ActNorm]), and shrinks by at most 1/m, so
// the Inverse stretches by at most 1/m too: with m = 0 (Glow's own scale)
// exp(−s) has no bound, and samples drawn at high temperatures blow up
// (docs/concepts.md, "Coupling layers", has the numbers).
type Affine struct {
	ScaleBound  float64
	Contracting bool
	MinScale    float64
}

// Name implements [Transform].
func (Affine) Name() string { return "affine" }

// ParamsPerValue implements [Transform]: the raw log-scale r and the shift t.
func (Affine) ParamsPerValue() int { return 2 }

// LogScale turns the raw log-scale r into s (see [Affine]).
func (a Affine) LogScale(raw *Node) *Node {
	if a.Contracting {
		// log σ(v) = −softplus(−v).
		s := AddScalar(Neg(Softplus(Neg(AddScalar(raw, 2)))), math.Log1p(math.Exp(-2)))
		if a.MinScale <= 0 {
			return s
		}
		// log(m + (1 − m)·exp(s)) = logaddexp(log m, log(1 − m) + s).
		return logAddExpScalar(AddScalar(s, math.Log1p(-a.MinScale)), math.Log(a.MinScale))
	}
	bound := a.ScaleBound
	if bound <= 0 {
		bound = DefaultScaleBound
	}
	return MulScalar(Tanh(DivScalar(raw, bound)), bound)
}

// Forward implements [Transform].
func (a Affine) Forward(x *Node, params []*Node) (y, logDet *Node) {
	s := a.LogScale(params[0])
	return Add(Mul(x, Exp(s)), params[1]), s
}

// masked implements maskedTransform: s and t are zeroed where moved is 0,
// so exp(s) = 1 and the shift 0 leave those values unchanged.
func (a Affine) masked(x *Node, params []*Node, moved *Node, inverse bool) (y, logDet *Node) {
	s := Mul(a.LogScale(params[0]), moved)
	t := Mul(params[1], moved)
	if inverse {
		return a.invert(x, s, t), Neg(s)
	}
	return Add(Mul(x, Exp(s)), t), s
}

// logAddExpScalar returns log(exp(x) + exp(c)) without overflow.
func logAddExpScalar(x *Node, c float64) *Node {
	return Add(MaxScalar(x, c), Log1p(Exp(Neg(Abs(AddScalar(x, -c))))))
}

// contractingInverseLimit bounds the inverse of the contracting scale (see
// [Affine.Inverse]): image flows' values are within ±10 in logit space, so
// only samples that have already overflowed reach it.
const contractingInverseLimit = 1e6

// Inverse implements [Transform]: x = (y − t)·exp(−s). With the contracting
// scale and no MinScale exp(−s) has no bound, so there the factor is capped
// at e⁸⁰ and the result clipped to ±1e6: a latent whose inverse would
// overflow saturates instead of becoming Inf or NaN, and every input whose
// inverse stays within the limit is inverted exactly (docs/concepts.md,
// "Coupling layers").
func (a Affine) Inverse(y *Node, params []*Node) (x, logDet *Node) {
	s := a.LogScale(params[0])
	return a.invert(y, s, params[1]), Neg(s)
}

// invert is x = (y − t)·exp(−s), capped for the contracting scale.
func (a Affine) invert(y, s, t *Node) *Node {
	if !a.Contracting || a.MinScale > 0 {
		return Mul(Sub(y, t), Exp(Neg(s)))
	}
	x := Mul(Sub(y, t), Exp(MinScalar(Neg(s), 80)))
	return ClipScalar(x, -contractingInverseLimit, contractingInverseLimit)
}
