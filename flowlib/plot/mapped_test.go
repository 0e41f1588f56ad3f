package plot

import (
	"math"
	"testing"
)

// shoelace is the area of a closed polygon whose last point repeats the first.
func shoelace(xs, ys []float64) float64 {
	sum := 0.0
	for k := 0; k+1 < len(xs); k++ {
		sum += xs[k]*ys[k+1] - xs[k+1]*ys[k]
	}
	return math.Abs(sum) / 2
}

func TestMappedBorder(t *testing.T) {
	identity := func(u, v float64) (float64, float64) { return u, v }
	shear := func(u, v float64) (float64, float64) { return 1.5*u + 0.8*v, 0.3*u + 1.2*v }
	polar := func(r, th float64) (float64, float64) { return r * math.Cos(th), r * math.Sin(th) }
	for _, tc := range []struct {
		name           string
		g              Map2D
		x0, x1, y0, y1 float64
		m              int
		area, tol      float64
	}{
		{"identity, unit square", identity, 0, 1, 0, 1, 2, 1, 1e-12},
		{"linear map: area × |det A|", shear, 0, 1, 0, 1, 2, 1.56, 1e-12},
		{"polar annulus sector", polar, 1, 2, 0, math.Pi / 2, 400, 3 * math.Pi / 4, 1e-4},
	} {
		t.Run(tc.name, func(t *testing.T) {
			xs, ys := MappedBorder(tc.g, tc.x0, tc.x1, tc.y0, tc.y1, tc.m)
			if n := 4*(tc.m-1) + 1; len(xs) != n || len(ys) != n {
				t.Fatalf("%d points, want %d (m−1 per side and the first repeated)", len(xs), n)
			}
			if xs[0] != xs[len(xs)-1] || ys[0] != ys[len(ys)-1] {
				t.Error("the polygon is not closed")
			}
			if a := shoelace(xs, ys); math.Abs(a-tc.area) > tc.tol {
				t.Errorf("area of the image %.6f, want %.6f", a, tc.area)
			}
		})
	}
	// Counter-clockwise from (x0, y0): the second point lies on the bottom side.
	xs, ys := MappedBorder(identity, 0, 1, 0, 1, 3)
	if xs[1] != 0.5 || ys[1] != 0 || xs[3] != 1 || ys[3] != 0.5 {
		t.Errorf("border walked as %v, %v; want counter-clockwise from (0, 0)", xs, ys)
	}
}

func TestMappedGridDrawsEveryLine(t *testing.T) {
	identity := func(u, v float64) (float64, float64) { return u, v }
	for _, n := range []int{1, 3, 5} {
		fig := New().MappedGrid(identity, 0, 1, 0, 1, n)
		if got, want := len(fig.layers), 2*(n+1); got != want {
			t.Errorf("n = %d: %d lines, want %d", n, got, want)
		}
		thick := 0
		for _, l := range fig.layers {
			if l.kind != lineLayer || len(l.xs) != 60 {
				t.Errorf("n = %d: a layer of kind %v with %d points, want lines of 60", n, l.kind, len(l.xs))
			}
			if l.st.width > 2 {
				thick++
			}
		}
		if thick != 4 {
			t.Errorf("n = %d: %d thick lines, want the 4 sides of the border", n, thick)
		}
		// Lines of one style share a path, one piece each (see renderLayer).
		pieces := 0
		for _, p := range find(parseSVG(t, fig.SVG()), "path") {
			if p.parent.attr["clip-path"] != "" {
				pieces += len(pathPoints(t, p.attr["d"]))
			}
		}
		if pieces < 2*(n+1) {
			t.Errorf("n = %d: the SVG draws fewer than %d lines", n, 2*(n+1))
		}
	}
}
