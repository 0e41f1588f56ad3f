package plot

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"
)

// pathPoints decodes SVG path data made of M, L and l commands (with
// implicit repetition) into absolute points, one slice per piece.
func pathPoints(t *testing.T, d string) [][][2]float64 {
	t.Helper()
	var pieces [][][2]float64
	var cmd byte
	var x, y float64
	var nums []float64
	apply := func() {
		for len(nums) >= 2 {
			switch cmd {
			case 'M':
				x, y = nums[0], nums[1]
				pieces = append(pieces, nil)
				cmd = 'L' // implicit repetition of M is a line-to
			case 'L':
				x, y = nums[0], nums[1]
			case 'l':
				x, y = x+nums[0], y+nums[1]
			default:
				t.Fatalf("path %q: unexpected command %q", d, cmd)
			}
			pieces[len(pieces)-1] = append(pieces[len(pieces)-1], [2]float64{x, y})
			nums = nums[2:]
		}
		if len(nums) != 0 {
			t.Fatalf("path %q: odd number of coordinates", d)
		}
	}
	for i := 0; i < len(d); {
		c := d[i]
		switch {
		case c == 'M' || c == 'L' || c == 'l':
			apply()
			cmd = c
			i++
		case c == ' ' || c == ',':
			i++
		default:
			j := i + 1
			for j < len(d) && (d[j] >= '0' && d[j] <= '9' || d[j] == '.') {
				j++
			}
			v, err := strconv.ParseFloat(d[i:j], 64)
			if err != nil {
				t.Fatalf("path %q: bad number %q", d, d[i:j])
			}
			nums = append(nums, v)
			i = j
		}
	}
	apply()
	return pieces
}

// polylineDistance is the distance from p to the nearest segment of pts.
func polylineDistance(p [2]float64, pts [][2]float64) float64 {
	best := math.Inf(1)
	for i := 1; i < len(pts); i++ {
		best = math.Min(best, segmentDistance(p[0], p[1], pts[i-1][0], pts[i-1][1], pts[i][0], pts[i][1]))
	}
	if len(pts) == 1 {
		best = math.Hypot(p[0]-pts[0][0], p[1]-pts[0][1])
	}
	return best
}

func TestSimplify(t *testing.T) {
	line := func(n int, f func(i int) (x, y float64)) (xs, ys []float64) {
		for i := range n {
			x, y := f(i)
			xs, ys = append(xs, x), append(ys, y)
		}
		return xs, ys
	}
	tests := []struct {
		name   string
		n      int
		f      func(i int) (x, y float64)
		want   int // points kept; -1: only check the tolerance
		tol    float64
		minOut int
	}{
		{"single point", 1, func(int) (float64, float64) { return 3, 4 }, 1, 0.25, 0},
		{"two points", 2, func(i int) (float64, float64) { return float64(i), 0 }, 2, 0.25, 0},
		{"straight line", 100, func(i int) (float64, float64) { return float64(i), 2 * float64(i) }, 2, 0.25, 0},
		{"zigzag below tolerance", 50, func(i int) (float64, float64) { return float64(i), 0.2 * float64(i%2) }, 2, 0.25, 0},
		{"zigzag above tolerance", 50, func(i int) (float64, float64) { return float64(i), 0.6 * float64(i%2) }, 50, 0.25, 0},
		{"right angle", 21, func(i int) (float64, float64) { return float64(min(i, 10)), float64(max(i-10, 0)) }, 3, 0.25, 0},
		{"sine", 2000, func(i int) (float64, float64) { x := float64(i) / 10; return x, 40 * math.Sin(x/8) }, -1, 0.25, 0},
		{"going back", 3, func(i int) (float64, float64) { return []float64{0, 10, 5}[i], 0 }, 3, 0.25, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			xs, ys := line(tt.n, tt.f)
			keep := simplify(xs, ys, tt.tol)
			if tt.want >= 0 && len(keep) != tt.want {
				t.Errorf("kept %d points %v, want %d", len(keep), keep, tt.want)
			}
			if keep[0] != 0 || keep[len(keep)-1] != tt.n-1 {
				t.Errorf("kept %v: the ends must stay", keep)
			}
			var kept [][2]float64
			for _, k := range keep {
				kept = append(kept, [2]float64{xs[k], ys[k]})
			}
			for i := range xs {
				if d := polylineDistance([2]float64{xs[i], ys[i]}, kept); d > tt.tol+1e-9 {
					t.Errorf("point %d is %.3f px from the simplified line, more than %g", i, d, tt.tol)
				}
			}
			if tt.name == "sine" && len(keep) > 200 {
				t.Errorf("a smooth sine of 2000 points kept %d, want far fewer", len(keep))
			}
		})
	}
}

func TestPathData(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	tests := []struct {
		name   string
		xs, ys []float64
		want   string // "" to skip the exact check
	}{
		{"one point", []float64{1.23, 4.56}[:1], []float64{4.56}, "M1.2 4.6"},
		{"two", []float64{0, 1.5}, []float64{10, 8}, "M0 10l1.5-2"},
		{"three", []float64{0, 1, 2}, []float64{0, 1, 0.5}, "M0 0l1 1 1-0.5"},
		{"negative first", []float64{0, -1, -1}, []float64{0, -1, 2}, "M0 0l-1-1 0 3"},
	}
	// Many small steps: positions must not drift by accumulated rounding.
	var xs, ys []float64
	x, y := 100.0, 100.0
	for range 5000 {
		x, y = x+0.123+0.1*rng.Float64(), y-0.0449
		xs, ys = append(xs, x), append(ys, y)
	}
	tests = append(tests, struct {
		name   string
		xs, ys []float64
		want   string
	}{"long walk", xs, ys, ""})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var d strings.Builder
			pathData(&d, tt.xs, tt.ys)
			if tt.want != "" && d.String() != tt.want {
				t.Errorf("pathData = %q, want %q", d.String(), tt.want)
			}
			pieces := pathPoints(t, d.String())
			if len(pieces) != 1 || len(pieces[0]) != len(tt.xs) {
				t.Fatalf("decoded %d pieces, want 1 of %d points", len(pieces), len(tt.xs))
			}
			for i, p := range pieces[0] {
				if math.Abs(p[0]-tt.xs[i]) > 0.05+1e-9 || math.Abs(p[1]-tt.ys[i]) > 0.05+1e-9 {
					t.Fatalf("point %d decodes to %v, want (%g, %g) to 0.05 px", i, p, tt.xs[i], tt.ys[i])
				}
			}
		})
	}
}

// TestLineIsSimplifiedInvisibly draws a dense curve and checks that its path
// is much shorter than its points and that every point is within
// LineTolerance (plus rounding) of the drawn path.
func TestLineIsSimplifiedInvisibly(t *testing.T) {
	var xs, ys []float64
	for i := range 3000 {
		x := float64(i) / 3000 * 4 * math.Pi
		xs, ys = append(xs, x), append(ys, math.Sin(x)+0.3*math.Sin(5*x))
	}
	ys[1500] = math.NaN() // breaks the line in two
	f := New().Size(400, 300).Line(xs, ys)
	all := parseSVG(t, f.SVG())
	var pieces [][][2]float64
	for _, p := range find(all, "path") {
		if p.parent.attr["clip-path"] != "" {
			pieces = pathPoints(t, p.attr["d"])
		}
	}
	if len(pieces) != 2 {
		t.Fatalf("%d pieces, want 2 (the NaN breaks the line)", len(pieces))
	}
	if n := len(pieces[0]) + len(pieces[1]); n > 400 {
		t.Errorf("%d points drawn for 3000 on a 400 px wide plot, want far fewer", n)
	}
	// The points in px, with the figure's own mapping.
	m := &frame{px0: 54, px1: 400 - 18, py0: 12, py1: 300 - 36, f: f}
	m.xlo, m.xhi, m.ylo, m.yhi = f.ranges()
	for i := range xs {
		if i == 1500 {
			continue
		}
		piece := pieces[0]
		if i > 1500 {
			piece = pieces[1]
		}
		sx, _ := m.sx(xs[i])
		sy, _ := m.sy(ys[i])
		if d := polylineDistance([2]float64{sx, sy}, piece); d > LineTolerance+0.075 {
			t.Fatalf("point %d is %.3f px from the drawn path, more than %g", i, d, LineTolerance)
		}
	}
}

func TestMarkOffChart(t *testing.T) {
	xs := []float64{0, 1, 2, 3, 4, 5, 6}
	ys := []float64{1, 50, 3, -5, 2, 330, 4}
	tests := []struct {
		name      string
		fig       *Figure
		up, down  int
		notes     []string
		tooltipUp string
	}{
		{"line", New().XRange(0, 6).YRange(0, 10).Line(xs, ys, MarkOffChart()),
			2, 1, []string{"▲ 2 above the chart, up to 330", "▼ 1 below the chart, down to -5"}, "(5, 330)"},
		{"labelled scatter", New().XRange(0, 6).YRange(0, 10).Scatter(xs, ys, MarkOffChart(), Label("NLL")),
			2, 1, []string{"▲ 2 above the chart, up to 330", "▼ 1 below the chart, down to -5"}, "(1, 50)"},
		{"x range leaves one out", New().XRange(0, 4).YRange(0, 10).Line(xs, ys, MarkOffChart()),
			1, 1, []string{"▲ 1 above the chart, up to 50", "▼ 1 below the chart, down to -5"}, "(1, 50)"},
		{"figure-wide", New().XRange(0, 6).YRange(0, 10).MarkOffChart().Line(xs, ys, Label("a")).Line(xs, ys, Label("b")),
			4, 2, []string{"▲ 2 above the chart, up to 330", "▼ 1 below the chart, down to -5",
				"▲ 2 above the chart, up to 330", "▼ 1 below the chart, down to -5"}, "(5, 330)"},
		{"nothing off the chart", New().YRange(-10, 400).Line(xs, ys, MarkOffChart()), 0, 0, nil, ""},
		{"without the option", New().XRange(0, 6).YRange(0, 10).Line(xs, ys), 0, 0, nil, ""},
		{"log y", New().LogY().XRange(0, 6).YRange(1, 100).Line(xs, ys, MarkOffChart()),
			1, 0, []string{"▲ 1 above the chart, up to 330"}, "(5, 330)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			all := parseSVG(t, tt.fig.SVG())
			_, top, _, h := plotArea(t, all)
			up, down := 0, 0
			var tooltips []string
			for _, p := range find(all, "path") {
				d := p.attr["d"]
				if !strings.HasSuffix(d, "h8z") { // not a marker
					continue
				}
				tri := pathPoints(t, strings.TrimSuffix(d, "h8z"))
				switch tip := tri[0][0][1]; {
				case near(tip, top, 0.6):
					up++
				case near(tip, top+h, 0.6):
					down++
				default:
					t.Errorf("marker tip at y = %g, want on the edge %g or %g", tip, top, top+h)
				}
			}
			for _, e := range find(all, "title") {
				tooltips = append(tooltips, e.text)
			}
			if up != tt.up || down != tt.down {
				t.Errorf("%d markers on top and %d at the bottom, want %d and %d", up, down, tt.up, tt.down)
			}
			if tt.tooltipUp != "" && !strings.Contains(strings.Join(tooltips, "|"), tt.tooltipUp) {
				t.Errorf("tooltips %q, want one %q", tooltips, tt.tooltipUp)
			}
			var notes []string
			for _, e := range find(all, "text") {
				if strings.Contains(e.text, "the chart") {
					notes = append(notes, e.text)
				}
			}
			if strings.Join(notes, "|") != strings.Join(tt.notes, "|") {
				t.Errorf("notes %q, want %q", notes, tt.notes)
			}
		})
	}
}

// TestPalettedAlphaLevels checks that a scatter image keeps at most
// maxAlphaLevels opacities per colour, each pixel within half a level of
// its exact opacity.
func TestPalettedAlphaLevels(t *testing.T) {
	tests := []struct {
		colours    int
		wantLevels int
	}{{1, maxAlphaLevels}, {8, maxAlphaLevels}, {16, 16}}
	for _, tt := range tests {
		distinct := make([][3]float64, tt.colours)
		for i := range distinct {
			distinct[i] = [3]float64{float64(i) / 16, 0.5, 1 - float64(i)/16}
		}
		const w = 100
		acc := make([]float64, 4*w)
		for i := range w {
			a := float64(i) / (w - 1)
			c := distinct[i%tt.colours]
			acc[4*i], acc[4*i+1], acc[4*i+2], acc[4*i+3] = c[0]*a, c[1]*a, c[2]*a, a
		}
		img := palettedImage(acc, w, 1, distinct)
		if got := len(img.Palette) / tt.colours; got != tt.wantLevels {
			t.Errorf("%d colours: %d levels each, want %d", tt.colours, got, tt.wantLevels)
		}
		for i := range w {
			_, _, _, a := img.Palette[img.Pix[i]].RGBA()
			if want := float64(i) / (w - 1); math.Abs(float64(a)/0xffff-want) > 0.5/float64(tt.wantLevels-1)+1.0/255 {
				t.Errorf("%d colours, pixel %d: opacity %.3f, want %.3f", tt.colours, i, float64(a)/0xffff, want)
			}
		}
	}
}

func TestConsecutiveLinesShareAPath(t *testing.T) {
	xs := []float64{0, 1, 2}
	tests := []struct {
		name   string
		fig    *Figure
		paths  int // clipped paths drawn
		pieces []int
	}{
		{"same style", New().Line(xs, xs, Color("red")).Line(xs, []float64{2, 1, 0}, Color("red")), 1, []int{2}},
		{"different colours", New().Line(xs, xs, Color("red")).Line(xs, xs, Color("blue")), 2, []int{1, 1}},
		{"labelled", New().Line(xs, xs, Color("red"), Label("a")).Line(xs, xs, Color("red")), 2, []int{1, 1}},
		{"dashed and solid", New().Line(xs, xs, Color("red")).Line(xs, xs, Color("red"), Dashed()), 2, []int{1, 1}},
		{"three in a row", New().Line(xs, xs, Color("red")).Line(xs, xs, Color("red")).Line(xs, xs, Color("red")), 1, []int{3}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var pieces []int
			for _, p := range find(parseSVG(t, tt.fig.SVG()), "path") {
				if p.parent.attr["clip-path"] != "" {
					pieces = append(pieces, len(pathPoints(t, p.attr["d"])))
				}
			}
			if len(pieces) != tt.paths || fmt.Sprint(pieces) != fmt.Sprint(tt.pieces) {
				t.Errorf("paths with %v pieces, want %v", pieces, tt.pieces)
			}
		})
	}
}
