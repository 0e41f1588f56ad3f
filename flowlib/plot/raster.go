package plot

import (
	"bytes"
	"encoding/base64"
	"image"
	"image/color"
	"image/png"
	"math"
	"strconv"
	"strings"
)

// RasterPoints is the number of points above which a Scatter layer is drawn
// as an image. Each SVG circle costs about 40 bytes; the PNG of a 2× plot
// area costs about as much as 1,500 of them, and grows little with more
// points (5,000 normal samples: 108 KB instead of 225 KB; 50,000: 86 KB).
const RasterPoints = 1500

// rasterScale is the image's pixels per SVG px, so that it stays sharp on
// high-density screens.
const rasterScale = 2

// namedColors are the SVG colour names the rasteriser knows; a layer in
// another colour keeps its circles.
var namedColors = map[string]string{
	"black": "#000000", "white": "#ffffff", "gray": "#808080", "grey": "#808080",
	"crimson": "#dc143c", "steelblue": "#4682b4", "darkorange": "#ff8c00", "red": "#ff0000",
	"blue": "#0000ff", "green": "#008000", "orange": "#ffa500", "purple": "#800080",
	"teal": "#008080", "navy": "#000080", "darkgreen": "#006400", "firebrick": "#b22222",
}

// parseColor parses "#rgb", "#rrggbb" or a name of namedColors.
func parseColor(c string) (r, g, b float64, ok bool) {
	c = strings.ToLower(strings.TrimSpace(c))
	if hex, named := namedColors[c]; named {
		c = hex
	}
	if !strings.HasPrefix(c, "#") {
		return 0, 0, 0, false
	}
	h := c[1:]
	if len(h) == 3 {
		h = string([]byte{h[0], h[0], h[1], h[1], h[2], h[2]})
	}
	if len(h) != 6 {
		return 0, 0, 0, false
	}
	v, err := strconv.ParseUint(h, 16, 32)
	if err != nil {
		return 0, 0, 0, false
	}
	return float64(v>>16&0xff) / 255, float64(v>>8&0xff) / 255, float64(v&0xff) / 255, true
}

// rasterScatter draws a scatter layer's points, as anti-aliased discs
// composited in order ("over"), into a transparent PNG covering the plot area,
// and returns it base64-encoded. ok is false when the layer is small enough
// for circles or its colour is not one the rasteriser knows.
func rasterScatter(m *frame, l *layer) (encoded string, ok bool) {
	if len(l.xs) <= RasterPoints {
		return "", false
	}
	cr, cg, cb, ok := parseColor(l.st.color)
	if !ok {
		return "", false
	}
	w := int(math.Ceil((m.px1 - m.px0) * rasterScale))
	h := int(math.Ceil((m.py1 - m.py0) * rasterScale))
	if w <= 0 || h <= 0 {
		return "", false
	}
	// Premultiplied colour and alpha per pixel, composited in float64.
	acc := make([]float64, 4*w*h)
	radius := l.st.radius * rasterScale
	alpha := l.st.opacity
	for i := range l.xs {
		x, okx := m.sx(l.xs[i])
		y, oky := m.sy(l.ys[i])
		if !okx || !oky {
			continue
		}
		cx, cy := (x-m.px0)*rasterScale, (y-m.py0)*rasterScale
		x0, x1 := max(0, int(cx-radius-1)), min(w-1, int(cx+radius+1))
		y0, y1 := max(0, int(cy-radius-1)), min(h-1, int(cy+radius+1))
		for py := y0; py <= y1; py++ {
			for px := x0; px <= x1; px++ {
				d := math.Hypot(float64(px)+0.5-cx, float64(py)+0.5-cy)
				cover := math.Max(0, math.Min(1, radius+0.5-d)) // anti-aliased edge
				if cover == 0 {
					continue
				}
				a := alpha * cover
				k := 4 * (py*w + px)
				acc[k] = cr*a + acc[k]*(1-a)
				acc[k+1] = cg*a + acc[k+1]*(1-a)
				acc[k+2] = cb*a + acc[k+2]*(1-a)
				acc[k+3] = a + acc[k+3]*(1-a)
			}
		}
	}
	// One colour at 256 levels of opacity: a paletted PNG, one byte a pixel,
	// compresses far better than RGBA. (Only the alpha channel varies: the
	// discs are all of the layer's colour.)
	palette := make(color.Palette, 256)
	for i := range palette {
		palette[i] = color.NRGBA{R: uint8(math.Round(255 * cr)), G: uint8(math.Round(255 * cg)), B: uint8(math.Round(255 * cb)), A: uint8(i)}
	}
	img := image.NewPaletted(image.Rect(0, 0, w, h), palette)
	for p := 0; p < w*h; p++ {
		img.Pix[p] = uint8(math.Round(255 * acc[4*p+3]))
	}
	var buf bytes.Buffer
	enc := png.Encoder{CompressionLevel: png.BestCompression}
	if err := enc.Encode(&buf, img); err != nil {
		return "", false
	}
	return base64.StdEncoding.EncodeToString(buf.Bytes()), true
}
