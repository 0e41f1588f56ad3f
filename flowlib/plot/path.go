package plot

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// LineTolerance is how far, in px, a Line's drawn path may stray from the
// polyline through its points: points that the path passes within this
// distance of are left out of the SVG (Ramer–Douglas–Peucker). A quarter of
// a pixel cannot be seen, and a smooth curve of many points shrinks several
// times, which keeps figures of many curves small.
const LineTolerance = 0.25

// simplify returns the indices of the points of the polyline (xs[i], ys[i])
// to keep so that every dropped point lies within tol of the segment between
// the kept points around it (Ramer–Douglas–Peucker, Douglas & Peucker 1973).
// The first and last points are always kept.
func simplify(xs, ys []float64, tol float64) []int {
	n := len(xs)
	if n <= 2 {
		keep := make([]int, n)
		for i := range keep {
			keep[i] = i
		}
		return keep
	}
	kept := make([]bool, n)
	kept[0], kept[n-1] = true, true
	stack := [][2]int{{0, n - 1}}
	for len(stack) > 0 {
		a, b := stack[len(stack)-1][0], stack[len(stack)-1][1]
		stack = stack[:len(stack)-1]
		far, farD := -1, tol
		for i := a + 1; i < b; i++ {
			if d := segmentDistance(xs[i], ys[i], xs[a], ys[a], xs[b], ys[b]); d > farD {
				far, farD = i, d
			}
		}
		if far >= 0 {
			kept[far] = true
			stack = append(stack, [2]int{a, far}, [2]int{far, b})
		}
	}
	var keep []int
	for i, k := range kept {
		if k {
			keep = append(keep, i)
		}
	}
	return keep
}

// segmentDistance is the distance from (px, py) to the segment from (ax, ay)
// to (bx, by).
func segmentDistance(px, py, ax, ay, bx, by float64) float64 {
	dx, dy := bx-ax, by-ay
	l2 := dx*dx + dy*dy
	t := 0.0
	if l2 > 0 {
		t = math.Max(0, math.Min(1, ((px-ax)*dx+(py-ay)*dy)/l2))
	}
	return math.Hypot(px-ax-t*dx, py-ay-t*dy)
}

// pathData writes the SVG path data of a polyline in px: an absolute move to
// the first point, then relative line-tos ("l") between positions rounded to
// 0.1 px. The offsets are differences of rounded positions, so rounding does
// not accumulate along the path.
func pathData(d *strings.Builder, xs, ys []float64) {
	var px, py int64
	for i := range xs {
		ix, iy := int64(math.Round(xs[i]*10)), int64(math.Round(ys[i]*10))
		switch i {
		case 0:
			d.WriteString("M" + tenths(ix) + " " + tenths(iy))
		case 1:
			d.WriteString("l")
			writePair(d, ix-px, iy-py, true)
		default:
			writePair(d, ix-px, iy-py, false)
		}
		px, py = ix, iy
	}
}

// writePair writes two numbers of path data, with a separator only where the
// next number does not start with its minus sign.
func writePair(d *strings.Builder, dx, dy int64, first bool) {
	sx, sy := tenths(dx), tenths(dy)
	if !first && sx[0] != '-' {
		d.WriteByte(' ')
	}
	d.WriteString(sx)
	if sy[0] != '-' {
		d.WriteByte(' ')
	}
	d.WriteString(sy)
}

// tenths formats v/10 with at most one decimal, e.g. 12 → "1.2", -3 → "-0.3",
// 40 → "4".
func tenths(v int64) string {
	return strconv.FormatFloat(float64(v)/10, 'f', -1, 64)
}

// offChart returns the points of l (Line or Scatter) inside the shown x
// range but above (up) or below (down) the shown y range, in data units.
func (m *frame) offChart(l *layer) (upX, upY, downX, downY []float64) {
	for i := range l.xs {
		y, ok := m.f.ty(l.ys[i])
		if !ok || !finite(l.xs[i]) || l.xs[i] < m.xlo || l.xs[i] > m.xhi {
			continue
		}
		switch {
		case y > m.yhi:
			upX, upY = append(upX, l.xs[i]), append(upY, l.ys[i])
		case y < m.ylo:
			downX, downY = append(downX, l.xs[i]), append(downY, l.ys[i])
		}
	}
	return upX, upY, downX, downY
}

// renderOffChart draws the marks of the layers with MarkOffChart: a triangle
// on the edge per point that left the y range, and one note per direction
// and layer at the top left of the plot, in the layer's colour (the legend
// names it; a label in the note would run into the legend).
func (f *Figure) renderOffChart(b *strings.Builder, m *frame) {
	noteY := m.py0 + 14
	for _, l := range f.layers {
		if !(l.st.offChart || f.offChart) || (l.kind != lineLayer && l.kind != scatterLayer) {
			continue
		}
		upX, upY, downX, downY := m.offChart(l)
		for _, dir := range []struct {
			xs, ys     []float64
			edge, tipY float64 // the triangle's tip is on the edge
			symbol     string
			word       string
			extreme    func(a, b float64) float64
		}{
			{upX, upY, m.py0, 7, "▲", "above", math.Max},
			{downX, downY, m.py1, -7, "▼", "below", math.Min},
		} {
			if len(dir.xs) == 0 {
				continue
			}
			fmt.Fprintf(b, `<g fill="%s">`+"\n", esc(l.st.color))
			ext := dir.ys[0]
			for i, x := range dir.xs {
				sx, _ := m.sx(x)
				ext = dir.extreme(ext, dir.ys[i])
				fmt.Fprintf(b, `<path d="M%s %sl-4 %sh8z"><title>%s</title></path>`+"\n",
					num(sx), num(dir.edge), num(dir.tipY), esc("("+formatTick(sig3(x))+", "+formatTick(sig3(dir.ys[i]))+")"))
			}
			b.WriteString("</g>\n")
			verb := "up to"
			if dir.word == "below" {
				verb = "down to"
			}
			// A white halo keeps the note readable over the curves.
			fmt.Fprintf(b, `<text x="%s" y="%s" font-size="11" fill="%s" stroke="white" stroke-width="3" paint-order="stroke">%s</text>`+"\n", num(m.px0+6), num(noteY), esc(l.st.color),
				esc(fmt.Sprintf("%s %d %s the chart, %s %s", dir.symbol, len(dir.xs), dir.word, verb, formatTick(sig3(ext)))))
			noteY += 14
		}
	}
}

// sig3 rounds v to 3 significant digits, for values quoted in notes.
func sig3(v float64) float64 {
	r, _ := strconv.ParseFloat(strconv.FormatFloat(v, 'g', 3, 64), 64)
	return r
}
