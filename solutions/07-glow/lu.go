package glow

import (
	"math"

	. "github.com/gomlx/gomlx/core/graph" //nolint:revive // GoMLX's idiom: graph ops read like math.

	"github.com/flowbook/flowbook/flowlib"
)

// LUMatrix returns W = P·L·(U + diag(s)), the LU parametrisation of Glow's
// invertible 1×1 convolution (and of flowlib.Invertible1x1Conv), as a C×C
// matrix (rows), computed in plain Go (no graph):
//
//   - p is the permutation matrix P (C×C, one 1 in each row and column);
//   - L is unit lower triangular: 1 on the diagonal and lower[i][j] below it
//     (j < i); the entries of lower on and above the diagonal are ignored;
//   - U is strictly upper triangular: upper[i][j] above the diagonal (j > i);
//     the other entries of upper are ignored;
//   - s is the diagonal of U + diag(s), [C].
//
// Write the matrix product yourself (three nested loops).
func LUMatrix(p, lower, upper [][]float64, s []float64) [][]float64 {
	n := len(s)
	l := make([][]float64, n)
	u := make([][]float64, n)
	for i := range n {
		l[i], u[i] = make([]float64, n), make([]float64, n)
		for j := range n {
			switch {
			case j < i:
				l[i][j] = lower[i][j]
			case j == i:
				l[i][i], u[i][i] = 1, s[i]
			default:
				u[i][j] = upper[i][j]
			}
		}
	}
	return matMul(p, matMul(l, u))
}

// LULogAbsDet returns log|det W| for W = P·L·(U + diag(s)). det P = ±1,
// det L = 1, and U + diag(s) is triangular, so its determinant is the
// product of its diagonal: log|det W| = Σ_c log|s_c|, O(C) instead of the
// O(C³) of a general determinant. s may have negative entries.
func LULogAbsDet(s []float64) float64 {
	sum := 0.0
	for _, v := range s {
		sum += math.Log(math.Abs(v))
	}
	return sum
}

// TriangularInverse returns (I + N)⁻¹ for a strictly triangular C×C matrix
// n (strictly upper or strictly lower: zeros on the diagonal and on one side
// of it), using only matrix products and sums, as flowlib inverts L and U:
//
//	(I + N)⁻¹ = I − N + N² − N³ + … = (I − N)(I + N²)(I + N⁴)···(I + N^(2^k))
//
// The series stops because N^C = 0, and the product of k + 1 factors covers
// the powers below 2^(k+1), so it is exact once 2^(k+1) ≥ C: ⌈log₂ C⌉
// factors, each one squaring. The result has n's shape and dtype;
// flowlib.Identity2D(g, dtype, C) is the identity, MatMul the product.
func TriangularInverse(n *Node) *Node {
	c := n.Shape().Dimensions[0]
	eye := flowlib.Identity2D(n.Graph(), n.DType(), c)
	power := Neg(n) // M = −N, and (I + N)⁻¹ = I + M + M² + … = (I + M)(I + M²)(I + M⁴)···
	result := Add(eye, power)
	for covered := 2; covered < c; covered *= 2 { // result now has the powers below covered
		power = MatMul(power, power)
		result = MatMul(result, Add(eye, power))
	}
	return result
}

// matMul returns the product of the matrices a (n×m) and b (m×k).
func matMul(a, b [][]float64) [][]float64 {
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
