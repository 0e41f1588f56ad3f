package flowlib

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/gomlx/compute/dtypes"
	. "github.com/gomlx/gomlx/core/graph" //nolint:revive
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/model"
)

// Flow is a normalizing flow: a base distribution on the latent space and a
// bijector from data to latent. By the change of variables,
//
//	log p(x) = log p_base(f(x)) + log|det ∂f/∂x|
//
// The bijector's variables live in the sub-scope "bijector", the base's in "base".
type Flow struct {
	Base     Distribution
	Bijector Bijector
}

// NewFlow returns a flow with the given base distribution whose bijector is
// the [Chain] of layers (applied in order from data to latent).
func NewFlow(base Distribution, layers ...Bijector) *Flow {
	return &Flow{Base: base, Bijector: NewChain(layers...)}
}

func (f *Flow) bijectorScope(scope *model.Scope) *model.Scope { return scope.At("bijector") }
func (f *Flow) baseScope(scope *model.Scope) *model.Scope     { return scope.At("base") }

// Forward maps data x to the latent z = f(x) and returns log|det ∂f/∂x|.
// It panics on an empty batch, like LogProb.
func (f *Flow) Forward(scope *model.Scope, x *Node) (z, logDet *Node) {
	requireNonEmpty("Forward", x)
	return f.Bijector.Forward(f.bijectorScope(scope), x)
}

// Inverse maps a latent z back to data x = f⁻¹(z) and returns log|det ∂f⁻¹/∂z|.
// It panics on an empty batch, like LogProb.
func (f *Flow) Inverse(scope *model.Scope, z *Node) (x, logDet *Node) {
	requireNonEmpty("Inverse", z)
	return f.Bijector.Inverse(f.bijectorScope(scope), z)
}

// LogProb returns the exact log-density log p(x) of each example, in nats,
// shape [batchSize].
//
// The shape is checked while the graph is built: an empty batch
// ([0, ...]), a scalar or a wrong rank panics with a message saying so
// (executors turn it into an error). The values are not validated inside the
// graph: a NaN or Inf in an example, or a value outside the domain of the
// first layer (integer pixel levels for an image flow, [0, 1] for a leading
// [Logit]), silently gives NaN or ±Inf for that example. Call [Flow.CheckData]
// or [Flow.CheckTensor] on data from outside first; the training package
// does, for training, evaluation and reconstruction alike.
func (f *Flow) LogProb(scope *model.Scope, x *Node) *Node {
	requireNonEmpty("LogProb", x)
	z, logDet := f.Forward(scope, x)
	return Add(f.Base.LogProb(f.baseScope(scope), z), logDet)
}

// Sample draws n samples: z from the base at the given temperature (1 is the
// model itself), then x = f⁻¹(z). The result has shape [n, event...]. It
// panics unless n ≥ 1.
func (f *Flow) Sample(scope *model.Scope, g *Graph, dtype dtypes.DType, n int, temperature float64) *Node {
	x, _ := f.SampleWithLogProb(scope, g, dtype, n, temperature)
	return x
}

// SampleWithLogProb is Sample that also returns log p(x) of each sample under
// the model (at temperature 1 this is the density the samples come from):
// log p(x) = log p_base(z) − log|det ∂f⁻¹/∂z|.
func (f *Flow) SampleWithLogProb(scope *model.Scope, g *Graph, dtype dtypes.DType, n int, temperature float64) (x, logProb *Node) {
	requireSampleCount("Sample", n)
	z := f.Base.Sample(f.baseScope(scope), g, dtype, n, temperature)
	x, logDet := f.Inverse(scope, z)
	return x, Sub(f.Base.LogProb(f.baseScope(scope), z), logDet)
}

// Trace returns x and the tensor after each layer on the way to the latent
// (data → latent). If the bijector is not a [Chain], it returns just x and z.
func (f *Flow) Trace(scope *model.Scope, x *Node) []*Node {
	requireNonEmpty("Trace", x)
	if chain, ok := f.Bijector.(*Chain); ok {
		trace, _ := chain.ForwardTrace(f.bijectorScope(scope), x)
		return trace
	}
	z, _ := f.Forward(scope, x)
	return []*Node{x, z}
}

// InverseTrace returns z and the tensor after each inverted layer on the way
// back to data (latent → data): the picture of a flow warping the base
// distribution into the data, one layer at a time.
func (f *Flow) InverseTrace(scope *model.Scope, z *Node) []*Node {
	requireNonEmpty("InverseTrace", z)
	if chain, ok := f.Bijector.(*Chain); ok {
		trace, _ := chain.InverseTrace(f.bijectorScope(scope), z)
		return trace
	}
	x, _ := f.Inverse(scope, z)
	return []*Node{z, x}
}

// DataChecker is implemented by bijectors that accept only some inputs, such
// as the dequantization layers, which need integer pixel values, and [Logit],
// which needs values in [0, 1]. CheckData returns an error describing the
// first value it rejects; values holds examples row-major, valuesPerExample
// each.
type DataChecker interface {
	CheckData(values []float32, valuesPerExample int) error
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
// The training package calls it on its training, test and evaluation data.
func (f *Flow) CheckData(values []float32, valuesPerExample int) error {
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
	if checker, ok := f.firstLayer().(DataChecker); ok {
		return checker.CheckData(values, valuesPerExample)
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
// builds) and batchSize ≥ 1, and its values must pass CheckData. float64
// values are checked after rounding to float32.
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
	values := flatFloat64(x)
	f32 := make([]float32, len(values))
	for i, v := range values {
		f32[i] = float32(v)
	}
	return f.CheckData(f32, shape.Size()/shape.Dimensions[0])
}

// eventSize is the number of values in one event of the given shape.
func eventSize(event []int) int {
	n := 1
	for _, d := range event {
		n *= d
	}
	return n
}
