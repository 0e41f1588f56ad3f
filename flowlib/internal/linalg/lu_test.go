package linalg

import (
	"errors"
	"math"
	"math/rand/v2"
	"testing"
)

// reassemble returns P·L·(U + diag(D)) from a factorisation.
func reassemble(lu LU) [][]float64 {
	n := len(lu.Diag)
	out := make([][]float64, n)
	for i := range out {
		out[i] = make([]float64, n)
	}
	for i := range n { // Row i of L·(U+D) is row Perm[i] of w.
		for j := range n {
			sum := 0.0
			for k := range n {
				l := lu.Lower[i][k]
				if k == i {
					l = 1
				}
				u := lu.Upper[k][j]
				if k == j {
					u = lu.Diag[k]
				}
				sum += l * u
			}
			out[lu.Perm[i]][j] = sum
		}
	}
	return out
}

func TestFactorReassembles(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	random := func(n int) [][]float64 {
		w := make([][]float64, n)
		for i := range w {
			w[i] = make([]float64, n)
			for j := range w[i] {
				w[i][j] = rng.NormFloat64()
			}
		}
		return w
	}
	for _, tc := range []struct {
		name string
		w    [][]float64
	}{
		{"identity", [][]float64{{1, 0}, {0, 1}}},
		{"needs pivoting", [][]float64{{0, 2}, {3, 1}}},
		{"random 5×5", random(5)},
		{"random 16×16", random(16)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			lu, err := Factor(tc.w, 1e-12)
			if err != nil {
				t.Fatal(err)
			}
			got := reassemble(lu)
			for i := range tc.w {
				for j := range tc.w {
					if math.Abs(got[i][j]-tc.w[i][j]) > 1e-12 {
						t.Fatalf("P·L·(U+D)[%d][%d] = %v, want %v", i, j, got[i][j], tc.w[i][j])
					}
				}
				for j := 0; j <= i; j++ {
					if lu.Upper[i][j] != 0 {
						t.Errorf("Upper[%d][%d] = %v, want 0 (strictly upper triangular)", i, j, lu.Upper[i][j])
					}
				}
				for j := i; j < len(tc.w); j++ {
					if lu.Lower[i][j] != 0 {
						t.Errorf("Lower[%d][%d] = %v, want 0 (strictly lower part only)", i, j, lu.Lower[i][j])
					}
				}
			}
		})
	}
}

func TestFactorRejects(t *testing.T) {
	var singular *SingularError
	if _, err := Factor([][]float64{{1, 2}, {2, 4}}, 1e-12); !errors.As(err, &singular) || singular.Column != 1 {
		t.Errorf("rank-1 matrix: error %v, want a SingularError in column 1", err)
	}
	if _, err := Factor([][]float64{{1e-13, 0}, {0, 1}}, 1e-12); !errors.As(err, &singular) || singular.Column != 0 {
		t.Errorf("pivot below the tolerance: error %v, want a SingularError in column 0", err)
	}
	if _, err := Factor([][]float64{{1e-13, 0}, {0, 1}}, 0); err != nil {
		t.Errorf("tolerance 0 accepts a tiny non-zero pivot, got %v", err)
	}
	if _, err := Factor([][]float64{{1, 2}, {3}}, 0); err == nil {
		t.Error("a ragged matrix was factored")
	}
}

func TestLogAbsDet(t *testing.T) {
	for _, tc := range []struct {
		name string
		w    [][]float64
		want float64
	}{
		{"diagonal", [][]float64{{2, 0}, {0, -3}}, math.Log(6)},
		{"needs pivoting", [][]float64{{0, 2}, {3, 1}}, math.Log(6)},
		{"rotation", [][]float64{{math.Cos(1), -math.Sin(1)}, {math.Sin(1), math.Cos(1)}}, 0},
		{"singular", [][]float64{{1, 2}, {2, 4}}, math.Inf(-1)},
		{"empty", [][]float64{}, 0},
		{"NaN", [][]float64{{math.NaN(), 0}, {0, 1}}, math.NaN()},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := LogAbsDet(tc.w)
			if math.IsNaN(tc.want) != math.IsNaN(got) || !math.IsNaN(got) && math.Abs(got-tc.want) > 1e-12 && got != tc.want {
				t.Errorf("LogAbsDet(%v) = %v, want %v", tc.w, got, tc.want)
			}
		})
	}
}
