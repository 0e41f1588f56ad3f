package training

import (
	"fmt"
	"math"
	"strings"

	"github.com/gomlx/compute"
	"github.com/gomlx/compute/dtypes"
	. "github.com/gomlx/gomlx/core/graph" //nolint:revive
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/model"

	"github.com/flowbook/flowbook/flowlib"
	"github.com/flowbook/flowbook/flowlib/data"
)

// evalBatchSize bounds the memory of evaluation graphs.
const evalBatchSize = 4096

// LogProbs returns log p(x) in nats for every example of samples.
func LogProbs(backend compute.Backend, store *model.Store, flow *flowlib.Flow, samples *data.Samples) ([]float64, error) {
	if samples == nil || samples.N == 0 {
		return nil, fmt.Errorf("training: no examples to evaluate")
	}
	if event := flow.Base.EventShape(); len(event) != 1 || event[0] != samples.Dim {
		return nil, fmt.Errorf("the model expects data of dimension %v but the data has dimension %d", event, samples.Dim)
	}
	exec, err := model.NewExec(backend, store, func(scope *model.Scope, x *Node) *Node {
		return flow.LogProb(scope, x)
	})
	if err != nil {
		return nil, err
	}
	defer exec.Finalize()
	out := make([]float64, 0, samples.N)
	for start := 0; start < samples.N; start += evalBatchSize {
		end := min(start+evalBatchSize, samples.N)
		x := tensors.FromFlatDataAndDimensions(samples.Values[start*samples.Dim:end*samples.Dim], end-start, samples.Dim)
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
	event := flow.Base.EventShape()
	if len(event) != 1 {
		return nil, fmt.Errorf("training: Sample handles vector data; the base has event shape %v", event)
	}
	exec, err := model.NewExec(backend, store, func(scope *model.Scope, g *Graph) *Node {
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
	return &data.Samples{Values: tensors.MustCopyFlatData[float32](res[0]), N: n, Dim: event[0]}, nil
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
	if len(badVars) > 0 {
		e.Cause = fmt.Sprintf("Non-finite values are in the variables %s.", strings.Join(badVars, ", "))
	}
	if layer := c.firstNonFiniteLayer(lastBatch); layer != "" {
		e.Cause += " On the last batch, they first appear " + layer + "."
	}
	return e
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
	res, err := exec.Call(tensors.FromFlatDataAndDimensions(batch, len(batch)/dim, dim))
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
