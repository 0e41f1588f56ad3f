package imageflows

import (
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
	// TODO(exercise): split H and W into (blocks, offset), move the offsets next to the channels, merge.
	return nil, nil
}

// Inverse unsqueezes [batchSize, H, W, 4C] to [batchSize, 2H, 2W, C].
func (Squeeze2x2) Inverse(scope *model.Scope, y *Node) (x, logDet *Node) {
	// TODO(exercise): undo Forward: split the channels into (dy, dx, c), move dy and dx back next to H and W.
	return nil, nil
}
