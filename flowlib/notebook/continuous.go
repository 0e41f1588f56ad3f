package notebook

import (
	"errors"
	"fmt"
	"math"
	"slices"

	"github.com/gomlx/compute"
	"github.com/gomlx/compute/dtypes"
	. "github.com/gomlx/gomlx/core/graph" //nolint:revive
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/model"

	"github.com/flowbook/flowbook/flowlib"
	"github.com/flowbook/flowbook/flowlib/flowcheck"
	"github.com/flowbook/flowbook/flowlib/inference"
	"github.com/flowbook/flowbook/flowlib/internal/graphpanic"
	"github.com/flowbook/flowbook/flowlib/plot"
)

// SingularValues returns the singular values of the matrix w (rows of equal
// length), largest first: the square roots of the eigenvalues of wᵀw, found
// by cyclic Jacobi rotations in float64. It is the exact reference that
// notebook 09 compares power iteration with; it is meant for the small
// matrices of a notebook (a few hundred columns at most).
func SingularValues(w [][]float64) []float64 {
	if len(w) == 0 {
		return nil
	}
	n := len(w[0])
	a := make([][]float64, n) // a = wᵀw, symmetric
	for i := range a {
		a[i] = make([]float64, n)
		for j := range n {
			for _, row := range w {
				a[i][j] += row[i] * row[j]
			}
		}
	}
	for sweep := 0; sweep < 100; sweep++ {
		off := 0.0
		for i := range n {
			for j := i + 1; j < n; j++ {
				off += a[i][j] * a[i][j]
			}
		}
		if off < 1e-30 {
			break
		}
		for p := range n {
			for q := p + 1; q < n; q++ {
				if a[p][q] == 0 {
					continue
				}
				// The rotation that zeroes a[p][q] (Golub & Van Loan, §8.5).
				theta := (a[q][q] - a[p][p]) / (2 * a[p][q])
				t := math.Copysign(1, theta) / (math.Abs(theta) + math.Sqrt(theta*theta+1))
				c := 1 / math.Sqrt(t*t+1)
				s := t * c
				for k := range n {
					akp, akq := a[k][p], a[k][q]
					a[k][p], a[k][q] = c*akp-s*akq, s*akp+c*akq
				}
				for k := range n {
					apk, aqk := a[p][k], a[q][k]
					a[p][k], a[q][k] = c*apk-s*aqk, s*apk+c*aqk
				}
			}
		}
	}
	sv := make([]float64, n)
	for i := range sv {
		sv[i] = math.Sqrt(max(a[i][i], 0))
	}
	slices.SortFunc(sv, func(x, y float64) int { return -compareFloat(x, y) })
	return sv
}

func compareFloat(x, y float64) int {
	switch {
	case x < y:
		return -1
	case x > y:
		return 1
	}
	return 0
}

// FixedPointIterates runs the inverse iteration of a residual block,
// x ← y − g(x) from x₀ = y, for n steps, one execution of g per step, and
// returns every iterate: iterates[k][i] is x_k for the point y[i]. The
// block's variables are read from the root scope of store (where
// [flowcheck.RandomizeVariables] puts them for a lone block).
func FixedPointIterates(backend compute.Backend, store *model.Store, block *flowlib.ResidualBlock,
	y [][]float64, n int) ([][][]float64, error) {
	if len(y) == 0 || n < 0 {
		return nil, fmt.Errorf("notebook: FixedPointIterates needs at least one point and n ≥ 0, got %d points, n = %d", len(y), n)
	}
	exec, err := model.NewExec(backend, store, func(scope *model.Scope, y, x *Node) *Node {
		defer graphpanic.AsError()
		return Sub(y, block.Residual(scope, x))
	})
	if err != nil {
		return nil, err
	}
	defer exec.Finalize()
	yT := tensors.FromValue(y)
	iterates := [][][]float64{clone2(y)}
	x := yT
	for range n {
		out, err := exec.Call(yT, x)
		if err != nil {
			return nil, err
		}
		x = out[0]
		iterates = append(iterates, rowsOf(x))
	}
	return iterates, nil
}

// CNFPaths moves points along the vector field of a flow whose bijector is
// a [flowlib.CNF] (as flowlib.FFJORD and flowlib.FlowMatching build it),
// from times[0] through each later time, with steps fixed RK4 steps between
// consecutive times: paths[k][i] is where start[i] is at times[k]. From
// t = 0 (base) towards t = 1 (data) it is sampling, watched on the way.
// The points are computed in the dtype of the store's trained variables
// (float64 for a store without any).
func CNFPaths(backend compute.Backend, store *model.Store, flow *flowlib.Flow, start [][]float64,
	times []float64, steps int) ([][][]float64, error) {
	cnf, ok := flow.Bijector.(*flowlib.CNF)
	if !ok {
		return nil, fmt.Errorf("notebook: CNFPaths needs a flow whose bijector is a *flowlib.CNF, got %T", flow.Bijector)
	}
	if len(start) == 0 || len(times) < 2 || steps < 1 {
		return nil, errors.New("notebook: CNFPaths needs points, at least two times and steps ≥ 1")
	}
	// The points go in the dtype of the trained field (a fresh store: float64).
	dtype, err := inference.ModelDType(store)
	if err != nil {
		return nil, err
	}
	if dtype == dtypes.InvalidDType {
		dtype = dtypes.Float64
	}
	flat := make([]float64, 0, 2*len(start))
	for _, p := range start {
		flat = append(flat, p...)
	}
	paths := [][][]float64{clone2(start)}
	z := flowcheck.FromFloat64(flat, dtype, len(start), len(start[0]))
	for k := 1; k < len(times); k++ {
		t0, t1 := times[k-1], times[k]
		out, err := model.ExecOnce(backend, store, func(scope *model.Scope, z *Node) *Node {
			defer graphpanic.AsError()
			field := func(t *Node, y []*Node) []*Node { return []*Node{cnf.Field(scope.At("bijector"), t, y[0])} }
			return flowlib.RK4(field, []*Node{z}, t0, t1, steps)[0]
		}, z)
		if err != nil {
			return nil, err
		}
		z = out
		paths = append(paths, rowsOf(out))
	}
	return paths, nil
}

// Paths draws the paths of points through the plane, as FixedPointIterates
// and CNFPaths return them (paths[k][i] is point i at step k): a thin line
// per point, a grey dot where it starts and a coloured dot where it ends.
func (w Window) Paths(title string, paths [][][]float64, color string) *plot.Figure {
	f := w.Panel(title)
	if len(paths) == 0 {
		return f
	}
	n := len(paths[0])
	for i := range n {
		xs, ys := make([]float64, len(paths)), make([]float64, len(paths))
		for k := range paths {
			xs[k], ys[k] = paths[k][i][0], paths[k][i][1]
		}
		f.Line(xs, ys, plot.Color(color), plot.Width(0.6), plot.Opacity(0.35))
	}
	first, last := paths[0], paths[len(paths)-1]
	f.Scatter(column(first, 0), column(first, 1), plot.Color("#888888"), plot.Radius(1.3), plot.Opacity(0.6))
	f.Scatter(column(last, 0), column(last, 1), plot.Color(color), plot.Radius(1.3), plot.Opacity(0.8))
	return f
}

// Points draws one step of paths (points [n][2]) as a scatter panel.
func (w Window) Points(title string, points [][]float64, color string) *plot.Figure {
	return w.Panel(title).Scatter(column(points, 0), column(points, 1), plot.Color(color), plot.Radius(1.1), plot.Opacity(0.45))
}

// rowsOf returns a [n, d] tensor of floats as n rows of float64.
func rowsOf(t *tensors.Tensor) [][]float64 {
	dims, flat := t.Shape().Dimensions, flowcheck.ToFloat64(t)
	out := make([][]float64, dims[0])
	for i := range out {
		out[i] = flat[i*dims[1] : (i+1)*dims[1]]
	}
	return out
}

func column(points [][]float64, j int) []float64 {
	c := make([]float64, len(points))
	for i, p := range points {
		c[i] = p[j]
	}
	return c
}

func clone2(m [][]float64) [][]float64 {
	c := make([][]float64, len(m))
	for i, row := range m {
		c[i] = slices.Clone(row)
	}
	return c
}
