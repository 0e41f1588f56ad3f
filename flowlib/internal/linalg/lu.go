// Package linalg holds the small dense linear algebra that flowlib does on
// the host, in float64: an LU factorisation with partial pivoting, and the
// log-determinant it gives. The invertible 1×1 convolution factors its initial
// matrix with it, and flowcheck takes log|det J| of autodiff Jacobians.
package linalg

import (
	"fmt"
	"math"
)

// LU is the factorisation w = P·L·(U + diag(Diag)) of a square matrix: row i
// of L·(U + diag(Diag)) is row Perm[i] of w, L is unit lower triangular
// (Lower holds it without its diagonal), U strictly upper triangular.
type LU struct {
	Perm         []int
	Lower, Upper [][]float64
	Diag         []float64
}

// SingularError is Factor's error for a matrix with no usable pivot in
// Column: every candidate there was within the tolerance of zero.
type SingularError struct{ Column int }

func (e *SingularError) Error() string {
	return fmt.Sprintf("singular matrix: no pivot in column %d", e.Column)
}

// Factor computes the LU factorisation of the square matrix w by Gaussian
// elimination with partial pivoting (the largest |value| of each column
// becomes its pivot). It returns a *SingularError when a pivot is at most
// tolerance in absolute value (0: only an exact zero is singular). w is not
// changed.
func Factor(w [][]float64, tolerance float64) (LU, error) {
	n := len(w)
	a := make([][]float64, n)
	for i := range w {
		if len(w[i]) != n {
			return LU{}, fmt.Errorf("linalg: row %d has %d values, the matrix needs %d (it must be square)", i, len(w[i]), n)
		}
		a[i] = append([]float64(nil), w[i]...)
	}
	perm := make([]int, n)
	for i := range perm {
		perm[i] = i
	}
	for k := range n {
		pivot := k
		for i := k + 1; i < n; i++ {
			if math.Abs(a[i][k]) > math.Abs(a[pivot][k]) {
				pivot = i
			}
		}
		if !(math.Abs(a[pivot][k]) > tolerance) { // also catches NaN
			return LU{}, &SingularError{Column: k}
		}
		a[k], a[pivot] = a[pivot], a[k]
		perm[k], perm[pivot] = perm[pivot], perm[k]
		for i := k + 1; i < n; i++ {
			a[i][k] /= a[k][k]
			for j := k + 1; j < n; j++ {
				a[i][j] -= a[i][k] * a[k][j]
			}
		}
	}
	lu := LU{Perm: perm, Lower: make([][]float64, n), Upper: make([][]float64, n), Diag: make([]float64, n)}
	for i := range n {
		lu.Lower[i], lu.Upper[i] = make([]float64, n), make([]float64, n)
		for j := range n {
			switch {
			case j < i:
				lu.Lower[i][j] = a[i][j]
			case j > i:
				lu.Upper[i][j] = a[i][j]
			default:
				lu.Diag[i] = a[i][i]
			}
		}
	}
	return lu, nil
}

// LogAbsDet returns log|det w| = Σ log|Diag_i| of w's LU factorisation: −Inf
// for a singular matrix (an exact zero pivot), NaN for one holding NaN.
func LogAbsDet(w [][]float64) float64 {
	lu, err := Factor(w, 0)
	if err != nil {
		for _, row := range w {
			for _, v := range row {
				if math.IsNaN(v) {
					return math.NaN()
				}
			}
		}
		return math.Inf(-1)
	}
	sum := 0.0
	for _, d := range lu.Diag {
		sum += math.Log(math.Abs(d))
	}
	return sum
}
