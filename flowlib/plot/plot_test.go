package plot

import (
	"bytes"
	"encoding/base64"
	"encoding/xml"
	"image"
	"image/color"
	"image/png"
	"io"
	"math"
	"strconv"
	"strings"
	"testing"
)

// elem is one parsed SVG element.
type elem struct {
	name   string
	attr   map[string]string // by local name: xlink:href is "href"
	text   string            // character data directly inside
	parent *elem
}

// parseSVG decodes every token of s, failing the test on invalid XML, and
// returns the elements in document order (the root first).
func parseSVG(t *testing.T, s string) []*elem {
	t.Helper()
	dec := xml.NewDecoder(strings.NewReader(s))
	var all, stack []*elem
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("invalid XML: %v\n%s", err, s)
		}
		switch tok := tok.(type) {
		case xml.StartElement:
			e := &elem{name: tok.Name.Local, attr: map[string]string{}}
			if tok.Name.Local == "svg" && tok.Name.Space != "http://www.w3.org/2000/svg" {
				t.Errorf("<svg> in namespace %q", tok.Name.Space)
			}
			for _, a := range tok.Attr {
				key := a.Name.Local
				if a.Name.Space == "xmlns" {
					key = "xmlns:" + key
				}
				e.attr[key] = a.Value
			}
			if len(stack) > 0 {
				e.parent = stack[len(stack)-1]
			}
			all = append(all, e)
			stack = append(stack, e)
		case xml.EndElement:
			stack = stack[:len(stack)-1]
		case xml.CharData:
			if len(stack) > 0 {
				stack[len(stack)-1].text += string(tok)
			}
		}
	}
	if len(all) == 0 || all[0].name != "svg" {
		t.Fatalf("no root <svg>:\n%s", s)
	}
	return all
}

func attrF(t *testing.T, e *elem, name string) float64 {
	t.Helper()
	v, err := strconv.ParseFloat(e.attr[name], 64)
	if err != nil {
		t.Fatalf("<%s %s=%q>: %v", e.name, name, e.attr[name], err)
	}
	return v
}

func find(all []*elem, name string) []*elem {
	var out []*elem
	for _, e := range all {
		if e.name == name {
			out = append(out, e)
		}
	}
	return out
}

// plotArea returns the first clip rectangle: the plot area in px.
func plotArea(t *testing.T, all []*elem) (x, y, w, h float64) {
	t.Helper()
	for _, e := range find(all, "rect") {
		if e.parent != nil && e.parent.name == "clipPath" {
			return attrF(t, e, "x"), attrF(t, e, "y"), attrF(t, e, "width"), attrF(t, e, "height")
		}
	}
	t.Fatal("no clipPath rect")
	return
}

func near(a, b, tol float64) bool { return math.Abs(a-b) <= tol }

func TestSVGIsValid(t *testing.T) {
	nan, inf := math.NaN(), math.Inf(1)
	heat := [][]float64{{0, 1, 2}, {3, nan, 5}}
	tests := []struct {
		name string
		fig  *Figure
	}{
		{"empty", New()},
		{"every layer", New().Title("All").XLabel("x").YLabel("y").
			Heatmap(heat, -1, 1, -1, 1, Opacity(0.5), Label("density")).
			Scatter([]float64{0, 0.5}, []float64{0, 0.5}, Label("points")).
			Line([]float64{-1, 0, 1}, []float64{1, 0, 1}, Dashed(), Label("line")).
			Histogram([]float64{-0.5, 0, 0.1, 0.7}, 4, Label("hist")).
			VLine(0.2, Label("mean")).HLine(-0.3).
			Text(0, 0, "origin")},
		{"all equal", New().Scatter([]float64{2, 2, 2}, []float64{5, 5, 5}).Histogram([]float64{1, 1}, 3)},
		{"non-finite", New().Scatter([]float64{nan, 1, inf}, []float64{1, nan, 2}).
			Line([]float64{nan, inf}, []float64{1, 2}).VLine(nan).HLine(inf).Text(nan, 0, "x").
			Histogram([]float64{nan, inf}, 5)},
		{"huge values", New().Line([]float64{-1e308, 1e308}, []float64{1e308, -1e308})},
		{"log y", New().LogY().Line([]float64{0, 1, 2, 3}, []float64{-1, 0, 0.5, 0.25}).
			Histogram([]float64{1, 2, 2}, 2).HLine(-3).Heatmap(heat, 0, 1, 0.1, 1)},
		{"no axes, equal aspect", New().NoAxes().EqualAspect().Title("warp").
			Line([]float64{0, 1}, []float64{0, 3}).Line([]float64{0, 3}, []float64{1, 1})},
		{"fixed ranges, tiny", New().Size(10, 10).XRange(3, 3).YRange(2, 1).Scatter([]float64{1}, []float64{1})},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := tt.fig.SVG()
			if s != tt.fig.String() {
				t.Error("String() differs from SVG()")
			}
			all := parseSVG(t, s)
			root := all[0]
			if root.attr["xmlns"] != "http://www.w3.org/2000/svg" {
				t.Errorf("root xmlns = %q", root.attr["xmlns"])
			}
			w, h := attrF(t, root, "width"), attrF(t, root, "height")
			if want := "0 0 " + root.attr["width"] + " " + root.attr["height"]; root.attr["viewBox"] != want {
				t.Errorf("viewBox = %q, want %q", root.attr["viewBox"], want)
			}
			if w < 50 || h < 50 {
				t.Errorf("size %gx%g", w, h)
			}
			for _, bad := range []string{"NaN", "Inf", "e+"} {
				if strings.Contains(s, bad) {
					t.Errorf("SVG contains %q", bad)
				}
			}
		})
	}
}

func TestScatterMapping(t *testing.T) {
	s := New().XRange(-2, 3).YRange(10, 20).XLabel("x").
		Scatter([]float64{-2, 3, 0.5}, []float64{10, 20, 15}).SVG()
	all := parseSVG(t, s)
	x, y, w, h := plotArea(t, all)
	circles := find(all, "circle")
	if len(circles) != 3 {
		t.Fatalf("got %d circles, want 3", len(circles))
	}
	want := [][2]float64{{x, y + h}, {x + w, y}, {x + w/2, y + h/2}}
	for i, c := range circles {
		cx, cy := attrF(t, c, "cx"), attrF(t, c, "cy")
		if !near(cx, want[i][0], 0.051) || !near(cy, want[i][1], 0.051) {
			t.Errorf("circle %d at (%g, %g), want (%g, %g)", i, cx, cy, want[i][0], want[i][1])
		}
	}
}

func TestEqualAspect(t *testing.T) {
	all := parseSVG(t, New().EqualAspect().Scatter([]float64{0, 1}, []float64{0, 1}).SVG())
	c := find(all, "circle")
	dx := attrF(t, c[1], "cx") - attrF(t, c[0], "cx")
	dy := attrF(t, c[0], "cy") - attrF(t, c[1], "cy")
	if !near(dx, dy, 0.15) {
		t.Errorf("one unit is %g px along x but %g px along y", dx, dy)
	}
}

func TestHistogramDensity(t *testing.T) {
	tests := []struct {
		name          string
		values        []float64
		bins          int
		lo, hi        float64
		fixed         bool
		wantLo, wantH float64 // first edge, last edge
		wantArea      float64 // the fraction of the finite values in range
	}{
		{"data range", []float64{0, 1, 1, 2, 3, 3, 3, 4}, 4, 0, 0, false, 0, 4, 1},
		{"fixed range: bars are the density of all values", []float64{-5, 0.1, 0.2, 0.9, 7}, 5, 0, 1, true, 0, 1, 0.6},
		{"all equal", []float64{2, 2, 2}, 3, 0, 0, false, 1.5, 2.5, 1},
		{"non-finite skipped", []float64{math.NaN(), 1, 2, math.Inf(-1)}, 2, 0, 0, false, 1, 2, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			edges, dens := histogram(tt.values, tt.bins, tt.lo, tt.hi, tt.fixed)
			if len(edges) != tt.bins+1 || len(dens) != tt.bins {
				t.Fatalf("%d edges and %d densities for %d bins", len(edges), len(dens), tt.bins)
			}
			if edges[0] != tt.wantLo || edges[tt.bins] != tt.wantH {
				t.Errorf("edges %v, want from %g to %g", edges, tt.wantLo, tt.wantH)
			}
			area := 0.0
			for i, d := range dens {
				area += (edges[i+1] - edges[i]) * d
			}
			if !near(area, tt.wantArea, 1e-12) {
				t.Errorf("area %g, want %g", area, tt.wantArea)
			}
		})
	}
	if e, d := histogram([]float64{math.NaN()}, 3, 0, 0, false); e != nil || d != nil {
		t.Errorf("no finite values: got %v %v, want nil", e, d)
	}

	// The drawn bars, converted back to data units, have area 1 too.
	all := parseSVG(t, New().XRange(0, 4).YRange(0, 1).Histogram([]float64{0, 1, 1, 2, 3, 3, 3, 4}, 8).SVG())
	_, _, w, h := plotArea(t, all)
	area, bars := 0.0, 0
	for _, r := range find(all, "rect") {
		if r.parent.attr["stroke"] == "white" {
			area += attrF(t, r, "width") * 4 / w * attrF(t, r, "height") * 1 / h
			bars++
		}
	}
	if bars != 5 || !near(area, 1, 0.01) { // 3 of 8 bins are empty
		t.Errorf("%d bars of area %g, want 5 bars of area 1", bars, area)
	}
}

func TestHeatmap(t *testing.T) {
	nan := math.NaN()
	values := [][]float64{ // row 0 is the bottom
		{0, 1, 2, 3},
		{4, nan, 6, 7},
		{8, 9, 10, 11},
	}
	rgb := func(c uint32) color.NRGBA { return color.NRGBA{uint8(c >> 16), uint8(c >> 8), uint8(c), 255} }
	tests := []struct {
		cmap     string
		opts     []Option
		low, top color.NRGBA
	}{
		{"viridis", nil, rgb(0x440154), rgb(0xfde725)},
		{"magma", []Option{Colormap("magma")}, rgb(0x000004), rgb(0xfcfdbf)},
		{"gray", []Option{Colormap("gray")}, rgb(0x000000), rgb(0xffffff)},
	}
	for _, tt := range tests {
		t.Run(tt.cmap, func(t *testing.T) {
			all := parseSVG(t, New().Heatmap(values, -1, 3, 0, 6, tt.opts...).SVG())
			imgs := find(all, "image")
			if len(imgs) != 1 {
				t.Fatalf("%d images, want 1", len(imgs))
			}
			data, ok := strings.CutPrefix(imgs[0].attr["href"], "data:image/png;base64,")
			if !ok {
				t.Fatalf("href %.40q is not a PNG data URI", imgs[0].attr["href"])
			}
			img := decodePNG(t, data)
			if b := img.Bounds(); b.Dx() != 4 || b.Dy() != 3 {
				t.Fatalf("PNG is %dx%d, want 4x3", b.Dx(), b.Dy())
			}
			at := func(x, y int) color.NRGBA { return color.NRGBAModel.Convert(img.At(x, y)).(color.NRGBA) }
			if got := at(0, 2); got != tt.low {
				t.Errorf("bottom-left pixel (values[0][0], the min) = %v, want %v", got, tt.low)
			}
			if got := at(3, 0); got != tt.top {
				t.Errorf("top-right pixel (values[2][3], the max) = %v, want %v", got, tt.top)
			}
			if got := at(1, 1); got.A != 0 {
				t.Errorf("NaN pixel = %v, want transparent", got)
			}
			// The ranges are the heatmap's extent: the image fills the plot area.
			x, y, w, h := plotArea(t, all)
			im := imgs[0]
			if attrF(t, im, "x") != x || attrF(t, im, "y") != y || attrF(t, im, "width") != w || attrF(t, im, "height") != h {
				t.Errorf("image at %v, plot area (%g %g %g %g)", im.attr, x, y, w, h)
			}
		})
	}
}

func TestColormapInterpolates(t *testing.T) {
	got := colormapAt("gray", 0.25)
	if got != (color.NRGBA{64, 64, 64, 255}) {
		t.Errorf("gray at 0.25 = %v, want 64", got)
	}
}

func TestNiceTicks(t *testing.T) {
	tests := []struct {
		lo, hi float64
		target int
		want   []float64
	}{
		{0, 1, 5, []float64{0, 0.2, 0.4, 0.6, 0.8, 1}},
		{-3.2, 7.9, 5, []float64{-2, 0, 2, 4, 6}},
		{1e-4, 3e-4, 5, []float64{1e-4, 1.5e-4, 2e-4, 2.5e-4, 3e-4}},
		{0, 100, 4, []float64{0, 20, 40, 60, 80, 100}},
		{-0.04, 1.04, 3, []float64{0, 0.5, 1}},
		{1200, 9800, 4, []float64{2000, 4000, 6000, 8000}},
		{5, 5, 5, nil},
		{-1e308, 1e308, 5, nil}, // the span overflows
	}
	for _, tt := range tests {
		got := niceTicks(tt.lo, tt.hi, tt.target)
		if !equalFloats(got, tt.want) {
			t.Errorf("niceTicks(%g, %g, %d) = %v, want %v", tt.lo, tt.hi, tt.target, got, tt.want)
		}
	}
}

func equalFloats(a, b []float64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if !near(a[i], b[i], 1e-12*math.Max(1, math.Abs(b[i]))) {
			return false
		}
	}
	return true
}

func TestFormatTick(t *testing.T) {
	tests := []struct {
		v    float64
		want string
	}{
		{0, "0"}, {0.5, "0.5"}, {1, "1"}, {-2, "-2"}, {0.1 + 0.2, "0.3"}, {0.05, "0.05"},
		{1e-3, "1e-3"}, {1.5e-4, "1.5e-4"}, {250, "250"}, {2500, "2.5k"}, {-1000, "-1k"},
		{3e6, "3M"}, {1e10, "1e10"},
	}
	for _, tt := range tests {
		if got := formatTick(tt.v); got != tt.want {
			t.Errorf("formatTick(%g) = %q, want %q", tt.v, got, tt.want)
		}
	}
}

func TestLogY(t *testing.T) {
	tests := []struct {
		lo, hi float64 // log10 units
		want   []float64
	}{
		{-2.16, 2.16, []float64{0.01, 0.1, 1, 10, 100}},
		{0, 12, []float64{1, 1e3, 1e6, 1e9, 1e12}},
		{-1.2, 0.5, []float64{0.1, 0.2, 0.5, 1, 2}},
		{-1.5, 0.1, []float64{0.05, 0.1, 0.2, 0.5, 1}},
		{-0.5, -0.05, []float64{0.4, 0.5, 0.6, 0.7, 0.8}}, // no power of ten inside
	}
	for _, tt := range tests {
		if got := logTicks(tt.lo, tt.hi); !equalFloats(got, tt.want) {
			t.Errorf("logTicks(%g, %g) = %v, want %v", tt.lo, tt.hi, got, tt.want)
		}
	}

	all := parseSVG(t, New().LogY().
		Line([]float64{0, 1, 2, 3, 4}, []float64{-1, 0, 0.01, 1, 1000}).SVG())
	paths := 0
	for _, p := range find(all, "path") {
		if p.parent.attr["clip-path"] != "" {
			paths++
			if pieces := pathPoints(t, p.attr["d"]); len(pieces) != 1 || len(pieces[0]) != 3 {
				t.Errorf("line path %q, want the 3 positive points only", p.attr["d"])
			}
		}
	}
	if paths != 1 {
		t.Errorf("%d clipped paths, want 1", paths)
	}
	var labels []string
	for _, e := range find(all, "text") {
		if e.attr["text-anchor"] == "end" {
			labels = append(labels, e.text)
		}
	}
	if got := strings.Join(labels, " "); got != "0.01 0.1 1 10 100 1k" {
		t.Errorf("y tick labels %q, want powers of ten", got)
	}
}

func TestRowAndGrid(t *testing.T) {
	a := New().Size(300, 200).Title("A").Scatter([]float64{1, 2}, []float64{1, 2})
	b := New().Title("B").Line([]float64{1, 2}, []float64{1, 2})
	c := New().Size(200, 500).Title("C").Heatmap([][]float64{{1, 2}}, 0, 1, 0, 1)
	tests := []struct {
		name          string
		svg           string
		panels        []string
		width, height float64
	}{
		{"row", Row(a, b, c), []string{"A", "B", "C"}, 920, 500},
		{"same figure twice", Row(a, a), []string{"A", "A"}, 600, 200},
		{"grid", Grid(2, a, b, c), []string{"A", "B", "C"}, 720, 820},
		{"empty row", Row(), nil, 0, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			all := parseSVG(t, tt.svg)
			root := all[0]
			if root.attr["xmlns"] != "http://www.w3.org/2000/svg" {
				t.Errorf("root xmlns = %q", root.attr["xmlns"])
			}
			if w, h := attrF(t, root, "width"), attrF(t, root, "height"); w != tt.width || h != tt.height {
				t.Errorf("size %gx%g, want %gx%g", w, h, tt.width, tt.height)
			}
			var titles []string
			for _, e := range find(all, "text") {
				if e.attr["font-weight"] == "bold" {
					titles = append(titles, e.text)
				}
			}
			if strings.Join(titles, ",") != strings.Join(tt.panels, ",") {
				t.Errorf("panel titles %v, want %v", titles, tt.panels)
			}
			if n := len(find(all, "svg")) - 1; n != len(tt.panels) {
				t.Errorf("%d nested <svg>, want %d", n, len(tt.panels))
			}
			ids := map[string]bool{}
			for _, e := range all {
				if id, ok := e.attr["id"]; ok {
					if ids[id] {
						t.Errorf("duplicate id %q", id)
					}
					ids[id] = true
				}
			}
			for _, e := range all {
				if ref := e.attr["clip-path"]; ref != "" && !ids[strings.TrimSuffix(strings.TrimPrefix(ref, "url(#"), ")")] {
					t.Errorf("clip-path %q refers to no id", ref)
				}
			}
		})
	}
}

func TestEscaping(t *testing.T) {
	title := "a < b & c"
	all := parseSVG(t, New().Title(title).XLabel(`"q" 'x' >`).
		Scatter([]float64{1}, []float64{1}, Label("<&>"), Color(`red"`)).
		Text(1, 1, "bell\x07 & tab\t").SVG())
	found := false
	for _, e := range find(all, "text") {
		found = found || e.text == title
	}
	if !found {
		t.Errorf("no <text> reads %q", title)
	}
}

func TestPanics(t *testing.T) {
	tests := []struct {
		name string
		call func()
		want []string
	}{
		{"Scatter", func() { New().Scatter([]float64{1, 2, 3}, []float64{1, 2}) }, []string{"plot.Scatter", "3", "2"}},
		{"Line", func() { New().Line([]float64{1}, nil) }, []string{"plot.Line", "1", "0"}},
		{"Heatmap ragged", func() { New().Heatmap([][]float64{{1, 2}, {3}}, 0, 1, 0, 1) }, []string{"plot.Heatmap", "row 1"}},
		{"Heatmap extent", func() { New().Heatmap([][]float64{{1}}, 1, 0, 0, 1) }, []string{"plot.Heatmap", "x0 < x1"}},
		{"Histogram bins", func() { New().Histogram([]float64{1}, 0) }, []string{"plot.Histogram", "bins"}},
		{"Colormap", func() { Colormap("jet") }, []string{"plot.Colormap", "jet"}},
		{"Grid columns", func() { Grid(0, New()) }, []string{"plot.Grid", "columns"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			defer func() {
				msg, _ := recover().(string)
				for _, w := range tt.want {
					if !strings.Contains(msg, w) {
						t.Errorf("panic message %q does not contain %q", msg, w)
					}
				}
			}()
			tt.call()
		})
	}
}

func TestScatterManyPointsIsCompact(t *testing.T) {
	const n = 5000
	xs, ys := make([]float64, n), make([]float64, n)
	for i := range xs {
		xs[i] = math.Sin(float64(i)) * 3.14159
		ys[i] = math.Cos(float64(i)*1.7) * 2.71828
	}
	cases := []struct {
		name    string
		n       int
		opts    []Option
		circles int // 0: drawn as one image
	}{
		{"few points stay circles", RasterPoints, nil, RasterPoints},
		{"many points become an image", n, nil, 0},
		{"a named colour", n, []Option{Color("crimson")}, 0},
		{"a colour the rasteriser does not know stays circles", n, []Option{Color("rgb(10, 20, 30)")}, n},
	}
	for _, tc := range cases {
		s := New().Scatter(xs[:tc.n], ys[:tc.n], tc.opts...).SVG()
		if got := strings.Count(s, "<circle"); got != tc.circles {
			t.Errorf("%s: %d circles, want %d", tc.name, got, tc.circles)
		}
		if tc.circles == 0 && strings.Count(s, "data:image/png;base64,") != 1 {
			t.Errorf("%s: no embedded PNG", tc.name)
		}
		if len(s) > 50*tc.n {
			t.Errorf("%s: SVG is %d bytes for %d points, want at most 50 per point", tc.name, len(s), tc.n)
		}
	}
}

// Consecutive scatter layers are rasterised together; a layer of another
// kind between them separates them.
func TestRasterGroupsConsecutiveScatters(t *testing.T) {
	const n = 2000
	xs, ys := make([]float64, n), make([]float64, n)
	for i := range xs {
		xs[i], ys[i] = math.Sin(float64(i)), math.Cos(float64(i)*1.3)
	}
	images := func(s string) int { return strings.Count(s, "data:image/png") }
	together := New().Scatter(xs, ys, Color("#1f77b4")).Scatter(ys, xs, Color("crimson")).SVG()
	if strings.Count(together, "<circle") != 0 || images(together) != 1 {
		t.Errorf("two consecutive scatters: %d circles, %d images; want one image", strings.Count(together, "<circle"), images(together))
	}
	apart := New().Scatter(xs, ys).Line([]float64{0, 1}, []float64{0, 1}).Scatter(ys, xs).SVG()
	if images(apart) != 2 || !strings.Contains(apart, "<path") {
		t.Errorf("scatters separated by a line: %d images, want 2 with the line between", images(apart))
	}
	// Whichever is drawn is never larger than the circles ("rgb(...)" is a
	// colour the rasteriser does not know, so it forces circles).
	for _, k := range []int{RasterPoints + 1, 600, n} {
		for _, size := range [][2]int{{200, 150}, {800, 600}} {
			auto := New().Size(size[0], size[1]).Scatter(xs[:k], ys[:k], Color("#1f77b4")).SVG()
			circles := New().Size(size[0], size[1]).Scatter(xs[:k], ys[:k], Color("rgb(31,119,180)")).SVG()
			if len(auto) > len(circles) {
				t.Errorf("%d points in %v: %d bytes, more than the %d of circles", k, size, len(auto), len(circles))
			}
		}
	}
}

// The raster draws each point where its circle would be, with the layer's
// colour and opacity.
func TestRasterScatterPlacesPoints(t *testing.T) {
	xs, ys := make([]float64, RasterPoints+1), make([]float64, RasterPoints+1)
	for i := range xs { // every point at (1, 1), except one at (-1, -1)
		xs[i], ys[i] = 1, 1
	}
	xs[0], ys[0] = -1, -1
	f := New().XRange(-2, 2).YRange(-2, 2).Scatter(xs, ys, Color("#ff0000"), Opacity(0.5))
	s := f.SVG()
	i := strings.Index(s, "data:image/png;base64,")
	if i < 0 {
		t.Fatal("no embedded PNG")
	}
	data := s[i+len("data:image/png;base64,"):]
	data = data[:strings.IndexByte(data, '"')]
	raw, err := base64.StdEncoding.DecodeString(data)
	if err != nil {
		t.Fatal(err)
	}
	img, err := png.Decode(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	b := img.Bounds()
	at := func(fx, fy float64) color.NRGBA { // fractions of the plot area, from the top left
		return color.NRGBAModel.Convert(img.At(b.Min.X+int(fx*float64(b.Dx())), b.Min.Y+int(fy*float64(b.Dy())))).(color.NRGBA)
	}
	if c := at(0.75, 0.25); c.R != 255 || c.G != 0 || c.A < 250 { // 1,500 discs at 0.5 opacity: opaque
		t.Errorf("at (1, 1): %v, want opaque red", c)
	}
	if c := at(0.25, 0.75); c.R != 255 || c.A < 120 || c.A > 135 { // one disc: half opaque
		t.Errorf("at (-1, -1): %v, want red at opacity 0.5", c)
	}
	if c := at(0.25, 0.25); c.A != 0 {
		t.Errorf("at (-1, 1), where no point is: %v, want transparent", c)
	}
}

func TestColorCycle(t *testing.T) {
	all := parseSVG(t, New().Scatter([]float64{1}, []float64{1}).
		Line([]float64{1, 2}, []float64{1, 2}, Color("black")).
		Line([]float64{1, 2}, []float64{2, 1}).SVG())
	var got []string
	for _, e := range all {
		if e.name == "g" && e.attr["fill-opacity"] != "" {
			got = append(got, e.attr["fill"])
		}
		if e.name == "path" && e.parent.attr["clip-path"] != "" {
			got = append(got, e.attr["stroke"])
		}
	}
	if want := "#1f77b4 black #ff7f0e"; strings.Join(got, " ") != want {
		t.Errorf("layer colours %v, want %s", got, want)
	}
}

// decodePNG decodes a heatmap's base64 PNG.
func decodePNG(t *testing.T, b64 string) image.Image {
	t.Helper()
	raw, err := base64.StdEncoding.DecodeString(b64)
	if err != nil {
		t.Fatal(err)
	}
	img, err := png.Decode(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	return img
}

func TestHeatmapValueRangeSharesAScale(t *testing.T) {
	gray := func(img image.Image, x, y int) uint8 { return color.NRGBAModel.Convert(img.At(x, y)).(color.NRGBA).R }
	values := [][]float64{{0, 11}} // one row: x = 0 and x = 1
	tests := []struct {
		name        string
		valueRange  *[2]float64
		left, right uint8
	}{
		{"own extent", nil, 0, 255},
		{"wider scale: 11 is half way", &[2]float64{0, 22}, 0, 128},
		{"narrower scale clamps", &[2]float64{4, 8}, 0, 255},
		{"shifted scale", &[2]float64{-11, 11}, 128, 255},
	}
	for _, tt := range tests {
		encoded, _ := heatmapPNG(values, "gray", tt.valueRange)
		img := decodePNG(t, encoded)
		if l, r := gray(img, 0, 0), gray(img, 1, 0); l != tt.left || r != tt.right {
			t.Errorf("%s: gray levels %d and %d, want %d and %d", tt.name, l, r, tt.left, tt.right)
		}
	}
	if svg := New().Heatmap(values, 0, 1, 0, 1, ValueRange(0, 22)).SVG(); !strings.Contains(svg, "data:image/png") {
		t.Error("Heatmap with ValueRange drew no image")
	}
}

// A colour bar shows the scale the heatmap's colours stand for, with ticks
// within it, and takes room from the plot, not from the figure.
func TestColorBar(t *testing.T) {
	values := [][]float64{{0, 0.1}, {0.2, 0.3}}
	plain := New().Heatmap(values, 0, 1, 0, 1).SVG()
	withBar := New().Heatmap(values, 0, 1, 0, 1, ColorBar("density")).SVG()
	shared := New().Heatmap(values, 0, 1, 0, 1, ValueRange(0, 1), ColorBar("")).SVG()
	if strings.Count(withBar, "data:image/png") != 2 || strings.Count(plain, "data:image/png") != 1 {
		t.Errorf("images: %d with a bar, %d without; want 2 and 1", strings.Count(withBar, "data:image/png"), strings.Count(plain, "data:image/png"))
	}
	if !strings.Contains(withBar, ">density</text>") {
		t.Error("the bar's label is missing")
	}
	for _, tick := range []string{">0</text>", ">0.3</text>"} {
		if !strings.Contains(withBar, tick) {
			t.Errorf("the bar over the values' range [0, 0.3] lacks the tick %s", tick)
		}
	}
	if !strings.Contains(shared, ">1</text>") || strings.Contains(shared, ">density</text>") {
		t.Error("a bar over ValueRange(0, 1) should reach the tick 1, without a label")
	}
	for svg, want := range map[string]string{plain: `width="420"`, withBar: `width="494"`, shared: `width="478"`} {
		if !strings.Contains(svg[:200], want) {
			t.Errorf("the figure's header %q, want %s (the bar widens the figure)", svg[:120], want)
		}
	}
	if err := xml.Unmarshal([]byte(withBar), new(any)); err != nil {
		t.Errorf("the SVG with a colour bar is not valid XML: %v", err)
	}
}
