package grading

import (
	"fmt"
	"strings"

	"github.com/gomlx/compute/dtypes"
	"github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/model"
	"github.com/gomlx/gomlx/support/exceptions"

	"github.com/flowbook/flowbook/flowlib/flowcheck"
)

// Exec builds fn into a GoMLX graph, runs it once on args and returns its
// outputs (fn is any function graph.NewExec accepts, e.g. func(x *Node) *Node).
// An error, or a panic while building the graph, ends the check; the hint
// points at the most likely cause, a function that still returns nil.
//
// It does not use graph.ExecOnceN: in GoMLX v0.28.16 a panic while building
// the graph leaves the Exec with a compilation that never completes, and the
// deferred Finalize of ExecOnceN then waits for it forever. Here a panic is
// recovered first and that Exec is left unfinalized.
func Exec[F graph.ExecGraphFn](c *C, what string, fn F, args ...any) []*tensors.Tensor {
	outs, err := TryExec(c, fn, args...)
	if err != nil {
		c.graphFailed(what, err)
	}
	return outs
}

// TryExec runs fn once like [Exec] but returns the error instead of ending
// the check, for graders that expect some graphs to fail. A panic while
// building the graph becomes an error.
func TryExec[F graph.ExecGraphFn](c *C, fn F, args ...any) ([]*tensors.Tensor, error) {
	e, err := graph.NewExec(c.Backend(), fn)
	if err != nil {
		return nil, err
	}
	return callOnce(e, args...)
}

// ExecModel runs fn (any function model.NewExec accepts, e.g.
// func(scope *model.Scope, x *Node) []*Node) once on args, with the root scope
// of store and its variables, and returns its outputs. An error, or a panic
// while building the graph, ends the check like [Exec]'s.
func ExecModel[F model.ExecGraphFn](c *C, what string, store *model.Store, fn F, args ...any) []*tensors.Tensor {
	outs, err := TryExecModel(c, store, fn, args...)
	if err != nil {
		c.graphFailed(what, err)
	}
	return outs
}

// TryExecModel runs fn once like [ExecModel] but returns the error instead
// of ending the check. A panic while building the graph becomes an error.
func TryExecModel[F model.ExecGraphFn](c *C, store *model.Store, fn F, args ...any) ([]*tensors.Tensor, error) {
	e, err := model.NewExec(c.Backend(), store, fn)
	if err != nil {
		return nil, err
	}
	return callOnce(e, args...)
}

// ExecModelCalling is [ExecModel] for a graph whose outputs come from
// learnerFn, the name of the learner's function that fn calls ("Forward"). When
// fn returns a nil node (for fn returning []*Node, with one *Node or a
// []*Node as input), the check ends with "learnerFn returned nil: is it still
// the stub?"; any other error ends it with a hint to read the error.
func ExecModelCalling[F model.ExecGraphFn](c *C, what, learnerFn string, store *model.Store, fn F, args ...any) []*tensors.Tensor {
	returnedNil := false
	outs, err := TryExecModel(c, store, rejectNilOutputs(fn, &returnedNil), args...)
	if returnedNil {
		c.Fatalf("checking: %s\ngot:      nil\nhint:     %s returned nil: is it still the stub? Write its body (see its doc comment)", what, learnerFn)
	}
	if err != nil {
		c.Fatalf("checking: %s\ngot:      error: %s\nhint:     building or running the graph failed: read the error for the shape or op that is wrong",
			what, FirstLines(err.Error(), 6))
	}
	return outs
}

// rejectNilOutputs wraps fn, if it returns []*Node, so that a nil output sets
// *returnedNil and fails the graph before GoMLX sees it.
func rejectNilOutputs[F model.ExecGraphFn](fn F, returnedNil *bool) F {
	check := func(outs []*graph.Node) []*graph.Node {
		for _, o := range outs {
			if o == nil {
				*returnedNil = true
				exceptions.Panicf("a function returned a nil node")
			}
		}
		return outs
	}
	var wrapped any
	switch f := any(fn).(type) {
	case func(*model.Scope, *graph.Node) []*graph.Node:
		wrapped = func(scope *model.Scope, x *graph.Node) []*graph.Node { return check(f(scope, x)) }
	case func(*model.Scope, []*graph.Node) []*graph.Node:
		wrapped = func(scope *model.Scope, in []*graph.Node) []*graph.Node { return check(f(scope, in)) }
	default:
		return fn
	}
	return wrapped.(F)
}

// callOnce calls e once and finalizes it, except after a panic: in GoMLX
// v0.28.16 a panic while building a graph (one whose value is not an error,
// or a nil output) leaves a compilation that never completes, and Finalize
// would wait for it forever. The panic becomes an error.
func callOnce(e interface {
	Call(args ...any) ([]*tensors.Tensor, error)
	Finalize()
}, args ...any) (outs []*tensors.Tensor, err error) {
	panicked := true
	defer func() {
		if r := recover(); r != nil {
			outs, err = nil, fmt.Errorf("building the graph panicked: %v", r)
			return
		}
		if !panicked {
			e.Finalize()
		}
	}()
	outs, err = e.Call(args...)
	panicked = false
	return outs, err
}

// graphFailed ends the check after err from building or running a graph,
// with a hint at a nil output when err mentions one.
func (c *C) graphFailed(what string, err error) {
	hint := "building or running the graph failed: read the error for the shape or op that is wrong"
	if containsNil(err.Error()) {
		hint = "an output node is nil: is the function still the stub that returns nil? Write its body (see its doc comment)"
	}
	c.Fatalf("checking: %s\ngot:      error: %s\nhint:     %s", what, FirstLines(err.Error(), 6), hint)
}

func containsNil(s string) bool {
	s = strings.ToLower(s)
	return strings.Contains(s, "nil") || strings.Contains(s, "invalid node")
}

// Values returns a float tensor's values, flattened row-major, as float64
// (flowcheck.ToFloat64).
func Values(t *tensors.Tensor) []float64 { return flowcheck.ToFloat64(t) }

// Tensor returns values (row-major, of the given dimensions) as a float64 tensor.
func Tensor(values []float64, dims ...int) *tensors.Tensor {
	return tensors.FromFlatDataAndDimensions(append([]float64(nil), values...), dims...)
}

// Float64 is the dtype the graders compute in, so that tolerances can be tight.
const Float64 = dtypes.Float64
