package flowlib_test

import (
	"fmt"

	"github.com/gomlx/compute/dtypes"
	. "github.com/gomlx/gomlx/core/graph" //nolint:revive
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/model"

	"github.com/flowbook/flowbook/flowlib"
	"github.com/flowbook/flowbook/flowlib/backend"
	"github.com/flowbook/flowbook/flowlib/flowcheck"
)

// A flow is a base distribution and a chain of bijectors. Untrained, a RealNVP
// is the identity (its couplings start at zero), so its density is the base's:
// log N(0; 0, I) = −log 2π ≈ −1.8379 in two dimensions.
func ExampleFlow_LogProb() {
	be, _ := backend.New()
	store := model.NewStore()
	flow := flowlib.RealNVP(2).NumCouplings(4).Hidden(32, 32).Done()
	x := tensors.FromValue([][]float32{{0, 0}, {1, -1}})
	logp := model.MustExecOnce(be, store, func(scope *model.Scope, x *Node) *Node {
		return flow.LogProb(scope, x)
	}, x)
	fmt.Printf("%.4f\n", logp.Value())
	// Output: [-1.8379 -2.8379]
}

// Sample draws from the base and runs the bijector backwards. A lower
// temperature concentrates the samples.
func ExampleFlow_Sample() {
	be, _ := backend.New()
	store := model.NewStore()
	flow := flowlib.NewFlow(flowlib.NewStandardNormal(2), flowlib.NewElementwiseAffine(2))
	samples := model.MustExecOnce(be, store, func(scope *model.Scope, g *Graph) *Node {
		return flow.Sample(scope, g, dtypes.Float32, 1000, 0.7)
	})
	fmt.Println(samples.Shape())
	// Output: (Float32)[1000, 2]
}

// The checking toolkit verifies a bijector numerically: round trip, and
// log-det against the brute-force Jacobian.
func ExampleChain() {
	be, _ := backend.New()
	store := model.NewStore()
	chain := flowlib.NewChain(
		flowlib.NewActNorm(2),
		flowlib.NewAffineCoupling(flowlib.HalfMask(2), flowlib.MLP(16).Done()),
		flowlib.NewReversePermutation(),
		flowlib.NewAffineCoupling(flowlib.HalfMask(2), flowlib.MLP(16).Done()),
	)
	x := flowcheck.RandomInput(dtypes.Float64, 5, 1, 8, 2)
	_ = flowcheck.RandomizeVariables(be, store, chain, x, 0.3, 1) // Away from the identity.
	roundTrip, _, _ := flowcheck.Invertibility(be, store, chain, x)
	logDetErr, _ := flowcheck.LogDetError(be, store, chain, x)
	fmt.Println(chain.LayerScopeName(1), roundTrip < 1e-10, logDetErr < 1e-10)
	// Output: 01_affine_coupling true true
}
