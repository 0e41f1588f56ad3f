package glow

import (
	. "github.com/gomlx/gomlx/core/graph" //nolint:revive // GoMLX's idiom: graph ops read like math.
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
	// TODO(exercise): build L and U + diag(s) from their parts, then multiply P·L·(U + diag(s)).
	return nil
}

// LULogAbsDet returns log|det W| for W = P·L·(U + diag(s)). det P = ±1,
// det L = 1, and U + diag(s) is triangular, so its determinant is the
// product of its diagonal: log|det W| = Σ_c log|s_c|, O(C) instead of the
// O(C³) of a general determinant. s may have negative entries.
func LULogAbsDet(s []float64) float64 {
	// TODO(exercise): sum the logs of the absolute values.
	return 0
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
	// TODO(exercise): start from I − N and multiply by (I + N^(2^j)) until the powers reach C.
	return nil
}
