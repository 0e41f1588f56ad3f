package coupling

import (
	. "github.com/gomlx/gomlx/core/graph" //nolint:revive // GoMLX's idiom: graph ops read like math.
	"github.com/gomlx/gomlx/ml/model"

	"github.com/flowbook/flowbook/flowlib"
)

// AffineCoupling is RealNVP's affine coupling layer (Dinh et al. 2016), the
// layer flowlib.AffineCoupling implements, here for you to write. The mask
// chooses the coordinates the layer keeps (true) and those it transforms
// (false). As a tensor, keep is 1 on the kept coordinates and 0 on the
// transformed ones, and the conditioner computes a log-scale s and a shift t
// from the kept coordinates only (x ⊙ keep). Then
//
//	Forward:  y = x ⊙ exp(s) + t,        log|det ∂y/∂x| = Σ_j s_j
//	Inverse:  x = (y − t) ⊙ exp(−s),     log|det ∂x/∂y| = −Σ_j s_j
//
// where s and t have first been multiplied by (1 − keep): they are 0 on the
// kept coordinates, which therefore pass through exactly (y_a = x_a), and the
// sums run over the transformed coordinates only. Because y_a = x_a, Inverse
// recomputes the same s and t from y.
//
// Unlike flowlib's layer, this one does not bound s: it uses the
// conditioner's output as it is (see [BoundScale] for the bound).
type AffineCoupling struct {
	Mask        flowlib.Mask
	Conditioner flowlib.Conditioner
}

// Given code (not part of the exercise): conditioner.

// conditioner is given: it returns the mask as a [1, dim] tensor of 0s and 1s
// (1 = kept), and the conditioner's two outputs, the log-scale s and the
// shift t, each [batchSize, dim], computed from the kept coordinates x ⊙ keep.
// s and t are NOT masked yet: they have values on the kept coordinates too.
func (c *AffineCoupling) conditioner(scope *model.Scope, x *Node) (keep, s, t *Node) {
	keep = c.Mask.Tensor("AffineCoupling", x)
	dim := x.Shape().Dimensions[1]
	h := c.Conditioner(scope.At("conditioner"), Mul(x, keep), 2*dim)
	s = SliceAxis(h, 1, AxisRange(0, dim))
	t = SliceAxis(h, 1, AxisRange(dim, 2*dim))
	return keep, s, t
}

// The exercise: Forward and Inverse.

// Forward maps x [batchSize, dim] to y = x ⊙ exp(s) + t and returns log|det ∂y/∂x|
// = Σ_j s_j per example, shape [batchSize].
//
// Steps: get keep, s and t from c.conditioner(scope, x); multiply s and t by
// (1 − keep) (OneMinus); compute y; sum s over the coordinates (axis 1) for
// each example.
func (c *AffineCoupling) Forward(scope *model.Scope, x *Node) (y, logDet *Node) {
	// TODO(exercise): implement the forward pass and its log-determinant.
	return nil, nil
}

// Inverse maps y [batchSize, dim] back to x = (y − t) ⊙ exp(−s) and returns
// log|det ∂x/∂y| = −Σ_j s_j per example, shape [batchSize].
//
// s and t come from c.conditioner(scope, y): the kept coordinates of y are
// those of x, so they are the same s and t as in Forward. Mask them as in
// Forward, then undo Forward's two steps in reverse order.
func (c *AffineCoupling) Inverse(scope *model.Scope, y *Node) (x, logDet *Node) {
	// TODO(exercise): implement the inverse pass and its log-determinant.
	return nil, nil
}
