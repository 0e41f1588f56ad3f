package flowlib_test

import (
	"fmt"
	"math"
	"testing"

	"github.com/gomlx/compute"
	"github.com/gomlx/compute/dtypes"
	"github.com/gomlx/gomlx/ml/model"

	"github.com/flowbook/flowbook/flowlib"
	"github.com/flowbook/flowbook/flowlib/backend"
	"github.com/flowbook/flowbook/flowlib/flowcheck"
)

// testBackend is the backend flowlib/backend chooses (pure Go, or XLA CPU
// when its plugin is installed; scripts/test runs the tests on both).
func testBackend(t testing.TB) compute.Backend {
	t.Helper()
	b, err := backend.Shared()
	if err != nil {
		t.Fatalf("backend: %v", err)
	}
	return b
}

// toolkitDTypes are the precisions the toolkit tests check every layer in:
// float32 and float64, or float64 alone with -short (scripts/test's pass on
// its second backend), which keeps one full check of every layer.
func toolkitDTypes() []dtypes.DType {
	if testing.Short() {
		return []dtypes.DType{dtypes.Float64}
	}
	return []dtypes.DType{dtypes.Float32, dtypes.Float64}
}

// vectorBijectors lists every vector bijector with a dimension-4 configuration.
func vectorBijectors() map[string]flowlib.Bijector {
	const dim = 4
	mlp := flowlib.MLP(16, 16).Activation("tanh").Done()
	return map[string]flowlib.Bijector{
		"elementwise_affine":  flowlib.NewElementwiseAffine(dim),
		"additive_half":       flowlib.NewAdditiveCoupling(flowlib.HalfMask(dim), mlp),
		"affine_half":         flowlib.NewAffineCoupling(flowlib.HalfMask(dim), mlp),
		"affine_alternating":  flowlib.NewAffineCoupling(flowlib.AlternatingMask(dim), mlp),
		"affine_flipped":      flowlib.NewAffineCoupling(flowlib.HalfMask(dim).Flip(), mlp),
		"reverse":             flowlib.NewReversePermutation(),
		"random_permutation":  flowlib.RandomPermutation(dim, 7),
		"actnorm":             flowlib.NewActNorm(dim),
		"planar":              flowlib.NewPlanar(dim),
		"radial":              flowlib.NewRadial(dim),
		"inverted_affine":     flowlib.Invert(flowlib.NewAffineCoupling(flowlib.HalfMask(dim), mlp)),
		"realnvp":             flowlib.RealNVP(dim).NumCouplings(3).Hidden(8).Bijector(),
		"chain_of_everything": flowlib.NewChain(flowlib.NewActNorm(dim), flowlib.NewPlanar(dim), flowlib.NewRadial(dim), flowlib.RandomPermutation(dim, 1), flowlib.NewAdditiveCoupling(flowlib.AlternatingMask(dim), mlp), flowlib.NewElementwiseAffine(dim)),
	}
}

// hasNoVariables lists bijectors that are fixed maps.
var hasNoVariables = map[string]bool{"reverse": true, "random_permutation": true}

// TestBijectorsPassTheToolkit checks every bijector on inputs with |x| up to
// 10, after randomising its variables: round trip, log-dets of both directions
// summing to zero, log-det against the brute-force Jacobian, and gradients
// reaching every variable.
func TestBijectorsPassTheToolkit(t *testing.T) {
	be := testBackend(t)
	for _, dtype := range toolkitDTypes() {
		for name, b := range vectorBijectors() {
			t.Run(fmt.Sprintf("%s/%s", dtype, name), func(t *testing.T) {
				store := model.NewStore()
				store.SetParam(model.ParamInitialSeed, int64(42))
				x := flowcheck.RandomInput(dtype, 10, 1, 16, 4)
				// Noise of 0.1 on every variable moves each layer well away from
				// the identity while keeping the scales a trained model has.
				if err := flowcheck.RandomizeVariables(be, store, b, x, 0.1, 2); err != nil {
					t.Fatalf("building %s: %v", name, err)
				}
				roundTrip, logDetSum, err := flowcheck.Invertibility(be, store, b, x)
				if err != nil {
					t.Fatal(err)
				}
				const tol = 1e-4
				if roundTrip > tol || math.IsNaN(roundTrip) {
					t.Errorf("round trip error %.3g > %g", roundTrip, tol)
				}
				if logDetSum > tol || math.IsNaN(logDetSum) {
					t.Errorf("|logdet forward + logdet inverse| = %.3g > %g", logDetSum, tol)
				}
				logDetErr, err := flowcheck.LogDetError(be, store, b, x)
				if err != nil {
					t.Fatal(err)
				}
				if logDetErr > 1e-3 || math.IsNaN(logDetErr) {
					t.Errorf("log-det differs from the brute-force Jacobian's by %.3g > 1e-3", logDetErr)
				}
				unreached, err := flowcheck.GradientsReach(be, store, b, x)
				if err != nil {
					t.Fatal(err)
				}
				if len(unreached) > 0 {
					t.Errorf("the gradient does not reach: %v", unreached)
				}
				if !hasNoVariables[name] && store.NumVariables() == 0 {
					t.Errorf("%s created no variables", name)
				}
				t.Logf("round trip %.2g, logdet sum %.2g, logdet vs Jacobian %.2g", roundTrip, logDetSum, logDetErr)
			})
		}
	}
}
