package flowlib

import (
	"slices"
	"strconv"
	"strings"

	"github.com/gomlx/compute/dtypes"
	"github.com/gomlx/compute/shapes"
	. "github.com/gomlx/gomlx/core/graph" //nolint:revive
	"github.com/gomlx/gomlx/core/tensors"
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
// (dim <= 0 accepts any) and at least one example.
func requireVectors(layer string, x *Node, dim int) {
	if x.Rank() != 2 {
		exceptions.Panicf("flowlib: %s expects vector data of shape [batchSize, dim], got shape %s; "+
			"reshape the input to rank 2, or use an image layer for images", layer, x.Shape())
	}
	if dim > 0 && x.Shape().Dimensions[1] != dim {
		exceptions.Panicf("flowlib: %s was built for dimension %d but got data of shape %s (dimension %d)",
			layer, dim, x.Shape(), x.Shape().Dimensions[1])
	}
	requireNonEmpty(layer, x)
}

// requireExamples panics unless x is a batch of vectors or images, [batchSize,
// ...] of rank at least 2, with at least one example: for the elementwise
// layers (Logit, ActNorm, dequantization) a rank-1 tensor would otherwise be
// read as a batch of one-value examples, unlike every other layer.
func requireExamples(layer string, x *Node) {
	if x.Rank() < 2 {
		exceptions.Panicf("flowlib: %s expects data of shape [batchSize, dim] or [batchSize, height, width, channels], "+
			"got shape %s; reshape one example to [1, ...], or a batch of single values to [batchSize, 1]", layer, x.Shape())
	}
	requireNonEmpty(layer, x)
}

// requireNonEmpty panics unless x has a batch axis of at least one example.
// GoMLX cannot broadcast a [1, D] variable against [0, D] data (and some
// layers divide by the batch size), so an empty batch is refused by name
// while the graph is built, before any backend sees it.
func requireNonEmpty(op string, x *Node) {
	if x.Rank() == 0 {
		exceptions.Panicf("flowlib: %s expects a batch of examples [batchSize, ...], got a scalar (shape %s); "+
			"add a batch axis, e.g. reshape it to [1, 1]", op, x.Shape())
	}
	if x.Shape().Dimensions[0] == 0 {
		exceptions.Panicf("flowlib: empty batch: %s needs at least one example (got shape %s); "+
			"skip empty batches before calling it", op, x.Shape())
	}
}

// requireSampleCount panics unless n, a number of samples to draw, is at least 1.
func requireSampleCount(op string, n int) {
	if n < 1 {
		exceptions.Panicf("flowlib: %s needs at least one sample (n ≥ 1), got n = %d", op, n)
	}
}

// logSumExp is log Σ exp(x) over axis, computed stably by factoring out the max.
func logSumExp(x *Node, axis int) *Node {
	m := StopGradient(ReduceAndKeep(x, ReduceMax, axis))
	return Add(Squeeze(m, axis), Log(ReduceSum(Exp(Sub(x, m)), axis)))
}

// requireImages panics unless x is [batchSize, height, width, channels] with
// at least one example; a non-positive expected size accepts any.
func requireImages(layer string, x *Node, height, width, channels int) {
	if x.Rank() != 4 {
		exceptions.Panicf("flowlib: %s expects images of shape [batchSize, height, width, channels], got shape %s; "+
			"for grey images of shape [batchSize, height, width] add a channel axis of size 1", layer, x.Shape())
	}
	dims := x.Shape().Dimensions
	for i, want := range []int{height, width, channels} {
		if want > 0 && dims[i+1] != want {
			exceptions.Panicf("flowlib: %s was built for images of %s but got shape %s",
				layer, describeImage(height, width, channels), x.Shape())
		}
	}
	requireNonEmpty(layer, x)
}

// describeImage writes an image size such as "28×28×1", with "any" for sizes
// that are not fixed.
func describeImage(height, width, channels int) string {
	parts := make([]string, 3)
	for i, v := range []int{height, width, channels} {
		parts[i] = "any"
		if v > 0 {
			parts[i] = strconv.Itoa(v)
		}
	}
	return strings.Join(parts, "×") + " (height×width×channels)"
}

// lastAxisHalves splits x into its first and second halves along the last axis.
func lastAxisHalves(x *Node) (first, second *Node) {
	last := x.Rank() - 1
	n := x.Shape().Dimensions[last]
	return SliceAxis(x, last, AxisRange(0, n/2)), SliceAxis(x, last, AxisRange(n/2, n))
}

// hostTensor returns values (row-major, of the given dimensions) as a tensor of
// dtype, which must be a float type.
func hostTensor(dtype dtypes.DType, values []float64, dims ...int) *tensors.Tensor {
	switch dtype {
	case dtypes.Float64:
		return tensors.FromFlatDataAndDimensions(slices.Clone(values), dims...)
	case dtypes.Float32:
		f32 := make([]float32, len(values))
		for i, v := range values {
			f32[i] = float32(v)
		}
		return tensors.FromFlatDataAndDimensions(f32, dims...)
	}
	exceptions.Panicf("flowlib: dtype %s is not supported here; use float32 or float64", dtype)
	return nil
}

// flatFloat64 returns the values of a float32 or float64 tensor as float64
// (nil for other dtypes).
func flatFloat64(t *tensors.Tensor) []float64 {
	var out []float64
	t.MustConstFlatData(func(flat any) {
		switch f := flat.(type) {
		case []float32:
			out = make([]float64, len(f))
			for i, v := range f {
				out[i] = float64(v)
			}
		case []float64:
			out = slices.Clone(f)
		}
	})
	return out
}
