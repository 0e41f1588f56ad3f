package flowlib

import (
	. "github.com/gomlx/gomlx/core/graph" //nolint:revive
	"github.com/gomlx/gomlx/ml/model"
	"github.com/gomlx/gomlx/support/exceptions"
)

// Squeeze2x2 is RealNVP's squeezing operation (space to depth): each 2×2 block
// of pixels becomes one pixel with four times the channels,
//
//	Forward:  [batchSize, H, W, C] → [batchSize, H/2, W/2, 4C]
//	Inverse:  [batchSize, H/2, W/2, 4C] → [batchSize, H, W, C]
//
// Output channel (2·dy + dx)·C + c holds input channel c of the pixel at
// offset (dy, dx) in its block. It only moves values, so log|det J| = 0. It
// trades resolution for channels, so that channel masks and 1×1 convolutions
// can mix neighbouring pixels, and multi-scale flows can factor out channels.
type Squeeze2x2 struct{}

// NewSqueeze2x2 returns a squeeze layer.
func NewSqueeze2x2() Squeeze2x2 { return Squeeze2x2{} }

// Name implements [Named].
func (Squeeze2x2) Name() string { return "squeeze" }

// Forward implements [Bijector].
func (Squeeze2x2) Forward(_ *model.Scope, x *Node) (y, logDet *Node) {
	return squeeze2x2(x), Zeros(x.Graph(), batchShape(x))
}

// Inverse implements [Bijector].
func (Squeeze2x2) Inverse(_ *model.Scope, y *Node) (x, logDet *Node) {
	return unsqueeze2x2(y), Zeros(y.Graph(), batchShape(y))
}

// Unsqueeze2x2 is the inverse of [Squeeze2x2] (depth to space) as a layer of its
// own: Forward maps [batchSize, H, W, 4C] to [batchSize, 2H, 2W, C].
type Unsqueeze2x2 struct{}

// NewUnsqueeze2x2 returns an unsqueeze layer.
func NewUnsqueeze2x2() Unsqueeze2x2 { return Unsqueeze2x2{} }

// Name implements [Named].
func (Unsqueeze2x2) Name() string { return "unsqueeze" }

// Forward implements [Bijector].
func (Unsqueeze2x2) Forward(_ *model.Scope, x *Node) (y, logDet *Node) {
	return unsqueeze2x2(x), Zeros(x.Graph(), batchShape(x))
}

// Inverse implements [Bijector].
func (Unsqueeze2x2) Inverse(_ *model.Scope, y *Node) (x, logDet *Node) {
	return squeeze2x2(y), Zeros(y.Graph(), batchShape(y))
}

func squeeze2x2(x *Node) *Node {
	requireImages("Squeeze", x, 0, 0, 0)
	d := x.Shape().Dimensions
	b, h, w, c := d[0], d[1], d[2], d[3]
	if h%2 != 0 || w%2 != 0 {
		exceptions.Panicf("flowlib: Squeeze needs an even height and width, got %d×%d (shape %s); "+
			"crop or pad the images, or squeeze fewer times", h, w, x.Shape())
	}
	x = Reshape(x, b, h/2, 2, w/2, 2, c)
	x = TransposeAllDims(x, 0, 1, 3, 2, 4, 5) // [b, h/2, w/2, dy, dx, c]
	return Reshape(x, b, h/2, w/2, 4*c)
}

func unsqueeze2x2(y *Node) *Node {
	requireImages("Unsqueeze", y, 0, 0, 0)
	d := y.Shape().Dimensions
	b, h, w, c4 := d[0], d[1], d[2], d[3]
	if c4%4 != 0 {
		exceptions.Panicf("flowlib: Unsqueeze needs a channel count divisible by 4, got %d (shape %s)", c4, y.Shape())
	}
	c := c4 / 4
	y = Reshape(y, b, h, w, 2, 2, c)
	y = TransposeAllDims(y, 0, 1, 3, 2, 4, 5) // [b, h, dy, w, dx, c]
	return Reshape(y, b, 2*h, 2*w, c)
}
