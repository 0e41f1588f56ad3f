package coupling

import (
	"fmt"
	"math"
	"strings"

	. "github.com/gomlx/gomlx/core/graph" //nolint:revive
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/model"
	"github.com/gomlx/gomlx/support/exceptions"

	"github.com/flowbook/flowbook/exercises/internal/grading"
)

// runModel builds fn into a graph with the store's variables, runs it once on
// x and returns its outputs. A nil output (learnerFn, the learner's function
// the graph calls, still the stub) or an error while building or running the
// graph ends the check with a hint.
func runModel(c *grading.C, what, learnerFn string, store *model.Store, fn func(scope *model.Scope, x *Node) []*Node, x *tensors.Tensor) []*tensors.Tensor {
	returnedNil := false
	outs, err := model.CallOnceN(c.Backend(), store, func(scope *model.Scope, x *Node) []*Node {
		outs := fn(scope, x)
		for _, o := range outs {
			if o == nil {
				returnedNil = true
				exceptions.Panicf("a function returned a nil node")
			}
		}
		return outs
	}, x)
	if returnedNil {
		c.Fatalf("checking: %s\ngot:      nil\nhint:     %s returned nil: is it still the stub? Write its body (see its doc comment)", what, learnerFn)
	}
	if err != nil {
		c.Fatalf("checking: %s\ngot:      error: %s\nhint:     building or running the graph failed: read the error for the shape or op that is wrong",
			what, firstLines(err.Error(), 6))
	}
	return outs
}

func firstLines(s string, n int) string {
	lines := strings.Split(s, "\n")
	if len(lines) > n {
		lines = append(lines[:n], "...")
	}
	return strings.Join(lines, "\n          ")
}

// maxAbsDiff returns max_i |a_i − b_i|, +Inf if the lengths differ or a value is NaN.
func maxAbsDiff(a, b []float64) float64 {
	if len(a) != len(b) {
		return math.Inf(1)
	}
	worst := 0.0
	for i := range a {
		d := math.Abs(a[i] - b[i])
		if math.IsNaN(d) {
			return math.Inf(1)
		}
		worst = max(worst, d)
	}
	return worst
}

// vecMistake is a wrong answer a plausible mistake produces, for vectors.
type vecMistake struct {
	values []float64
	hint   string
}

// closeVec checks that got is within tol of want in every entry; when it is
// not, it records a failure whose hint is the first mistake that matches got.
func closeVec(c *grading.C, what string, got, want []float64, tol float64, hint string, mistakes ...vecMistake) bool {
	if maxAbsDiff(got, want) <= tol {
		return true
	}
	for _, m := range mistakes {
		if maxAbsDiff(got, m.values) <= tol {
			hint = m.hint
			break
		}
	}
	for _, v := range got {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			hint = "the values are not finite: look for exp of a large number, a log of 0 or a division by 0"
			break
		}
	}
	c.Errorf("%s", grading.Explain(what, short(want), short(got), hint))
	return false
}

// short prints up to 6 values.
func short(v []float64) string {
	var b strings.Builder
	b.WriteString("[")
	for i, x := range v {
		if i == 6 {
			fmt.Fprintf(&b, " ... (%d values)", len(v))
			break
		}
		if i > 0 {
			b.WriteString(" ")
		}
		fmt.Fprintf(&b, "%.6g", x)
	}
	b.WriteString("]")
	return b.String()
}

// mapVec applies f to every (i, value) of v.
func mapVec(v []float64, f func(i int, x float64) float64) []float64 {
	out := make([]float64, len(v))
	for i, x := range v {
		out[i] = f(i, x)
	}
	return out
}
