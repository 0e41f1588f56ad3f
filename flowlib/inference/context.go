package inference

import (
	"errors"
	"fmt"
	"math"

	"github.com/gomlx/compute"
	"github.com/gomlx/compute/dtypes"
	. "github.com/gomlx/gomlx/core/graph" //nolint:revive
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/model"

	"github.com/flowbook/flowbook/flowlib"
	"github.com/flowbook/flowbook/flowlib/data"
	"github.com/flowbook/flowbook/flowlib/internal/graphpanic"
)

// CheckContext returns an error unless context can go with samples to a
// conditional flow: one row per example (context.N == samples.N), at least
// one value per row, and every value finite. what names the data in the
// messages ("training data", say).
func CheckContext(what string, samples, context *data.Samples) error {
	switch {
	case context == nil:
		return fmt.Errorf("%s: no context given; a conditional flow needs one context row per example", what)
	case samples != nil && context.N != samples.N:
		return fmt.Errorf("%s: %d context rows for %d examples; give one context row per example", what, context.N, samples.N)
	case context.Dim < 1:
		return fmt.Errorf("%s: the context has %d values per row; give at least one", what, context.Dim)
	case len(context.Values) != context.N*context.Dim:
		return fmt.Errorf("%s: the context has %d values but N×Dim = %d×%d", what, len(context.Values), context.N, context.Dim)
	}
	for i, v := range context.Values {
		if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
			return fmt.Errorf("%s: non-finite context value (%v) in row %d, column %d; remove or impute it",
				what, v, i/context.Dim, i%context.Dim)
		}
	}
	return nil
}

// LogProbsWithContext returns log p(x | c) in nats for every example of
// samples and its row of context (see [flowlib.Flow.LogProbWithContext]).
func LogProbsWithContext(backend compute.Backend, store *model.Store, flow *flowlib.Flow, samples, context *data.Samples) ([]float64, error) {
	if samples == nil || samples.N == 0 {
		return nil, errors.New("inference: no examples to evaluate")
	}
	if err := checkData(flow, "data", samples); err != nil {
		return nil, err
	}
	if err := CheckContext("inference: data", samples, context); err != nil {
		return nil, err
	}
	exec, err := model.NewExec(backend, store, func(scope *model.Scope, x, c *Node) *Node {
		defer graphpanic.AsError()
		return ConvertDType(flow.LogProbWithContext(scope, inModelDType(store, x), inModelDType(store, c)), dtypes.Float64)
	})
	if err != nil {
		return nil, fmt.Errorf("inference: %w", err)
	}
	defer exec.Finalize()
	out := make([]float64, 0, samples.N)
	batch := batchSize(samples.Dim + context.Dim)
	for start := 0; start < samples.N; start += batch {
		end := min(start+batch, samples.N)
		x := tensors.FromFlatDataAndDimensions(samples.Values[start*samples.Dim:end*samples.Dim],
			append([]int{end - start}, samples.EventShape()...)...)
		c := tensors.FromFlatDataAndDimensions(context.Values[start*context.Dim:end*context.Dim],
			append([]int{end - start}, context.EventShape()...)...)
		res, err := exec.Call(x, c)
		if err != nil {
			return nil, fmt.Errorf("inference: %w", err)
		}
		out = append(out, tensors.MustCopyFlatData[float64](res[0])...)
	}
	return out, nil
}

// SampleWithContext draws one sample of the conditional flow for each row of
// context, at the given temperature (see [flowlib.Flow.SampleWithContext]).
func SampleWithContext(backend compute.Backend, store *model.Store, flow *flowlib.Flow, context *data.Samples, temperature float64) (*data.Samples, error) {
	if context == nil || context.N < 1 {
		return nil, errors.New("inference: SampleWithContext needs at least one context row, one per sample")
	}
	if err := CheckContext("inference: context", nil, context); err != nil {
		return nil, err
	}
	if !(temperature > 0) {
		return nil, fmt.Errorf("inference: temperature must be positive, got %g", temperature)
	}
	c := tensors.FromFlatDataAndDimensions(context.Values, append([]int{context.N}, context.EventShape()...)...)
	res, err := model.ExecOnce(backend, store, func(scope *model.Scope, c *Node) *Node {
		defer graphpanic.AsError()
		return ConvertDType(flow.SampleWithContext(scope, inModelDType(store, c), temperature), dtypes.Float32)
	}, c)
	if err != nil {
		return nil, fmt.Errorf("inference: %w", err)
	}
	return samplesFromTensor[float32](res, flow.EventShape()), nil
}
