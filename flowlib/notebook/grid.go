package notebook

import (
	"fmt"
	"math"
	"slices"

	"github.com/gomlx/compute"
	"github.com/gomlx/gomlx/ml/model"

	"github.com/flowbook/flowbook/flowlib"
	"github.com/flowbook/flowbook/flowlib/data"
	"github.com/flowbook/flowbook/flowlib/inference"
)

// Linspace returns n values evenly spaced from lo to hi, both included
// (n ≥ 2; n = 1 gives lo).
func Linspace(lo, hi float64, n int) []float64 {
	xs := make([]float64, n)
	for i := range xs {
		if n == 1 {
			xs[i] = lo
			break
		}
		xs[i] = lo + (hi-lo)*float64(i)/float64(n-1)
	}
	return xs
}

// Midpoints cuts [lo, hi] into n equal cells and returns their centres and
// their width: the grid of a midpoint Riemann sum, ∫ g ≈ Σ g(centre)·width.
func Midpoints(lo, hi float64, n int) (centres []float64, width float64) {
	width = (hi - lo) / float64(n)
	centres = make([]float64, n)
	for i := range centres {
		centres[i] = lo + (float64(i)+0.5)*width
	}
	return centres, width
}

// Grid is the rectangle [X0, X1]×[Y0, Y1] cut into NX×NY equal cells, for
// evaluating a 2D density and drawing it with plot's Heatmap. Values on the
// grid go row by row from the bottom (row i holds the cells at the i-th y
// from the bottom, column j the j-th x from the left), the order Heatmap
// takes.
type Grid struct {
	X0, X1, Y0, Y1 float64
	NX, NY         int
}

// SquareGrid is the grid of n×n cells on the square [lo, hi]².
func SquareGrid(lo, hi float64, n int) Grid { return Grid{lo, hi, lo, hi, n, n} }

// CellArea is the area of one cell.
func (g Grid) CellArea() float64 {
	return (g.X1 - g.X0) / float64(g.NX) * (g.Y1 - g.Y0) / float64(g.NY)
}

// Points returns the centres of the cells, flattened [NX·NY, 2]: x₀, y₀, x₁, y₁, …
func (g Grid) Points() []float64 {
	xs, _ := Midpoints(g.X0, g.X1, g.NX)
	ys, _ := Midpoints(g.Y0, g.Y1, g.NY)
	points := make([]float64, 0, 2*g.NX*g.NY)
	for _, y := range ys {
		for _, x := range xs {
			points = append(points, x, y)
		}
	}
	return points
}

// Samples returns the centres of the cells as 2D samples (float32), the input
// of inference.LogProbs.
func (g Grid) Samples() *data.Samples {
	s := &data.Samples{N: g.NX * g.NY, Dim: 2}
	for _, v := range g.Points() {
		s.Values = append(s.Values, float32(v))
	}
	return s
}

// Rows folds NX·NY values, one per cell in the order of [Grid.Points], into
// NY rows of NX, the layout of plot's Heatmap.
func (g Grid) Rows(values []float64) [][]float64 {
	if len(values) != g.NX*g.NY {
		panic(fmt.Sprintf("notebook.Grid.Rows: %d values for a grid of %d×%d cells", len(values), g.NX, g.NY))
	}
	rows := make([][]float64, g.NY)
	for i := range rows {
		rows[i] = slices.Clone(values[i*g.NX : (i+1)*g.NX])
	}
	return rows
}

// Histogram returns the density histogram of 2D points (flattened [n, 2]) on
// the grid: the fraction of all n points in each cell, divided by the cell's
// area, so that it estimates the points' density directly. Points outside the
// grid count in n but in no cell.
func (g Grid) Histogram(points []float64) [][]float64 {
	rows := make([][]float64, g.NY)
	for i := range rows {
		rows[i] = make([]float64, g.NX)
	}
	n := len(points) / 2
	if n == 0 {
		return rows
	}
	w, h := (g.X1-g.X0)/float64(g.NX), (g.Y1-g.Y0)/float64(g.NY)
	weight := 1 / (float64(n) * g.CellArea())
	for k := range n {
		j := int(math.Floor((points[2*k] - g.X0) / w))
		i := int(math.Floor((points[2*k+1] - g.Y0) / h))
		if i >= 0 && i < g.NY && j >= 0 && j < g.NX {
			rows[i][j] += weight
		}
	}
	return rows
}

// FlowDensity returns the flow's density p(x) (not its log) at the centres of
// the grid's cells, as rows for plot's Heatmap.
func FlowDensity(backend compute.Backend, store *model.Store, flow *flowlib.Flow, g Grid) ([][]float64, error) {
	logp, err := inference.LogProbs(backend, store, flow, g.Samples())
	if err != nil {
		return nil, err
	}
	for i := range logp {
		logp[i] = math.Exp(logp[i])
	}
	return g.Rows(logp), nil
}

// Quantile returns the q-quantile (0 ≤ q ≤ 1) of the finite values of a grid:
// the top of a heatmap's colour scale, plot.ValueRange(0, Quantile(rows,
// 0.995)), that keeps a few very peaked cells from washing out all the others.
// It returns NaN when there is no finite value.
func Quantile(rows [][]float64, q float64) float64 {
	var all []float64
	for _, row := range rows {
		for _, v := range row {
			if !math.IsNaN(v) && !math.IsInf(v, 0) {
				all = append(all, v)
			}
		}
	}
	if len(all) == 0 {
		return math.NaN()
	}
	slices.Sort(all)
	q = min(max(q, 0), 1)
	return all[int(q*float64(len(all)-1))]
}

// Columns returns the two coordinates of 2D samples as float64 slices, for
// plotting.
func Columns(s *data.Samples) (xs, ys []float64) {
	if s.Dim != 2 {
		panic(fmt.Sprintf("notebook.Columns: samples of dimension %d, want 2", s.Dim))
	}
	xs, ys = make([]float64, s.N), make([]float64, s.N)
	for i := range s.N {
		xs[i], ys[i] = float64(s.Values[2*i]), float64(s.Values[2*i+1])
	}
	return xs, ys
}
