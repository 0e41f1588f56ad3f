package flowlib

import (
	"github.com/gomlx/compute/shapes"
	. "github.com/gomlx/gomlx/core/graph" //nolint:revive
	"github.com/gomlx/gomlx/ml/model"
	"github.com/gomlx/gomlx/ml/model/initializer"
)

// Planar is the planar flow of Rezende & Mohamed 2015
// (https://arxiv.org/abs/1505.05770), used here as the Forward map:
//
//	y = x + û · tanh(wᵀx + b),   log|det J| = log|1 + ûᵀw · tanh′(wᵀx + b)|
//
// (the matrix determinant lemma turns the D×D determinant into a scalar).
// It contracts or expands space along the direction w around the hyperplane
// wᵀx + b = 0. To keep it invertible, u is projected to û so that
// wᵀû = −1 + softplus(wᵀu) > −1, which makes t ↦ t + wᵀû·tanh(t + b)
// strictly increasing.
//
// The inverse has no closed form: Inverse solves wᵀx for the scalar a from
// wᵀy = a + wᵀû·tanh(a + b) by bisection (a lies within |wᵀû| of wᵀy), then
// x = y − û·tanh(a + b). It is exact to float precision, for sampling; its
// gradients are not meant for training.
type Planar struct {
	Dim int
}

// NewPlanar returns a planar flow for data of shape [batchSize, dim].
func NewPlanar(dim int) *Planar { return &Planar{Dim: dim} }

// Name implements [Named].
func (p *Planar) Name() string { return "planar" }

// planarBisectionSteps halves the bracket 2·|wᵀû| each step: 60 steps reach
// float64 precision.
const planarBisectionSteps = 60

// params returns w [1, D], û [1, D], b (scalar) and wᵀû (scalar).
func (p *Planar) params(scope *model.Scope, x *Node) (w, uHat, b, wu *Node) {
	requireVectors("Planar", x, p.Dim)
	g := x.Graph()
	vecShape := shapes.Make(x.DType(), 1, p.Dim)
	random := scope.WithInitializer(initializer.RandomNormalFn(scope, 0.5))
	w = random.VariableWithShape("w", vecShape).NodeValue(g)
	u := random.VariableWithShape("u", vecShape).NodeValue(g)
	b = scope.WithInitializer(initializer.Zero).VariableWithShape("b", shapes.Make(x.DType())).NodeValue(g)
	wDotU := ReduceAllSum(Mul(w, u))
	m := AddScalar(Softplus(wDotU), -1) // m(a) = −1 + softplus(a) > −1
	wNormSq := AddScalar(ReduceAllSum(Square(w)), 1e-12)
	uHat = Add(u, Mul(Div(Sub(m, wDotU), wNormSq), w))
	return w, uHat, b, m // wᵀû = m by construction.
}

// planarLogDet returns log|1 + wᵀû·tanh′(a + b)| for the pre-activation a [batchSize].
func planarLogDet(a, b, wu *Node) *Node {
	t := Tanh(Add(a, b))
	return Log(Abs(OnePlus(Mul(wu, OneMinus(Square(t))))))
}

// Forward implements [Bijector].
func (p *Planar) Forward(scope *model.Scope, x *Node) (y, logDet *Node) {
	w, uHat, b, wu := p.params(scope, x)
	a := ReduceSum(Mul(x, w), 1) // wᵀx, [batchSize]
	y = Add(x, Mul(InsertAxes(Tanh(Add(a, b)), -1), uHat))
	return y, planarLogDet(a, b, wu)
}

// Inverse implements [Bijector] by bisection (see the type's documentation).
func (p *Planar) Inverse(scope *model.Scope, y *Node) (x, logDet *Node) {
	w, uHat, b, wu := p.params(scope, y)
	c := StopGradient(ReduceSum(Mul(y, w), 1)) // wᵀy = a + wᵀû·tanh(a + b)
	radius := StopGradient(AddScalar(Abs(wu), 1e-6))
	lo, hi := Sub(c, radius), Add(c, radius)
	wuConst := StopGradient(wu)
	bConst := StopGradient(b)
	for range planarBisectionSteps {
		mid := MulScalar(Add(lo, hi), 0.5)
		value := Add(mid, Mul(wuConst, Tanh(Add(mid, bConst))))
		tooHigh := GreaterThan(value, c)
		hi = Where(tooHigh, mid, hi)
		lo = Where(tooHigh, lo, mid)
	}
	a := MulScalar(Add(lo, hi), 0.5)
	x = Sub(y, Mul(InsertAxes(Tanh(Add(a, b)), -1), uHat))
	return x, Neg(planarLogDet(a, b, wu))
}
