package notebook

import (
	"math"
	"slices"
	"testing"

	"github.com/gomlx/gomlx/ml/model"

	"github.com/flowbook/flowbook/flowlib"
	"github.com/flowbook/flowbook/flowlib/backend"
	"github.com/flowbook/flowbook/flowlib/data"
)

func TestLinspaceAndMidpoints(t *testing.T) {
	for _, tc := range []struct {
		lo, hi float64
		n      int
		lin    []float64
		mid    []float64
		width  float64
	}{
		{0, 1, 5, []float64{0, 0.25, 0.5, 0.75, 1}, []float64{0.1, 0.3, 0.5, 0.7, 0.9}, 0.2},
		{-2, 2, 2, []float64{-2, 2}, []float64{-1, 1}, 2},
		{3, 1, 3, []float64{3, 2, 1}, []float64{3 - 1.0/3, 2, 1 + 1.0/3}, -2.0 / 3},
		{5, 7, 1, []float64{5}, []float64{6}, 2},
	} {
		if got := Linspace(tc.lo, tc.hi, tc.n); !near(got, tc.lin) {
			t.Errorf("Linspace(%g, %g, %d) = %v, want %v", tc.lo, tc.hi, tc.n, got, tc.lin)
		}
		got, w := Midpoints(tc.lo, tc.hi, tc.n)
		if !near(got, tc.mid) || math.Abs(w-tc.width) > 1e-12 {
			t.Errorf("Midpoints(%g, %g, %d) = %v, %g, want %v, %g", tc.lo, tc.hi, tc.n, got, w, tc.mid, tc.width)
		}
	}
}

func TestGridLayoutIsHeatmapOrder(t *testing.T) {
	g := Grid{X0: 0, X1: 3, Y0: -1, Y1: 1, NX: 3, NY: 2}
	want := []float64{0.5, -0.5, 1.5, -0.5, 2.5, -0.5, 0.5, 0.5, 1.5, 0.5, 2.5, 0.5} // bottom row first
	if got := g.Points(); !near(got, want) {
		t.Errorf("Points() = %v, want %v", got, want)
	}
	if a := g.CellArea(); math.Abs(a-1) > 1e-12 {
		t.Errorf("CellArea() = %g, want 1", a)
	}
	s := g.Samples()
	if s.N != 6 || s.Dim != 2 || s.Values[2] != 1.5 || s.Values[7] != 0.5 {
		t.Errorf("Samples() = N %d, Dim %d, %v; want the points as 6 float32 rows", s.N, s.Dim, s.Values)
	}
	rows := g.Rows([]float64{1, 2, 3, 4, 5, 6})
	if len(rows) != 2 || !near(rows[0], []float64{1, 2, 3}) || !near(rows[1], []float64{4, 5, 6}) {
		t.Errorf("Rows(1…6) = %v, want [[1 2 3] [4 5 6]]", rows)
	}
	if sq := SquareGrid(-4, 4, 80); sq != (Grid{-4, 4, -4, 4, 80, 80}) {
		t.Errorf("SquareGrid(-4, 4, 80) = %+v", sq)
	}
}

func TestGridHistogram(t *testing.T) {
	g := Grid{X0: 0, X1: 2, Y0: 0, Y1: 1, NX: 2, NY: 1} // two unit cells
	for _, tc := range []struct {
		name   string
		points []float64
		want   []float64
	}{
		{"one point per cell", []float64{0.5, 0.5, 1.5, 0.2}, []float64{0.5, 0.5}},
		{"points outside count in n only", []float64{0.5, 0.5, 5, 5, -1, 0.5, 1.9, 0.9}, []float64{0.25, 0.25}},
		{"the lower edges belong to the cell", []float64{0, 0, 1, 0}, []float64{0.5, 0.5}},
		{"no points", nil, []float64{0, 0}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := g.Histogram(tc.points); !near(got[0], tc.want) {
				t.Errorf("Histogram = %v, want %v", got[0], tc.want)
			}
		})
	}
}

func TestQuantile(t *testing.T) {
	rows := [][]float64{{5, 1, math.NaN()}, {3, math.Inf(1), 2}, {4, 0, 6}}
	for _, tc := range []struct{ q, want float64 }{{0, 0}, {1, 6}, {0.5, 3}, {0.99, 5}, {2, 6}} {
		if got := Quantile(rows, tc.q); got != tc.want {
			t.Errorf("Quantile(q = %g) = %g, want %g (NaN and Inf ignored)", tc.q, got, tc.want)
		}
	}
	if got := Quantile([][]float64{{math.NaN()}}, 0.5); !math.IsNaN(got) {
		t.Errorf("Quantile of no finite value = %g, want NaN", got)
	}
}

func TestColumns(t *testing.T) {
	xs, ys := Columns(&data.Samples{Values: []float32{1, 2, 3, 4, 5, 6}, N: 3, Dim: 2})
	if !near(xs, []float64{1, 3, 5}) || !near(ys, []float64{2, 4, 6}) {
		t.Errorf("Columns = %v, %v, want [1 3 5], [2 4 6]", xs, ys)
	}
}

// TestFlowDensityOfAStandardNormal checks FlowDensity on an untrained
// elementwise affine flow (the identity), whose density is N(x; 0, I).
func TestFlowDensityOfAStandardNormal(t *testing.T) {
	g := Grid{X0: -3, X1: 3, Y0: -2, Y1: 1, NX: 6, NY: 3}
	flow := flowlib.NewFlow(flowlib.NewStandardNormal(2), flowlib.NewElementwiseAffine(2))
	rows, err := FlowDensity(backend.MustShared(), model.NewStore(), flow, g)
	if err != nil {
		t.Fatal(err)
	}
	points := g.Points()
	for i := range g.NY {
		for j := range g.NX {
			x, y := points[2*(i*g.NX+j)], points[2*(i*g.NX+j)+1]
			want := math.Exp(-(x*x+y*y)/2) / (2 * math.Pi)
			if got := rows[i][j]; math.Abs(got-want) > 1e-6*want+1e-9 {
				t.Errorf("p(%g, %g) = %g, want %g", x, y, got, want)
			}
		}
	}
}

func near(a, b []float64) bool {
	return slices.EqualFunc(a, b, func(x, y float64) bool { return math.Abs(x-y) <= 1e-9 })
}
