package realnvp

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
// the inputs and returns its outputs. A nil output (learnerFn, the learner's
// function the graph calls, still the stub) or an error while building or
// running the graph ends the check.
func runModel(c *grading.C, what, learnerFn string, store *model.Store, fn func(scope *model.Scope, in []*Node) []*Node, inputs ...*tensors.Tensor) []*tensors.Tensor {
	returnedNil := false
	args := make([]any, len(inputs))
	for i, t := range inputs {
		args[i] = t
	}
	outs, err := model.CallOnceN(c.Backend(), store, func(scope *model.Scope, in []*Node) []*Node {
		outs := fn(scope, in)
		for _, o := range outs {
			if o == nil {
				returnedNil = true
				exceptions.Panicf("a function returned a nil node")
			}
		}
		return outs
	}, args...)
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

// maxRelDiff returns max_i |a_i − b_i| / max(1, |b_i|), +Inf if the lengths
// differ or a value is NaN.
func maxRelDiff(a, b []float64) float64 {
	if len(a) != len(b) {
		return math.Inf(1)
	}
	worst := 0.0
	for i := range a {
		d := math.Abs(a[i]-b[i]) / math.Max(1, math.Abs(b[i]))
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

// closeVec checks that got is within tol of want in every entry (relative to
// max(1, |want|)); when it is not, it records a failure whose hint is the
// first mistake that matches got.
func closeVec(c *grading.C, what string, got, want []float64, tol float64, hint string, mistakes ...vecMistake) bool {
	if maxRelDiff(got, want) <= tol {
		return true
	}
	for _, m := range mistakes {
		if maxRelDiff(got, m.values) <= tol {
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

// mean returns the mean of v.
func mean(v []float64) float64 {
	s := 0.0
	for _, x := range v {
		s += x
	}
	return s / float64(len(v))
}

// constRow returns values as a [1, len(values)] constant of x's dtype, to
// broadcast against [batchSize, len(values)].
func constRow(x *Node, values ...float64) *Node {
	return Reshape(ConvertDType(Const(x.Graph(), values), x.DType()), 1, len(values))
}

// constMatrix returns m as a constant of x's dtype.
func constMatrix(x *Node, m [2][2]float64) *Node {
	return ConvertDType(Const(x.Graph(), [][]float64{m[0][:], m[1][:]}), x.DType())
}

// logNormal2 is log N(x; mean, diag(exp(logStd))²) for 2D vectors, in float64.
func logNormal2(x, mean, logStd [2]float64) float64 {
	total := 0.0
	for i := range 2 {
		u := (x[i] - mean[i]) / math.Exp(logStd[i])
		total += -0.5*u*u - logStd[i] - 0.5*math.Log(2*math.Pi)
	}
	return total
}

// logSumExp returns log Σ exp(v) in float64.
func logSumExp(v []float64) float64 {
	m := math.Inf(-1)
	for _, x := range v {
		m = max(m, x)
	}
	s := 0.0
	for _, x := range v {
		s += math.Exp(x - m)
	}
	return m + math.Log(s)
}
