package flowlib

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/gomlx/compute/dtypes"
	"github.com/gomlx/gomlx/core/tensors"
)

// DataChecker is implemented by bijectors that accept only some inputs, such
// as the dequantization layers, which need integer pixel values, and [Logit],
// which needs values in [0, 1]. CheckData and CheckData64 return an error
// describing the first value they reject, in float32 or float64 data; values
// holds examples row-major, valuesPerExample each. (Go methods cannot be
// generic, hence one method per precision.)
type DataChecker interface {
	CheckData(values []float32, valuesPerExample int) error
	CheckData64(values []float64, valuesPerExample int) error
}

// CheckData validates data for the flow before it reaches a graph, which
// cannot report bad values itself (see [Flow.LogProb]): like the validate_args
// of torch.distributions, but called explicitly. values holds examples
// row-major, valuesPerExample each. It returns an error naming the first
// problem, and the example and coordinate (the index within the example) where
// it is:
//   - valuesPerExample must be the size of the flow's event shape (for
//     example 784 for 28×28×1 images), and there must be at least one
//     example and a whole number of them;
//   - every value must be finite, for every kind of flow: one NaN or Inf makes
//     its example's log-probability NaN, and the loss and every gradient with it;
//   - the values must be in the domain of the flow's first layer (descending
//     into chains), if it is a [DataChecker]: integer pixel values for a
//     dequantizing image flow, [0, 1] for a leading [Logit].
//
// The training and inference packages call it on the data they are given.
// [Flow.CheckData64] is the same check of float64 data.
func (f *Flow) CheckData(values []float32, valuesPerExample int) error {
	if err := checkValues(f, values, valuesPerExample); err != nil {
		return err
	}
	if checker, ok := f.firstLayer().(DataChecker); ok {
		return checker.CheckData(values, valuesPerExample)
	}
	return nil
}

// CheckData64 is [Flow.CheckData] for float64 data, checked as it is, for a
// model that computes in float64: a value that only rounding to float32
// would bring into the first layer's domain is rejected.
func (f *Flow) CheckData64(values []float64, valuesPerExample int) error {
	if err := checkValues(f, values, valuesPerExample); err != nil {
		return err
	}
	if checker, ok := f.firstLayer().(DataChecker); ok {
		return checker.CheckData64(values, valuesPerExample)
	}
	return nil
}

// checkValues makes the checks of CheckData that hold for every flow: the
// size of the examples and finite values.
func checkValues[T float32 | float64](f *Flow, values []T, valuesPerExample int) error {
	if f.Base != nil {
		event := f.Base.EventShape()
		if want := eventSize(event); valuesPerExample != want {
			return fmt.Errorf("the model's examples have %d values (event shape %v), but the data has %d values per example; "+
				"give examples of the model's shape", want, event, valuesPerExample)
		}
	}
	if valuesPerExample < 1 {
		return fmt.Errorf("values per example must be at least 1, got %d", valuesPerExample)
	}
	if len(values) == 0 {
		return errors.New("no examples (0 values): give at least one example")
	}
	if len(values)%valuesPerExample != 0 {
		return fmt.Errorf("%d values are not a whole number of examples of %d values each", len(values), valuesPerExample)
	}
	for i, v := range values {
		if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
			return fmt.Errorf("non-finite value (%v) in example %d, coordinate %d: it would make that example's "+
				"log-probability, and any loss and gradient over it, NaN; remove or impute it", v, i/valuesPerExample, i%valuesPerExample)
		}
	}
	return nil
}

// firstLayer is the layer data meets first, inside nested chains.
func (f *Flow) firstLayer() Bijector {
	b := f.Bijector
	for {
		chain, ok := b.(*Chain)
		if !ok || len(chain.Layers) == 0 {
			return b
		}
		b = chain.Layers[0]
	}
}

// CheckTensor is [Flow.CheckData] for a tensor to give to LogProb: x must
// be float32 or float64 of shape [batchSize, event...], with the base
// distribution's event shape (the data's shape in every flow this package
// builds) and batchSize ≥ 1, and its values must pass CheckData, or
// CheckData64 for a float64 tensor.
func (f *Flow) CheckTensor(x *tensors.Tensor) error {
	if x == nil {
		return errors.New("no tensor (nil)")
	}
	shape := x.Shape()
	if shape.DType != dtypes.Float32 && shape.DType != dtypes.Float64 {
		return fmt.Errorf("data of dtype %s: flows take float32 or float64 data; convert it first", shape.DType)
	}
	if shape.Rank() == 0 {
		return fmt.Errorf("got a scalar (shape %s), want a batch of examples [batchSize, ...]; add a batch axis", shape)
	}
	if f.Base != nil {
		event := f.Base.EventShape()
		if !slices.Equal(shape.Dimensions[1:], event) {
			return fmt.Errorf("got shape %s, but the model takes a batch of examples of shape %v: [batchSize, %s]",
				shape, event, strings.Trim(fmt.Sprint(event), "[]"))
		}
	}
	if shape.Dimensions[0] == 0 {
		return fmt.Errorf("empty batch (shape %s): give at least one example", shape)
	}
	perExample := shape.Size() / shape.Dimensions[0]
	if shape.DType == dtypes.Float64 {
		return f.CheckData64(tensors.MustCopyFlatData[float64](x), perExample)
	}
	return f.CheckData(tensors.MustCopyFlatData[float32](x), perExample)
}

// eventSize is the number of values in one event of the given shape.
func eventSize(event []int) int {
	n := 1
	for _, d := range event {
		n *= d
	}
	return n
}
