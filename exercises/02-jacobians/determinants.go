package jacobians

// LogAbsDet2x2 returns log|det A| for the 2×2 matrix
//
//	A = [[a[0][0], a[0][1]],
//	     [a[1][0], a[1][1]]],
//
// which is log|a₁₁·a₂₂ − a₁₂·a₂₁|, by hand (no loops, no library). It is the
// log-det of the affine map f(x) = A·x + b, whose Jacobian is A everywhere.
// The determinant may be negative (the map flips orientation): densities
// only care about its absolute value. For a singular A the result is −Inf.
func LogAbsDet2x2(a [2][2]float64) float64 {
	// TODO(exercise): compute det = a₁₁·a₂₂ − a₁₂·a₂₁ and return log|det|.
	return 0
}

// LogAbsDetLU returns log|det A| of a square D×D matrix a (a[i] is row i) by
// LU decomposition with partial pivoting (Gaussian elimination), in O(D³):
//
//   - for each column col, pick as pivot the row (col or below) whose entry in
//     column col has the largest absolute value, and swap it into row col
//     (a swap flips the sign of det, never |det|);
//   - if that pivot is exactly 0 the matrix is singular: return math.Inf(-1);
//   - add log|pivot| to the sum, and subtract multiples of row col from the
//     rows below it to zero their entries in column col.
//
// log|det A| is the sum of log|pivot|: never form the product of the pivots,
// which overflows or underflows for large D. Work on a copy: a must not change.
func LogAbsDetLU(a [][]float64) float64 {
	// TODO(exercise): copy a, eliminate column by column with partial pivoting, and sum log|pivot|.
	return 0
}

// TriangularLogAbsDet returns log|det L| of a lower-triangular D×D matrix l
// (l[i][j] = 0 for j > i) in O(D): the determinant of a triangular matrix is
// the product of its diagonal, so log|det L| = Σ_i log|l[i][i]|. Sum the logs
// (the product of 1000 entries near 2 overflows float64) and read nothing but
// the diagonal: the graders time it on a large matrix, where an O(D³) LU
// decomposition takes seconds.
func TriangularLogAbsDet(l [][]float64) float64 {
	// TODO(exercise): sum log|l[i][i]| over the diagonal.
	return 0
}
