package flowlib

import (
	"fmt"
	"math"

	. "github.com/gomlx/gomlx/core/graph" //nolint:revive
	"github.com/gomlx/gomlx/support/exceptions"
)

// Defaults of [RationalQuadraticSpline], used where its fields are 0.
const (
	// DefaultSplineBins is the number of bins K.
	DefaultSplineBins = 8
	// DefaultSplineBound is B: the spline maps [−B, B] onto itself.
	DefaultSplineBound = 5.0
	// DefaultSplineMinBin is the smallest bin width and height, as a fraction of 2B.
	DefaultSplineMinBin = 1e-3
	// DefaultSplineMinDerivative is the smallest derivative at a knot.
	DefaultSplineMinDerivative = 1e-3
)

// RationalQuadraticSpline is the transform of Neural Spline Flows (Durkan
// et al. 2019, https://arxiv.org/abs/1906.04032): on [−B, B] a monotone
// piecewise rational-quadratic function through K+1 knots (x_k, y_k) with
// derivatives d_k at them, and the identity outside (linear tails), with
// d_0 = d_K = 1 so that the derivative is continuous at ±B. Used in a
// [Coupling] it makes NSF-C, in an [Autoregressive] layer NSF-AR.
//
// Its 3K−1 parameters per value are K raw widths, K raw heights and K−1 raw
// interior derivatives. Widths and heights are softmaxes, floored at
// MinBinWidth and MinBinHeight (fractions of 2B), and laid end to end from
// −B; the derivatives are d = m + (1 − m)·softplus(r)/log 2 with m =
// MinDerivative, so that all-zero parameters (what a zero-initialised
// conditioner gives) make the identity map. In bin k, with ξ = (x −
// x_k)/w_k ∈ [0, 1], s = h_k/w_k:
//
//	y = y_k + h_k·(s·ξ² + d_k·ξ(1−ξ)) / (s + (d_k + d_{k+1} − 2s)·ξ(1−ξ))
//	dy/dx = s²·(d_{k+1}·ξ² + 2s·ξ(1−ξ) + d_k·(1−ξ)²) / (s + (d_k + d_{k+1} − 2s)·ξ(1−ξ))²
//
// The inverse solves a quadratic a·ξ² + b·ξ + c = 0 for ξ, in the form
// ξ = 2c / (−b − √(b² − 4ac)), which does not cancel catastrophically when
// the derivative is large or small (b² ≫ |4ac|), with
//
//	a = h_k(s − d_k) + (y − y_k)(d_k + d_{k+1} − 2s)
//	b = h_k·d_k − (y − y_k)(d_k + d_{k+1} − 2s)
//	c = −s·(y − y_k)
//
// Zero fields take the Default* values. The transform works on values of
// any shape, so it also serves image couplings.
type RationalQuadraticSpline struct {
	Bins          int
	Bound         float64
	MinBinWidth   float64
	MinBinHeight  float64
	MinDerivative float64
}

// Name implements [Transform]: "spline", so a coupling with it is "spline_coupling".
func (RationalQuadraticSpline) Name() string { return "spline" }

// ParamsPerValue implements [Transform]: 3K−1.
func (s RationalQuadraticSpline) ParamsPerValue() int { return 3*s.bins() - 1 }

func (s RationalQuadraticSpline) bins() int {
	if s.Bins == 0 {
		return DefaultSplineBins
	}
	return s.Bins
}

func orDefault(v, def float64) float64 {
	if v == 0 {
		return def
	}
	return v
}

// Validate returns an error unless the spline can be built: at
// least 1 bin, a positive bound, minimum sizes that leave room for K bins
// and a minimum derivative in [0, 1).
func (s RationalQuadraticSpline) Validate() error {
	k := s.bins()
	minW, minH := orDefault(s.MinBinWidth, DefaultSplineMinBin), orDefault(s.MinBinHeight, DefaultSplineMinBin)
	minD := orDefault(s.MinDerivative, DefaultSplineMinDerivative)
	switch {
	case k < 1:
		return fmt.Errorf("a spline needs at least 1 bin, got %d", k)
	case !(orDefault(s.Bound, DefaultSplineBound) > 0):
		return fmt.Errorf("the bound must be positive, got %g", s.Bound)
	case !(minW > 0 && minW*float64(k) < 1) || !(minH > 0 && minH*float64(k) < 1):
		return fmt.Errorf("the minimum bin width %g and height %g must be positive and leave room for %d bins (K·min < 1)", minW, minH, k)
	case !(minD > 0 && minD < 1):
		return fmt.Errorf("the minimum derivative must be in (0, 1), got %g", minD)
	}
	return nil
}

// Knots turns the raw parameters (ParamsPerValue tensors of one shape
// [...]) into the spline's knots: xs and ys [..., K+1], from −B to B, and
// the derivatives at them [..., K+1], 1 at both ends. The notebooks draw
// them.
func (s RationalQuadraticSpline) Knots(params []*Node) (xs, ys, derivatives *Node) {
	if err := s.Validate(); err != nil {
		exceptions.Panicf("flowlib: RationalQuadraticSpline: %v", err)
	}
	k := s.bins()
	if len(params) != 3*k-1 {
		exceptions.Panicf("flowlib: RationalQuadraticSpline with %d bins takes %d parameters per value, got %d", k, 3*k-1, len(params))
	}
	bound := orDefault(s.Bound, DefaultSplineBound)
	xs = s.edges(params[:k], bound, orDefault(s.MinBinWidth, DefaultSplineMinBin))
	ys = s.edges(params[k:2*k], bound, orDefault(s.MinBinHeight, DefaultSplineMinBin))
	minD := orDefault(s.MinDerivative, DefaultSplineMinDerivative)
	one := OnesLike(params[0])
	ds := []*Node{one}
	for _, raw := range params[2*k:] {
		// softplus(0)/log 2 = 1: zero parameters give derivative 1.
		ds = append(ds, AddScalar(MulScalar(Softplus(raw), (1-minD)/math.Ln2), minD))
	}
	ds = append(ds, one)
	return xs, ys, Stack(ds, -1)
}

// edges lays bins of softmax sizes (floored at minSize·2B) end to end from
// −bound to bound: [..., K+1], the ends exactly ±bound.
func (s RationalQuadraticSpline) edges(raw []*Node, bound, minSize float64) *Node {
	k := len(raw)
	sizes := Softmax(Stack(raw, -1), -1)
	sizes = AddScalar(MulScalar(sizes, 1-minSize*float64(k)), minSize)
	edges := []*Node{constLike(raw[0], -bound)}
	sum := ZerosLike(raw[0])
	last := sizes.Rank() - 1
	for j := range k - 1 {
		sum = Add(sum, Squeeze(SliceAxis(sizes, last, AxisElem(j)), last))
		edges = append(edges, AddScalar(MulScalar(sum, 2*bound), -bound))
	}
	// The last edge is bound itself, not −B + 2B·Σ sizes, which rounding
	// could put a hair off: values at ±B must stay exactly where they are.
	return Stack(append(edges, constLike(raw[0], bound)), -1)
}

// constLike returns a tensor of x's shape and dtype filled with v.
func constLike(x *Node, v float64) *Node { return AddScalar(ZerosLike(x), v) }

// bin is the bin of every value: with the knots along the last axis, it
// returns a one-hot [..., K] of the bin that v (clamped to [−B, B]) falls
// in, according to the knots' positions edges [..., K+1].
func bin(v, edges *Node) *Node {
	last := edges.Rank() - 1
	k := edges.Shape().Dimensions[last] - 1
	interior := SliceAxis(edges, last, AxisRange(1, k))
	index := ReduceSum(ConvertDType(GreaterOrEqual(ExpandAxes(v, -1), interior), v.DType()), -1)
	ids := make([]float64, k)
	for j := range ids {
		ids[j] = float64(j)
	}
	dims := ones(v.Rank() + 1)
	dims[len(dims)-1] = k
	idNode := Reshape(ConvertDType(Const(v.Graph(), ids), v.DType()), dims...)
	return ConvertDType(Equal(idNode, ExpandAxes(index, -1)), v.DType())
}

// pick returns, for every value, the entry of t [..., n] that the one-hot
// [..., K] selects, with offset 0 (left knot) or 1 (right knot).
func pick(t, oneHot *Node, offset int) *Node {
	last := t.Rank() - 1
	k := oneHot.Shape().Dimensions[last]
	return ReduceSum(Mul(SliceAxis(t, last, AxisRange(offset, offset+k)), oneHot), -1)
}

// binValues is the bin of each value and what the formulas need of it: its
// left knot (x_k, y_k), width w, height h and the derivatives d_k, d_{k+1}.
type binValues struct{ x, y, w, h, d0, d1 *Node }

func selectBin(xs, ys, ds, oneHot *Node) binValues {
	x0, y0 := pick(xs, oneHot, 0), pick(ys, oneHot, 0)
	return binValues{x: x0, y: y0, w: Sub(pick(xs, oneHot, 1), x0), h: Sub(pick(ys, oneHot, 1), y0),
		d0: pick(ds, oneHot, 0), d1: pick(ds, oneHot, 1)}
}

// logDerivative is log dy/dx at ξ in bin b.
func (b binValues) logDerivative(xi *Node) *Node {
	slope := Div(b.h, b.w)
	xi1 := Mul(xi, OneMinus(xi))
	num := Add(Add(Mul(b.d1, Square(xi)), MulScalar(Mul(slope, xi1), 2)), Mul(b.d0, Square(OneMinus(xi))))
	den := Add(slope, Mul(Sub(Add(b.d0, b.d1), MulScalar(slope, 2)), xi1))
	return Sub(Add(MulScalar(Log(slope), 2), Log(num)), MulScalar(Log(den), 2))
}

// inside reports which values are in [−B, B], where the spline applies.
func (s RationalQuadraticSpline) inside(v *Node) (*Node, *Node) {
	bound := orDefault(s.Bound, DefaultSplineBound)
	// Values outside are clamped before the spline formulas, so that the
	// branch Where discards stays finite, and so do its gradients.
	// (Where, not a clip: a value at exactly ±B keeps its gradient.)
	in := LessOrEqual(Abs(v), constLike(v, bound))
	return in, Where(in, v, MulScalar(Sign(v), bound))
}

// Forward implements [Transform].
func (s RationalQuadraticSpline) Forward(x *Node, params []*Node) (y, logDet *Node) {
	xs, ys, ds := s.Knots(params)
	in, xc := s.inside(x)
	b := selectBin(xs, ys, ds, bin(xc, xs))
	xi := Div(Sub(xc, b.x), b.w) // in [0, 1] up to rounding, which the formulas tolerate
	slope := Div(b.h, b.w)
	xi1 := Mul(xi, OneMinus(xi))
	num := Mul(b.h, Add(Mul(slope, Square(xi)), Mul(b.d0, xi1)))
	den := Add(slope, Mul(Sub(Add(b.d0, b.d1), MulScalar(slope, 2)), xi1))
	inner := Add(b.y, Div(num, den))
	return Where(in, inner, x), Where(in, b.logDerivative(xi), ZerosLike(x))
}

// Inverse implements [Transform].
func (s RationalQuadraticSpline) Inverse(y *Node, params []*Node) (x, logDet *Node) {
	xs, ys, ds := s.Knots(params)
	in, yc := s.inside(y)
	b := selectBin(xs, ys, ds, bin(yc, ys))
	slope := Div(b.h, b.w)
	dy := Sub(yc, b.y)
	curve := Sub(Add(b.d0, b.d1), MulScalar(slope, 2))
	qa := Add(Mul(b.h, Sub(slope, b.d0)), Mul(dy, curve))
	qb := Sub(Mul(b.h, b.d0), Mul(dy, curve))
	qc := Neg(Mul(slope, dy))
	disc := Max(Sub(Square(qb), MulScalar(Mul(qa, qc), 4)), ZerosLike(qa))
	// −b − √disc is negative for every point of the bin (−2b = −2h·d_k at
	// its left edge); the cap only keeps a rounding accident from dividing
	// by zero.
	den := MinScalar(Sub(Neg(qb), Sqrt(disc)), -1e-30)
	xi := ClipScalar(Div(MulScalar(qc, 2), den), 0, 1)
	inner := Add(b.x, Mul(xi, b.w))
	return Where(in, inner, y), Where(in, Neg(b.logDerivative(xi)), ZerosLike(y))
}
