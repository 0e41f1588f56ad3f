package plot_test

import (
	"fmt"
	"strings"

	"github.com/flowbook/flowbook/flowlib/plot"
)

func ExampleFigure_Scatter() {
	xs := []float64{-1, 0, 0.5, 2}
	ys := []float64{0.3, -0.2, 1.1, 0.8}
	svg := plot.New().Size(300, 200).Title("Samples").XLabel("x").YLabel("y").
		Scatter(xs, ys, plot.Label("data")).
		SVG()
	fmt.Println(strings.HasPrefix(svg, `<svg xmlns="http://www.w3.org/2000/svg"`))
	fmt.Println(strings.Contains(svg, `width="300" height="200" viewBox="0 0 300 200"`))
	fmt.Println(strings.Count(svg, "<circle")) // 4 points and the legend swatch
	// Output:
	// true
	// true
	// 5
}

func ExampleRow() {
	loss := []float64{2.3, 1.1, 0.6, 0.35, 0.3}
	steps := []float64{0, 100, 200, 300, 400}
	left := plot.New().Title("Loss").LogY().Line(steps, loss)
	right := plot.New().Title("Samples").Scatter([]float64{0, 1}, []float64{1, 0})
	svg := plot.Row(left, right)
	fmt.Println(strings.Contains(svg, `width="840" height="320"`))
	fmt.Println(strings.Count(svg, "<svg"))
	// Output:
	// true
	// 3
}
