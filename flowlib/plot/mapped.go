package plot

// This file draws what a map of the plane does to a grid: the picture of a
// Jacobian's determinant as a change of area.

// Map2D is a map of the plane, (u, v) → (x, y).
type Map2D func(u, v float64) (x, y float64)

// mappedSegment returns the image under g of the segment from (u0, v0) to
// (u1, v1), as a polyline of m ≥ 2 points.
func mappedSegment(g Map2D, u0, v0, u1, v1 float64, m int) (xs, ys []float64) {
	xs, ys = make([]float64, m), make([]float64, m)
	for k := range m {
		t := float64(k) / float64(m-1)
		xs[k], ys[k] = g(u0+t*(u1-u0), v0+t*(v1-v0))
	}
	return xs, ys
}

// MappedBorder returns the image under g of the border of the rectangle
// [x0, x1]×[y0, y1], walked counter-clockwise from (x0, y0) with m points per
// side (m ≥ 2), as a closed polygon: the last point repeats the first. Draw it
// with Line; its area (shoelace formula, without the repeated point) is the
// area of the rectangle's image when g is one-to-one.
func MappedBorder(g Map2D, x0, x1, y0, y1 float64, m int) (xs, ys []float64) {
	if m < 2 {
		panic("plot.MappedBorder: want at least 2 points per side")
	}
	corners := [5][2]float64{{x0, y0}, {x1, y0}, {x1, y1}, {x0, y1}, {x0, y0}}
	for c := range 4 {
		sx, sy := mappedSegment(g, corners[c][0], corners[c][1], corners[c+1][0], corners[c+1][1], m)
		xs, ys = append(xs, sx[:m-1]...), append(ys, sy[:m-1]...)
	}
	return append(xs, xs[0]), append(ys, ys[0])
}

// MappedGrid draws the image under g of the lines of an n×n grid over the
// rectangle [x0, x1]×[y0, y1] (n+1 lines each way, each a polyline of 60
// points), the rectangle's border thicker and darker than the lines inside.
// With g the identity it draws the grid itself. opts style the inner lines
// after their default light blue, width 1.
func (f *Figure) MappedGrid(g Map2D, x0, x1, y0, y1 float64, n int, opts ...Option) *Figure {
	if n < 1 {
		panic("plot.MappedGrid: want at least 1 cell per side")
	}
	const points = 60
	for i := range n + 1 {
		u := x0 + (x1-x0)*float64(i)/float64(n)
		v := y0 + (y1-y0)*float64(i)/float64(n)
		style := append([]Option{Color("#8fb3d9"), Width(1)}, opts...)
		if i == 0 || i == n {
			style = []Option{Color("#1f3b73"), Width(2.2)}
		}
		xs, ys := mappedSegment(g, u, y0, u, y1, points) // the line u = const
		f.Line(xs, ys, style...)
		xs, ys = mappedSegment(g, x0, v, x1, v, points) // the line v = const
		f.Line(xs, ys, style...)
	}
	return f
}
