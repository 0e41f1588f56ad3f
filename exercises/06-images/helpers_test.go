package imageflows

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"

	"github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"

	"github.com/flowbook/flowbook/exercises/internal/grading"
)

// wrong is a plausible wrong answer: the values a mistake produces and the
// hint that names it.
type wrong struct {
	values []float64
	hint   string
}

// closeVec checks got against want element by element (tolerance relative to
// max(1, |want|)). On a mismatch it reports the first differing element, with
// the hint of the first wrong answer that got matches everywhere, else hint.
func closeVec(c *grading.C, what string, got, want []float64, tol float64, hint string, mistakes ...wrong) bool {
	if len(got) != len(want) {
		c.Errorf("%s", grading.Explain(what, fmt.Sprintf("%d values", len(want)), fmt.Sprintf("%d values", len(got)),
			"the output has the wrong number of values: check its shape"))
		return false
	}
	bad := -1
	for i := range want {
		if !grading.Near(got[i], want[i], tol) {
			bad = i
			break
		}
	}
	if bad < 0 {
		return true
	}
	matched := false
	for _, m := range mistakes {
		if matches(got, m.values, tol) {
			hint, matched = m.hint, true
			break
		}
	}
	if !matched && (math.IsNaN(got[bad]) || math.IsInf(got[bad], 0)) {
		hint = grading.Diagnose(got[bad], tol, hint)
	}
	where := what
	if len(want) > 1 {
		where = fmt.Sprintf("%s (value %d of %d)", what, bad, len(want))
	}
	c.Errorf("%s", grading.Explain(where, fmt.Sprintf("%.6g", want[bad]), fmt.Sprintf("%.6g", got[bad]), hint))
	return false
}

// matches reports whether a and b have the same length and are near everywhere.
func matches(a, b []float64, tol float64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if !grading.Near(a[i], b[i], tol) {
			return false
		}
	}
	return true
}

// checkShape ends the check if t's dimensions are not want.
func checkShape(c *grading.C, what string, t *tensors.Tensor, want []int, hint string) {
	got := t.Shape().Dimensions
	if !slices.Equal(got, want) {
		if len(want) == 1 && len(got) == 0 && strings.Contains(what, "log-det") {
			hint = "one value per example: the log-det was summed over the batch too; sum over every axis but the first"
		}
		c.Fatalf("%s", grading.Explain(what, fmt.Sprint(want), fmt.Sprint(got), hint))
	}
}

// uniformValues returns n reproducible values uniform in [lo, hi).
func uniformValues(n int, lo, hi float64, seed uint64) []float64 {
	rng := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	v := make([]float64, n)
	for i := range v {
		v[i] = lo + (hi-lo)*rng.Float64()
	}
	return v
}

// mapVec returns f applied to each element of v.
func mapVec(v []float64, f func(i int, x float64) float64) []float64 {
	out := make([]float64, len(v))
	for i, x := range v {
		out[i] = f(i, x)
	}
	return out
}

// perExample sums v [batch·d] over each example's d values.
func perExample(v []float64, batch int) []float64 {
	d := len(v) / batch
	out := make([]float64, batch)
	for i, x := range v {
		out[i/d] += x
	}
	return out
}

// constant returns n copies of v.
func constant(n int, v float64) []float64 {
	out := make([]float64, n)
	for i := range out {
		out[i] = v
	}
	return out
}

// add returns the element-wise sum of equal-length vectors.
func add(vs ...[]float64) []float64 {
	out := make([]float64, len(vs[0]))
	for _, v := range vs {
		for i, x := range v {
			out[i] += x
		}
	}
	return out
}

// scale returns s·v.
func scale(s float64, v []float64) []float64 {
	return mapVec(v, func(_ int, x float64) float64 { return s * x })
}

// sum returns the sum of v.
func sum(v []float64) float64 {
	total := 0.0
	for _, x := range v {
		total += x
	}
	return total
}

// tryExec runs fn once like grading.Exec but returns the error instead of
// ending the check. A panic while building the graph becomes an error; that
// Exec is then left unfinalized (GoMLX v0.28.16's Finalize would wait forever
// for the compilation the panic interrupted).
func tryExec[F graph.ExecGraphFn](c *grading.C, fn F, args ...any) (outs []*tensors.Tensor, err error) {
	e, err := graph.NewExec(c.Backend(), fn)
	if err != nil {
		return nil, err
	}
	defer func() {
		if r := recover(); r != nil {
			outs, err = nil, fmt.Errorf("building the graph panicked: %v", r)
			return
		}
		e.Finalize()
	}()
	return e.Call(args...)
}
