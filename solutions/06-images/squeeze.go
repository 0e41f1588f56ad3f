package imageflows

import (
	"github.com/gomlx/compute/shapes"
	. "github.com/gomlx/gomlx/core/graph" //nolint:revive // GoMLX's idiom: graph ops read like math.
	"github.com/gomlx/gomlx/ml/model"
)

// Squeeze2x2 is RealNVP's squeeze (space to depth) as a bijector, with the
// channel order of flowlib.Squeeze2x2 (flowlib/squeeze.go):
//
//	Forward:  [batchSize, H, W, C] → [batchSize, H/2, W/2, 4C]
//	Inverse:  [batchSize, H/2, W/2, 4C] → [batchSize, H, W, C]
//
// Output pixel (i, j), channel (2·dy + dx)·C + c holds channel c of input
// pixel (2i + dy, 2j + dx), for dy, dx in {0, 1}: each 2×2 block becomes one
// pixel, its top-left pixel's channels first, then top-right, bottom-left,
// bottom-right. H and W are even (they need not be equal). Write both
// directions with Reshape and TransposeAllDims only. The map only moves
// values, so both log-dets are 0: zeros of shape [batchSize] in the input's
// dtype. The scope is not used.
type Squeeze2x2 struct{}

// Forward squeezes [batchSize, H, W, C] to [batchSize, H/2, W/2, 4C].
func (Squeeze2x2) Forward(scope *model.Scope, x *Node) (y, logDet *Node) {
	d := x.Shape().Dimensions
	b, h, w, c := d[0], d[1], d[2], d[3]
	y = Reshape(x, b, h/2, 2, w/2, 2, c)      // [b, i, dy, j, dx, c]
	y = TransposeAllDims(y, 0, 1, 3, 2, 4, 5) // [b, i, j, dy, dx, c]
	y = Reshape(y, b, h/2, w/2, 4*c)
	return y, Zeros(x.Graph(), shapes.Make(x.DType(), b))
}

// Inverse unsqueezes [batchSize, H, W, 4C] to [batchSize, 2H, 2W, C].
func (Squeeze2x2) Inverse(scope *model.Scope, y *Node) (x, logDet *Node) {
	d := y.Shape().Dimensions
	b, h, w, c := d[0], d[1], d[2], d[3]/4
	x = Reshape(y, b, h, w, 2, 2, c)          // [b, i, j, dy, dx, c]
	x = TransposeAllDims(x, 0, 1, 3, 2, 4, 5) // [b, i, dy, j, dx, c]
	x = Reshape(x, b, 2*h, 2*w, c)
	return x, Zeros(y.Graph(), shapes.Make(y.DType(), b))
}
