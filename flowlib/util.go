package flowlib

import (
	"github.com/gomlx/compute/shapes"
	. "github.com/gomlx/gomlx/core/graph" //nolint:revive
	"github.com/gomlx/gomlx/support/exceptions"
)

// batchShape is the shape [batchSize] of a per-example quantity for x.
func batchShape(x *Node) shapes.Shape {
	return shapes.Make(x.DType(), x.Shape().Dimensions[0])
}

// sumPerExample sums every axis but the first: [batchSize, ...] → [batchSize].
func sumPerExample(x *Node) *Node {
	if x.Rank() == 1 {
		return x
	}
	axes := make([]int, 0, x.Rank()-1)
	for a := 1; a < x.Rank(); a++ {
		axes = append(axes, a)
	}
	return ReduceSum(x, axes...)
}

// requireVectors panics unless x is [batchSize, dim] with the expected dim
// (dim <= 0 accepts any).
func requireVectors(layer string, x *Node, dim int) {
	if x.Rank() != 2 {
		exceptions.Panicf("flowlib: %s expects vector data of shape [batchSize, dim], got shape %s; "+
			"reshape the input to rank 2, or use an image layer for images", layer, x.Shape())
	}
	if dim > 0 && x.Shape().Dimensions[1] != dim {
		exceptions.Panicf("flowlib: %s was built for dimension %d but got data of shape %s (dimension %d)",
			layer, dim, x.Shape(), x.Shape().Dimensions[1])
	}
}

// logSumExp is log Σ exp(x) over axis, computed stably by factoring out the max.
func logSumExp(x *Node, axis int) *Node {
	m := StopGradient(ReduceAndKeep(x, ReduceMax, axis))
	return Add(Squeeze(m, axis), Log(ReduceSum(Exp(Sub(x, m)), axis)))
}
