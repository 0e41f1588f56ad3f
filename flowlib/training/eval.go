package training

import (
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/gomlx/compute"
	"github.com/gomlx/compute/dtypes"
	. "github.com/gomlx/gomlx/core/graph" //nolint:revive
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/model"

	"github.com/flowbook/flowbook/flowlib"
	"github.com/flowbook/flowbook/flowlib/data"
	"github.com/flowbook/flowbook/flowlib/internal/graphpanic"
)

// evalBatchSize bounds the memory of evaluation graphs: up to 4096 examples,
// fewer for large ones (130 MNIST images), whose convolutions need far more
// memory per example.
func evalBatchSize(valuesPerExample int) int {
	return max(1, min(4096, 102400/max(valuesPerExample, 1)))
}

// LogProbs returns log p(x) in nats for every example of samples.
func LogProbs(backend compute.Backend, store *model.Store, flow *flowlib.Flow, samples *data.Samples) ([]float64, error) {
	if err := checkEvalData(flow, samples); err != nil {
		return nil, err
	}
	exec, err := newLogProbExec(backend, store, flow)
	if err != nil {
		return nil, err
	}
	defer exec.Finalize()
	return logProbsWith(exec, samples)
}

func checkEvalData(flow *flowlib.Flow, samples *data.Samples) error {
	if samples == nil || samples.N == 0 {
		return fmt.Errorf("training: no examples to evaluate")
	}
	return checkData(flow, "data", samples)
}

// newLogProbExec returns an executor of the flow's log-density. It compiles
// a graph per batch shape on its first call with that shape and reads the
// variables' current values at every call, so training keeps one for all its
// evaluations: XLA takes 0.1–1 s to compile a flow, pure Go next to nothing.
func newLogProbExec(backend compute.Backend, store *model.Store, flow *flowlib.Flow) (*model.Exec, error) {
	return model.NewExec(backend, store, func(scope *model.Scope, x *Node) *Node {
		defer graphpanic.AsError()
		return flow.LogProb(scope, x)
	})
}

// logProbsWith evaluates samples, checked by checkEvalData, with an executor
// from newLogProbExec, in batches of evalBatchSize.
func logProbsWith(exec *model.Exec, samples *data.Samples) ([]float64, error) {
	out := make([]float64, 0, samples.N)
	batch := evalBatchSize(samples.Dim)
	for start := 0; start < samples.N; start += batch {
		end := min(start+batch, samples.N)
		dims := append([]int{end - start}, samples.EventShape()...)
		x := tensors.FromFlatDataAndDimensions(samples.Values[start*samples.Dim:end*samples.Dim], dims...)
		res, err := exec.Call(x)
		if err != nil {
			return nil, err
		}
		for _, v := range tensors.MustCopyFlatData[float32](res[0]) {
			out = append(out, float64(v))
		}
	}
	return out, nil
}

// MeanLogProb returns the mean log-likelihood of samples in nats.
func MeanLogProb(backend compute.Backend, store *model.Store, flow *flowlib.Flow, samples *data.Samples) (float64, error) {
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

// Sample draws n samples from the flow at the given temperature.
func Sample(backend compute.Backend, store *model.Store, flow *flowlib.Flow, n int, temperature float64) (*data.Samples, error) {
	if n < 1 {
		return nil, fmt.Errorf("training: number of samples must be at least 1, got %d", n)
	}
	if !(temperature > 0) {
		return nil, fmt.Errorf("training: temperature must be positive, got %g", temperature)
	}
	exec, err := model.NewExec(backend, store, func(scope *model.Scope, g *Graph) *Node {
		defer graphpanic.AsError()
		return flow.Sample(scope, g, dtypes.Float32, n, temperature)
	})
	if err != nil {
		return nil, err
	}
	defer exec.Finalize()
	res, err := exec.Call()
	if err != nil {
		return nil, err
	}
	return samplesFromTensor(res[0], flow.Base.EventShape()), nil
}

// samplesFromTensor copies a float32 tensor [n, event...] into Samples.
func samplesFromTensor(t *tensors.Tensor, event []int) *data.Samples {
	values := tensors.MustCopyFlatData[float32](t)
	n := t.Shape().Dimensions[0]
	s := &data.Samples{Values: values, N: n, Dim: len(values) / max(n, 1)}
	if len(event) > 1 {
		s.Shape = slices.Clone(event)
	}
	return s
}

// Reconstruct maps every example to the latent space and back, x → f⁻¹(f(x)).
// For an exact flow on continuous data it returns x up to rounding; for an
// image flow it also shows that the dequantization noise is undone.
func Reconstruct(backend compute.Backend, store *model.Store, flow *flowlib.Flow, samples *data.Samples) (*data.Samples, error) {
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
func InterpolateLatents(backend compute.Backend, store *model.Store, flow *flowlib.Flow, samples *data.Samples, a, b, steps int) (*data.Samples, error) {
	if steps < 2 {
		return nil, fmt.Errorf("training: interpolation needs at least 2 steps, got %d", steps)
	}
	if samples == nil || a < 0 || b < 0 || a >= samples.N || b >= samples.N {
		return nil, fmt.Errorf("training: interpolation endpoints %d and %d must be examples of the data (0…N−1)", a, b)
	}
	pair := &data.Samples{Values: append(slices.Clone(samples.Row(a)), samples.Row(b)...), N: 2, Dim: samples.Dim, Shape: samples.Shape}
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
		tNode := ExpandLeftToRank(ConvertDType(Const(x.Graph(), t), z.DType()), 1)
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

// mapBatches runs fn on samples in batches and collects the results, which
// have the shape [batch, event...].
func mapBatches(backend compute.Backend, store *model.Store, samples *data.Samples, event []int, fn func(*model.Scope, *Node) *Node) (*data.Samples, error) {
	exec, err := model.NewExec(backend, store, func(scope *model.Scope, x *Node) *Node {
		defer graphpanic.AsError()
		return fn(scope, x)
	})
	if err != nil {
		return nil, err
	}
	defer exec.Finalize()
	var values []float32
	n := 0
	batch := evalBatchSize(samples.Dim)
	for start := 0; start < samples.N; start += batch {
		end := min(start+batch, samples.N)
		dims := append([]int{end - start}, samples.EventShape()...)
		res, err := exec.Call(tensors.FromFlatDataAndDimensions(samples.Values[start*samples.Dim:end*samples.Dim], dims...))
		if err != nil {
			return nil, err
		}
		values = append(values, tensors.MustCopyFlatData[float32](res[0])...)
		n += res[0].Shape().Dimensions[0]
	}
	out := &data.Samples{Values: values, N: n, Dim: len(values) / max(n, 1)}
	if len(event) > 1 {
		out.Shape = slices.Clone(event)
	}
	return out, nil
}

// NonFiniteError reports a loss that became NaN or Inf during training.
type NonFiniteError struct {
	Step  int
	Loss  float64
	Cause string
}

// Error implements error: the step, the loss, where the non-finite values
// are, and what to try.
func (e *NonFiniteError) Error() string {
	return fmt.Sprintf("training stopped at step %d: the loss is %v. %s\n"+
		"Try a lower learning rate, gradient clipping (a smaller clip norm), or check the data for extreme values.",
		e.Step, e.Loss, e.Cause)
}

// diagnoseNonFinite finds where non-finite values first appear: in the
// variables, or after which layer of the flow on the last batch.
func (c *Config) diagnoseNonFinite(step int, loss float64, lastBatch []float32) error {
	e := &NonFiniteError{Step: step, Loss: loss}
	var badVars []string
	for v := range c.store.IterVariables() {
		if !v.DType().IsFloat() {
			continue
		}
		value, err := v.Value()
		if err != nil {
			continue
		}
		for _, x := range flat64(value) {
			if math.IsNaN(x) || math.IsInf(x, 0) {
				badVars = append(badVars, v.Path())
				break
			}
		}
	}
	var causes []string
	if len(badVars) > 0 {
		// A model has hundreds of variables (and Adam two moments for each):
		// name a few, so the message stays readable.
		causes = append(causes, fmt.Sprintf("Non-finite values are in %d variable(s): %s.", len(badVars), listFew(badVars, maxNamedVariables)))
	}
	if layer := c.firstNonFiniteLayer(lastBatch); layer != "" {
		causes = append(causes, "On the last batch, they first appear "+layer+".")
	}
	if err := flowlib.CheckActNormInit(c.store); err != nil {
		causes = append(causes, err.Error()+".")
	}
	e.Cause = strings.Join(causes, " ")
	return e
}

// maxNamedVariables is how many non-finite variables a NonFiniteError names.
const maxNamedVariables = 5

// listFew joins the first n names with commas and counts the rest.
func listFew(names []string, n int) string {
	if len(names) <= n {
		return strings.Join(names, ", ")
	}
	return fmt.Sprintf("%s, and %d more", strings.Join(names[:n], ", "), len(names)-n)
}

// firstNonFiniteLayer runs the flow's trace on the batch and names the first
// layer whose output or log-det is not finite ("" if none, or if it can't tell).
func (c *Config) firstNonFiniteLayer(batch []float32) string {
	chain, ok := c.flow.Bijector.(*flowlib.Chain)
	if !ok || len(batch) == 0 {
		return ""
	}
	dim := c.train.Dim
	exec, err := model.NewExec(c.backend, c.store, func(scope *model.Scope, x *Node) []*Node {
		defer graphpanic.AsError()
		trace, logDets := chain.ForwardTrace(scope.At("bijector"), x)
		var finite []*Node
		for i := range logDets {
			ok := LogicalAnd(LogicalAll(IsFinite(trace[i+1])), LogicalAll(IsFinite(logDets[i])))
			finite = append(finite, ok)
		}
		return finite
	})
	if err != nil {
		return ""
	}
	defer exec.Finalize()
	res, err := exec.Call(tensors.FromFlatDataAndDimensions(batch, append([]int{len(batch) / dim}, c.train.EventShape()...)...))
	if err != nil {
		return ""
	}
	for i, r := range res {
		if !tensors.ToScalar[bool](r) {
			return fmt.Sprintf("in layer %s", chain.LayerScopeName(i))
		}
	}
	return ""
}

func flat64(t *tensors.Tensor) []float64 {
	var out []float64
	t.MustConstFlatData(func(flat any) {
		switch f := flat.(type) {
		case []float32:
			for _, v := range f {
				out = append(out, float64(v))
			}
		case []float64:
			out = append(out, f...)
		}
	})
	return out
}
