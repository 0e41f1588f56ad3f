package flowlib

import (
	"github.com/gomlx/compute/shapes"
	. "github.com/gomlx/gomlx/core/graph" //nolint:revive
	"github.com/gomlx/gomlx/ml/model"
	"github.com/gomlx/gomlx/ml/model/initializer"
)

// Radial is the radial flow of Rezende & Mohamed 2015
// (https://arxiv.org/abs/1505.05770), used here as the Forward map: it pulls
// space towards, or pushes it away from, a centre x₀,
//
//	y = x + β·h(r)·(x − x₀),  r = ‖x − x₀‖,  h(r) = 1/(α + r)
//	log|det J| = (D − 1)·log(1 + β·h) + log(1 + β·h − β·r·h²)
//
// with α = softplus(α̃) > 0 and β = −α + softplus(β̃) > −α, the condition for
// invertibility. The inverse has a closed form: taking norms,
// ‖y − x₀‖ = R = r·(1 + β/(α + r)), a quadratic in r,
// r² + (α + β − R)·r − α·R = 0, whose positive root gives r, and then
// x = x₀ + (y − x₀)/(1 + β·h(r)).
type Radial struct {
	Dim int
}

// NewRadial returns a radial flow for data of shape [batchSize, dim].
func NewRadial(dim int) *Radial { return &Radial{Dim: dim} }

// Name implements [Named].
func (r *Radial) Name() string { return "radial" }

// params returns the centre x₀ [1, D], α and β (scalars).
func (r *Radial) params(scope *model.Scope, x *Node) (center, alpha, beta *Node) {
	requireVectors("Radial", x, r.Dim)
	g := x.Graph()
	center = scope.WithInitializer(initializer.RandomNormalFn(scope, 1.0)).
		VariableWithShape("center", shapes.Make(x.DType(), 1, r.Dim)).NodeValue(g)
	zero := scope.WithInitializer(initializer.Zero)
	alpha = Softplus(zero.VariableWithShape("alpha_raw", shapes.Make(x.DType())).NodeValue(g))
	beta = Add(Neg(alpha), Softplus(zero.VariableWithShape("beta_raw", shapes.Make(x.DType())).NodeValue(g)))
	return
}

func radialLogDet(dim int, radius, alpha, beta *Node) *Node {
	h := Reciprocal(Add(alpha, radius))
	betaH := Mul(beta, h)
	first := MulScalar(Log1p(betaH), float64(dim-1))
	second := Log(Sub(OnePlus(betaH), Mul(Mul(beta, radius), Square(h))))
	return Add(first, second)
}

// Forward implements [Bijector].
func (r *Radial) Forward(scope *model.Scope, x *Node) (y, logDet *Node) {
	center, alpha, beta := r.params(scope, x)
	diff := Sub(x, center)
	radius := Sqrt(ReduceSum(Square(diff), 1)) // [batchSize]
	gain := OnePlus(Div(beta, Add(alpha, radius)))
	y = Add(center, Mul(diff, InsertAxes(gain, -1)))
	return y, radialLogDet(r.Dim, radius, alpha, beta)
}

// Inverse implements [Bijector] with the closed form above.
func (r *Radial) Inverse(scope *model.Scope, y *Node) (x, logDet *Node) {
	center, alpha, beta := r.params(scope, y)
	diff := Sub(y, center)
	bigR := Sqrt(ReduceSum(Square(diff), 1))
	p := Sub(Add(alpha, beta), bigR) // r² + p·r − α·R = 0
	q := MulScalar(Mul(alpha, bigR), 4)
	root := Sqrt(Add(Square(p), q))
	// The positive root (root − p)/2, written as q/(2·(p + root)) when p > 0 to
	// avoid cancellation (the two forms are equal: the roots multiply to −α·R).
	radius := Where(IsPositive(p),
		Div(MulScalar(q, 0.5), Add(p, root)),
		MulScalar(Sub(root, p), 0.5))
	gain := OnePlus(Div(beta, Add(alpha, radius)))
	x = Add(center, Div(diff, InsertAxes(gain, -1)))
	return x, Neg(radialLogDet(r.Dim, radius, alpha, beta))
}
