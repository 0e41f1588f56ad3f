package inference

import (
	"errors"
	"fmt"
	"slices"
	"unsafe"

	"github.com/gomlx/compute"
	"github.com/gomlx/compute/dtypes"
	. "github.com/gomlx/gomlx/core/graph" //nolint:revive
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/model"

	"github.com/flowbook/flowbook/flowlib"
	"github.com/flowbook/flowbook/flowlib/data"
	"github.com/flowbook/flowbook/flowlib/internal/graphpanic"
)

// ModelDType returns the dtype the flow whose variables live in store
// computes in: that of the store's trainable float variables, Float32 or
// Float64. It returns dtypes.InvalidDType, and no error, when the store has
// none yet (see the package doc), and an error when they mix dtypes, which
// no flow of flowlib does. Non-trainable variables, such as the optimizer's
// moments or ActNorm's flags, do not count.
func ModelDType(store *model.Store) (dtypes.DType, error) {
	found := dtypes.InvalidDType
	var foundPath string
	for v := range store.IterVariables() {
		if !v.Trainable || !v.DType().IsFloat() {
			continue
		}
		switch {
		case found == dtypes.InvalidDType:
			found, foundPath = v.DType(), v.Path()
		case v.DType() != found:
			return dtypes.InvalidDType, fmt.Errorf("inference: the model's variables mix dtypes: %s is %s but %s is %s; "+
				"build and train a model in one dtype", foundPath, found, v.Path(), v.DType())
		}
	}
	return found, nil
}

// dtypeOf is the dtype of host values of type T.
func dtypeOf[T data.Float]() dtypes.DType {
	if unsafe.Sizeof(T(0)) == 4 {
		return dtypes.Float32
	}
	return dtypes.Float64
}

// computeDType is the dtype the graphs compute in for data of type T: the
// model's, or T's when the model has no variables yet.
func computeDType[T data.Float](store *model.Store) (dtypes.DType, error) {
	dtype, err := ModelDType(store)
	if err != nil || dtype != dtypes.InvalidDType {
		return dtype, err
	}
	return dtypeOf[T](), nil
}

// inModelDType converts the data x to the dtype the model computes in; it
// runs while the graph is built, when the store's variables are known.
func inModelDType(store *model.Store, x *Node) *Node {
	dtype, err := ModelDType(store)
	if err != nil {
		panic(err)
	}
	if dtype == dtypes.InvalidDType || dtype == x.DType() {
		return x
	}
	return ConvertDType(x, dtype)
}

// CheckSamples returns an error unless s can be given to flow: at least one
// example, of the shape of the flow's base distribution, with values the
// flow accepts: finite, and in the domain of its first layer
// ([flowlib.Flow.CheckData], [flowlib.Flow.CheckData64]), for vector and
// image flows alike. what names the data in the messages ("training data",
// say), which name the first bad example and coordinate. Every function of
// this package calls it, and package training on its training and test data.
func CheckSamples[T data.Float](flow *flowlib.Flow, what string, s *data.SamplesOf[T]) error {
	if err := checkShape(flow, what, s); err != nil {
		return err
	}
	var err error
	switch values := any(s.Values).(type) {
	case []float32:
		err = flow.CheckData(values, s.Dim)
	case []float64:
		err = flow.CheckData64(values, s.Dim)
	}
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	return nil
}

// checkShape returns an error unless each example has the shape of the flow's
// base distribution.
func checkShape[T data.Float](flow *flowlib.Flow, what string, s *data.SamplesOf[T]) error {
	if s == nil || s.N == 0 {
		return fmt.Errorf("no %s (0 examples)", what)
	}
	if s.N < 0 || s.Dim < 1 {
		return fmt.Errorf("%s has N = %d examples of Dim = %d values; both must be positive", what, s.N, s.Dim)
	}
	if len(s.Values) != s.N*s.Dim {
		return fmt.Errorf("%s has %d values but N×Dim = %d×%d", what, len(s.Values), s.N, s.Dim)
	}
	if s.Shape != nil {
		size := 1
		for _, d := range s.Shape {
			size *= d
		}
		if size != s.Dim {
			return fmt.Errorf("%s has examples of shape %v (%d values) but Dim = %d; fix Shape or Dim", what, s.Shape, size, s.Dim)
		}
	}
	want, got := flow.Base.EventShape(), s.EventShape()
	if !slices.Equal(want, got) {
		hint := ""
		if len(want) == 3 && len(got) == 1 {
			hint = "; this is an image model: give it images (e.g. --data mnist:DIR), or use a vector model for vector data"
		} else if len(want) == 1 && len(got) == 3 {
			hint = "; this is a vector model: use an image model (glow, realnvp with images) for images"
		}
		return fmt.Errorf("the model expects examples of shape %v but the %s has examples of shape %v%s", want, what, got, hint)
	}
	return nil
}

// checkData is CheckSamples with this package's prefix on its errors.
func checkData[T data.Float](flow *flowlib.Flow, what string, s *data.SamplesOf[T]) error {
	if err := CheckSamples(flow, what, s); err != nil {
		return fmt.Errorf("inference: %w", err)
	}
	return nil
}

// batchSize bounds the memory of the graphs: up to 4096 examples, fewer for
// large ones (130 MNIST images), whose convolutions need far more memory per
// example.
func batchSize(valuesPerExample int) int {
	return max(1, min(4096, 102400/max(valuesPerExample, 1)))
}

// Evaluator computes a flow's log-densities again and again. It compiles a
// graph per batch shape on its first use with that shape and reads the
// variables' current values at every call, so that training keeps one for
// all its evaluations: XLA takes 0.1–1 s to compile a flow, pure Go next to
// nothing. Call Finalize when done.
type Evaluator struct {
	flow *flowlib.Flow
	exec *model.Exec
}

// NewEvaluator returns an Evaluator of flow, whose variables live in store.
func NewEvaluator(backend compute.Backend, store *model.Store, flow *flowlib.Flow) (*Evaluator, error) {
	exec, err := model.NewExec(backend, store, func(scope *model.Scope, x *Node) *Node {
		defer graphpanic.AsError()
		// float64: what the host reads, without rounding a float64 model's values.
		return ConvertDType(flow.LogProb(scope, inModelDType(store, x)), dtypes.Float64)
	})
	if err != nil {
		return nil, fmt.Errorf("inference: %w", err)
	}
	return &Evaluator{flow: flow, exec: exec}, nil
}

// LogProbs returns log p(x) in nats for every example of samples, like the
// function [LogProbs].
func (e *Evaluator) LogProbs(samples *data.Samples) ([]float64, error) {
	return logProbsWith(e, samples)
}

// Finalize frees the compiled graphs.
func (e *Evaluator) Finalize() { e.exec.Finalize() }

// logProbsWith is Evaluator.LogProbs for data of either precision (Go
// methods cannot be generic).
func logProbsWith[T data.Float](e *Evaluator, samples *data.SamplesOf[T]) ([]float64, error) {
	if samples == nil || samples.N == 0 {
		return nil, errors.New("inference: no examples to evaluate")
	}
	if err := checkData(e.flow, "data", samples); err != nil {
		return nil, err
	}
	out := make([]float64, 0, samples.N)
	batch := batchSize(samples.Dim)
	for start := 0; start < samples.N; start += batch {
		end := min(start+batch, samples.N)
		dims := append([]int{end - start}, samples.EventShape()...)
		res, err := e.exec.Call(tensors.FromFlatDataAndDimensions(samples.Values[start*samples.Dim:end*samples.Dim], dims...))
		if err != nil {
			return nil, fmt.Errorf("inference: %w", err)
		}
		out = append(out, tensors.MustCopyFlatData[float64](res[0])...)
	}
	return out, nil
}

// LogProbs returns log p(x) in nats for every example of samples, computed
// in the model's dtype (see the package doc).
func LogProbs[T data.Float](backend compute.Backend, store *model.Store, flow *flowlib.Flow, samples *data.SamplesOf[T]) ([]float64, error) {
	e, err := NewEvaluator(backend, store, flow)
	if err != nil {
		return nil, err
	}
	defer e.Finalize()
	return logProbsWith(e, samples)
}

// MeanLogProb returns the mean log-likelihood of samples in nats.
func MeanLogProb[T data.Float](backend compute.Backend, store *model.Store, flow *flowlib.Flow, samples *data.SamplesOf[T]) (float64, error) {
	lp, err := LogProbs(backend, store, flow, samples)
	if err != nil {
		return 0, err
	}
	sum := 0.0
	for _, v := range lp {
		sum += v
	}
	return sum / float64(len(lp)), nil
}

// Sample draws n float32 samples from the flow at the given temperature
// (1 is the model's distribution; lower values concentrate the samples).
// The graph computes in the model's dtype; [SampleOf] float64 keeps a
// float64 model's samples unrounded.
func Sample(backend compute.Backend, store *model.Store, flow *flowlib.Flow, n int, temperature float64) (*data.Samples, error) {
	return SampleOf[float32](backend, store, flow, n, temperature)
}

// SampleOf is [Sample] returning values of type T.
func SampleOf[T data.Float](backend compute.Backend, store *model.Store, flow *flowlib.Flow, n int, temperature float64) (*data.SamplesOf[T], error) {
	if n < 1 {
		return nil, fmt.Errorf("inference: number of samples must be at least 1, got %d", n)
	}
	if !(temperature > 0) {
		return nil, fmt.Errorf("inference: temperature must be positive, got %g", temperature)
	}
	dtype, err := computeDType[T](store)
	if err != nil {
		return nil, err
	}
	exec, err := model.NewExec(backend, store, func(scope *model.Scope, g *Graph) *Node {
		defer graphpanic.AsError()
		return ConvertDType(flow.Sample(scope, g, dtype, n, temperature), dtypeOf[T]())
	})
	if err != nil {
		return nil, fmt.Errorf("inference: %w", err)
	}
	defer exec.Finalize()
	res, err := exec.Call()
	if err != nil {
		return nil, fmt.Errorf("inference: %w", err)
	}
	return samplesFromTensor[T](res[0], flow.Base.EventShape()), nil
}

// samplesFromTensor copies a tensor [n, event...] of T values into Samples.
func samplesFromTensor[T data.Float](t *tensors.Tensor, event []int) *data.SamplesOf[T] {
	values := tensors.MustCopyFlatData[T](t)
	n := t.Shape().Dimensions[0]
	s := &data.SamplesOf[T]{Values: values, N: n, Dim: len(values) / max(n, 1)}
	if len(event) > 1 {
		s.Shape = slices.Clone(event)
	}
	return s
}

// Reconstruct maps every example to the latent space and back, x → f⁻¹(f(x)).
// For an exact flow on continuous data it returns x up to rounding; for an
// image flow it also shows that the dequantization noise is undone.
func Reconstruct[T data.Float](backend compute.Backend, store *model.Store, flow *flowlib.Flow, samples *data.SamplesOf[T]) (*data.SamplesOf[T], error) {
	if err := checkData(flow, "data", samples); err != nil {
		return nil, err
	}
	return mapBatches(backend, store, samples, flow.Base.EventShape(), func(scope *model.Scope, x *Node) *Node {
		z, _ := flow.Forward(scope, x)
		back, _ := flow.Inverse(scope, z)
		return back
	})
}

// InterpolateLatents encodes examples a and b (row indices of samples) to latents
// z_a and z_b and decodes the points of the straight line between them:
// steps examples, from x_a (t = 0) to x_b (t = 1). In a well-trained image
// flow the intermediate images morph from one digit into the other.
func InterpolateLatents[T data.Float](backend compute.Backend, store *model.Store, flow *flowlib.Flow, samples *data.SamplesOf[T], a, b, steps int) (*data.SamplesOf[T], error) {
	if steps < 2 {
		return nil, fmt.Errorf("inference: interpolation needs at least 2 steps, got %d", steps)
	}
	if samples == nil || a < 0 || b < 0 || a >= samples.N || b >= samples.N {
		return nil, fmt.Errorf("inference: interpolation endpoints %d and %d must be examples of the data (0…N−1)", a, b)
	}
	pair := &data.SamplesOf[T]{Values: append(slices.Clone(samples.Row(a)), samples.Row(b)...), N: 2, Dim: samples.Dim, Shape: samples.Shape}
	if err := checkData(flow, "data", pair); err != nil {
		return nil, err
	}
	event := flow.Base.EventShape()
	return mapBatches(backend, store, pair, event, func(scope *model.Scope, x *Node) *Node {
		z, _ := flow.Forward(scope, x)
		za, zb := SliceAxis(z, 0, AxisElem(0)), SliceAxis(z, 0, AxisElem(1))
		t := make([]float64, steps)
		for i := range t {
			t[i] = float64(i) / float64(steps-1)
		}
		tNode := ConvertDType(Const(x.Graph(), t), z.DType())
		tNode = Reshape(tNode, append([]int{steps}, ones(len(event))...)...)
		line := Add(za, Mul(tNode, Sub(zb, za))) // [steps, event...]
		back, _ := flow.Inverse(scope, line)
		return back
	})
}

func ones(n int) []int {
	s := make([]int, n)
	for i := range s {
		s[i] = 1
	}
	return s
}

// mapBatches runs fn, in the model's dtype, on samples in batches and
// collects the results, which have the shape [batch, event...], as T.
func mapBatches[T data.Float](backend compute.Backend, store *model.Store, samples *data.SamplesOf[T], event []int, fn func(*model.Scope, *Node) *Node) (*data.SamplesOf[T], error) {
	exec, err := model.NewExec(backend, store, func(scope *model.Scope, x *Node) *Node {
		defer graphpanic.AsError()
		return ConvertDType(fn(scope, inModelDType(store, x)), x.DType())
	})
	if err != nil {
		return nil, fmt.Errorf("inference: %w", err)
	}
	defer exec.Finalize()
	var values []T
	n := 0
	batch := batchSize(samples.Dim)
	for start := 0; start < samples.N; start += batch {
		end := min(start+batch, samples.N)
		dims := append([]int{end - start}, samples.EventShape()...)
		res, err := exec.Call(tensors.FromFlatDataAndDimensions(samples.Values[start*samples.Dim:end*samples.Dim], dims...))
		if err != nil {
			return nil, fmt.Errorf("inference: %w", err)
		}
		values = append(values, tensors.MustCopyFlatData[T](res[0])...)
		n += res[0].Shape().Dimensions[0]
	}
	out := &data.SamplesOf[T]{Values: values, N: n, Dim: len(values) / max(n, 1)}
	if len(event) > 1 {
		out.Shape = slices.Clone(event)
	}
	return out, nil
}
