package glow

import (
	. "github.com/gomlx/gomlx/core/graph" //nolint:revive // GoMLX's idiom: graph ops read like math.

	"github.com/flowbook/flowbook/flowlib/flowcheck"
)

// Conv1x1 is Glow's invertible 1×1 convolution in the Forward (data →
// latent) direction, for a fixed invertible C×C matrix w (rows). Every
// pixel's channel vector is multiplied by W, as in flowlib.Invertible1x1Conv:
//
//	y[b, i, j, :] = W · x[b, i, j, :],  i.e.  y[b, i, j, c] = Σ_k W[c][k]·x[b, i, j, k]
//	logDet = H·W_img·log|det W|         (one value per example, [batchSize])
//
// for x of shape [batchSize, H, W_img, C]. The Jacobian is block diagonal,
// one copy of W per pixel. Put W into the graph with Const and convert it to
// x's dtype (ConvertDType); compute log|det W| in plain Go, e.g. with
// flowcheck.LogAbsDet (an LU decomposition).
func Conv1x1(x *Node, w [][]float64) (y, logDet *Node) {
	dims := x.Shape().Dimensions
	weights := ConvertDType(Const(x.Graph(), w), x.DType())
	y = Einsum("bhwk,ck->bhwc", x, weights)
	pixels := dims[1] * dims[2]
	logDet = BroadcastToDims(ConstAs(x, float64(pixels)*flowcheck.LogAbsDet(w)), dims[0])
	return y, logDet
}
