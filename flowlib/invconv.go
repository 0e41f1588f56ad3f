package flowlib

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/gomlx/compute/dtypes"
	"github.com/gomlx/compute/shapes"
	. "github.com/gomlx/gomlx/core/graph" //nolint:revive
	"github.com/gomlx/gomlx/ml/model"
	"github.com/gomlx/gomlx/support/exceptions"

	"github.com/flowbook/flowbook/flowlib/internal/linalg"
)

// Invertible1x1Conv is Glow's invertible 1×1 convolution (Kingma & Dhariwal
// 2018): one learned C×C matrix W mixes the channels of every pixel,
//
//	Forward:  y[b, i, j, :] = W · x[b, i, j, :],   log|det J| = H·W_img · log|det W|
//	Inverse:  x[b, i, j, :] = W⁻¹ · y[b, i, j, :], log|det J| = −H·W_img · log|det W|
//
// (H×W_img is the number of pixels). It generalises a fixed permutation of the
// channels to a learned one. GoMLX has no determinant or matrix-inverse op,
// and a generic determinant costs O(C³) anyway, so W is parametrised so that
// log|det W| and W⁻¹ come from its structure:
//
//   - LU (the default, Glow's "LU-decomposed" form): W = P · L · (U + diag(s)),
//     with P a fixed permutation, L unit lower triangular and U strictly upper
//     triangular (both learned) and s learned through log|s| with a fixed sign.
//     log|det W| = Σ log|s_c|, O(C). W⁻¹ = (U + diag(s))⁻¹ L⁻¹ Pᵀ, where each
//     triangular inverse is an exact finite series, since a strictly
//     triangular N has N^C = 0: (I + N)⁻¹ = (I − N)(I + N²)(I + N⁴)···.
//   - Exp (MatrixExponential): W = exp(A) for a learned C×C matrix A (the
//     matrix exponential, computed by scaling and squaring). Every such W is
//     invertible, W⁻¹ = exp(−A), and log|det W| = log det exp(A) = tr(A)
//     (Hoogeboom et al. 2020, "The Convolution Exponential"). A is unconstrained,
//     the "plain" full-matrix form of the layer, at O(C³) per evaluation.
//
// Both start from a random rotation (|det W| = 1) drawn from Seed.
type Invertible1x1Conv struct {
	// Channels is C, the size of the last axis.
	Channels int
	// Exp selects the matrix-exponential parametrisation; false selects LU.
	Exp bool
	// Seed draws the initial random rotation.
	Seed uint64

	initial [][]float64
}

// NewInvertible1x1Conv returns an LU-parametrised invertible 1×1 convolution
// over the given number of channels, starting from a random rotation.
func NewInvertible1x1Conv(channels int, seed uint64) *Invertible1x1Conv {
	return &Invertible1x1Conv{Channels: channels, Seed: seed}
}

// NewInvertible1x1ConvExp returns an invertible 1×1 convolution with the
// matrix-exponential parametrisation W = exp(A), starting from a random rotation.
func NewInvertible1x1ConvExp(channels int, seed uint64) *Invertible1x1Conv {
	return &Invertible1x1Conv{Channels: channels, Exp: true, Seed: seed}
}

// WithInitialMatrix makes an LU-parametrised layer start from the given
// invertible C×C matrix (rows) instead of a random rotation. It returns an
// error if the matrix has the wrong size, is singular, or the layer uses the
// exponential parametrisation (which would need a matrix logarithm).
func (c *Invertible1x1Conv) WithInitialMatrix(w [][]float64) (*Invertible1x1Conv, error) {
	if c.Exp {
		return nil, fmt.Errorf("flowlib: WithInitialMatrix supports only the LU parametrisation")
	}
	if len(w) != c.Channels {
		return nil, fmt.Errorf("flowlib: initial matrix has %d rows, want %d (channels)", len(w), c.Channels)
	}
	for i, row := range w {
		if len(row) != c.Channels {
			return nil, fmt.Errorf("flowlib: initial matrix row %d has %d values, want %d", i, len(row), c.Channels)
		}
	}
	if _, _, _, _, err := luDecompose(w); err != nil {
		return nil, err
	}
	copied := *c
	copied.initial = w
	return &copied, nil
}

// Name implements [Named].
func (c *Invertible1x1Conv) Name() string { return "invertible_1x1_conv" }

// Forward implements [Bijector].
func (c *Invertible1x1Conv) Forward(scope *model.Scope, x *Node) (y, logDet *Node) {
	w, _, logDetW := c.matrices(scope, x, false)
	return mixChannels(x, w), BroadcastToShape(MulScalar(logDetW, float64(pixels(x))), batchShape(x))
}

// Inverse implements [Bijector].
func (c *Invertible1x1Conv) Inverse(scope *model.Scope, y *Node) (x, logDet *Node) {
	_, wInv, logDetW := c.matrices(scope, y, true)
	return mixChannels(y, wInv), BroadcastToShape(MulScalar(logDetW, -float64(pixels(y))), batchShape(y))
}

// Matrix returns W and log|det W| as graph nodes, for inspection and tests.
func (c *Invertible1x1Conv) Matrix(scope *model.Scope, g *Graph, dtype dtypes.DType) (w, logAbsDet *Node) {
	x := Zeros(g, shapes.Make(dtype, 1, 1, 1, c.Channels))
	w, _, logAbsDet = c.matrices(scope, x, false)
	return w, logAbsDet
}

// matrices returns W, W⁻¹ (only when inverse is set) and log|det W|.
func (c *Invertible1x1Conv) matrices(scope *model.Scope, x *Node, inverse bool) (w, wInv, logAbsDet *Node) {
	requireExamples("Invertible1x1Conv", x)
	if x.Shape().Dimensions[x.Rank()-1] != c.Channels {
		exceptions.Panicf("flowlib: Invertible1x1Conv was built for %d channels (last axis) but got shape %s", c.Channels, x.Shape())
	}
	if c.Exp {
		return c.expMatrices(scope, x, inverse)
	}
	return c.luMatrices(scope, x, inverse)
}

func (c *Invertible1x1Conv) luMatrices(scope *model.Scope, x *Node, inverse bool) (w, wInv, logAbsDet *Node) {
	g, dtype, n := x.Graph(), x.DType(), c.Channels
	initial := c.initial
	if initial == nil {
		initial = randomRotation(n, c.Seed)
	}
	perm, lower, upper, diag, err := luDecompose(initial)
	if err != nil {
		exceptions.Panicf("flowlib: Invertible1x1Conv: %v", err)
	}
	signs := make([]float64, n)
	logAbs := make([]float64, n)
	for i, d := range diag {
		signs[i] = math.Copysign(1, d)
		logAbs[i] = math.Log(math.Abs(d))
	}
	lowerVar := scope.VariableWithValue("lower", hostTensor(dtype, flatten(lower), n, n)).NodeValue(g)
	upperVar := scope.VariableWithValue("upper", hostTensor(dtype, flatten(upper), n, n)).NodeValue(g)
	logScale := scope.VariableWithValue("log_scale", hostTensor(dtype, logAbs, n)).NodeValue(g)

	eye := Identity2D(g, dtype, n)
	strictLower := TakeLowerTriangular(lowerVar, -1)
	strictUpper := TakeUpperTriangular(upperVar, 1)
	s := Mul(Const(g, hostTensor(dtype, signs, n)), Exp(logScale))
	l := Add(eye, strictLower)
	u := Add(strictUpper, Mul(eye, InsertAxes(s, 0))) // U + diag(s)
	p := Const(g, hostTensor(dtype, permutationMatrix(perm), n, n))
	w = MatMul(p, MatMul(l, u))
	logAbsDet = ReduceAllSum(logScale)
	if inverse {
		// (U + diag(s))⁻¹ = (I + diag(1/s)·U)⁻¹ · diag(1/s).
		invS := Reciprocal(s)
		uInv := Mul(nilpotentInverse(Mul(InsertAxes(invS, -1), strictUpper), n), InsertAxes(invS, 0))
		lInv := nilpotentInverse(strictLower, n)
		wInv = MatMul(uInv, MatMul(lInv, TransposeAllDims(p, 1, 0)))
	}
	return w, wInv, logAbsDet
}

func (c *Invertible1x1Conv) expMatrices(scope *model.Scope, x *Node, inverse bool) (w, wInv, logAbsDet *Node) {
	g, dtype, n := x.Graph(), x.DType(), c.Channels
	a := scope.VariableWithValue("generator", hostTensor(dtype, flatten(randomSkewSymmetric(n, c.Seed)), n, n)).NodeValue(g)
	w = matrixExp(a)
	if inverse {
		wInv = matrixExp(Neg(a))
	}
	logAbsDet = ReduceAllSum(Mul(a, Identity2D(g, dtype, n))) // tr(A)
	return w, wInv, logAbsDet
}

// Identity2D returns the n×n identity matrix.
func Identity2D(g *Graph, dtype dtypes.DType, n int) *Node {
	return ConvertDType(Diagonal(g, n), dtype)
}

// nilpotentInverse returns (I + N)⁻¹ for a strictly triangular n×n N, using
// (I + N)⁻¹ = Σ_{k<n} (−N)^k = (I + M)(I + M²)(I + M⁴)··· with M = −N, which
// is exact because M^k = 0 for k ≥ n: ⌈log₂ n⌉ factors.
func nilpotentInverse(strict *Node, n int) *Node {
	eye := Identity2D(strict.Graph(), strict.DType(), n)
	power := Neg(strict)
	result := Add(eye, power)
	for covered := 2; covered < n; covered *= 2 {
		power = MatMul(power, power)
		result = MatMul(result, Add(eye, power))
	}
	return result
}

// matrixExp computes exp(A) by scaling and squaring: exp(A) = exp(A/2^k)^(2^k),
// with exp(A/2^k) from its Taylor series. With k = 8 and 12 terms the error is
// at the float64 rounding level for ‖A‖ up to about 50.
func matrixExp(a *Node) *Node {
	const squarings, terms = 8, 12
	n := a.Shape().Dimensions[0]
	eye := Identity2D(a.Graph(), a.DType(), n)
	x := DivScalar(a, math.Exp2(squarings))
	// Horner's rule: I + X(I + X/2(I + X/3(···))).
	e := eye
	for k := terms; k >= 1; k-- {
		e = Add(eye, DivScalar(MatMul(x, e), float64(k)))
	}
	for range squarings {
		e = MatMul(e, e)
	}
	return e
}

// mixChannels applies the C×C matrix m to the channels (last axis) of x.
func mixChannels(x, m *Node) *Node {
	last := x.Rank() - 1
	return DotGeneral(x, []int{last}, nil, m, []int{1}, nil)
}

// pixels is the number of positions per example: the product of the axes
// between the batch and the last one.
func pixels(x *Node) int {
	n := 1
	for _, d := range x.Shape().Dimensions[1 : x.Rank()-1] {
		n *= d
	}
	return n
}

// randomRotation returns a random n×n orthogonal matrix: Gram–Schmidt on a
// Gaussian matrix drawn from seed (what Glow's QR initialisation does).
func randomRotation(n int, seed uint64) [][]float64 {
	rng := rand.New(rand.NewPCG(seed, seed^0x5851f42d4c957f2d))
	q := make([][]float64, n)
	for i := range q {
		for {
			v := make([]float64, n)
			for j := range v {
				v[j] = rng.NormFloat64()
			}
			for _, prev := range q[:i] {
				dot := 0.0
				for j := range v {
					dot += v[j] * prev[j]
				}
				for j := range v {
					v[j] -= dot * prev[j]
				}
			}
			norm := 0.0
			for _, vj := range v {
				norm += vj * vj
			}
			if norm = math.Sqrt(norm); norm > 1e-6 {
				for j := range v {
					v[j] /= norm
				}
				q[i] = v
				break
			}
		}
	}
	return q
}

// randomSkewSymmetric returns A = (G − Gᵀ)/2 for a Gaussian G drawn from seed:
// exp(A) is then a random rotation.
func randomSkewSymmetric(n int, seed uint64) [][]float64 {
	rng := rand.New(rand.NewPCG(seed, seed^0x5851f42d4c957f2d))
	a := make([][]float64, n)
	for i := range a {
		a[i] = make([]float64, n)
	}
	for i := range n {
		for j := range i {
			v := rng.NormFloat64() / 2
			a[i][j], a[j][i] = v, -v
		}
	}
	return a
}

// luDecompose factors w = P·L·(U + diag(d)) (see [linalg.Factor]): row i of
// L·(U + diag(d)) is row perm[i] of w ([permutationMatrix] gives P), L is unit
// lower triangular (returned without its diagonal), U strictly upper
// triangular. A pivot under 1e-12 in absolute value is an error: the layer's
// log-determinant would start near −Inf.
func luDecompose(w [][]float64) (perm []int, lower, upper [][]float64, diag []float64, err error) {
	lu, err := linalg.Factor(w, 1e-12)
	if singular := (*linalg.SingularError)(nil); errors.As(err, &singular) {
		return nil, nil, nil, nil, fmt.Errorf("flowlib: the 1×1 convolution's matrix is singular (no pivot in column %d)", singular.Column)
	}
	if err != nil {
		return nil, nil, nil, nil, fmt.Errorf("flowlib: the 1×1 convolution's matrix: %w", err)
	}
	return lu.Perm, lu.Lower, lu.Upper, lu.Diag, nil
}

// permutationMatrix returns P, row-major, with P·(L·U) = w when row i of L·U is
// row perm[i] of w: P[perm[i]][i] = 1.
func permutationMatrix(perm []int) []float64 {
	n := len(perm)
	p := make([]float64, n*n)
	for i, src := range perm {
		p[src*n+i] = 1
	}
	return p
}

func flatten(m [][]float64) []float64 {
	var out []float64
	for _, row := range m {
		out = append(out, row...)
	}
	return out
}
