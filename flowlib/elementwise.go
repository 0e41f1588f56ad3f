package flowlib

import (
	"github.com/gomlx/compute/shapes"
	. "github.com/gomlx/gomlx/core/graph" //nolint:revive
	"github.com/gomlx/gomlx/ml/model"
	"github.com/gomlx/gomlx/ml/model/initializer"
)

// ElementwiseAffine is the simplest learnable bijector: every coordinate is
// scaled and shifted independently,
//
//	Forward:  y = x · exp(s) + t,        log|det J| = Σ_j s_j
//	Inverse:  x = (y − t) · exp(−s),     log|det J| = −Σ_j s_j
//
// with learnable vectors s ("log_scale") and t ("shift") of size Dim, both
// starting at zero (the identity). Its Jacobian is diagonal.
type ElementwiseAffine struct {
	// Dim is the size of the last axis of the data.
	Dim int
}

// NewElementwiseAffine returns an elementwise affine bijector for data of
// shape [batchSize, dim].
func NewElementwiseAffine(dim int) *ElementwiseAffine { return &ElementwiseAffine{Dim: dim} }

// Name implements [Named].
func (e *ElementwiseAffine) Name() string { return "elementwise_affine" }

func (e *ElementwiseAffine) params(scope *model.Scope, x *Node) (logScale, shift *Node) {
	requireVectors("ElementwiseAffine", x, e.Dim)
	scope = scope.WithInitializer(initializer.Zero)
	shape := shapes.Make(x.DType(), 1, e.Dim)
	logScale = scope.VariableWithShape("log_scale", shape).NodeValue(x.Graph())
	shift = scope.VariableWithShape("shift", shape).NodeValue(x.Graph())
	return
}

// Forward implements [Bijector].
func (e *ElementwiseAffine) Forward(scope *model.Scope, x *Node) (y, logDet *Node) {
	logScale, shift := e.params(scope, x)
	y = Add(Mul(x, Exp(logScale)), shift)
	return y, BroadcastToShape(ReduceAllSum(logScale), batchShape(x))
}

// Inverse implements [Bijector].
func (e *ElementwiseAffine) Inverse(scope *model.Scope, y *Node) (x, logDet *Node) {
	logScale, shift := e.params(scope, y)
	x = Mul(Sub(y, shift), Exp(Neg(logScale)))
	return x, BroadcastToShape(Neg(ReduceAllSum(logScale)), batchShape(y))
}
