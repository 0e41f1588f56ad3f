package jacobians

import (
	"math"

	. "github.com/gomlx/gomlx/core/graph" //nolint:revive // GoMLX's idiom: graph ops read like math.
	"github.com/gomlx/gomlx/ml/model"

	"github.com/flowbook/flowbook/flowlib/flowcheck"
)

// AffineMap is the affine map f(x) = A·x + b on vectors of dimension D, as a
// flowlib.Bijector: A is a D×D invertible matrix (A[i] is row i), B a vector
// of D values. Its Jacobian is A at every x, so log|det J_f| = log|det A|,
// the same for every example.
//
// flowlib's conventions hold: Forward is f (data → latent), Inverse is f⁻¹,
// and each returns the log-det of the map it computed, one value per
// example, shape [batchSize] (never summed over the batch).
type AffineMap struct {
	A [][]float64
	B []float64
}

// Name implements flowlib.Named.
func (f *AffineMap) Name() string { return "affine_map" }

// Forward returns y = A·x + b for each example of x [batchSize, D], and
// log|det A| for each example, shape [batchSize].
//
// The examples are the rows of x, so for all of them at once y = x·Aᵀ + b
// (mind the transpose: y_i = Σ_j A_ij x_j). Use the given matrixConst and
// vectorConst to put A and b in the graph, and flowcheck.LogAbsDet (or your
// LogAbsDetLU) for log|det A|, a plain float64 broadcast to [batchSize].
func (f *AffineMap) Forward(_ *model.Scope, x *Node) (y, logDet *Node) {
	a, b := matrixConst(x, f.A), vectorConst(x, f.B)
	y = Add(MatMul(x, Transpose(a, 0, 1)), b)
	logDet = BroadcastToDims(Scalar(x.Graph(), x.DType(), flowcheck.LogAbsDet(f.A)), x.Shape().Dimensions[0])
	return y, logDet
}

// Inverse returns x = A⁻¹·(y − b) for each example of y [batchSize, D] (use
// the given invertMatrix), and the log-det of the inverse map,
// log|det A⁻¹| = −log|det A|, for each example, shape [batchSize].
func (f *AffineMap) Inverse(_ *model.Scope, y *Node) (x, logDet *Node) {
	aInv, b := matrixConst(y, invertMatrix(f.A)), vectorConst(y, f.B)
	x = MatMul(Sub(y, b), Transpose(aInv, 0, 1))
	logDet = BroadcastToDims(Scalar(y.Graph(), y.DType(), -flowcheck.LogAbsDet(f.A)), y.Shape().Dimensions[0])
	return x, logDet
}

// ---- Given: helpers for AffineMap (not part of the exercise). ----

// matrixConst returns the D×D matrix m as a constant [D, D] in x's graph, with
// x's dtype.
func matrixConst(x *Node, m [][]float64) *Node {
	return ConvertDType(Const(x.Graph(), m), x.DType())
}

// vectorConst returns the vector v as a constant [1, D] in x's graph, with x's
// dtype: added to a [batchSize, D] tensor it shifts every example by v.
func vectorConst(x *Node, v []float64) *Node {
	return Reshape(ConvertDType(Const(x.Graph(), v), x.DType()), 1, len(v))
}

// invertMatrix returns the inverse of the invertible square matrix m by
// Gauss–Jordan elimination with partial pivoting. m is not changed.
func invertMatrix(m [][]float64) [][]float64 {
	n := len(m)
	a := make([][]float64, n) // [m | I], reduced to [I | m⁻¹]
	for i := range m {
		a[i] = make([]float64, 2*n)
		copy(a[i], m[i])
		a[i][n+i] = 1
	}
	for col := range n {
		pivot := col
		for row := col + 1; row < n; row++ {
			if math.Abs(a[row][col]) > math.Abs(a[pivot][col]) {
				pivot = row
			}
		}
		a[col], a[pivot] = a[pivot], a[col]
		p := a[col][col]
		for k := range a[col] {
			a[col][k] /= p
		}
		for row := range n {
			if row != col && a[row][col] != 0 {
				factor := a[row][col]
				for k := range a[row] {
					a[row][k] -= factor * a[col][k]
				}
			}
		}
	}
	inv := make([][]float64, n)
	for i := range a {
		inv[i] = a[i][n:]
	}
	return inv
}
