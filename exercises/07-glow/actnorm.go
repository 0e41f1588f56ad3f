package glow

import (
	"github.com/gomlx/compute/shapes"
	. "github.com/gomlx/gomlx/core/graph" //nolint:revive // GoMLX's idiom: graph ops read like math.
	"github.com/gomlx/gomlx/ml/model"
	"github.com/gomlx/gomlx/ml/model/initializer"
)

// ActNormInit returns Glow's data-dependent initialisation of ActNorm from a
// batch x [batchSize, H, W, C]. For each channel c, over the whole batch and
// every pixel (all axes but the last),
//
//	mean_c = mean of x[..., c]
//	std_c  = sqrt(mean of (x[..., c] − mean_c)²)   (divide by N, not N − 1)
//	scale_c = 1/std_c,  bias_c = −mean_c/std_c
//
// so that the layer's output y = scale·x + bias has mean 0 and standard
// deviation 1 in every channel on this batch. scale and bias have shape [C].
// (In training, the first batch's values are written into the layer's
// variables; flowlib.ActNorm does that inside the graph.)
func ActNormInit(x *Node) (scale, bias *Node) {
	// TODO(exercise): per-channel mean and standard deviation over every axis but the last.
	return nil, nil
}

// ActNorm is Glow's activation normalisation for images [batchSize, H, W, C]:
// a per-channel affine map with variables scale and bias, both [C],
//
//	Forward:  y = scale_c·x + bias_c (per channel c)   logDet = H·W·Σ_c log|scale_c|
//	Inverse:  x = (y − bias_c)/scale_c                  logDet = −H·W·Σ_c log|scale_c|
//
// The log-dets have one value per example, [batchSize]: each of the H·W
// pixels of an example scales its C channels. Read the variables with
// actNormVariables (given below); broadcast them against x with
// ExpandLeftToRank or BroadcastToDims (GoMLX does not broadcast ranks
// implicitly). scale may be negative: the log-det uses |scale|.
type ActNorm struct {
	// Channels is C, the size of the last axis.
	Channels int
}

// Forward implements flowlib.Bijector: data → latent.
func (a ActNorm) Forward(scope *model.Scope, x *Node) (y, logDet *Node) {
	// TODO(exercise): scale and shift every channel; the log-det counts every pixel.
	return nil, nil
}

// Inverse implements flowlib.Bijector: latent → data.
func (a ActNorm) Inverse(scope *model.Scope, y *Node) (x, logDet *Node) {
	// TODO(exercise): undo Forward; its log-det is minus Forward's.
	return nil, nil
}

// actNormVariables returns ActNorm's variables in scope, scale and bias of
// shape [Channels] and x's dtype, created as ones and zeros (the identity)
// the first time. (Given code.)
func (a ActNorm) actNormVariables(scope *model.Scope, x *Node) (scale, bias *Node) {
	g := x.Graph()
	shape := shapes.Make(x.DType(), a.Channels)
	scale = scope.WithInitializer(initializer.One).VariableWithShape("scale", shape).NodeValue(g)
	bias = scope.WithInitializer(initializer.Zero).VariableWithShape("bias", shape).NodeValue(g)
	return scale, bias
}
