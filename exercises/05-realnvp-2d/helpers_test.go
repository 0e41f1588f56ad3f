package realnvp

import (
	"math"

	. "github.com/gomlx/gomlx/core/graph" //nolint:revive
)

// This file holds the graders' own helpers, not tasks; the ones the chapters
// share are in the grading package.

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
