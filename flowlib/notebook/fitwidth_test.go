package notebook

import (
	"strings"
	"testing"

	"github.com/flowbook/flowbook/flowlib/plot"
)

func TestFitWidth(t *testing.T) {
	for _, tc := range []struct {
		name, svg, want string
	}{
		{"wide figure scales",
			`<svg xmlns="http://www.w3.org/2000/svg" width="1316" height="330" viewBox="0 0 1316 330"><rect width="10" height="5"/></svg>`,
			`<svg xmlns="http://www.w3.org/2000/svg" width="100%" viewBox="0 0 1316 330"><rect width="10" height="5"/></svg>`},
		{"exactly WideFigure scales",
			`<svg width="800" height="300" viewBox="0 0 800 300"></svg>`,
			`<svg width="100%" viewBox="0 0 800 300"></svg>`},
		{"narrow figure keeps its size",
			`<svg width="560" height="420" viewBox="0 0 560 420"><rect width="1316" height="330"/></svg>`,
			`<svg width="560" height="420" viewBox="0 0 560 420"><rect width="1316" height="330"/></svg>`},
		{"no viewBox: nothing to scale by",
			`<svg width="1316" height="330"><rect/></svg>`,
			`<svg width="1316" height="330"><rect/></svg>`},
		{"an XML prolog before the root",
			`<?xml version="1.0"?>` + "\n" + `<svg width="900.5" height="100" viewBox="0 0 900.5 100"/>`,
			`<?xml version="1.0"?>` + "\n" + `<svg width="100%" viewBox="0 0 900.5 100"/>`},
		{"not SVG", `<div>hello</div>`, `<div>hello</div>`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := FitWidth(tc.svg); got != tc.want {
				t.Errorf("FitWidth(%q)\n got %q\nwant %q", tc.svg, got, tc.want)
			}
		})
	}
}

func TestFitWidthOnPlotFigures(t *testing.T) {
	// The figures the notebooks show: a 4-panel row must scale, one panel must not.
	panel := func() *plot.Figure { return plot.New().Scatter([]float64{0, 1}, []float64{0, 1}) }
	row := plot.Row(panel(), panel(), panel(), panel())
	if got := FitWidth(row); !strings.Contains(got[:strings.IndexByte(got, '>')], `width="100%"`) {
		t.Errorf("a row of four panels keeps a fixed width: %.200s", got)
	}
	single := panel().SVG()
	if got := FitWidth(single); got != single {
		t.Errorf("a single panel was changed: %.200s", got)
	}
}
