package flowlib_test

import (
	"fmt"
	"math"

	"github.com/gomlx/compute/dtypes"
	"github.com/gomlx/compute/shapes"
	. "github.com/gomlx/gomlx/core/graph" //nolint:revive
	"github.com/gomlx/gomlx/ml/model"

	"github.com/flowbook/flowbook/flowlib"
	"github.com/flowbook/flowbook/flowlib/backend"
	"github.com/flowbook/flowbook/flowlib/flowcheck"
)

// An integer discrete flow maps integer vectors to integer vectors, exactly
// and invertibly, with log-det 0, so its probability mass stays a pmf: after
// randomising the couplings' variables (an untrained IDF is the identity),
// the mass over the box [−40, 40]² is still 1, and Inverse(Forward(x)) gives
// x back bit for bit. The base is the rounded standard logistic, whose mass
// at 0 is σ(½) − σ(−½) ≈ 0.2449 in each coordinate.
func ExampleIDF() {
	be, _ := backend.New()
	store := model.NewStore()
	flow := flowlib.IDF(2).NumCouplings(4).Hidden(16).Activation("tanh").Done()

	var box []float64
	for a := -40; a <= 40; a++ {
		for b := -40; b <= 40; b++ {
			box = append(box, float64(a), float64(b))
		}
	}
	x := flowcheck.FromFloat64(box, dtypes.Float64, len(box)/2, 2)
	_ = flowcheck.RandomizeVariables(be, store, flow, x, 0.3, 1) // the couplings only: the base keeps μ = 0, s = 1

	outs := model.MustExecOnceN(be, store, func(scope *model.Scope, x *Node) []*Node {
		z, logDet := flow.Forward(scope, x)
		back, _ := flow.Inverse(scope, z)
		moved := ReduceAllSum(ConvertDType(NotEqual(z, x), dtypes.Float64))
		exact := ReduceAllMax(Abs(Sub(back, x)))
		origin := flow.Base.LogProb(scope.At("base"), Zeros(x.Graph(), shapes.Make(dtypes.Float64, 1, 2)))
		return []*Node{flow.LogProb(scope, x), moved, exact, ReduceAllMax(Abs(logDet)), origin}
	}, x)
	mass := 0.0
	for _, lp := range flowcheck.ToFloat64(outs[0]) {
		mass += math.Exp(lp)
	}
	fmt.Printf("mass on [-40, 40]²: %.6f\n", mass)
	fmt.Println("some values moved:", flowcheck.ToFloat64(outs[1])[0] > 0)
	fmt.Println("max |Inverse(Forward(x)) - x|:", flowcheck.ToFloat64(outs[2])[0])
	fmt.Println("max |log-det|:", flowcheck.ToFloat64(outs[3])[0])
	fmt.Printf("base P(z = (0, 0)) = %.4f = %.4f²\n", math.Exp(flowcheck.ToFloat64(outs[4])[0]), math.Exp(flowcheck.ToFloat64(outs[4])[0]/2))
	// Output:
	// mass on [-40, 40]²: 1.000000
	// some values moved: true
	// max |Inverse(Forward(x)) - x|: 0
	// max |log-det|: 0
	// base P(z = (0, 0)) = 0.0600 = 0.2449²
}
