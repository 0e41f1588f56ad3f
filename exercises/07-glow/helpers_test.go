package glow

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"

	. "github.com/gomlx/gomlx/core/graph" //nolint:revive
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/model"

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
func tryExec[F ExecGraphFn](c *grading.C, fn F, args ...any) (outs []*tensors.Tensor, err error) {
	e, err := NewExec(c.Backend(), fn)
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

// execModel runs fn(root scope of store, args...) once with store's
// variables, ending the check with a hint on an error or a panic while
// building the graph (that Exec is then left unfinalized, see tryExec).
func execModel(c *grading.C, what string, store *model.Store, fn func(scope *model.Scope, x *Node) []*Node, args ...any) []*tensors.Tensor {
	outs, err := func() (outs []*tensors.Tensor, err error) {
		e, err := model.NewExec(c.Backend(), store, fn)
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
	}()
	if err != nil {
		hint := "building or running the graph failed: read the error for the shape or op that is wrong"
		if strings.Contains(strings.ToLower(err.Error()), "nil") {
			hint = "an output node is nil: is the function still the stub that returns nil? Write its body (see its doc comment)"
		}
		lines := strings.Split(err.Error(), "\n")
		if len(lines) > 6 {
			lines = append(lines[:6], "...")
		}
		c.Fatalf("checking: %s\ngot:      error: %s\nhint:     %s", what, strings.Join(lines, "\n          "), hint)
	}
	return outs
}

// matrixValues flattens a matrix row by row.
func matrixValues(m [][]float64) []float64 {
	var out []float64
	for _, row := range m {
		out = append(out, row...)
	}
	return out
}

// rows splits v into rows of n values.
func rows(v []float64, n int) [][]float64 {
	out := make([][]float64, len(v)/n)
	for i := range out {
		out[i] = v[i*n : (i+1)*n]
	}
	return out
}

// mul returns the matrix product a·b.
func mul(a, b [][]float64) [][]float64 {
	out := make([][]float64, len(a))
	for i := range a {
		out[i] = make([]float64, len(b[0]))
		for j := range b[0] {
			for k := range b {
				out[i][j] += a[i][k] * b[k][j]
			}
		}
	}
	return out
}

// identity returns the n×n identity.
func identity(n int) [][]float64 {
	out := make([][]float64, n)
	for i := range out {
		out[i] = make([]float64, n)
		out[i][i] = 1
	}
	return out
}

// addM returns the sum of equal-size matrices.
func addM(ms ...[][]float64) [][]float64 {
	out := make([][]float64, len(ms[0]))
	for i := range out {
		out[i] = make([]float64, len(ms[0][i]))
		for _, m := range ms {
			for j, v := range m[i] {
				out[i][j] += v
			}
		}
	}
	return out
}

// scaleM returns s·m.
func scaleM(s float64, m [][]float64) [][]float64 {
	return rows(scale(s, matrixValues(m)), len(m[0]))
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
