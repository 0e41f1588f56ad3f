package training

import (
	"fmt"
	"math"
	"strings"

	. "github.com/gomlx/gomlx/core/graph" //nolint:revive
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/model"

	"github.com/flowbook/flowbook/flowlib"
	"github.com/flowbook/flowbook/flowlib/internal/graphpanic"
)

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
