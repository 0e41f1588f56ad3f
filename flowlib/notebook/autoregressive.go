package notebook

import (
	"fmt"
	"math"

	"github.com/flowbook/flowbook/flowlib"
	"github.com/flowbook/flowbook/flowlib/plot"
)

// degreeColors colour MADE's units by degree: degree d takes entry d.
var degreeColors = []string{"#7f7f7f", "#1f77b4", "#ff7f0e", "#2ca02c", "#d62728",
	"#9467bd", "#8c564b", "#e377c2", "#bcbd22", "#17becf"}

func degreeColor(d int) string { return degreeColors[d%len(degreeColors)] }

// MADEDiagram draws the connectivity of net for data of dimension dim (no
// context, one output per value): a row of units per layer, the inputs at
// the bottom and the outputs on top, a line for every weight the masks
// keep, and each unit coloured and labelled by its degree (an output by the
// degree of the value it parametrises). The lines that reach the output of
// the value last in the order are drawn darker: every path into it starts
// at an input before it.
func MADEDiagram(title string, net *flowlib.MADENet, dim int) *plot.Figure {
	input, hidden := net.Degrees(dim, 0)
	masks := net.Masks(dim, 0, 1)
	layers := append([][]int{input}, hidden...)
	layers = append(layers, input) // output j parametrises value j
	widest := 0
	for _, l := range layers {
		widest = max(widest, len(l))
	}
	x := func(layer, unit int) float64 {
		n := len(layers[layer])
		return (float64(unit) + 0.5) * float64(widest) / float64(n)
	}
	y := func(layer int) float64 { return float64(layer) }

	// live[l][u]: unit u of layer l lies on a path to the last output.
	last := len(layers) - 1
	live := make([][]bool, len(layers))
	for l := range layers {
		live[l] = make([]bool, len(layers[l]))
	}
	for u, d := range layers[last] {
		live[last][u] = d == dim
	}
	for l := last - 1; l >= 0; l-- {
		for u := range layers[l] {
			for v := range layers[l+1] {
				live[l][u] = live[l][u] || (masks[l][u][v] && live[l+1][v])
			}
		}
	}

	width, height := max(360, 34*widest+90), 90+70*len(layers)
	x0, x1, y0, y1 := -0.6, float64(widest)+0.4, -0.6, float64(last)+0.5
	fig := plot.New().Size(width, height).Title(title).NoAxes().XRange(x0, x1).YRange(y0, y1)
	// A label is placed by its baseline's left end: shift it by half a
	// digit's width left and a third of the font's height down (11 px font;
	// plot's margins are 72 px across, 70 down with a title).
	dx, dy := 3.3*(x1-x0)/float64(width-72), 4*(y1-y0)/float64(height-70)
	for l, mask := range masks {
		for u := range mask {
			for v, on := range mask[u] {
				if !on {
					continue
				}
				xs, ys := []float64{x(l, u), x(l+1, v)}, []float64{y(l), y(l + 1)}
				if live[l][u] && live[l+1][v] {
					fig.Line(xs, ys, plot.Color("#444"), plot.Width(1.1), plot.Opacity(0.75))
				} else {
					fig.Line(xs, ys, plot.Color("#bbb"), plot.Width(0.7), plot.Opacity(0.6))
				}
			}
		}
	}
	for l, degrees := range layers {
		for u, d := range degrees {
			fig.Scatter([]float64{x(l, u)}, []float64{y(l)}, plot.Color(degreeColor(d)), plot.Radius(9))
			fig.Text(x(l, u)-dx, y(l)-dy, fmt.Sprint(d), plot.Color("white"))
		}
	}
	names := make([]string, len(layers))
	names[0], names[last] = "inputs x", "outputs θ"
	for l := 1; l < last; l++ {
		names[l] = fmt.Sprintf("hidden %d", l)
	}
	for l, name := range names {
		fig.Text(-0.55, y(l)+0.28, name, plot.Color("#555"))
	}
	return fig
}

// JacobianPattern draws a square Jacobian jac[i][j] = ∂z_i/∂x_j as a matrix
// (row i from the top, column j from the left) in the given order of the
// coordinates (nil: 0, 1, …): cells coloured by log₁₀|∂z_i/∂x_j|, exact
// zeros left white and marked 0, so that a triangular pattern shows at a
// glance. The labels name the coordinates.
func JacobianPattern(title string, jac [][]float64, order []int) *plot.Figure {
	n := len(jac)
	if order == nil {
		order = make([]int, n)
		for i := range order {
			order[i] = i
		}
	}
	if len(order) != n {
		panic(fmt.Sprintf("notebook.JacobianPattern: %d coordinates in the order, want %d", len(order), n))
	}
	rows := make([][]float64, n)
	for r := range n { // heatmap row 0 is at the bottom: reverse
		i := order[n-1-r]
		rows[r] = make([]float64, n)
		for c, j := range order {
			if len(jac[i]) != n {
				panic(fmt.Sprintf("notebook.JacobianPattern: row %d has %d entries, want %d", i, len(jac[i]), n))
			}
			rows[r][c] = math.NaN()
			if v := jac[i][j]; v != 0 {
				rows[r][c] = math.Log10(math.Abs(v))
			}
		}
	}
	size := 60 + 40*n
	fig := plot.New().Size(size+130, size+70).Title(title).NoAxes().EqualAspect().
		XRange(-0.9, float64(n)).YRange(0, float64(n)+0.9).
		Heatmap(rows, 0, float64(n), 0, float64(n), plot.Colormap("viridis"), plot.ColorBar("log₁₀|∂zᵢ/∂xⱼ|"))
	for r := range n {
		for c := range n {
			if math.IsNaN(rows[r][c]) {
				fig.Text(float64(c)+0.35, float64(r)+0.35, "0", plot.Color("#999"))
			}
		}
	}
	for k, coord := range order {
		fig.Text(float64(k)+0.25, float64(n)+0.3, fmt.Sprintf("x%d", coord+1), plot.Color("#555"))
		fig.Text(-0.85, float64(n-1-k)+0.35, fmt.Sprintf("z%d", coord+1), plot.Color("#555"))
	}
	return fig
}
