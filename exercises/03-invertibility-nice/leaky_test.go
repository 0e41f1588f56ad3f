package nice

import (
	"fmt"
	"math"
	"testing"

	. "github.com/gomlx/gomlx/core/graph" //nolint:revive
	"github.com/gomlx/gomlx/ml/model"

	"github.com/flowbook/flowbook/exercises/internal/grading"
	"github.com/flowbook/flowbook/flowlib/flowcheck"
)

func TestLeakyReLUBijector(t *testing.T) {
	grading.Run(t, func(c *grading.C) {
		// Slopes below and above 1, far from it too; inputs with exact zeros, where
		// the slope is 1 (x = 0 is not negative).
		for k, tc := range []struct {
			alpha      float64
			batch, dim int
		}{{0.25, 8, 4}, {3, 8, 4}, {0.01, 32, 12}, {50, 32, 12}} {
			alpha, batch, dim := tc.alpha, tc.batch, tc.dim
			l := LeakyReLU{Alpha: alpha}
			xs := grading.Values(flowcheck.RandomInput(grading.Float64, 3, uint64(20+k), batch, dim))
			for i := 1; i < len(xs); i += 7 {
				xs[i] = 0
			}
			x := grading.Tensor(xs, batch, dim)
			store := model.NewStore()
			outs := grading.ExecModel(c, fmt.Sprintf("LeakyReLU{Alpha: %g}: Forward on x [%d, %d] (some entries exactly 0), then Inverse on its output", alpha, batch, dim), store,
				func(scope *model.Scope, x *Node) []*Node {
					y, ld := l.Forward(scope, x)
					back, ldI := l.Inverse(scope, y)
					return []*Node{y, ld, back, ldI}
				}, x)
			logA := math.Log(alpha)

			// What the right answer and the plausible mistakes give.
			y, maxForm, swapped := make([]float64, len(xs)), make([]float64, len(xs)), make([]float64, len(xs))
			ld, ldPositive, ldAlpha, ldAll := make([]float64, batch), make([]float64, batch), make([]float64, batch), make([]float64, batch)
			ldZeros := make([]float64, batch) // x_j = 0 counted as negative
			total := 0.0
			for e := range batch {
				for j := range dim {
					v := xs[e*dim+j]
					y[e*dim+j], maxForm[e*dim+j], swapped[e*dim+j] = v, math.Max(v, alpha*v), alpha*v
					if v < 0 {
						y[e*dim+j], swapped[e*dim+j] = alpha*v, v
						ld[e] += logA
						ldAlpha[e] += alpha
					} else {
						ldPositive[e] += logA
					}
					if v <= 0 {
						ldZeros[e] += logA
					}
					ldAll[e] += logA
				}
				total += ld[e]
			}
			backTimes := make([]float64, len(y)) // Inverse multiplying by α instead of dividing
			for i, v := range y {
				backTimes[i] = v
				if v < 0 {
					backTimes[i] = alpha * v
				}
			}
			what := fmt.Sprintf("LeakyReLU{Alpha: %g}", alpha)
			c.CheckDims(fmt.Sprintf("%s Forward's y for x [%d, %d]", what, batch, dim), outs[0], "an elementwise bijector keeps the shape of x", batch, dim)
			if !c.CloseVec(what+" Forward's y (flattened)", grading.Values(outs[0]), y, 1e-12,
				"y_j = x_j where x_j ≥ 0 and α·x_j where x_j < 0: Where(LessThan(x, ZerosLike(x)), MulScalar(x, α), x)",
				grading.VecMistake(maxForm, "max(x, α·x) is the leaky ReLU only when α < 1; for α > 1 it picks α·x for positive x. Choose by the sign of x: Where(x < 0, α·x, x)"),
				grading.VecMistake(swapped, "the two branches are swapped: α multiplies the negative inputs"),
			) {
				return
			}
			c.CheckDims(what+" Forward's log-det", outs[1], grading.LogDetShapeHint, batch)
			if !c.CloseVec(what+" Forward's log-det, Σ_j log α·[x_j < 0] for each example", grading.Values(outs[1]), ld, 1e-12,
				"the Jacobian is diagonal with α where x_j < 0 and 1 elsewhere: log|det J| = (number of negative x_j)·log α, per example (sum over axis 1 only)",
				grading.VecMistake(ldPositive, "you counted the coordinates where x_j ≥ 0: the slope α applies where x_j < 0, where the others have slope 1 and contribute log 1 = 0"),
				grading.VecMistake(ldAlpha, "you added α for each negative coordinate: the log-det adds log α"),
				grading.VecMistake(ldAll, "every coordinate contributed log α: only the negative ones do (the slope is 1 elsewhere)"),
				grading.VecMistake(grading.Fill(batch, total), "each entry is the sum over the whole batch: the log-det is per example, sum over the coordinates (axis 1) only"),
				grading.VecMistake(grading.Scale(-1, ld), "the sign is flipped: Forward multiplies by α, so its log-det is +log α per negative coordinate"),
				grading.VecMistake(ldZeros, "the zeros were counted as negative: x_j = 0 is not negative, the slope there is 1 (y = x for x ≥ 0) and adds nothing; use LessThan, not LessOrEqual"),
			) {
				return
			}
			c.CheckDims(what+" Inverse's x", outs[2], "Inverse returns x with the shape of y", batch, dim)
			if !c.CloseVec(what+" Inverse(Forward(x)) = x (flattened)", grading.Values(outs[2]), xs, 1e-12,
				"x_j = y_j where y_j ≥ 0 and y_j/α where y_j < 0 (y_j has the sign of x_j)",
				grading.VecMistake(backTimes, "Inverse multiplied by α again: it must divide, x_j = y_j/α where y_j < 0"),
			) {
				return
			}
			c.CheckDims(what+" Inverse's log-det", outs[3], grading.LogDetShapeHint, batch)
			if !c.CloseVec(what+" Inverse's log-det, −Σ_j log α·[y_j < 0] for each example", grading.Values(outs[3]), grading.Scale(-1, ld), 1e-12,
				"the inverse divides by α on the negative coordinates: its log-det is −log α for each of them",
				grading.VecMistake(ld, "the inverse's log-det has the wrong sign: it divides by α, so it adds −log α per negative coordinate (the opposite of Forward's)"),
				grading.VecMistake(grading.Fill(batch, -total), "each entry is the sum over the whole batch: the log-det is per example"),
			) {
				return
			}
			logDetErr, err := flowcheck.LogDetError(c.Backend(), store, l, x)
			c.NoError(err, "flowcheck.LogDetError on "+what, "Forward must build a graph for any [batchSize, D] input")
			roundTrip, ldSum, err := flowcheck.Invertibility(c.Backend(), store, l, x)
			c.NoError(err, "flowcheck.Invertibility on "+what, "Forward and Inverse must build a graph for any [batchSize, D] input")
			if !c.Close("flowcheck.LogDetError on "+what, logDetErr, 0, 1e-9, "Forward's log-det must match log|det| of the brute-force Jacobian") ||
				!c.Close("flowcheck.Invertibility on "+what+": round trip", roundTrip, 0, 1e-12, "Inverse must undo Forward") ||
				!c.Close("flowcheck.Invertibility on "+what+": max |log-det Forward + log-det Inverse|", ldSum, 0, 1e-12, "the two log-dets must cancel") {
				return
			}
		}
	})
}
