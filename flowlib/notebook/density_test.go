package notebook

import (
	"math"
	"strings"
	"testing"
)

func TestWindowGridPoints(t *testing.T) {
	tests := []struct {
		w      Window
		n      int
		first  [2]float32
		second [2]float32 // the next point in x
		last   [2]float32
		area   float64
	}{
		{Window{0, 4, 0, 2}, 2, [2]float32{1, 0.5}, [2]float32{3, 0.5}, [2]float32{3, 1.5}, 2},
		{Window{-3, 3, -3, 3}, 3, [2]float32{-2, -2}, [2]float32{0, -2}, [2]float32{2, 2}, 4},
	}
	for _, tt := range tests {
		s, area := tt.w.GridPoints(tt.n)
		if s.N != tt.n*tt.n || s.Dim != 2 || len(s.Values) != 2*s.N {
			t.Fatalf("%v: N=%d Dim=%d len=%d", tt.w, s.N, s.Dim, len(s.Values))
		}
		got := func(i int) [2]float32 { return [2]float32{s.Values[2*i], s.Values[2*i+1]} }
		if got(0) != tt.first || got(1) != tt.second || got(s.N-1) != tt.last || area != tt.area {
			t.Errorf("%v, n=%d: points %v %v … %v, area %g; want %v %v … %v, %g", tt.w, tt.n,
				got(0), got(1), got(s.N-1), area, tt.first, tt.second, tt.last, tt.area)
		}
	}
}

func TestWindowPanels(t *testing.T) {
	w := Window{-3, 3, -2, 2}
	// The plotting area (width − 72 px) × (height − 70 px) has the window's aspect 3:2.
	if f := w.Panel("x"); !strings.Contains(f.SVG(), `width="300" height="222"`) {
		t.Errorf("panel of a 3:2 window: want 300×222 px (a 228×152 plot area)")
	}
	s, _ := w.GridPoints(4)
	if svg := w.Scatter("pts", s, 5, "#1f77b4").SVG(); strings.Count(svg, "<circle") != 5 {
		t.Errorf("Scatter of the first 5 of 16 points drew %d circles", strings.Count(svg, "<circle"))
	}
	logp := make([]float64, 16)
	for i := range logp {
		logp[i] = math.Log(float64(i) / 100)
	}
	if top := MaxDensity(logp, []float64{math.Log(0.5)}); math.Abs(top-0.5) > 1e-12 {
		t.Errorf("MaxDensity = %g, want 0.5", top)
	}
	svg := w.Density("p", logp, 4, 0.5, "p(x)").SVG()
	if !strings.Contains(svg, "p(x)") || !strings.Contains(svg, "data:image/png") {
		t.Errorf("Density panel lacks its colour bar label or its image")
	}
}
