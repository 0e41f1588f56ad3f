package nice

import (
	"github.com/gomlx/compute/shapes"
	. "github.com/gomlx/gomlx/core/graph" //nolint:revive // GoMLX's idiom: graph ops read like math.
	"github.com/gomlx/gomlx/ml/model"

	"github.com/flowbook/flowbook/flowlib"
)

// Coupling is NICE's additive coupling layer on vectors [batchSize, D]. Mask
// splits the coordinates: where Mask[j] is true coordinate j is kept (it
// belongs to x_a, passes through unchanged and is fed to the conditioner),
// where it is false coordinate j is shifted (it belongs to x_b):
//
//	Forward:  y_a = x_a,  y_b = x_b + m(x_a)
//	Inverse:  x_a = y_a,  x_b = y_b − m(y_a)
//
// m is Shift, any function at all (a neural network, not invertible): it
// receives its input with the shifted coordinates zeroed, and its output is
// used only on the shifted coordinates. The Jacobian is triangular with ones
// on the diagonal, so log|det J| = 0 in both directions.
type Coupling struct {
	Mask  flowlib.Mask
	Shift flowlib.Conditioner
}

// Name implements flowlib.Named.
func (c *Coupling) Name() string { return "coupling" }

// Forward is given: y = x + m(x_a) on the shifted coordinates, with the
// conditioner's variables in the sub-scope "shift".
func (c *Coupling) Forward(scope *model.Scope, x *Node) (y, logDet *Node) {
	keep := c.Mask.Tensor("Coupling", x) // [1, D]: 1 on kept coordinates, 0 on shifted ones
	m := c.Shift(scope.At("shift"), Mul(x, keep), x.Shape().Dimensions[1])
	y = Add(x, Mul(m, OneMinus(keep)))
	return y, zeroLogDet(x)
}

// Inverse returns x = f⁻¹(y) for y [batchSize, D] and its log-det, zeros of
// shape [batchSize].
//
// Since y_a = x_a, the shift m(x_a) can be recomputed exactly from y: build
// the conditioner's input from y exactly as Forward builds it from x (same
// mask, same scope, so the same variables), and subtract its output on the
// shifted coordinates. Never invert m.
func (c *Coupling) Inverse(scope *model.Scope, y *Node) (x, logDet *Node) {
	keep := c.Mask.Tensor("Coupling", y)
	m := c.Shift(scope.At("shift"), Mul(y, keep), y.Shape().Dimensions[1]) // m(y_a) = m(x_a)
	x = Sub(y, Mul(m, OneMinus(keep)))
	return x, zeroLogDet(y)
}

// zeroLogDet is given: zeros of shape [batchSize], in x's dtype, the log-det
// of a volume-preserving map (and a starting point for a sum of log-dets).
func zeroLogDet(x *Node) *Node {
	return Zeros(x.Graph(), shapes.Make(x.DType(), x.Shape().Dimensions[0]))
}
