package plot

import (
	"fmt"
	"image/color"
	"math"
)

// colormaps holds anchor colours (0xRRGGBB) sampled evenly from low to high;
// colours in between are interpolated linearly. Viridis and magma are
// matplotlib's maps sampled at 16 points, enough for a smooth ramp.
var colormaps = map[string][]uint32{
	"viridis": {
		0x440154, 0x481a6c, 0x472f7d, 0x414487, 0x39568c, 0x31688e, 0x2a788e, 0x23888e,
		0x1f988b, 0x22a884, 0x35b779, 0x54c568, 0x7ad151, 0xa5db36, 0xd2e21b, 0xfde725,
	},
	"magma": {
		0x000004, 0x0b0924, 0x20114b, 0x3b0f70, 0x57157e, 0x721f81, 0x8c2981, 0xa8327d,
		0xc43c75, 0xde4968, 0xf1605d, 0xfa7f5e, 0xfe9f6d, 0xfebf84, 0xfddea0, 0xfcfdbf,
	},
	"gray": {0x000000, 0xffffff}, // black for low values, white for high ones
}

// Colormap selects the colour map of a Heatmap: "viridis" (the default),
// "magma" or "gray" (black for low values, white for high ones).
// It panics on any other name.
func Colormap(name string) Option {
	if _, ok := colormaps[name]; !ok {
		panic(fmt.Sprintf("plot.Colormap: unknown colormap %q (want \"viridis\", \"magma\" or \"gray\")", name))
	}
	return func(s *style) { s.colormap = name }
}

// colormapAt returns the opaque colour of map name at t in [0, 1]
// (t is clamped).
func colormapAt(name string, t float64) color.NRGBA {
	anchors := colormaps[name]
	if anchors == nil {
		anchors = colormaps["viridis"]
	}
	t = math.Max(0, math.Min(1, t))
	pos := t * float64(len(anchors)-1)
	i := int(pos)
	if i >= len(anchors)-1 {
		i = len(anchors) - 2
	}
	frac := pos - float64(i)
	lerp := func(shift uint) uint8 {
		a := float64(anchors[i] >> shift & 0xff)
		b := float64(anchors[i+1] >> shift & 0xff)
		return uint8(math.Round(a + frac*(b-a)))
	}
	return color.NRGBA{R: lerp(16), G: lerp(8), B: lerp(0), A: 0xff}
}
