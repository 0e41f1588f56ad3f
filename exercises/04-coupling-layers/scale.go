package coupling

import (
	. "github.com/gomlx/gomlx/core/graph" //nolint:revive
)

// BoundScale maps the raw log-scale r from a conditioner, of any shape, to
//
//	s = B · tanh(r / B)     (B = bound > 0)
//
// elementwise: near r = 0, s ≈ r (slope 1, so small outputs mean what they
// say); for any r, |s| < B, so exp(s) stays between exp(−B) and exp(B) and
// cannot overflow, even for r = 10⁴. flowlib.AffineCoupling applies this
// bound with B = ScaleBound (3 by default).
func BoundScale(r *Node, bound float64) *Node {
	// TODO(exercise): return B·tanh(r/B) (MulScalar, DivScalar and Tanh help).
	return nil
}
