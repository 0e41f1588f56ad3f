package coupling

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	. "github.com/gomlx/gomlx/core/graph" //nolint:revive

	"github.com/flowbook/flowbook/exercises/internal/grading"
)

func TestBoundScaleTanh(t *testing.T) {
	grading.Run(t, func(c *grading.C) {
		rs := []float64{-1e4, -20, -2, -1e-3, 0, 1e-3, 0.7, 2.5, 20, 1e4}
		for _, bound := range []float64{3, 0.5, 0.1, 100} {
			outs := grading.Exec(c, fmt.Sprintf("BoundScale(r, %g) on r = %v", bound, rs),
				func(r *Node) *Node { return BoundScale(r, bound) }, grading.Tensor(rs, len(rs)))
			got := grading.Values(outs[0])
			if len(got) != len(rs) {
				c.Fatalf("%s", grading.Explain(fmt.Sprintf("BoundScale(r, %g): number of values for %d values of r", bound, len(rs)),
					fmt.Sprint(len(rs)), fmt.Sprint(len(got)), "the bound applies elementwise: the result has the shape of r"))
			}
			atLarge := "s = B·tanh(r/B) tends to B as r grows"
			if math.IsNaN(got[9]) || math.IsInf(got[9], 0) {
				atLarge = "at r = 10⁴ an exp(2r/B) overflows to +Inf (and Inf/Inf is NaN): write the bound with Tanh, which saturates at ±1 without overflowing"
			}
			ok := c.Close(fmt.Sprintf("BoundScale(r, %g) at r = 10⁴: finite and just below the bound", bound),
				got[9], bound, 1e-9, atLarge,
				grading.Mistake(1, "tanh(r) alone saturates at ±1, not ±B: multiply by B, s = B·tanh(r/B)"),
				grading.Mistake(1e4, "the raw value came through unbounded: s = B·tanh(r/B) stays below B"),
			)
			ok = c.Close(fmt.Sprintf("BoundScale(r, %g) at r = -10⁴", bound), got[0], -bound, 1e-9,
				"s = B·tanh(r/B) tends to -B as r falls",
				grading.Mistake(-1, "tanh(r) alone saturates at ±1, not ±B: multiply by B, s = B·tanh(r/B)"),
			) && ok
			slope := (got[5] - got[3]) / 2e-3
			ok = c.Close(fmt.Sprintf("BoundScale(r, %g): the slope at r = 0, (s(0.001) - s(-0.001)) / 0.002", bound),
				slope, 1, 1e-4, "near 0 the bound must leave r unchanged: s ≈ r",
				grading.Mistake(bound, "B·tanh(r) has slope B at 0: divide inside the tanh too, s = B·tanh(r/B)"),
				grading.Mistake(1/bound, "tanh(r/B) has slope 1/B at 0: multiply by B outside, s = B·tanh(r/B)"),
			) && ok
			if !ok {
				return
			}
			want := make([]float64, len(rs))
			clipped := make([]float64, len(rs))
			for i, r := range rs {
				want[i] = bound * math.Tanh(r/bound)
				clipped[i] = max(-bound, min(bound, r))
			}
			if !c.CloseVec(fmt.Sprintf("BoundScale(r, %g) = %g·tanh(r/%g) at every r", bound, bound, bound), got, want, 1e-12,
				"s = B·tanh(r/B), elementwise",
				grading.VecMistake(clipped, "a hard clip to [-B, B] has a zero gradient beyond B and a kink at ±B: use the smooth B·tanh(r/B)"),
			) {
				return
			}
		}
		// Any shape: r [2, 3, 5] of both signs, |r| from 10⁻⁶ to 10⁶.
		rng := rand.New(rand.NewPCG(41, 42))
		r := make([]float64, 30)
		for i := range r {
			r[i] = math.Pow(10, 12*rng.Float64()-6)
			if rng.IntN(2) == 0 {
				r[i] = -r[i]
			}
		}
		outs := grading.Exec(c, "BoundScale(r, 2) on r of shape [2, 3, 5]", func(r *Node) *Node { return BoundScale(r, 2) }, grading.Tensor(r, 2, 3, 5))
		c.CheckShape("the shape of BoundScale(r, 2) for r [2, 3, 5]", outs[0], []int{2, 3, 5}, "the bound applies elementwise: the result has the shape of r")
		c.CloseVec("BoundScale(r, 2) = 2·tanh(r/2) on r [2, 3, 5], |r| from 10⁻⁶ to 10⁶ (flattened)", grading.Values(outs[0]),
			grading.Map(r, func(_ int, v float64) float64 { return 2 * math.Tanh(v/2) }), 1e-12, "s = B·tanh(r/B), elementwise, for r of any shape")
	})
}
