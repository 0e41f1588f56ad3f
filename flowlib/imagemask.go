package flowlib

import (
	"fmt"
	"strings"

	. "github.com/gomlx/gomlx/core/graph" //nolint:revive
	"github.com/gomlx/gomlx/support/exceptions"
)

// ImageMask is a [CouplingMask] for images [batchSize, H, W, C], in one of the
// two patterns of RealNVP (Dinh et al. 2016, figure 3):
//
//   - checkerboard ([CheckerboardMask]): pixel (i, j) is kept when i+j is even,
//     in every channel. It suits images with few channels, before a squeeze.
//   - channel ([ChannelMask]): the first half of the channels is kept, at every
//     pixel. It suits squeezed images, where channels hold neighbouring pixels.
//
// Flip swaps the kept and the transformed parts.
type ImageMask struct {
	// Checkerboard selects the pattern: true for checkerboard, false for channel.
	Checkerboard bool
	// Height and Width are the image size, for a checkerboard mask.
	Height, Width int
	// Channels is the number of channels, for a channel mask.
	Channels int
	// Flipped swaps kept and transformed values.
	Flipped bool
}

// CheckerboardMask keeps the pixels (i, j) of an height×width image with i+j
// even, in all channels.
func CheckerboardMask(height, width int) ImageMask {
	return ImageMask{Checkerboard: true, Height: height, Width: width}
}

// ChannelMask keeps the first ⌈channels/2⌉ channels of every pixel.
func ChannelMask(channels int) ImageMask {
	return ImageMask{Channels: channels}
}

// Flip returns the complementary mask.
func (m ImageMask) Flip() ImageMask {
	m.Flipped = !m.Flipped
	return m
}

// keeps reports whether the value at pixel (i, j), channel c is kept.
func (m ImageMask) keeps(i, j, c int) bool {
	var keep bool
	if m.Checkerboard {
		keep = (i+j)%2 == 0
	} else {
		keep = c < (m.Channels+1)/2
	}
	return keep != m.Flipped
}

// String implements [CouplingMask]: the first row of a checkerboard, or the
// channels, as 1s (kept) and 0s (transformed).
func (m ImageMask) String() string {
	var b strings.Builder
	if m.Checkerboard {
		fmt.Fprintf(&b, "checkerboard %d×%d, first row ", m.Height, m.Width)
		for j := range m.Width {
			b.WriteString(bit(m.keeps(0, j, 0)))
		}
	} else {
		fmt.Fprintf(&b, "channel %d: ", m.Channels)
		for c := range m.Channels {
			b.WriteString(bit(m.keeps(0, 0, c)))
		}
	}
	return b.String()
}

func bit(b bool) string {
	if b {
		return "1"
	}
	return "0"
}

// Validate implements [CouplingMask].
func (m ImageMask) Validate() error {
	if m.Checkerboard && (m.Height < 1 || m.Width < 1 || m.Height*m.Width < 2) {
		return fmt.Errorf("flowlib: a checkerboard mask needs an image of at least 2 pixels, got %d×%d", m.Height, m.Width)
	}
	if !m.Checkerboard && m.Channels < 2 {
		return fmt.Errorf("flowlib: a channel mask needs at least 2 channels, got %d; "+
			"use a checkerboard mask, or squeeze the image first", m.Channels)
	}
	return nil
}

// Tensor implements [CouplingMask]: [1, H, W, 1] for a checkerboard, [1, 1, 1, C]
// for a channel mask.
func (m ImageMask) Tensor(layer string, x *Node) *Node {
	if err := m.Validate(); err != nil {
		exceptions.Panicf("%s: %v", layer, err)
	}
	var values []float64
	var dims []int
	if m.Checkerboard {
		requireImages(layer, x, m.Height, m.Width, 0)
		for i := range m.Height {
			for j := range m.Width {
				values = append(values, float64(boolToInt(m.keeps(i, j, 0))))
			}
		}
		dims = []int{1, m.Height, m.Width, 1}
	} else {
		requireImages(layer, x, 0, 0, m.Channels)
		for c := range m.Channels {
			values = append(values, float64(boolToInt(m.keeps(0, 0, c))))
		}
		dims = []int{1, 1, 1, m.Channels}
	}
	return Reshape(ConvertDType(Const(x.Graph(), values), x.DType()), dims...)
}

func boolToInt(b bool) int {
	if b {
		return 1
	}
	return 0
}
