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
		for _, a := range [][2][2]float64{
			{{2, 1}, {0, 3}},    // det 6
			{{3, -2}, {4, 1.5}}, // det 12.5
			{{1, 2}, {3, 4}},    // det −2
			{{0.5, 3}, {2, 1}},  // det −5.5
			{{1, 2}, {2, 4}},    // singular
		} {
			det := a[0][0]*a[1][1] - a[0][1]*a[1][0]
			want := math.Log(math.Abs(det))
			got := LogAbsDet2x2(a)
			what := fmt.Sprintf("LogAbsDet2x2 for A = %v (det A = %g)", a, det)
			if math.IsNaN(got) && det < 0 {
				c.Errorf("%s", grading.Explain(what, fmt.Sprintf("%.6g", want), "NaN",
					"det A is negative here and the log of a negative number is NaN: take the absolute value first, log|det A| = math.Log(math.Abs(det))"))
				return
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
			{"a random 40×40 matrix", randomMatrix(40, 1/math.Sqrt(40), 2), ""},
			{"a 700×700 matrix whose det (about 10⁴²¹) overflows float64", big,
				"|det A| itself overflows float64 here (it is about 10⁴²¹): never form the product of the pivots, add their logs, log|det A| = Σ log|pivot|"},
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
			if !c.Close(what, got, want, 1e-9,
				"log|det A| is the sum of log|pivot| over the columns of the LU decomposition: check the pivot choice, the row swap and the elimination step (factor = a[row][col] / a[col][col])",
				grading.Mistake(-want, "the sign is flipped: return +Σ log|pivot|"),
			) {
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
