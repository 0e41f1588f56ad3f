package nice

import (
	"testing"

	. "github.com/gomlx/gomlx/core/graph" //nolint:revive
	"github.com/gomlx/gomlx/ml/model"

	"github.com/flowbook/flowbook/exercises/internal/grading"
	"github.com/flowbook/flowbook/flowlib"
	"github.com/flowbook/flowbook/flowlib/flowcheck"
)

// tangled is a conditioner with no inverse and no variables: every output is
// a function of the sum of its input, m(x)_j = w_j·(Σ x)² + sin(3·Σ x).
func tangled(_ *model.Scope, x *Node, outDim int) *Node {
	s := ReduceAndKeep(x, ReduceSum, 1) // [batchSize, 1]
	w := make([]float64, outDim)
	for j := range w {
		w[j] = 1 - 0.75*float64(j)
	}
	weights := Reshape(ConvertDType(Const(x.Graph(), w), x.DType()), 1, outDim)
	return Add(Mul(BroadcastToDims(Square(s), x.Shape().Dimensions[0], outDim), weights),
		BroadcastToDims(Sin(MulScalar(s, 3)), x.Shape().Dimensions[0], outDim))
}

func TestCouplingInverse(t *testing.T) {
	grading.Run(t, func(c *grading.C) {
		for _, tc := range []struct {
			what      string
			mask      flowlib.Mask
			cond      flowlib.Conditioner
			unchanged string // the hint when Inverse returns y as it is
		}{
			{"m(x_a)_j = w_j·(Σ x_a)² + sin(3·Σ x_a), mask 1100", flowlib.HalfMask(4), tangled,
				"Inverse returned y unchanged: subtract the shift on the shifted coordinates, x_b = y_b − m(y_a), that is Sub(y, Mul(m, OneMinus(keep))) " +
					"(this conditioner has no variables, so the scope is not the cause)"},
			{"an MLP(16, 16) with random weights, mask 10101", flowlib.AlternatingMask(5), flowlib.MLP(16, 16).Done(),
				"Inverse returned y unchanged: the shift it subtracted is 0. Is the conditioner run in another scope, whose fresh variables output 0? Use scope.At(\"shift\"), the scope Forward uses"},
		} {
			coupling := &Coupling{Mask: tc.mask, Shift: tc.cond}
			const batch = 16
			dim := len(tc.mask)
			x := flowcheck.RandomInput(grading.Float64, 2, 11, batch, dim)
			store := model.NewStore()
			store.SetParam(model.ParamInitialSeed, int64(3))
			// Forward is given: it creates the conditioner's variables, which then get random values.
			c.NoError(flowcheck.RandomizeVariables(c.Backend(), store, coupling, x, 0.5, 4), "the given Forward", "Forward is given: report this")
			outs := grading.ExecModel(c, "Coupling: Inverse(Forward(x)) with the conditioner "+tc.what, store, func(scope *model.Scope, x *Node) []*Node {
				y, _ := coupling.Forward(scope, x)
				back, ldI := coupling.Inverse(scope, y)
				// What plausible mistakes give, computed with the right scope.
				keep := tc.mask.Tensor("grader", y)
				shifted := OneMinus(keep)
				mY := tc.cond(scope.At("shift"), Mul(y, keep), dim)
				mUnmasked := tc.cond(scope.At("shift"), y, dim)
				return []*Node{back, ldI, y,
					Add(y, Mul(mY, shifted)),        // added instead of subtracted
					Sub(y, Mul(mUnmasked, shifted)), // conditioner fed all of y
					Sub(y, mY),                      // shift subtracted from the kept coordinates too
				}
			}, x)
			c.CheckDims("Inverse's x for y ["+itoa(batch)+", "+itoa(dim)+"]", outs[0], "Inverse returns x with the shape of y", batch, dim)
			if !c.CloseVec("Inverse(Forward(x)) = x with the conditioner "+tc.what+" (flattened)", grading.Values(outs[0]), grading.Values(x), 1e-9,
				"x_a = y_a, and x_b = y_b − m(y_a): feed the conditioner Mul(y, keep) in scope.At(\"shift\"), as Forward does, and subtract its output times (1 − keep)",
				grading.VecMistake(grading.Values(outs[3]), "you added the shift again: Forward adds m(x_a), so Inverse subtracts it, x_b = y_b − m(y_a)"),
				grading.VecMistake(grading.Values(outs[4]), "the conditioner saw all of y: it must see only the kept coordinates, Mul(y, keep), exactly as in Forward (y_b ≠ x_b, so m(y) ≠ m(x_a))"),
				grading.VecMistake(grading.Values(outs[5]), "the kept coordinates changed: subtract the shift only on the shifted coordinates, Mul(m, OneMinus(keep)); y_a = x_a passes through"),
				grading.VecMistake(grading.Values(outs[2]), tc.unchanged),
			) {
				return
			}
			c.CheckDims("Inverse's log-det", outs[1], grading.LogDetShapeHint+" (here zeroLogDet(y))", batch)
			if !c.CloseVec("Inverse's log-det", grading.Values(outs[1]), grading.Fill(batch, 0), 1e-12,
				"the additive coupling preserves volume: its Jacobian is triangular with ones on the diagonal, so the log-det is 0 (zeroLogDet(y))") {
				return
			}
			roundTrip, ldSum, err := flowcheck.Invertibility(c.Backend(), store, coupling, x)
			c.NoError(err, "flowcheck.Invertibility on the coupling", "Inverse must build a graph for any [batchSize, D] input")
			if !c.Close("flowcheck.Invertibility: max |f⁻¹(f(x)) − x| with the conditioner "+tc.what, roundTrip, 0, 1e-9, "Inverse must undo Forward") ||
				!c.Close("flowcheck.Invertibility: max |log-det Forward + log-det Inverse|", ldSum, 0, 1e-12, "both log-dets are 0") {
				return
			}
			c.Logf("%s: round trip %.1e", tc.what, roundTrip)
		}
	})
}
