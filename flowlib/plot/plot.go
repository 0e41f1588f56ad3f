// Package plot draws small static charts as self-contained SVG strings, for
// notebooks (GoNB, Jupyter) and for GitHub, which display them as
// image/svg+xml: no external fonts, styles or scripts; heatmaps are embedded
// as PNG data URIs.
//
// A Figure is built by chaining calls and rendered with SVG:
//
//	svg := plot.New().Title("Samples vs. model").XLabel("x").YLabel("density").
//		Histogram(samples, 40, plot.Label("samples")).
//		Line(xs, pdf, plot.Color("crimson"), plot.Label("model")).
//		SVG()
//	gonbui.DisplaySVG(svg) // in GoNB
//
// Row and Grid put several figures side by side in one SVG.
//
// Non-finite values are skipped. Mismatched slice lengths are programmer
// errors and panic with a message naming the method.
package plot

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"image"
	"image/png"
	"math"
	"strconv"
	"strings"
	"sync/atomic"
	"unicode/utf8"
)

const (
	defaultWidth  = 420
	defaultHeight = 320
	fontFamily    = "DejaVu Sans, Helvetica, Arial, sans-serif"
	textColor     = "#333"
	gridColor     = "#e6e6e6"
	frameColor    = "#999"
	refColor      = "#555" // default for VLine and HLine
)

// tab10 is the default colour cycle (matplotlib's tab10 palette).
var tab10 = []string{
	"#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd",
	"#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf",
}

// figureCounter numbers figures, so that the clipPath ids of figures combined
// by Row or Grid never clash. Ids are fixed when the figure is created rather
// than per rendering, so that rendering the same figure twice gives the same
// SVG.
var figureCounter atomic.Int64

// Figure is one chart: a plotting area with axes, ticks, labels, optional
// title and legend, and layers drawn in order. Methods return the figure so
// that calls can be chained.
type Figure struct {
	id                    int64
	width, height         int
	title, xLabel, yLabel string
	xFixed, yFixed        bool
	xlo, xhi, ylo, yhi    float64
	logY, equal, noAxes   bool
	offChart              bool // MarkOffChart for every Line and Scatter layer
	layers                []*layer
	nColors               int // layers that took a colour from the cycle
}

type layerKind int

const (
	scatterLayer layerKind = iota
	lineLayer
	histLayer
	heatLayer
	vLineLayer
	hLineLayer
	textLayer
)

type layer struct {
	kind   layerKind
	xs, ys []float64 // points; Histogram keeps its values in xs
	bins   int
	text   string
	png    string     // Heatmap: base64-encoded PNG
	extent [4]float64 // Heatmap: x0, x1, y0, y1
	scale  [2]float64 // Heatmap: the values the colormap's ends stand for
	st     style
}

// Option sets a style property of a layer.
type Option func(*style)

type style struct {
	color, label string
	radius       float64
	opacity      float64
	width        float64
	dashed       bool
	colormap     string
	valueRange   *[2]float64 // Heatmap colour scale; nil: the values' min..max
	colorBar     *string     // Heatmap: draw the colour scale, with this label
	offChart     bool        // Line, Scatter: mark the points above or below the y range
}

// Color sets the layer's colour: any SVG colour, e.g. "#1f77b4" or "crimson".
// Without it Scatter, Line and Histogram take the next tab10 colour.
func Color(c string) Option { return func(s *style) { s.color = c } }

// ValueRange fixes a Heatmap's colour scale to [lo, hi] (values outside are
// clamped), so that several heatmaps can share one scale.
func ValueRange(lo, hi float64) Option {
	if !(lo < hi) || !finite(lo) || !finite(hi) {
		panic(fmt.Sprintf("plot.ValueRange: [%g, %g], want finite lo < hi", lo, hi))
	}
	return func(s *style) { s.valueRange = &[2]float64{lo, hi} }
}

// ColorBar draws a Heatmap's colour scale as a bar at the right of the plot,
// with ticks for the values the colours stand for and label ("" for none)
// beside it. The bar widens the figure (by 58 px, 74 with a label), so the
// plot keeps its size. With [ValueRange], several heatmaps show one scale.
func ColorBar(label string) Option { return func(s *style) { s.colorBar = &label } }

// Label adds the layer to the legend, drawn at the top right of the plot.
func Label(text string) Option { return func(s *style) { s.label = text } }

// Radius sets the scatter point radius in px (default 1.6).
func Radius(r float64) Option { return func(s *style) { s.radius = r } }

// Opacity sets the layer's opacity, from 0 (invisible) to 1 (opaque).
func Opacity(a float64) Option {
	return func(s *style) { s.opacity = math.Max(0, math.Min(1, a)) }
}

// Width sets the line width in px (default 1.8).
func Width(w float64) Option { return func(s *style) { s.width = w } }

// Dashed draws lines dashed.
func Dashed() Option { return func(s *style) { s.dashed = true } }

// MarkOffChart marks the points of a Line or Scatter layer that lie above or
// below the shown y range (with [Figure.YRange] fixed, say, so that rare huge
// values do not squash the rest): each gets a triangle on the plot's top or
// bottom edge at its x, pointing the way it left, with its value as a tooltip,
// and a note at the top left says how many left and the most extreme value,
// e.g. "▲ 3 above the chart, up to 330". Points outside the x range are not
// marked.
func MarkOffChart() Option { return func(s *style) { s.offChart = true } }

// New returns an empty figure of 420x320 px.
func New() *Figure {
	return &Figure{id: figureCounter.Add(1), width: defaultWidth, height: defaultHeight}
}

// Size sets the figure's size in px (at least 50x50).
func (f *Figure) Size(width, height int) *Figure {
	f.width, f.height = max(width, 50), max(height, 50)
	return f
}

// Title sets the title, drawn in bold above the plot.
func (f *Figure) Title(title string) *Figure { f.title = title; return f }

// XLabel sets the x axis label.
func (f *Figure) XLabel(label string) *Figure { f.xLabel = label; return f }

// YLabel sets the y axis label.
func (f *Figure) YLabel(label string) *Figure { f.yLabel = label; return f }

// XRange fixes the x range. Otherwise it is the data extent plus 4% padding.
func (f *Figure) XRange(lo, hi float64) *Figure {
	f.xlo, f.xhi, f.xFixed = min(lo, hi), max(lo, hi), true
	return f
}

// YRange fixes the y range. Otherwise it is the data extent plus 4% padding.
func (f *Figure) YRange(lo, hi float64) *Figure {
	f.ylo, f.yhi, f.yFixed = min(lo, hi), max(lo, hi), true
	return f
}

// LogY makes the y axis logarithmic (base 10), as for training losses.
// Non-positive values are skipped.
func (f *Figure) LogY() *Figure { f.logY = true; return f }

// EqualAspect makes one x unit as long on screen as one y unit, by enlarging
// the smaller range around its centre (fixed ranges included). It is ignored
// with LogY.
func (f *Figure) EqualAspect() *Figure { f.equal = true; return f }

// MarkOffChart applies the [MarkOffChart] option to every Line and Scatter
// layer of the figure, e.g. to a training curve whose y range is fixed.
func (f *Figure) MarkOffChart() *Figure { f.offChart = true; return f }

// NoAxes hides the frame, grid, ticks and axis labels, e.g. for pictures of
// a grid warped by a flow.
func (f *Figure) NoAxes() *Figure { f.noAxes = true; return f }

// add styles l with the per-kind defaults and opts, and appends it.
func (f *Figure) add(l *layer, opts []Option) *Figure {
	l.st = style{radius: 1.6, opacity: 1, width: 1.8, colormap: "viridis"}
	switch l.kind {
	case scatterLayer:
		l.st.opacity = 0.75 // overlapping points stay visible
	case histLayer:
		l.st.opacity = 0.55 // a density curve on top stays visible
	case vLineLayer, hLineLayer:
		l.st.width = 1.2
	}
	for _, o := range opts {
		o(&l.st)
	}
	if l.st.color == "" {
		switch l.kind {
		case scatterLayer, lineLayer, histLayer:
			l.st.color = tab10[f.nColors%len(tab10)]
			f.nColors++
		case textLayer:
			l.st.color = textColor
		default:
			l.st.color = refColor
		}
	}
	f.layers = append(f.layers, l)
	return f
}

func checkLengths(method string, xs, ys []float64) {
	if len(xs) != len(ys) {
		panic(fmt.Sprintf("plot.%s: len(xs)=%d and len(ys)=%d differ", method, len(xs), len(ys)))
	}
}

// Scatter draws one small circle per (xs[i], ys[i]), by default with radius
// 1.6 px and opacity 0.75. Consecutive Scatter layers with more than
// [RasterPoints] points together (in colours given as hex or as common names)
// are drawn as one embedded PNG at twice the figure's resolution when that is
// smaller than their SVG circles, which keeps a notebook with dense samples
// small and quick to render.
func (f *Figure) Scatter(xs, ys []float64, opts ...Option) *Figure {
	checkLengths("Scatter", xs, ys)
	return f.add(&layer{kind: scatterLayer, xs: clone(xs), ys: clone(ys)}, opts)
}

// Line draws a polyline through the points; non-finite points break it.
func (f *Figure) Line(xs, ys []float64, opts ...Option) *Figure {
	checkLengths("Line", xs, ys)
	return f.add(&layer{kind: lineLayer, xs: clone(xs), ys: clone(ys)}, opts)
}

// Histogram draws bars of equal width normalised as a density (total area
// 1), over the range of the finite values, or over XRange if it is set
// (values outside are then left out).
func (f *Figure) Histogram(values []float64, bins int, opts ...Option) *Figure {
	if bins < 1 {
		panic(fmt.Sprintf("plot.Histogram: bins=%d, want at least 1", bins))
	}
	return f.add(&layer{kind: histLayer, xs: clone(values), bins: bins}, opts)
}

// Heatmap draws values as coloured cells filling [x0,x1]x[y0,y1]: row i is
// the i-th y from the bottom, column j the j-th x from the left. The colours
// span the min..max of the finite values (see Colormap); non-finite cells are
// transparent. Unless fixed, the figure's ranges become the extent of its
// heatmaps. The cells are embedded as a PNG with one pixel per cell.
func (f *Figure) Heatmap(values [][]float64, x0, x1, y0, y1 float64, opts ...Option) *Figure {
	if !(x0 < x1 && y0 < y1) || !finite(x0) || !finite(x1) || !finite(y0) || !finite(y1) {
		panic(fmt.Sprintf("plot.Heatmap: extent [%g,%g]x[%g,%g], want finite x0 < x1 and y0 < y1", x0, x1, y0, y1))
	}
	if len(values) == 0 || len(values[0]) == 0 {
		return f
	}
	for i, row := range values {
		if len(row) != len(values[0]) {
			panic(fmt.Sprintf("plot.Heatmap: row %d has %d values but row 0 has %d", i, len(row), len(values[0])))
		}
	}
	l := &layer{kind: heatLayer, extent: [4]float64{x0, x1, y0, y1}}
	f.add(l, opts)
	l.png, l.scale = heatmapPNG(values, l.st.colormap, l.st.valueRange)
	return f
}

// heatmapPNG encodes values as a base64 PNG, one pixel per cell, with row 0
// at the bottom, coloured over valueRange or, when nil, the values' extent.
func heatmapPNG(values [][]float64, cmap string, valueRange *[2]float64) (encoded string, scale [2]float64) {
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, row := range values {
		for _, v := range row {
			if finite(v) {
				lo, hi = min(lo, v), max(hi, v)
			}
		}
	}
	if valueRange != nil {
		lo, hi = valueRange[0], valueRange[1]
	}
	rows, cols := len(values), len(values[0])
	img := image.NewNRGBA(image.Rect(0, 0, cols, rows))
	for i, row := range values {
		for j, v := range row {
			if !finite(v) {
				continue // the zero colour is transparent
			}
			t := 0.5 // all values equal: the middle colour
			if hi > lo {
				t = min(max((v-lo)/(hi-lo), 0), 1)
			}
			img.SetNRGBA(j, rows-1-i, colormapAt(cmap, t))
		}
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		panic("plot.Heatmap: encoding PNG: " + err.Error()) // cannot happen with a bytes.Buffer
	}
	return base64.StdEncoding.EncodeToString(buf.Bytes()), [2]float64{lo, hi}
}

// VLine draws a vertical reference line at x across the plot.
func (f *Figure) VLine(x float64, opts ...Option) *Figure {
	return f.add(&layer{kind: vLineLayer, xs: []float64{x}}, opts)
}

// HLine draws a horizontal reference line at y across the plot.
func (f *Figure) HLine(y float64, opts ...Option) *Figure {
	return f.add(&layer{kind: hLineLayer, ys: []float64{y}}, opts)
}

// Text writes an annotation starting at data coordinates (x, y).
func (f *Figure) Text(x, y float64, text string, opts ...Option) *Figure {
	return f.add(&layer{kind: textLayer, xs: []float64{x}, ys: []float64{y}, text: text}, opts)
}

// histogram returns the bin edges and densities (count/(n*width), n the
// number of finite values) over [lo, hi]; with fixed false lo and hi are the
// values' extent. The bars estimate the density of all the values, so over a
// fixed range that leaves some out their area is the fraction inside, not 1.
// It returns nil without values in range.
func histogram(values []float64, bins int, lo, hi float64, fixed bool) (edges, dens []float64) {
	if !fixed {
		lo, hi = math.Inf(1), math.Inf(-1)
		for _, v := range values {
			if finite(v) {
				lo, hi = min(lo, v), max(hi, v)
			}
		}
	}
	if !(lo <= hi) {
		return nil, nil
	}
	if lo == hi {
		lo, hi = lo-0.5, hi+0.5
	}
	counts := make([]float64, bins)
	n, inRange := 0.0, 0
	for _, v := range values {
		if !finite(v) {
			continue
		}
		n++
		if v < lo || v > hi {
			continue
		}
		i := min(int((v-lo)/(hi-lo)*float64(bins)), bins-1) // v == hi goes to the last bin
		counts[i]++
		inRange++
	}
	if inRange == 0 {
		return nil, nil
	}
	w := (hi - lo) / float64(bins)
	edges = make([]float64, bins+1)
	for i := range edges {
		edges[i] = lo + float64(i)*w
	}
	for i := range counts {
		counts[i] /= n * w
	}
	return edges, counts
}

// histBins computes a histogram layer's bars with the figure's settings.
func (f *Figure) histBins(l *layer) (edges, dens []float64) {
	return histogram(l.xs, l.bins, f.xlo, f.xhi, f.xFixed)
}

// span is the extent of the finite values added to it.
type span struct{ lo, hi float64 }

func newSpan() span { return span{math.Inf(1), math.Inf(-1)} }

func (s *span) add(v float64) {
	if finite(v) {
		s.lo, s.hi = min(s.lo, v), max(s.hi, v)
	}
}

// padded returns the span plus 4% on each side; a single value gets ±0.5 and
// an empty span becomes [0, 1].
func (s span) padded(pad bool) (lo, hi float64) {
	switch {
	case s.lo > s.hi:
		return 0, 1
	case s.lo == s.hi:
		return s.lo - 0.5, s.hi + 0.5
	case !pad:
		return s.lo, s.hi
	}
	d := 0.04 * (s.hi - s.lo)
	return s.lo - d, s.hi + d
}

// ty maps a y data value to axis units: log10 with LogY, where non-positive
// values are not shown (ok false).
func (f *Figure) ty(y float64) (v float64, ok bool) {
	if f.logY {
		if y <= 0 {
			return 0, false
		}
		y = math.Log10(y)
	}
	return y, finite(y)
}

// ranges returns the shown x range and y range (in log10 units with LogY).
func (f *Figure) ranges() (xlo, xhi, ylo, yhi float64) {
	xs, ys := newSpan(), newSpan()
	hx, hy := newSpan(), newSpan() // heatmap extents take precedence
	addY := func(s *span, y float64) {
		if v, ok := f.ty(y); ok {
			s.add(v)
		}
	}
	for _, l := range f.layers {
		switch l.kind {
		case scatterLayer, lineLayer, textLayer:
			for i := range l.xs {
				// Only points shown in full count, so that a NaN y does not widen x.
				if v, ok := f.ty(l.ys[i]); ok && finite(l.xs[i]) {
					xs.add(l.xs[i])
					ys.add(v)
				}
			}
		case histLayer:
			edges, dens := f.histBins(l)
			if edges != nil {
				xs.add(edges[0])
				xs.add(edges[len(edges)-1])
				addY(&ys, 0)
				for _, d := range dens {
					addY(&ys, d)
				}
			}
		case heatLayer:
			hx.add(l.extent[0])
			hx.add(l.extent[1])
			addY(&hy, l.extent[2])
			addY(&hy, l.extent[3])
		case vLineLayer:
			xs.add(l.xs[0])
		case hLineLayer:
			addY(&ys, l.ys[0])
		}
	}
	pad := true
	if hx.lo <= hx.hi {
		xs, pad = hx, false
		if hy.lo <= hy.hi {
			ys = hy
		}
	}
	xlo, xhi = xs.padded(pad)
	ylo, yhi = ys.padded(pad)
	if f.xFixed {
		xlo, xhi = span{f.xlo, f.xhi}.padded(false)
	}
	if f.yFixed {
		lo, okLo := f.ty(f.ylo)
		hi, okHi := f.ty(f.yhi)
		if okLo && okHi {
			ylo, yhi = span{lo, hi}.padded(false)
		}
	}
	return xlo, xhi, ylo, yhi
}

// frame maps data coordinates to px inside the plot area.
type frame struct {
	px0, px1, py0, py1 float64 // plot area in px; py0 is the top
	xlo, xhi, ylo, yhi float64 // shown ranges, y in axis units
	f                  *Figure
}

// limit keeps px coordinates of far-away points within what renderers handle.
const limit = 1e6

func (m *frame) sx(x float64) (float64, bool) {
	v := m.px0 + (x-m.xlo)/(m.xhi-m.xlo)*(m.px1-m.px0)
	return math.Max(-limit, math.Min(limit, v)), finite(v)
}

func (m *frame) sy(y float64) (float64, bool) {
	y, ok := m.f.ty(y)
	v := m.py1 - (y-m.ylo)/(m.yhi-m.ylo)*(m.py1-m.py0)
	return math.Max(-limit, math.Min(limit, v)), ok && finite(v)
}

// SVG renders the figure as a standalone SVG document.
func (f *Figure) SVG() string {
	var b strings.Builder
	openSVG(&b, f.outerWidth(), f.height)
	f.render(&b, fmt.Sprintf("plot%d-clip", f.id))
	b.WriteString("</svg>\n")
	return b.String()
}

// String returns SVG(), so fmt prints a figure as its SVG.
func (f *Figure) String() string { return f.SVG() }

func openSVG(b *strings.Builder, w, h int) {
	fmt.Fprintf(b, `<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" width="%d" height="%d" viewBox="0 0 %d %d">`+"\n", w, h, w, h)
}

// render writes the figure's elements, in its own coordinates; id names its
// clip path.
func (f *Figure) render(b *strings.Builder, id string) {
	w, h := float64(f.outerWidth()), float64(f.height)
	left, right, top, bottom := 54.0, 18.0, 12.0, 36.0
	if f.yLabel != "" {
		left += 16
	}
	if f.xLabel != "" {
		bottom += 16
	}
	if f.noAxes {
		left, right, top, bottom = 8, 8, 8, 8
	}
	if f.title != "" {
		top += 22
	}
	bar := f.colorBarLayer()
	if bar != nil {
		right += float64(f.colorBarWidth())
	}
	m := &frame{px0: left, px1: max(w-right, left+10), py0: top, py1: max(h-bottom, top+10), f: f}
	m.xlo, m.xhi, m.ylo, m.yhi = f.ranges()
	if f.equal && !f.logY {
		ux, uy := (m.xhi-m.xlo)/(m.px1-m.px0), (m.yhi-m.ylo)/(m.py1-m.py0)
		if ux > uy {
			c, half := (m.ylo+m.yhi)/2, ux*(m.py1-m.py0)/2
			m.ylo, m.yhi = c-half, c+half
		} else {
			c, half := (m.xlo+m.xhi)/2, uy*(m.px1-m.px0)/2
			m.xlo, m.xhi = c-half, c+half
		}
	}

	fmt.Fprintf(b, `<g font-family="%s" fill="%s">`+"\n", fontFamily, textColor)
	fmt.Fprintf(b, `<rect width="%d" height="%d" fill="white"/>`+"\n", f.outerWidth(), f.height)
	fmt.Fprintf(b, `<defs><clipPath id="%s"><rect x="%s" y="%s" width="%s" height="%s"/></clipPath></defs>`+"\n",
		id, num(m.px0), num(m.py0), num(m.px1-m.px0), num(m.py1-m.py0))
	if !f.noAxes {
		f.renderAxes(b, m)
	}
	for i := 0; i < len(f.layers); i++ {
		// Consecutive scatter layers with many points together become one image.
		j := i
		for j < len(f.layers) && f.layers[j].kind == scatterLayer {
			j++
		}
		if j > i {
			var circles strings.Builder
			for _, l := range f.layers[i:j] {
				f.renderLayer(&circles, m, l, id)
			}
			img, ok := rasterScatter(m, f.layers[i:j])
			if ok && len(img) < circles.Len() {
				fmt.Fprintf(b, `<image x="%s" y="%s" width="%s" height="%s" preserveAspectRatio="none" xlink:href="data:image/png;base64,%s"/>`+"\n",
					num(m.px0), num(m.py0), num(m.px1-m.px0), num(m.py1-m.py0), img)
			} else {
				b.WriteString(circles.String())
			}
			i = j - 1
			continue
		}
		// Consecutive unlabelled lines of one style become one path of
		// several pieces: the same picture in far fewer bytes.
		j = i + 1
		for j < len(f.layers) && mergeableLines(f.layers[i], f.layers[j]) {
			j++
		}
		if j > i+1 {
			merged := &layer{kind: lineLayer, st: f.layers[i].st}
			for _, l := range f.layers[i:j] {
				merged.xs = append(append(merged.xs, l.xs...), math.NaN())
				merged.ys = append(append(merged.ys, l.ys...), math.NaN())
			}
			f.renderLayer(b, m, merged, id)
			i = j - 1
			continue
		}
		f.renderLayer(b, m, f.layers[i], id)
	}
	if f.title != "" {
		fmt.Fprintf(b, `<text x="%s" y="21" font-size="13" font-weight="bold" text-anchor="middle">%s</text>`+"\n",
			num((m.px0+m.px1)/2), esc(f.title))
	}
	f.renderOffChart(b, m)
	f.renderLegend(b, m)
	if bar != nil {
		renderColorBar(b, m, bar)
	}
	b.WriteString("</g>\n")
}

// mergeableLines reports whether line layers a and b can be drawn as one
// path: same stroke, no legend entry and no off-chart marks.
func mergeableLines(a, b *layer) bool {
	plain := func(l *layer) bool { return l.kind == lineLayer && l.st.label == "" && !l.st.offChart }
	return plain(a) && plain(b) && a.st.color == b.st.color && a.st.width == b.st.width &&
		a.st.opacity == b.st.opacity && a.st.dashed == b.st.dashed
}

// renderAxes draws the grid, frame, ticks, tick labels and axis labels.
func (f *Figure) renderAxes(b *strings.Builder, m *frame) {
	xticks := niceTicks(m.xlo, m.xhi, max(2, int((m.px1-m.px0)/75)))
	var yticks []float64
	if f.logY {
		yticks = logTicks(m.ylo, m.yhi)
	} else {
		yticks = niceTicks(m.ylo, m.yhi, max(2, int((m.py1-m.py0)/55)))
	}
	var grid, marks, labels strings.Builder
	for _, t := range xticks {
		x, _ := m.sx(t)
		x = math.Round(x-0.5) + 0.5 // 1 px lines are crisp at half pixels
		fmt.Fprintf(&grid, "M%s %sV%s", num(x), num(m.py0), num(m.py1))
		fmt.Fprintf(&marks, "M%s %sv4", num(x), num(m.py1))
		fmt.Fprintf(&labels, `<text x="%s" y="%s" text-anchor="middle">%s</text>`+"\n", num(x), num(m.py1+15), formatTick(t))
	}
	for _, t := range yticks {
		y, _ := m.sy(t)
		y = math.Round(y-0.5) + 0.5
		fmt.Fprintf(&grid, "M%s %sH%s", num(m.px0), num(y), num(m.px1))
		fmt.Fprintf(&marks, "M%s %sh-4", num(m.px0), num(y))
		fmt.Fprintf(&labels, `<text x="%s" y="%s" text-anchor="end">%s</text>`+"\n", num(m.px0-6), num(y+3.5), formatTick(t))
	}
	if grid.Len() > 0 {
		fmt.Fprintf(b, `<path d="%s" stroke="%s" stroke-width="1" fill="none"/>`+"\n", grid.String(), gridColor)
		fmt.Fprintf(b, `<path d="%s" stroke="%s" stroke-width="1" fill="none"/>`+"\n", marks.String(), frameColor)
	}
	fmt.Fprintf(b, `<rect x="%s" y="%s" width="%s" height="%s" fill="none" stroke="%s" stroke-width="1"/>`+"\n",
		num(m.px0-0.5), num(m.py0-0.5), num(m.px1-m.px0+1), num(m.py1-m.py0+1), frameColor)
	fmt.Fprintf(b, "<g font-size=\"11\">\n%s</g>\n", labels.String())
	if f.xLabel != "" {
		fmt.Fprintf(b, `<text x="%s" y="%d" font-size="12" text-anchor="middle">%s</text>`+"\n",
			num((m.px0+m.px1)/2), f.height-10, esc(f.xLabel))
	}
	if f.yLabel != "" {
		fmt.Fprintf(b, `<text transform="translate(16 %s) rotate(-90)" font-size="12" text-anchor="middle">%s</text>`+"\n",
			num((m.py0+m.py1)/2), esc(f.yLabel))
	}
}

// renderLayer draws one layer, clipped to the plot area except for Text.
func (f *Figure) renderLayer(b *strings.Builder, m *frame, l *layer, clip string) {
	st := l.st
	color := esc(st.color)
	stroke := func() string { // stroke attributes of line-like layers
		s := fmt.Sprintf(`fill="none" stroke="%s" stroke-width="%s"`, color, num2(st.width))
		if st.opacity < 1 {
			s += fmt.Sprintf(` stroke-opacity="%s"`, num2(st.opacity))
		}
		if st.dashed {
			s += fmt.Sprintf(` stroke-dasharray="%s %s"`, num2(3*st.width), num2(2*st.width))
		}
		return s
	}
	if l.kind != textLayer {
		fmt.Fprintf(b, `<g clip-path="url(#%s)">`+"\n", clip)
		defer b.WriteString("</g>\n")
	}
	switch l.kind {
	case scatterLayer:
		fmt.Fprintf(b, `<g fill="%s" fill-opacity="%s">`+"\n", color, num2(st.opacity))
		r := num2(st.radius)
		for i := range l.xs {
			x, okx := m.sx(l.xs[i])
			y, oky := m.sy(l.ys[i])
			// Points far outside would be clipped anyway: leave them out to stay compact.
			if !okx || !oky || x < m.px0-st.radius-1 || x > m.px1+st.radius+1 || y < m.py0-st.radius-1 || y > m.py1+st.radius+1 {
				continue
			}
			b.WriteString(`<circle cx="` + num(x) + `" cy="` + num(y) + `" r="` + r + "\"/>\n")
		}
		b.WriteString("</g>\n")
	case lineLayer:
		// A non-finite point ends a piece; each piece is simplified to within
		// LineTolerance px and written with relative coordinates.
		var d strings.Builder
		var px, py []float64
		flush := func() {
			keep := simplify(px, py, LineTolerance)
			kx, ky := make([]float64, len(keep)), make([]float64, len(keep))
			for i, k := range keep {
				kx[i], ky[i] = px[k], py[k]
			}
			pathData(&d, kx, ky)
			px, py = px[:0], py[:0]
		}
		for i := range l.xs {
			x, okx := m.sx(l.xs[i])
			y, oky := m.sy(l.ys[i])
			if !okx || !oky {
				flush()
				continue
			}
			px, py = append(px, x), append(py, y)
		}
		flush()
		if d.Len() > 0 {
			fmt.Fprintf(b, `<path d="%s" %s stroke-linejoin="round" stroke-linecap="round"/>`+"\n", d.String(), stroke())
		}
	case histLayer:
		edges, dens := f.histBins(l)
		base, ok := m.sy(0)
		if !ok { // LogY: bars start at the bottom of the plot
			base = m.py1
		}
		fmt.Fprintf(b, `<g fill="%s" fill-opacity="%s" stroke="white" stroke-width="0.5">`+"\n", color, num2(st.opacity))
		for i, d := range dens {
			x0, _ := m.sx(edges[i])
			x1, _ := m.sx(edges[i+1])
			y, ok := m.sy(d)
			if d <= 0 || !ok {
				continue
			}
			fmt.Fprintf(b, `<rect x="%s" y="%s" width="%s" height="%s"/>`+"\n",
				num(x0), num(min(y, base)), num(x1-x0), num(math.Abs(base-y)))
		}
		b.WriteString("</g>\n")
	case heatLayer:
		x0, _ := m.sx(l.extent[0])
		x1, _ := m.sx(l.extent[1])
		y0, ok0 := m.sy(l.extent[2])
		y1, ok1 := m.sy(l.extent[3])
		if !ok0 || !ok1 {
			return
		}
		// optimizeSpeed is the SVG 1.1 spelling; the CSS pixelated wins where supported.
		fmt.Fprintf(b, `<image x="%s" y="%s" width="%s" height="%s" opacity="%s" preserveAspectRatio="none" image-rendering="optimizeSpeed" style="image-rendering:pixelated" xlink:href="data:image/png;base64,%s"/>`+"\n",
			num(x0), num(y1), num(x1-x0), num(y0-y1), num2(st.opacity), l.png)
	case vLineLayer:
		if x, ok := m.sx(l.xs[0]); ok {
			fmt.Fprintf(b, `<path d="M%s %sV%s" %s/>`+"\n", num(x), num(m.py0), num(m.py1), stroke())
		}
	case hLineLayer:
		if y, ok := m.sy(l.ys[0]); ok {
			fmt.Fprintf(b, `<path d="M%s %sH%s" %s/>`+"\n", num(m.px0), num(y), num(m.px1), stroke())
		}
	case textLayer:
		x, okx := m.sx(l.xs[0])
		y, oky := m.sy(l.ys[0])
		if okx && oky {
			fmt.Fprintf(b, `<text x="%s" y="%s" font-size="11" fill="%s" fill-opacity="%s">%s</text>`+"\n",
				num(x), num(y), color, num2(st.opacity), esc(l.text))
		}
	}
}

// renderLegend lists the labelled layers in a box at the top right.
func (f *Figure) renderLegend(b *strings.Builder, m *frame) {
	var items []*layer
	chars := 0
	for _, l := range f.layers {
		if l.st.label != "" && l.kind != textLayer {
			items = append(items, l)
			chars = max(chars, utf8.RuneCountInString(l.st.label))
		}
	}
	if len(items) == 0 {
		return
	}
	const rowH = 16.0
	bw := 34 + 6.2*float64(chars) // 6.2 px: a typical 11 px glyph width
	bh := 6 + rowH*float64(len(items))
	x0, y0 := m.px1-8-bw, m.py0+8
	fmt.Fprintf(b, `<g font-size="11"><rect x="%s" y="%s" width="%s" height="%s" rx="3" fill="white" fill-opacity="0.8" stroke="#ccc"/>`+"\n",
		num(x0), num(y0), num(bw), num(bh))
	for i, l := range items {
		cy := y0 + 3 + rowH*(float64(i)+0.5)
		c := esc(l.st.color)
		switch l.kind {
		case scatterLayer:
			fmt.Fprintf(b, `<circle cx="%s" cy="%s" r="%s" fill="%s"/>`+"\n", num(x0+16), num(cy), num2(max(l.st.radius, 3)), c)
		case histLayer:
			fmt.Fprintf(b, `<rect x="%s" y="%s" width="14" height="9" fill="%s" fill-opacity="%s"/>`+"\n", num(x0+9), num(cy-4.5), c, num2(l.st.opacity))
		case heatLayer:
			mid := colormapAt(l.st.colormap, 0.5)
			fmt.Fprintf(b, `<rect x="%s" y="%s" width="14" height="9" fill="#%02x%02x%02x"/>`+"\n", num(x0+9), num(cy-4.5), mid.R, mid.G, mid.B)
		default:
			dash := ""
			if l.st.dashed {
				dash = ` stroke-dasharray="4 2"`
			}
			fmt.Fprintf(b, `<path d="M%s %sh18" stroke="%s" stroke-width="%s"%s/>`+"\n", num(x0+7), num(cy), c, num2(min(l.st.width, 4)), dash)
		}
		fmt.Fprintf(b, `<text x="%s" y="%s">%s</text>`+"\n", num(x0+30), num(cy+4), esc(l.st.label))
	}
	b.WriteString("</g>\n")
}

// Row renders figures side by side as one SVG: its width is the sum of
// their widths, its height the largest height.
func Row(figs ...*Figure) string { return Grid(max(len(figs), 1), figs...) }

// Grid renders figures as one SVG, in rows of the given number of columns.
// Each row is as tall as its tallest figure; the SVG is as wide as the
// widest row.
func Grid(columns int, figs ...*Figure) string {
	if columns < 1 {
		panic(fmt.Sprintf("plot.Grid: columns=%d, want at least 1", columns))
	}
	var body strings.Builder
	width, y := 0, 0
	for start := 0; start < len(figs); start += columns {
		x, rowH := 0, 0
		for i, f := range figs[start:min(start+columns, len(figs))] {
			if f == nil {
				panic(fmt.Sprintf("plot.Grid: figure %d is nil", start+i))
			}
			// A nested <svg> gives each panel its own coordinates and viewport.
			fw := f.outerWidth()
			fmt.Fprintf(&body, `<svg x="%d" y="%d" width="%d" height="%d" viewBox="0 0 %d %d">`+"\n",
				x, y, fw, f.height, fw, f.height)
			f.render(&body, fmt.Sprintf("plot%d-p%d-clip", f.id, start+i)) // one figure may appear twice
			body.WriteString("</svg>\n")
			x += fw
			rowH = max(rowH, f.height)
		}
		width, y = max(width, x), y+rowH
	}
	var b strings.Builder
	openSVG(&b, width, y)
	b.WriteString(body.String())
	b.WriteString("</svg>\n")
	return b.String()
}

// niceTicks returns about target evenly spaced round values (steps of 1, 2
// or 5 times a power of ten) within [lo, hi].
func niceTicks(lo, hi float64, target int) []float64 {
	raw := (hi - lo) / float64(max(target, 1))
	if !(raw > 0) || !finite(raw) {
		return nil
	}
	p := math.Pow(10, math.Floor(math.Log10(raw)))
	step := 10 * p
	switch r := raw / p; {
	case r < 1.5:
		step = p
	case r < 3:
		step = 2 * p
	case r < 7:
		step = 5 * p
	}
	eps := step * 1e-9 // ticks at the very ends survive rounding errors
	var ticks []float64
	for k := math.Ceil((lo - eps) / step); k*step <= hi+eps && len(ticks) < 100; k++ {
		ticks = append(ticks, round12(k*step))
	}
	return ticks
}

// logTicks returns tick values (not logarithms) for a log axis showing
// 10^lo to 10^hi: powers of ten, thinned to at most about six; where fewer
// than three fit, their multiples by 1, 2, 5 or else by 1..9.
func logTicks(lo, hi float64) []float64 {
	first, last := math.Ceil(lo-1e-9), math.Floor(hi+1e-9)
	if n := last - first + 1; n >= 3 {
		step := math.Ceil(n / 6)
		var ticks []float64
		for e := math.Ceil(first/step) * step; e <= last; e += step {
			ticks = append(ticks, round12(math.Pow(10, e)))
		}
		return ticks
	}
	for _, mults := range [][]float64{{1, 2, 5}, {1, 2, 3, 4, 5, 6, 7, 8, 9}} {
		var ticks []float64
		for e := math.Floor(lo); e <= math.Ceil(hi); e++ {
			for _, k := range mults {
				v := round12(k * math.Pow(10, e))
				if l := math.Log10(v); l >= lo-1e-9 && l <= hi+1e-9 {
					ticks = append(ticks, v)
				}
			}
		}
		if len(ticks) >= 2 {
			return ticks
		}
	}
	return niceTicks(math.Pow(10, lo), math.Pow(10, hi), 4)
}

// formatTick writes a tick value compactly: 0, 0.5, 12, 2.5k, 3M, 1e-3.
func formatTick(v float64) string {
	v = round12(v)
	switch a := math.Abs(v); {
	case v == 0:
		return "0"
	case a < 1e-2 || a >= 1e9:
		s := strconv.FormatFloat(v, 'e', -1, 64) // e.g. 1.5e-04
		mant, exp, _ := strings.Cut(s, "e")
		e, _ := strconv.Atoi(exp)
		return mant + "e" + strconv.Itoa(e)
	case a >= 1e6:
		return strconv.FormatFloat(round12(v/1e6), 'f', -1, 64) + "M"
	case a >= 1e3:
		return strconv.FormatFloat(round12(v/1e3), 'f', -1, 64) + "k"
	}
	return strconv.FormatFloat(v, 'f', -1, 64)
}

// round12 rounds to 12 significant digits, removing float noise such as
// 0.30000000000000004.
func round12(v float64) float64 {
	r, _ := strconv.ParseFloat(strconv.FormatFloat(v, 'g', 12, 64), 64)
	return r
}

// num formats a px coordinate with one decimal, enough on screen and compact.
func num(v float64) string {
	r := math.Round(v*10) / 10
	if r == 0 {
		r = 0 // no "-0"
	}
	return strconv.FormatFloat(r, 'f', -1, 64)
}

// num2 formats a style value (width, opacity) with two decimals.
func num2(v float64) string {
	return strconv.FormatFloat(math.Round(v*100)/100+0, 'f', -1, 64)
}

// xmlEscaper escapes text for both element content and attribute values.
var xmlEscaper = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&quot;", "'", "&apos;")

// esc escapes s for XML, dropping control characters that XML 1.0 forbids.
func esc(s string) string {
	s = strings.Map(func(r rune) rune {
		if r < 0x20 && r != '\t' && r != '\n' && r != '\r' || r == utf8.RuneError {
			return -1
		}
		return r
	}, s)
	return xmlEscaper.Replace(s)
}

func finite(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }

func clone(v []float64) []float64 { return append([]float64(nil), v...) }

// colorBarSpace is the room a colour bar takes at the right of the plot, in px
// (16 more with a label).
const colorBarSpace = 58

// colorBarWidth is the room the figure's colour bar takes, 0 without one.
func (f *Figure) colorBarWidth() int {
	bar := f.colorBarLayer()
	switch {
	case bar == nil:
		return 0
	case *bar.st.colorBar != "":
		return colorBarSpace + 16
	}
	return colorBarSpace
}

// outerWidth is the figure's width with its colour bar: the bar widens the
// figure, so that the plot keeps the size Size gave it.
func (f *Figure) outerWidth() int { return f.width + f.colorBarWidth() }

// colorBarLayer returns the last heatmap layer that asks for a colour bar.
func (f *Figure) colorBarLayer() *layer {
	var bar *layer
	for _, l := range f.layers {
		if l.kind == heatLayer && l.st.colorBar != nil {
			bar = l
		}
	}
	return bar
}

// renderColorBar draws l's colour scale as a vertical bar right of the plot
// area, low values at the bottom, with ticks and the label.
func renderColorBar(b *strings.Builder, m *frame, l *layer) {
	const steps = 128
	img := image.NewNRGBA(image.Rect(0, 0, 1, steps))
	for i := range steps {
		img.SetNRGBA(0, steps-1-i, colormapAt(l.st.colormap, float64(i)/(steps-1)))
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		panic("plot.ColorBar: encoding PNG: " + err.Error()) // cannot happen with a bytes.Buffer
	}
	x, top, bottom := m.px1+10, m.py0, m.py1
	fmt.Fprintf(b, `<image x="%s" y="%s" width="12" height="%s" preserveAspectRatio="none" xlink:href="data:image/png;base64,%s"/>`+"\n",
		num(x), num(top), num(bottom-top), base64.StdEncoding.EncodeToString(buf.Bytes()))
	fmt.Fprintf(b, `<rect x="%s" y="%s" width="12" height="%s" fill="none" stroke="%s" stroke-width="0.5"/>`+"\n", num(x), num(top), num(bottom-top), frameColor)
	lo, hi := l.scale[0], l.scale[1]
	if hi > lo {
		for _, v := range niceTicks(lo, hi, max(2, int((bottom-top)/40))) {
			if v < lo || v > hi {
				continue
			}
			y := bottom - (v-lo)/(hi-lo)*(bottom-top)
			fmt.Fprintf(b, `<path d="M%s %sh3" stroke="%s"/><text x="%s" y="%s" font-size="10" dominant-baseline="middle">%s</text>`+"\n",
				num(x+12), num(y), frameColor, num(x+17), num(y), formatTick(v))
		}
	} else if finite(lo) {
		fmt.Fprintf(b, `<text x="%s" y="%s" font-size="10" dominant-baseline="middle">%s</text>`+"\n", num(x+17), num((top+bottom)/2), formatTick(lo))
	}
	if label := *l.st.colorBar; label != "" {
		cx, cy := x+colorBarSpace+4, (top+bottom)/2
		fmt.Fprintf(b, `<text x="%s" y="%s" font-size="11" text-anchor="middle" transform="rotate(90 %s %s)">%s</text>`+"\n",
			num(cx), num(cy), num(cx), num(cy), esc(label))
	}
}
