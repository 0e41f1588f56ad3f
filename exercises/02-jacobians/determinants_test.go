package jacobians

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/flowbook/flowbook/exercises/internal/grading"
	"github.com/flowbook/flowbook/flowlib/flowcheck"
)

func TestLogAbsDet2x2(t *testing.T) {
	grading.Run(t, func(c *grading.C) {
		matrices := [][2][2]float64{
			{{2, 1}, {0, 3}},    // det 6
			{{3, -2}, {4, 1.5}}, // det 12.5
			{{1, 2}, {3, 4}},    // det −2
			{{0.5, 3}, {2, 1}},  // det −5.5
			{{0, 2}, {3, 1}},    // det −6, a₁₁ = 0
		}
		// Random matrices, entries of both signs from 10⁻³ to 10³, not exact in float32.
		rng := rand.New(rand.NewPCG(21, 22))
		for range 100 {
			var a [2][2]float64
			for i := range 2 {
				for j := range 2 {
					a[i][j] = (2*rng.Float64() - 1) * math.Pow(10, 6*rng.Float64()-3)
				}
			}
			matrices = append(matrices, a)
		}
		matrices = append(matrices, [2][2]float64{{1, 2}, {2, 4}}) // singular
		for _, a := range matrices {
			det := a[0][0]*a[1][1] - a[0][1]*a[1][0]
			want := math.Log(math.Abs(det))
			got := LogAbsDet2x2(a)
			what := fmt.Sprintf("LogAbsDet2x2 for A = %v (det A = %g)", a, det)
			if math.IsNaN(got) && det < 0 {
				c.Errorf("%s", grading.Explain(what, fmt.Sprintf("%.6g", want), "NaN",
					"det A is negative here and the log of a negative number is NaN: take the absolute value first, log|det A| = math.Log(math.Abs(det))"))
				return
			}
			if math.IsNaN(got) && a[0][0] == 0 {
				c.Errorf("%s", grading.Explain(what, fmt.Sprintf("%.6g", want), "NaN",
					"a₁₁ = 0 here: dividing by a₁₁ (as an elimination step does) gives NaN. Use the formula log|a₁₁·a₂₂ − a₁₂·a₂₁|, which divides by nothing"))
				return
			}
			if det == 0 {
				// The singular matrix, after the others: a 0 here is not the stub's, and det A and
				// |det A| are 0 too, so they are no diagnosis.
				if !math.IsInf(got, -1) {
					c.Errorf("%s", grading.Explain(what, "-Inf", fmt.Sprint(got), "A is singular (det A = 0), so log|det A| = log 0 = −Inf, which math.Log(0) returns: "+
						"do not turn it into 0 or any other finite number (a density would then be finite where the map collapses the plane)"))
					return
				}
				continue
			}
			if !c.Close(what, got, want, 1e-12,
				"log|det A| = log|a₁₁·a₂₂ − a₁₂·a₂₁|, with a₁₁ = a[0][0], a₁₂ = a[0][1], a₂₁ = a[1][0], a₂₂ = a[1][1]",
				grading.Mistake(math.Log(math.Abs(a[0][0]*a[1][1]+a[0][1]*a[1][0])), "the determinant is a₁₁·a₂₂ − a₁₂·a₂₁: subtract the off-diagonal product (minus, not plus)"),
				grading.Mistake(math.Log(math.Abs(a[0][0]*a[1][1])), "you kept only the diagonal product a₁₁·a₂₂: A is not triangular, subtract a₁₂·a₂₁"),
				grading.Mistake(det, "that is det A itself: return its log, log|det A|"),
				grading.Mistake(math.Abs(det), "that is |det A|: return its log, log|det A|"),
				grading.Mistake(-want, "the sign is flipped: return log|det A|, not −log|det A|"),
			) {
				return
			}
		}
	})
}

// randomMatrix returns an n×n matrix of N(0, scale²) entries, the same for
// the same seed.
func randomMatrix(n int, scale float64, seed uint64) [][]float64 {
	rng := rand.New(rand.NewPCG(seed, 77))
	m := make([][]float64, n)
	for i := range m {
		m[i] = make([]float64, n)
		for j := range m[i] {
			m[i][j] = scale * rng.NormFloat64()
		}
	}
	return m
}

func TestLogAbsDetLU(t *testing.T) {
	grading.Run(t, func(c *grading.C) {
		big := randomMatrix(700, 0.05, 3) // 700×700 with diagonal ≈ 4: det ≈ 10⁴²¹, beyond float64
		for i := range big {
			big[i][i] += 4
		}
		cases := []struct {
			name string
			m    [][]float64
			hint string // for a non-finite result
		}{
			{"a 3×3 matrix with positive pivots", [][]float64{{4, 1, 0.5}, {1, 3, 0.2}, {0.5, 0.2, 2}}, ""},
			{"a random 6×6 matrix (some pivots are negative)", randomMatrix(6, 1, 1),
				"some pivots are negative, and the log of a negative number is NaN: add log|pivot| (math.Abs), since |det| = Π |pivot|"},
			{"A = [[0, 2, 1], [1, 1, 0], [3, 0, 1]] (invertible, det −5, but a₁₁ = 0)", [][]float64{{0, 2, 1}, {1, 1, 0}, {3, 0, 1}},
				"this matrix is invertible but its first entry is 0: without pivoting you divide by a zero pivot. Partial pivoting: in each column, " +
					"swap up the row (on or below the diagonal) whose entry has the largest absolute value, then eliminate"},
			{"A = [[10⁻¹², 0.3, 0.7], [−0.9, 0.4, 0.2], [−0.6, 0.8, −0.5]] (det ≈ −0.507)", [][]float64{{1e-12, 0.3, 0.7}, {-0.9, 0.4, 0.2}, {-0.6, 0.8, -0.5}},
				pivotHint("its first column holds 10⁻¹², −0.9 and −0.6: the largest by value is 10⁻¹², and dividing by so small a pivot loses digits")},
			{"A = [[0, 1, 2], [−2, 1, 0], [0, 3, 1]] (invertible, det −10; the first column is 0, −2, 0)", [][]float64{{0, 1, 2}, {-2, 1, 0}, {0, 3, 1}},
				pivotHint("its first column holds 0, −2 and 0: the largest by value is the 0, a zero pivot, though the matrix is invertible")},
			{"a random 40×40 matrix", randomMatrix(40, 1/math.Sqrt(40), 2), ""},
			{"a 5×5 matrix with entries about 10⁻¹² (invertible: det about 10⁻⁶⁰)", scaled(randomMatrix(5, 1, 5), 1e-12),
				"A is invertible, its entries (and pivots) are only small, about 10⁻¹²: the matrix is singular only when the best pivot is exactly 0 (== 0), never compare it with a tolerance"},
			{"a 6×6 matrix with entries about 10⁶ (det about 10³⁶)", scaled(randomMatrix(6, 1, 6), 1e6), ""},
			{"a 700×700 matrix whose det (about 10⁴²¹) overflows float64", big,
				"|det A| itself overflows float64 here (it is about 10⁴²¹): never form the product of the pivots, add their logs, log|det A| = Σ log|pivot|"},
		}
		// Random matrices of every size from 1×1 to 16×16, entries of both signs.
		for n := 1; n <= 16; n++ {
			cases = append(cases, struct {
				name string
				m    [][]float64
				hint string
			}{fmt.Sprintf("a random %d×%d matrix", n, n), randomMatrix(n, 1/math.Sqrt(float64(n)), uint64(30+n)), ""})
		}
		for _, tc := range cases {
			saved := cloneMatrix(tc.m)
			want := flowcheck.LogAbsDet(tc.m)
			got := LogAbsDetLU(tc.m)
			if !sameMatrix(tc.m, saved) {
				c.Fatalf("%s", grading.Explain("LogAbsDetLU leaves its argument unchanged, for "+tc.name,
					"the same matrix after the call", "the caller's matrix was modified",
					"eliminate on a copy of the matrix (slices.Clone each row): the caller's A must not change"))
			}
			what := "LogAbsDetLU for " + tc.name + " (compared with flowcheck.LogAbsDet)"
			if (math.IsNaN(got) || math.IsInf(got, 0)) && tc.hint != "" {
				c.Fatalf("%s", grading.Explain(what, fmt.Sprintf("%.6g", want), fmt.Sprintf("%.6g", got), tc.hint))
			}
			hint := "log|det A| is the sum of log|pivot| over the columns of the LU decomposition: check the pivot choice, the row swap and the elimination step (factor = a[row][col] / a[col][col])"
			if tc.hint != "" {
				hint = tc.hint
			}
			mistakes := []grading.Diagnosis{
				grading.Mistake(-want, "the sign is flipped: return +Σ log|pivot|"),
				grading.Mistake(luLogAbsDet(tc.m, false, true), "the last column's pivot is missing: the loop runs over all D columns, "+
					"the last one included (nothing is left below it to eliminate, but its pivot counts)"),
			}
			if byValue := luLogAbsDet(tc.m, true, false); byValue != want {
				mistakes = append(mistakes, grading.Mistake(byValue, pivotHint("the pivot was chosen by value, not by absolute value")))
			}
			if !c.Close(what, got, want, 1e-9, hint, mistakes...) {
				return
			}
		}
		singular := [][]float64{{1, 2, 3, 4}, {2, 4, 6, 9}, {1, 2, 0, 1}, {0, 0, 1, 2}}
		if got := LogAbsDetLU(singular); !math.IsInf(got, -1) && !(got < -30) {
			c.Errorf("%s", grading.Explain("LogAbsDetLU for the singular matrix [[1, 2, 3, 4], [2, 4, 6, 9], [1, 2, 0, 1], [0, 0, 1, 2]] (column 2 = 2·column 1)", "-Inf", fmt.Sprintf("%.6g", got),
				"det A = 0, so log|det A| = −Inf: when the best pivot of a column is exactly 0, return math.Inf(-1)"))
		}
	})
}

// pivotHint explains partial pivoting by absolute value, after why.
func pivotHint(why string) string {
	return why + ". Partial pivoting picks the entry with the largest ABSOLUTE value, on or below the diagonal: " +
		"compare math.Abs(a[row][col]) > math.Abs(a[pivot][col]), so that a large negative entry wins over a small positive one"
}

// scaled returns s·m.
func scaled(m [][]float64, s float64) [][]float64 {
	out := cloneMatrix(m)
	for i := range out {
		for j := range out[i] {
			out[i][j] *= s
		}
	}
	return out
}

// luLogAbsDet is log|det a| by Gaussian elimination as the doc comment of
// LogAbsDetLU describes it, or as two plausible mistakes do it: the pivot
// chosen by value rather than by absolute value, or the last column's pivot
// left out of the sum.
func luLogAbsDet(a [][]float64, byValue, skipLast bool) float64 {
	n := len(a)
	m := cloneMatrix(a)
	sum := 0.0
	for col := range n {
		pivot := col
		for row := col + 1; row < n; row++ {
			if byValue && m[row][col] > m[pivot][col] || !byValue && math.Abs(m[row][col]) > math.Abs(m[pivot][col]) {
				pivot = row
			}
		}
		if m[pivot][col] == 0 {
			return math.Inf(-1)
		}
		m[col], m[pivot] = m[pivot], m[col]
		if !skipLast || col < n-1 {
			sum += math.Log(math.Abs(m[col][col]))
		}
		for row := col + 1; row < n; row++ {
			factor := m[row][col] / m[col][col]
			for k := col; k < n; k++ {
				m[row][k] -= factor * m[col][k]
			}
		}
	}
	return sum
}

func sameMatrix(a, b [][]float64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if len(a[i]) != len(b[i]) {
			return false
		}
		for j := range a[i] {
			if a[i][j] != b[i][j] && !(math.IsNaN(a[i][j]) && math.IsNaN(b[i][j])) {
				return false
			}
		}
	}
	return true
}

// lowerTriangular returns an n×n lower-triangular matrix with diagonal
// entries of random sign and absolute value in [1.5, 3], and N(0, 1) entries
// below it.
func lowerTriangular(n int, seed uint64) [][]float64 {
	rng := rand.New(rand.NewPCG(seed, 5))
	m := make([][]float64, n)
	for i := range m {
		m[i] = make([]float64, n)
		for j := range i {
			m[i][j] = rng.NormFloat64()
		}
		m[i][i] = 1.5 + 1.5*rng.Float64()
		if rng.IntN(2) == 0 {
			m[i][i] = -m[i][i]
		}
	}
	return m
}

func TestTriangularLogAbsDet(t *testing.T) {
	grading.Run(t, func(c *grading.C) {
		small := lowerTriangular(5, 1)
		small[0][0], small[2][2] = -2, -0.5 // negative entries on the diagonal
		want := flowcheck.LogAbsDet(small)
		got := TriangularLogAbsDet(small)
		allLogs := 0.0 // Σ log|l_ij| over every nonzero entry: a plausible mistake
		for i := range small {
			for j := 0; j <= i; j++ {
				allLogs += math.Log(math.Abs(small[i][j]))
			}
		}
		what := "TriangularLogAbsDet for a 5×5 lower-triangular matrix with negative diagonal entries (compared with flowcheck.LogAbsDet)"
		if math.IsNaN(got) {
			c.Fatalf("%s", grading.Explain(what, fmt.Sprintf("%.6g", want), "NaN",
				"some diagonal entries are negative and the log of a negative number is NaN: sum log|l[i][i]| (math.Abs)"))
		}
		if !c.Close(what, got, want, 1e-12,
			"the determinant of a triangular matrix is the product of its diagonal: log|det L| = Σ_i log|l[i][i]|",
			grading.Mistake(allLogs, "you summed the logs of the entries below the diagonal too: only the diagonal counts, log|det L| = Σ_i log|l[i][i]|"),
			grading.Mistake(-want, "the sign is flipped: return +Σ_i log|l[i][i]|"),
		) {
			return
		}

		const n = 1500
		large := lowerTriangular(n, 2)
		want = 0.0
		for i := range large {
			want += math.Log(math.Abs(large[i][i]))
		}
		start := time.Now()
		got = TriangularLogAbsDet(large)
		elapsed := time.Since(start)
		what = fmt.Sprintf("TriangularLogAbsDet for a %d×%d lower-triangular matrix (|det| ≈ 10^%.0f)", n, n, want/math.Ln10)
		if math.IsInf(got, 1) || math.IsNaN(got) {
			c.Fatalf("%s", grading.Explain(what, fmt.Sprintf("%.6g", want), fmt.Sprintf("%.6g", got),
				"the product of the diagonal overflows float64 here (a product of 1500 numbers above 1.5): never form it, add the logs, Σ_i log|l[i][i]|"))
		}
		if elapsed > 250*time.Millisecond {
			c.Fatalf("%s", grading.Explain(fmt.Sprintf("TriangularLogAbsDet runs in O(D) (D = %d)", n), "well under 250ms",
				elapsed.Round(time.Millisecond).String(),
				"read only the D diagonal entries: an LU decomposition (LogAbsDetLU, flowcheck.LogAbsDet) costs O(D³), seconds at this size, and gives the same number for a triangular matrix"))
		}
		if !c.Close(what, got, want, 1e-9, "log|det L| = Σ_i log|l[i][i]|") {
			return
		}
		c.Logf("D = %d: %s", n, elapsed)
	})
}
