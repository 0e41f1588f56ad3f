package plot

import (
	"bytes"
	"encoding/base64"
	"image"
	"image/color"
	"image/png"
	"math"
	"slices"
	"strconv"
	"strings"
)

// RasterPoints is the number of points above which consecutive Scatter
// layers may be drawn as an image: they are when the PNG is smaller than the
// circles. Each SVG circle costs about 40 bytes (50 with a colour of its own
// layer); the PNG of a 2× plot area grows little with more points (5,000
// normal samples: 108 KB instead of 225 KB of circles; 50,000: 86 KB).
const RasterPoints = 300

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

// rasterScatter draws the points of consecutive scatter layers, as
// anti-aliased discs composited in order ("over"), into a transparent PNG
// covering the plot area, and returns it base64-encoded. ok is false when the
// layers are small enough for circles or a colour is not one the rasteriser
// knows.
func rasterScatter(m *frame, layers []*layer) (encoded string, ok bool) {
	points := 0
	colours := make([][3]float64, len(layers))
	for i, l := range layers {
		points += len(l.xs)
		r, g, b, ok := parseColor(l.st.color)
		if !ok {
			return "", false
		}
		colours[i] = [3]float64{r, g, b}
	}
	if points <= RasterPoints {
		return "", false
	}
	w := int(math.Ceil((m.px1 - m.px0) * rasterScale))
	h := int(math.Ceil((m.py1 - m.py0) * rasterScale))
	if w <= 0 || h <= 0 {
		return "", false
	}
	// Premultiplied colour and alpha per pixel, composited in float64.
	acc := make([]float64, 4*w*h)
	for li, l := range layers {
		c := colours[li]
		radius := l.st.radius * rasterScale
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
					a := l.st.opacity * cover
					k := 4 * (py*w + px)
					acc[k] = c[0]*a + acc[k]*(1-a)
					acc[k+1] = c[1]*a + acc[k+1]*(1-a)
					acc[k+2] = c[2]*a + acc[k+2]*(1-a)
					acc[k+3] = a + acc[k+3]*(1-a)
				}
			}
		}
	}
	var img image.Image
	if distinct := distinctColours(colours); len(distinct) <= 16 {
		img = palettedImage(acc, w, h, distinct)
	} else {
		img = rgbaImage(acc, w, h)
	}
	var buf bytes.Buffer
	enc := png.Encoder{CompressionLevel: png.BestCompression}
	if err := enc.Encode(&buf, img); err != nil {
		return "", false
	}
	return base64.StdEncoding.EncodeToString(buf.Bytes()), true
}

// maxAlphaLevels bounds the levels of opacity per colour of a paletted
// scatter image: steps of 1/31 in opacity cannot be told apart on screen,
// and fewer distinct pixel values make the PNG about a third smaller than
// with 256 levels (1,500 half-transparent points: 29 KB instead of 43 KB).
const maxAlphaLevels = 32

// palettedImage makes a paletted image, one byte a pixel, which compresses
// far better than RGBA: the palette holds each distinct colour at
// min(256/k, maxAlphaLevels) levels of opacity, and a pixel where discs of different colours overlap
// takes the nearest of them (the colour it is mostly made of). acc holds
// premultiplied RGBA per pixel.
func palettedImage(acc []float64, w, h int, distinct [][3]float64) *image.Paletted {
	levels := min(256/len(distinct), maxAlphaLevels)
	palette := make(color.Palette, 0, 256)
	for _, c := range distinct {
		for i := range levels {
			a := float64(i) / float64(levels-1)
			palette = append(palette, color.NRGBA{R: uint8(math.Round(255 * c[0])), G: uint8(math.Round(255 * c[1])), B: uint8(math.Round(255 * c[2])), A: uint8(math.Round(255 * a))})
		}
	}
	img := image.NewPaletted(image.Rect(0, 0, w, h), palette)
	for i := range w * h {
		a := acc[4*i+3]
		if a == 0 {
			continue
		}
		best, bestD := 0, math.Inf(1)
		for k, c := range distinct {
			d := 0.0
			for j := range 3 {
				d += (acc[4*i+j]/a - c[j]) * (acc[4*i+j]/a - c[j])
			}
			if d < bestD {
				best, bestD = k, d
			}
		}
		img.Pix[i] = uint8(best*levels + int(math.Round(a*float64(levels-1))))
	}
	return img
}

// rgbaImage makes an RGBA image from premultiplied RGBA per pixel, for
// layers of many colours.
func rgbaImage(acc []float64, w, h int) *image.NRGBA {
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	for i := range w * h {
		a := acc[4*i+3]
		if a == 0 {
			continue
		}
		img.SetNRGBA(i%w, i/w, color.NRGBA{
			R: uint8(math.Round(255 * acc[4*i] / a)),
			G: uint8(math.Round(255 * acc[4*i+1] / a)),
			B: uint8(math.Round(255 * acc[4*i+2] / a)),
			A: uint8(math.Round(255 * a)),
		})
	}
	return img
}

// distinctColours returns the distinct colours of cs, in order.
func distinctColours(cs [][3]float64) [][3]float64 {
	var out [][3]float64
	for _, c := range cs {
		if !slices.Contains(out, c) {
			out = append(out, c)
		}
	}
	return out
}
