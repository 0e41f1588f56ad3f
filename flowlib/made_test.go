package flowlib_test

import (
	"fmt"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"

	"github.com/gomlx/compute"
	"github.com/gomlx/compute/dtypes"
	. "github.com/gomlx/gomlx/core/graph" //nolint:revive
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/model"

	"github.com/flowbook/flowbook/flowlib"
	"github.com/flowbook/flowbook/flowlib/flowcheck"
	"github.com/flowbook/flowbook/flowlib/internal/graphpanic"
)

// madeJacobian returns the conditioner's outputs' Jacobians, by autodiff,
// at a random batch: dx[b][o][k] = ∂out_o/∂x_k and dc[b][o][k] =
// ∂out_o/∂context_k (nil without context), after giving every variable
// random values of standard deviation 1 (so no weight is zero by chance).
func madeJacobian(t *testing.T, be compute.Backend, made *flowlib.MADENet, dim, contextDim, perValue int) (dx, dc [][][]float64, err error) {
	t.Helper()
	const batch = 6
	store := model.NewStore()
	x := flowcheck.RandomInput(dtypes.Float64, 2, 1, batch, dim)
	inputs := []any{x}
	if contextDim > 0 {
		inputs = append(inputs, flowcheck.RandomInput(dtypes.Float64, 2, 2, batch, contextDim))
	}
	outDim := perValue * dim
	exec, err := model.NewExec(be, store, func(scope *model.Scope, in []*Node) []*Node {
		defer graphpanic.AsError()
		var ctx *Node
		if len(in) > 1 {
			ctx = in[1]
		}
		out := made.Params(scope, in[0], ctx, perValue)
		var rows []*Node
		for o := range outDim {
			grads := Gradient(ReduceAllSum(SliceAxis(out, 1, AxisElem(o))), in...)
			for _, g := range grads {
				rows = append(rows, InsertAxes(g, 1)) // [batch, 1, features]
			}
		}
		step := len(in)
		var jac []*Node
		for k := range step {
			var cols []*Node
			for o := k; o < len(rows); o += step {
				cols = append(cols, rows[o])
			}
			jac = append(jac, Concatenate(cols, 1)) // [batch, outDim, features]
		}
		return jac
	})
	if err != nil {
		return nil, nil, err
	}
	defer exec.Finalize()
	if _, err := exec.Call(inputs...); err != nil { // creates the variables
		return nil, nil, err
	}
	rng := rand.New(rand.NewPCG(5, 6))
	for v := range store.IterVariables() {
		if !v.Trainable || !v.DType().IsFloat() {
			continue
		}
		value, _ := v.Value()
		noisy := flowcheck.ToFloat64(value)
		for i := range noisy {
			noisy[i] = rng.NormFloat64()
		}
		if err := v.SetValue(flowcheck.FromFloat64(noisy, value.DType(), value.Shape().Dimensions...)); err != nil {
			return nil, nil, err
		}
	}
	outs, err := exec.Call(inputs...)
	if err != nil {
		return nil, nil, err
	}
	unpack := func(tt *tensors.Tensor, features int) [][][]float64 {
		flat := flowcheck.ToFloat64(tt)
		j := make([][][]float64, batch)
		for b := range j {
			j[b] = make([][]float64, outDim)
			for o := range outDim {
				start := (b*outDim + o) * features
				j[b][o] = flat[start : start+features]
			}
		}
		return j
	}
	dx = unpack(outs[0], dim)
	if contextDim > 0 {
		dc = unpack(outs[1], contextDim)
	}
	return dx, dc, nil
}

// TestMADEIsAutoregressive checks, for random weights, that output j·dim + i
// (parameter j of value i) has an exactly zero derivative with respect to
// every input that does not come before i in the order, i itself included,
// and, with tanh (which has no dead units) and layers wide enough to carry
// every degree, a nonzero one with respect to every input before i and
// every context feature.
func TestMADEIsAutoregressive(t *testing.T) {
	be := testBackend(t)
	for _, tc := range []struct {
		name                      string
		made                      *flowlib.MADEConfig
		dim, contextDim, perValue int
		wantOrder                 []int // nil: don't check
		connected                 bool  // every allowed derivative is nonzero
	}{
		{"natural", flowlib.MADE(16, 16).Activation("tanh"), 4, 0, 2, []int{0, 1, 2, 3}, true},
		{"given order, 3 layers", flowlib.MADE(8, 8, 8).Activation("tanh").Order(2, 0, 3, 1, 4), 5, 0, 3, []int{2, 0, 3, 1, 4}, true},
		{"random order", flowlib.MADE(12, 12).Activation("tanh").RandomOrder(3), 6, 0, 1, nil, true},
		{"context", flowlib.MADE(10, 10).Activation("tanh").RandomOrder(9), 4, 2, 2, nil, true},
		{"no hidden layer", flowlib.MADE().Order(1, 0, 2), 3, 1, 2, []int{1, 0, 2}, true},
		{"relu", flowlib.MADE(32, 32), 5, 0, 5, nil, false},
		{"one value with context", flowlib.MADE(4).Activation("tanh"), 1, 3, 2, []int{0}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			made := tc.made.Done()
			order := made.Order(tc.dim)
			if tc.wantOrder != nil && !reflect.DeepEqual(order, tc.wantOrder) {
				t.Errorf("order %v, want %v", order, tc.wantOrder)
			}
			position := make([]int, tc.dim)
			for r, coord := range order {
				position[coord] = r
			}
			dx, dc, err := madeJacobian(t, be, made, tc.dim, tc.contextDim, tc.perValue)
			if err != nil {
				t.Fatal(err)
			}
			zeros, nonzeros := 0, 0
			for b := range dx {
				for o := range dx[b] {
					i := o % tc.dim
					for k, d := range dx[b][o] {
						before := position[k] < position[i]
						switch {
						case !before && d != 0:
							t.Fatalf("example %d: ∂out_%d/∂x_%d = %g, want exactly 0: x_%d is not before x_%d in the order %v",
								b, o, k, d, k, i, order)
						case !before:
							zeros++
						case d == 0 && tc.connected:
							t.Errorf("example %d: ∂out_%d/∂x_%d = 0, but x_%d comes before x_%d", b, o, k, k, i)
						default:
							nonzeros++
						}
					}
					for k := range tc.contextDim {
						if dc[b][o][k] == 0 && tc.connected {
							t.Errorf("example %d: ∂out_%d/∂context_%d = 0: the context must reach every output", b, o, k)
						}
					}
				}
			}
			t.Logf("order %v: %d exact zeros, %d allowed derivatives", order, zeros, nonzeros)
		})
	}
}

// TestMADEMasks checks the degrees and masks of a small MADE by hand, and
// that an order that is not a permutation is refused with a clear error.
func TestMADEMasks(t *testing.T) {
	made := flowlib.MADE(4).Order(2, 0, 1).Done()
	if _, hidden := made.Degrees(3, 0); !reflect.DeepEqual(hidden, [][]int{{1, 2, 1, 2}}) {
		t.Errorf("hidden degrees without context %v, want [[1 2 1 2]]", hidden)
	}
	input, hidden := made.Degrees(3, 1)
	if want := []int{2, 3, 1, 0}; !reflect.DeepEqual(input, want) { // x0, x1, x2, then the context
		t.Errorf("input degrees %v, want %v", input, want)
	}
	if want := [][]int{{0, 1, 2, 0}}; !reflect.DeepEqual(hidden, want) {
		t.Errorf("hidden degrees %v, want %v", hidden, want)
	}
	draw := func(mask [][]bool) string {
		var rows []string
		for _, row := range mask {
			s := ""
			for _, on := range row {
				s += map[bool]string{true: "1", false: "0"}[on]
			}
			rows = append(rows, s)
		}
		return strings.Join(rows, " ")
	}
	masks := made.Masks(3, 1, 1)
	// Hidden unit of degree d sees inputs of degree ≤ d; output i (degree
	// of x_i) sees hidden units of smaller degree.
	for l, want := range []string{"0010 0000 0110 1111", "111 110 010 111"} {
		if got := draw(masks[l]); got != want {
			t.Errorf("mask %d: %s, want %s", l, got, want)
		}
	}
	be := testBackend(t)
	for _, order := range [][]int{{0, 0, 1}, {0, 1}, {0, 1, 3}} {
		_, _, err := madeJacobian(t, be, flowlib.MADE(4).Order(order...).Done(), 3, 0, 1)
		if err == nil || !strings.Contains(err.Error(), fmt.Sprint(order)) {
			t.Errorf("order %v: got %v, want an error naming the order", order, err)
		}
	}
}
