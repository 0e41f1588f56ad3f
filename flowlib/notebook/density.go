package notebook

import (
	"math"

	"github.com/flowbook/flowbook/flowlib/data"
	"github.com/flowbook/flowbook/flowlib/plot"
)

// Window is a plotting window [X0, X1]×[Y0, Y1] of the plane, shared by the
// panels that show one 2D dataset: its data, densities and samples.
type Window struct{ X0, X1, Y0, Y1 float64 }

// PanelWidth is the width in px of the panels that Window makes.
const PanelWidth = 300

// Grid returns the window cut into n×n equal cells.
func (w Window) Grid(n int) Grid { return Grid{w.X0, w.X1, w.Y0, w.Y1, n, n} }

// GridPoints returns the centres of the n×n cells of w.Grid(n), row by row
// from the bottom (the order of [plot.Figure.Heatmap]'s rows), as 2D samples,
// and the area of one cell.
func (w Window) GridPoints(n int) (*data.Samples, float64) {
	g := w.Grid(n)
	return g.Samples(), g.CellArea()
}

// Panel returns an empty figure PanelWidth px wide showing the window, with
// a title and no axis labels, sized so that its plotting area has exactly
// the window's aspect ratio.
func (w Window) Panel(title string) *plot.Figure {
	// plot's margins with a title and no axis labels: 54 + 18 px across,
	// 12 + 22 (title) + 36 px down.
	h := int(math.Round(float64(PanelWidth-72)*(w.Y1-w.Y0)/(w.X1-w.X0))) + 70
	return plot.New().Size(PanelWidth, h).Title(title).XRange(w.X0, w.X1).YRange(w.Y0, w.Y1).EqualAspect()
}

// Scatter returns a panel of the first n points of the 2D samples s (all of
// them if there are fewer), small and half transparent.
func (w Window) Scatter(title string, s *data.Samples, n int, color string) *plot.Figure {
	n = min(n, s.N)
	xs, ys := make([]float64, n), make([]float64, n)
	for i := range n {
		xs[i], ys[i] = float64(s.Values[2*i]), float64(s.Values[2*i+1])
	}
	return w.Panel(title).Scatter(xs, ys, plot.Color(color), plot.Radius(1.1), plot.Opacity(0.45))
}

// Density returns a panel of the density exp(logp), given at the n×n points
// of GridPoints(n), coloured with viridis over [0, top] with a colour bar
// labelled label: panels given the same top share one colour scale.
func (w Window) Density(title string, logp []float64, n int, top float64, label string) *plot.Figure {
	density := make([]float64, len(logp))
	for i, v := range logp {
		density[i] = math.Exp(v)
	}
	return w.Panel(title).Heatmap(w.Grid(n).Rows(density), w.X0, w.X1, w.Y0, w.Y1,
		plot.Colormap("viridis"), plot.ValueRange(0, top), plot.ColorBar(label))
}

// MaxDensity returns the largest exp(v) of the log-densities, e.g. the top
// of a colour scale shared by several density panels.
func MaxDensity(logps ...[]float64) float64 {
	top := 0.0
	for _, lp := range logps {
		for _, v := range lp {
			if e := math.Exp(v); e > top && !math.IsInf(e, 1) {
				top = e
			}
		}
	}
	return top
}
