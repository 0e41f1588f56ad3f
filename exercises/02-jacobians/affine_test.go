package jacobians

import (
	"math"
	"testing"

	. "github.com/gomlx/gomlx/core/graph" //nolint:revive
	"github.com/gomlx/gomlx/ml/model"

	"github.com/flowbook/flowbook/exercises/internal/grading"
	"github.com/flowbook/flowbook/flowlib/flowcheck"
)

func TestAffineMapBijector(t *testing.T) {
	grading.Run(t, func(c *grading.C) {
		a := [][]float64{{1.5, 0.4, -0.3}, {0.2, -1.1, 0.5}, {0.7, 0.3, 0.9}} // det < 0, not symmetric
		b := []float64{0.5, -1, 2}
		f := &AffineMap{A: a, B: b}
		const batch, dim = 8, 3
		x := flowcheck.RandomInput(grading.Float64, 2, 1, batch, dim)
		xs := grading.Values(x)
		store := model.NewStore()
		outs := grading.ExecModel(c, "AffineMap: Forward on x [8, 3], then Inverse on its output", store, func(scope *model.Scope, x *Node) []*Node {
			y, ldF := f.Forward(scope, x)
			back, ldI := f.Inverse(scope, y)
			return []*Node{y, ldF, back, ldI}
		}, x)
		logDetA := flowcheck.LogAbsDet(a)

		// Forward: values.
		c.CheckDims("Forward's y for x [8, 3]", outs[0], "y = A·x + b has the shape of x", batch, dim)
		want, transposed, noShift := make([]float64, batch*dim), make([]float64, batch*dim), make([]float64, batch*dim)
		for e := range batch {
			for i := range dim {
				want[e*dim+i], transposed[e*dim+i] = b[i], b[i]
				for j := range dim {
					want[e*dim+i] += a[i][j] * xs[e*dim+j]
					transposed[e*dim+i] += a[j][i] * xs[e*dim+j]
					noShift[e*dim+i] += a[i][j] * xs[e*dim+j]
				}
			}
		}
		if !c.CloseVec("Forward's y = A·x + b, for every example (flattened)", grading.Values(outs[0]), want, 1e-9,
			"y_i = Σ_j A_ij x_j + b_i for each example: with the examples as the rows of x, y = x·Aᵀ + b",
			grading.VecMistake(transposed, "you computed x·A, which is Aᵀ·x for each example: y_i = Σ_j A_ij x_j, so multiply by the transpose, x·Aᵀ (Transpose(a, 0, 1))"),
			grading.VecMistake(noShift, "y is A·x without b: add the shift b"),
		) {
			return
		}

		// Forward: log-det.
		c.CheckDims("Forward's log-det", outs[1], grading.LogDetShapeHint, batch)
		if !c.CloseVec("Forward's log-det: log|det A| for every example", grading.Values(outs[1]), grading.Fill(batch, logDetA), 1e-9,
			"the Jacobian of x ↦ A·x + b is A, so every example gets log|det A| (flowcheck.LogAbsDet(f.A), or your LogAbsDetLU)",
			grading.VecMistake(grading.Fill(batch, batch*logDetA), "each entry is log|det A| summed over the batch (8×): the log-det is per example, log|det A| for each"),
			grading.VecMistake(grading.Fill(batch, -logDetA), "the sign is flipped: Forward's log-det is +log|det A|"),
			grading.VecMistake(grading.Fill(batch, math.Exp(logDetA)), "that is |det A|: return its log"),
		) {
			return
		}

		// Inverse: values and log-det.
		c.CheckDims("Inverse's x for y [8, 3]", outs[2], "x = A⁻¹·(y − b) has the shape of y", batch, dim)
		if !c.CloseVec("Inverse(Forward(x)) = x, for every example (flattened)", grading.Values(outs[2]), xs, 1e-9,
			"x = A⁻¹·(y − b): subtract b first, then multiply every example by A⁻¹, which for rows is (y − b)·(A⁻¹)ᵀ (use invertMatrix(f.A))",
		) {
			return
		}
		c.CheckDims("Inverse's log-det", outs[3], grading.LogDetShapeHint, batch)
		if !c.CloseVec("Inverse's log-det: −log|det A| for every example", grading.Values(outs[3]), grading.Fill(batch, -logDetA), 1e-9,
			"the inverse map's Jacobian is A⁻¹, and log|det A⁻¹| = −log|det A|",
			grading.VecMistake(grading.Fill(batch, logDetA), "the inverse's log-det has the wrong sign: log|det A⁻¹| = −log|det A|, the opposite of Forward's"),
			grading.VecMistake(grading.Fill(batch, -batch*logDetA), "each entry is summed over the batch (8×): the log-det is per example"),
		) {
			return
		}

		// The flowcheck toolkit, as in the notebook.
		logDetErr, err := flowcheck.LogDetError(c.Backend(), store, f, x)
		c.NoError(err, "flowcheck.LogDetError on AffineMap", "Forward must build a graph for any [batchSize, D] float input")
		c.Close("flowcheck.LogDetError: |Forward's log-det − log|det J|| with J the brute-force Jacobian", logDetErr, 0, 1e-9,
			"Forward's log-det must equal log|det| of its own Jacobian")
		roundTrip, ldSum, err := flowcheck.Invertibility(c.Backend(), store, f, x)
		c.NoError(err, "flowcheck.Invertibility on AffineMap", "Forward and Inverse must build a graph for any [batchSize, D] float input")
		c.Close("flowcheck.Invertibility: max |f⁻¹(f(x)) − x|", roundTrip, 0, 1e-9, "Inverse must undo Forward")
		c.Close("flowcheck.Invertibility: max |log-det Forward + log-det Inverse|", ldSum, 0, 1e-9,
			"the two log-dets must cancel: log|det A| and −log|det A|")
		c.Logf("log|det A| = %.6f; LogDetError %.1e, round trip %.1e", logDetA, logDetErr, roundTrip)
	})
}
