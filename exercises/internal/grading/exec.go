package grading

import (
	"fmt"
	"strings"

	"github.com/gomlx/compute"

	"github.com/gomlx/compute/dtypes"
	"github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"
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
	outs, err := execOnce(c.Backend(), fn, args...)
	if err != nil {
		hint := "building or running the graph failed: read the error for the shape or op that is wrong"
		if containsNil(err.Error()) {
			hint = "an output node is nil: is the function still the stub that returns nil? Write its body (see its doc comment)"
		}
		c.Fatalf("checking: %s\ngot:      error: %s\nhint:     %s", what, firstLines(err.Error(), 6), hint)
	}
	return outs
}

func execOnce[F graph.ExecGraphFn](backend compute.Backend, fn F, args ...any) (outs []*tensors.Tensor, err error) {
	e, err := graph.NewExec(backend, fn)
	if err != nil {
		return nil, err
	}
	panicked := true
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("building the graph panicked: %v", r)
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

func containsNil(s string) bool {
	s = strings.ToLower(s)
	return strings.Contains(s, "nil") || strings.Contains(s, "invalid node")
}

// Values returns a float tensor's values, flattened row-major, as float64.
func Values(t *tensors.Tensor) []float64 {
	var out []float64
	t.MustConstFlatData(func(flat any) {
		switch f := flat.(type) {
		case []float32:
			out = make([]float64, len(f))
			for i, v := range f {
				out[i] = float64(v)
			}
		case []float64:
			out = append([]float64(nil), f...)
		default:
			panic(fmt.Sprintf("grading.Values: expected a float tensor, got %s", t.Shape()))
		}
	})
	return out
}

// Tensor returns values (row-major, of the given dimensions) as a float64 tensor.
func Tensor(values []float64, dims ...int) *tensors.Tensor {
	return tensors.FromFlatDataAndDimensions(append([]float64(nil), values...), dims...)
}

// Float64 is the dtype the graders compute in, so that tolerances can be tight.
const Float64 = dtypes.Float64
