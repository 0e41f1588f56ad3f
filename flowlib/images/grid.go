package images

import (
	"fmt"
	"image"
	"image/color"
	"math"
)

// maxGridPixels bounds the size of a grid image (about 1 GiB as RGBA), so
// that a mistaken scale or count is reported instead of exhausting memory.
const maxGridPixels = 1 << 28

// Grid is the configuration of an image grid, built by NewGrid and set with
// chained methods; Image draws it. The zero values of the settings are not
// meaningful: always start from NewGrid.
type Grid struct {
	values     []float32
	n          int
	shape      []int
	columns    int // 0: ceil(sqrt(n))
	padding    int
	scale      int
	lo, hi     float64
	background color.RGBA
}

// NewGrid starts a grid of the n images in values, each of the given shape:
// [height, width, channels] with 1 (grey) or 3 (RGB) channels, or
// [height, width] for grey. values holds n·height·width·channels numbers,
// image after image, each row-major with the channels last (values of
// image k, row y, column x, channel c at ((k·height + y)·width + x)·channels
// + c). Data loaded by data.LoadMNIST is in this layout, and its
// EventShape() is the shape to pass.
//
// Defaults: ceil(sqrt(n)) columns, 2 pixels of white padding between cells,
// values in [0, 255], no enlargement. Problems with the arguments are
// reported by Image.
func NewGrid(values []float32, n int, shape []int) *Grid {
	return &Grid{
		values:     values,
		n:          n,
		shape:      append([]int(nil), shape...),
		padding:    2,
		scale:      1,
		lo:         0,
		hi:         255,
		background: color.RGBA{255, 255, 255, 255},
	}
}

// Columns sets the number of images per row of the grid; 0 restores the
// default, ceil(sqrt(n)). More columns than images are reduced to n.
func (g *Grid) Columns(c int) *Grid {
	g.columns = c
	return g
}

// Padding sets the number of pixels between neighbouring cells (default 2),
// filled with the background colour. There is no padding around the border.
func (g *Grid) Padding(p int) *Grid {
	g.padding = p
	return g
}

// Range sets the values drawn as black and as full intensity: v maps to
// round(255·(v - lo)/(hi - lo)), clamped to 0..255. The default [0, 255]
// suits grey levels; use Range(0, 1) for data scaled to [0, 1] and
// Range(-1, 1) for data centred at 0.
func (g *Grid) Range(lo, hi float64) *Grid {
	g.lo, g.hi = lo, hi
	return g
}

// Scale sets an integer enlargement factor (default 1): each pixel becomes a
// scale×scale block (nearest neighbour, so pixels stay crisp).
func (g *Grid) Scale(s int) *Grid {
	g.scale = s
	return g
}

// Background sets the colour of the padding and of the unused cells in the
// last row (default white).
func (g *Grid) Background(c color.Color) *Grid {
	g.background = color.RGBAModel.Convert(c).(color.RGBA)
	return g
}

// Image draws the grid. The result is opaque; grey images have equal red,
// green and blue. It returns an error, naming what to fix, if the shape is
// not [height, width, 1 or 3] (or [height, width]), if values does not hold
// n images of that shape, if a setting is out of range, or if a value is NaN
// or infinite (the error names the image, since a NaN usually means the
// model diverged).
func (g *Grid) Image() (*image.RGBA, error) {
	height, width, channels, err := g.check()
	if err != nil {
		return nil, err
	}
	cols := g.columns
	if cols == 0 {
		cols = int(math.Ceil(math.Sqrt(float64(g.n))))
	}
	cols = min(cols, g.n)
	rows := (g.n + cols - 1) / cols
	cellW, cellH := width*g.scale, height*g.scale
	totalW := int64(cols)*int64(cellW) + int64(cols-1)*int64(g.padding)
	totalH := int64(rows)*int64(cellH) + int64(rows-1)*int64(g.padding)
	if totalW*totalH > maxGridPixels {
		return nil, fmt.Errorf("images: the grid would be %d×%d pixels, more than the limit of %d million; "+
			"draw fewer images or use a smaller Scale", totalW, totalH, maxGridPixels>>20)
	}

	img := image.NewRGBA(image.Rect(0, 0, int(totalW), int(totalH)))
	bg := g.background
	for i := 0; i < len(img.Pix); i += 4 {
		img.Pix[i], img.Pix[i+1], img.Pix[i+2], img.Pix[i+3] = bg.R, bg.G, bg.B, bg.A
	}
	size := height * width * channels
	for k := range g.n {
		x0 := (k % cols) * (cellW + g.padding)
		y0 := (k / cols) * (cellH + g.padding)
		example := g.values[k*size : (k+1)*size]
		for y := range height {
			for x := range width {
				px := example[(y*width+x)*channels:][:channels]
				var rgb [3]uint8
				for c := range 3 {
					rgb[c] = g.level(px[min(c, channels-1)]) // grey: the one channel three times
				}
				for dy := range g.scale {
					offset := img.PixOffset(x0+x*g.scale, y0+y*g.scale+dy)
					for range g.scale {
						img.Pix[offset], img.Pix[offset+1], img.Pix[offset+2], img.Pix[offset+3] = rgb[0], rgb[1], rgb[2], 255
						offset += 4
					}
				}
			}
		}
	}
	return img, nil
}

// level maps a value to a colour intensity 0..255.
func (g *Grid) level(v float32) uint8 {
	l := math.Round(255 * (float64(v) - g.lo) / (g.hi - g.lo))
	return uint8(min(max(l, 0), 255))
}

// check validates the grid's arguments and settings and returns the image
// size.
func (g *Grid) check() (height, width, channels int, err error) {
	fail := func(format string, args ...any) (int, int, int, error) {
		return 0, 0, 0, fmt.Errorf("images: "+format, args...)
	}
	switch len(g.shape) {
	case 2:
		height, width, channels = g.shape[0], g.shape[1], 1
	case 3:
		height, width, channels = g.shape[0], g.shape[1], g.shape[2]
	default:
		return fail("image shape %v has rank %d; give [height, width, channels] (or [height, width] for grey)",
			g.shape, len(g.shape))
	}
	switch {
	case height <= 0 || width <= 0:
		return fail("image shape %v has a non-positive height or width", g.shape)
	case channels != 1 && channels != 3:
		return fail("image shape %v has %d channels; only 1 (grey) and 3 (RGB) are supported", g.shape, channels)
	case g.n <= 0:
		return fail("n = %d images; a grid needs at least one", g.n)
	case int64(len(g.values)) != int64(g.n)*int64(height)*int64(width)*int64(channels):
		return fail("got %d values, but n×height×width×channels = %d×%d×%d×%d = %d; "+
			"pass exactly n images of the given shape", len(g.values), g.n, height, width, channels,
			int64(g.n)*int64(height)*int64(width)*int64(channels))
	case g.columns < 0:
		return fail("Columns(%d): the number of columns must be ≥ 1 (or 0 for the default)", g.columns)
	case g.padding < 0:
		return fail("Padding(%d): the padding must be ≥ 0 pixels", g.padding)
	case g.scale < 1:
		return fail("Scale(%d): the enlargement factor must be ≥ 1", g.scale)
	case !(g.lo < g.hi) || math.IsInf(g.lo, 0) || math.IsInf(g.hi, 0):
		return fail("Range(%v, %v): need finite lo < hi", g.lo, g.hi)
	}
	size := height * width * channels
	for i, v := range g.values {
		if f := float64(v); math.IsNaN(f) || math.IsInf(f, 0) {
			k, rest := i/size, i%size
			return fail("image %d has the value %v at row %d, column %d, channel %d; images must be finite "+
				"(NaN usually means the model diverged)", k, v, rest/channels/width, rest/channels%width, rest%channels)
		}
	}
	return height, width, channels, nil
}
