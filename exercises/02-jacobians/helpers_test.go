package jacobians

import (
	"fmt"
	"math"
	"strings"

	. "github.com/gomlx/gomlx/core/graph" //nolint:revive
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/model"

	"github.com/flowbook/flowbook/exercises/internal/grading"
)

// This file holds the graders' shared helpers, not tasks.

// vecMistake is a wrong answer, one value per example, that a known mistake
// produces, with the hint to show when the learner's values match it.
type vecMistake struct {
	values []float64
	hint   string
}

// closeVec checks got against want entry by entry (tolerance relative to
// max(1, |want|)); on a mismatch it reports the first entries and the hint of
// the first mistake that got matches entirely, or hint.
func closeVec(c *grading.C, what string, got, want []float64, tol float64, hint string, mistakes ...vecMistake) bool {
	if len(got) != len(want) {
		c.Errorf("%s", grading.Explain(what, fmt.Sprintf("%d values", len(want)), fmt.Sprintf("%d values", len(got)), hint))
		return false
	}
	if allNear(got, want, tol) {
		return true
	}
	chosen := hint
	for _, v := range got {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			chosen = "some values are not finite: look for the log of a negative number or of 0, a division by 0, or exp of a large number"
			break
		}
	}
	for _, m := range mistakes {
		if allNear(got, m.values, tol) {
			chosen = m.hint
			break
		}
	}
	c.Errorf("%s", grading.Explain(what, short(want), short(got), chosen))
	return false
}

func allNear(got, want []float64, tol float64) bool {
	if len(got) != len(want) {
		return false
	}
	for i := range got {
		if !grading.Near(got[i], want[i], tol) {
			return false
		}
	}
	return true
}

// short formats up to 6 values.
func short(v []float64) string {
	parts := make([]string, 0, 7)
	for i, x := range v {
		if i == 6 {
			parts = append(parts, fmt.Sprintf("... (%d values)", len(v)))
			break
		}
		parts = append(parts, fmt.Sprintf("%.6g", x))
	}
	return "[" + strings.Join(parts, " ") + "]"
}

// fill returns n copies of v.
func fill(n int, v float64) []float64 {
	out := make([]float64, n)
	for i := range out {
		out[i] = v
	}
	return out
}

// scaled returns k·v.
func scaled(v []float64, k float64) []float64 {
	out := make([]float64, len(v))
	for i := range v {
		out[i] = k * v[i]
	}
	return out
}

// runModel runs fn(root scope, x) once with the store's variables and
// returns its outputs; an error or a panic while building the graph (a nil
// node from a stub, a shape mismatch) ends the check with a hint.
func runModel(c *grading.C, what string, store *model.Store, fn func(scope *model.Scope, x *Node) []*Node, x *tensors.Tensor) []*tensors.Tensor {
	outs, err := callModel(c, store, fn, x)
	if err != nil {
		hint := "building or running the graph failed: read the error for the shape or op that is wrong"
		msg := strings.ToLower(err.Error())
		if strings.Contains(msg, "nil") || strings.Contains(msg, "invalid node") {
			hint = "an output node is nil: is the function still the stub that returns nil? Write its body (see its doc comment)"
		}
		c.Fatalf("checking: %s\ngot:      error: %s\nhint:     %s", what, firstLines(err.Error(), 6), hint)
	}
	return outs
}

// callModel is model.CallOnceN without its deferred Finalize after a panic:
// in GoMLX v0.28.16 a panic while building a graph leaves a compilation that
// never completes, and Finalize would wait for it forever.
func callModel(c *grading.C, store *model.Store, fn func(scope *model.Scope, x *Node) []*Node, x *tensors.Tensor) (outs []*tensors.Tensor, err error) {
	e, err := model.NewExec(c.Backend(), store, fn)
	if err != nil {
		return nil, err
	}
	panicked := true
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("building the graph panicked: %v", r)
			return
		}
		if !panicked {
			e.Finalize()
		}
	}()
	outs, err = e.Call(x)
	panicked = false
	return outs, err
}

func firstLines(s string, n int) string {
	lines := strings.Split(s, "\n")
	if len(lines) > n {
		lines = append(lines[:n], "...")
	}
	return strings.Join(lines, "\n          ")
}

// checkDims ends the check unless t has exactly the dimensions want.
func checkDims(c *grading.C, what string, t *tensors.Tensor, hint string, want ...int) {
	got := t.Shape().Dimensions
	if fmt.Sprint(got) != fmt.Sprint(want) {
		c.Fatalf("%s", grading.Explain("the shape of "+what, fmt.Sprint(want), fmt.Sprint(got), hint))
	}
}

// perExampleHint explains the shape of a log-det.
const perExampleHint = "a log-det has one value per example, shape [batchSize]: never sum it over the batch; " +
	"broadcast a value that is the same for every example with BroadcastToDims(value, batchSize)"

// matrix copies a matrix.
func cloneMatrix(m [][]float64) [][]float64 {
	out := make([][]float64, len(m))
	for i := range m {
		out[i] = append([]float64(nil), m[i]...)
	}
	return out
}

// flatten returns the rows of m one after the other.
func flatten(m [][]float64) []float64 {
	var out []float64
	for _, row := range m {
		out = append(out, row...)
	}
	return out
}

// transpose returns mᵀ.
func transpose(m [][]float64) [][]float64 {
	out := make([][]float64, len(m[0]))
	for j := range out {
		out[j] = make([]float64, len(m))
		for i := range m {
			out[j][i] = m[i][j]
		}
	}
	return out
}
