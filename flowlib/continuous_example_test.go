package flowlib_test

import (
	"fmt"

	. "github.com/gomlx/gomlx/core/graph" //nolint:revive
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/model"

	"github.com/flowbook/flowbook/flowlib"
	"github.com/flowbook/flowbook/flowlib/backend"
)

// RK4 integrates dy/dt = −y from y(0) = 1 to t = 1 in 10 steps (40
// function evaluations); the exact value is e⁻¹ ≈ 0.3678794.
func ExampleRK4() {
	be, _ := backend.Shared()
	y, _ := model.ExecOnce(be, model.NewStore(), func(scope *model.Scope, y0 *Node) *Node {
		decay := func(t *Node, y []*Node) []*Node { return []*Node{Neg(y[0])} }
		return flowlib.RK4(decay, []*Node{y0}, 0, 1, 10)[0]
	}, tensors.FromValue([]float64{1}))
	fmt.Printf("%.7f\n", y.Value().([]float64)[0])
	// Output: 0.3678798
}

// A CNF with the linear field f(t, z) = 0.5·z expands the base by e^0.5
// in every direction: log p(x) = log N(e^−0.5·x; 0, I) − 2·0.5. Evaluated
// with the adaptive Dormand–Prince solver, which reports its work.
func ExampleCNFLogProb() {
	be, _ := backend.Shared()
	cnf := &flowlib.CNF{Dim: 2, Activation: "tanh", Steps: 4, Trace: flowlib.TraceExact,
		FieldFunc: func(_ *model.Scope, _, z *Node) *Node { return MulScalar(z, 0.5) }}
	flow := &flowlib.Flow{Base: flowlib.NewStandardNormal(2), Bijector: cnf}
	logP, stats, err := flowlib.CNFLogProb(be, model.NewStore(), flow,
		tensors.FromValue([][]float64{{0, 0}, {1, -1}}), flowlib.DefaultDormandPrince, 1)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("log p = %.5f, %.5f; solved in %d steps\n", logP[0], logP[1], stats.Steps)
	// Output: log p = -2.83788, -3.20576; solved in 3 steps
}

// A residual flow of two blocks: its description, and a round trip
// through the fixed-point inverse.
func ExampleResidualFlow() {
	be, _ := backend.Shared()
	config := flowlib.ResidualFlow(2).NumBlocks(2).Hidden(16).LogDet(flowlib.LogDetExact, 0)
	fmt.Println(config)
	flow := config.Done()
	store := model.NewStore()
	out, err := model.ExecOnce(be, store, func(scope *model.Scope, x *Node) *Node {
		z, _ := flow.Forward(scope, x)
		back, _ := flow.Inverse(scope, z)
		return ReduceAllMax(Abs(Sub(back, x)))
	}, tensors.FromValue([][]float64{{0.5, -1}, {2, 0.3}}))
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("round trip below 1e-9:", out.Value().(float64) < 1e-9)
	// Output:
	// resflow, dim 2, 2 blocks, hidden 16, activation lipswish, c 0.9, exact log-det, actnorm on, base normal
	// round trip below 1e-9: true
}
