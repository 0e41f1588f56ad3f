package flowlib_test

import (
	"fmt"
	"math"
	"testing"

	"github.com/gomlx/compute"
	"github.com/gomlx/compute/dtypes"
	"github.com/gomlx/gomlx/ml/model"

	"github.com/flowbook/flowbook/flowlib"
	"github.com/flowbook/flowbook/flowlib/flowcheck"
)

// passesToolkit runs the checks of TestBijectorsPassTheToolkit on b, on a
// batch with |x| ≤ maxAbs, after noise of 0.1 on every variable: round
// trip, log-dets of both directions summing to zero, log-det against the
// brute-force Jacobian, gradients reaching every variable.
func passesToolkit(t *testing.T, be compute.Backend, b flowlib.Bijector, dtype dtypes.DType, dim int, maxAbs float64) {
	t.Helper()
	store := model.NewStore()
	store.SetParam(model.ParamInitialSeed, int64(42))
	x := flowcheck.RandomInput(dtype, maxAbs, 1, 16, dim)
	if err := flowcheck.RandomizeVariables(be, store, b, x, 0.1, 2); err != nil {
		t.Fatalf("building: %v", err)
	}
	s, err := flowcheck.Summarize(be, store, b, x)
	if err != nil {
		t.Fatal(err)
	}
	const tol = 1e-4
	if s.RoundTrip > tol || math.IsNaN(s.RoundTrip) {
		t.Errorf("round trip error %.3g > %g", s.RoundTrip, tol)
	}
	if s.LogDetSum > tol || math.IsNaN(s.LogDetSum) {
		t.Errorf("|logdet forward + logdet inverse| = %.3g > %g", s.LogDetSum, tol)
	}
	if s.LogDetError > 1e-3 || math.IsNaN(s.LogDetError) {
		t.Errorf("log-det differs from the brute-force Jacobian's by %.3g > 1e-3", s.LogDetError)
	}
	unreached, err := flowcheck.GradientsReach(be, store, b, x)
	if err != nil {
		t.Fatal(err)
	}
	if len(unreached) > 0 {
		t.Errorf("the gradient does not reach: %v", unreached)
	}
	if store.NumVariables() == 0 {
		t.Error("created no variables")
	}
	t.Log(s)
}

// TestAutoregressivePassesTheToolkit checks MAF and IAF layers, alone and
// chained with permutations, in float32 and float64.
func TestAutoregressivePassesTheToolkit(t *testing.T) {
	be := testBackend(t)
	const dim = 4
	made := func() *flowlib.MADENet { return flowlib.MADE(16, 16).Activation("tanh").Done() }
	for _, dtype := range toolkitDTypes() {
		for _, tc := range []struct {
			name string
			b    flowlib.Bijector
		}{
			{"maf_affine", flowlib.NewMAFLayer(made(), flowlib.Affine{})},
			{"maf_additive_random_order", flowlib.NewMAFLayer(flowlib.MADE(16).RandomOrder(4).Done(), flowlib.Additive{})},
			{"iaf_affine", flowlib.NewIAFLayer(made(), flowlib.Affine{})},
			{"maf_chain_permuted", flowlib.NewChain(flowlib.NewMAFLayer(made(), flowlib.Affine{}), flowlib.NewReversePermutation(),
				flowlib.NewMAFLayer(made(), flowlib.Affine{}), flowlib.RandomPermutation(dim, 3), flowlib.NewMAFLayer(made(), flowlib.Affine{}))},
			{"iaf_chain_permuted", flowlib.NewChain(flowlib.NewIAFLayer(made(), flowlib.Affine{}), flowlib.NewReversePermutation(),
				flowlib.NewIAFLayer(made(), flowlib.Affine{}))},
		} {
			t.Run(fmt.Sprintf("%s/%s", dtype, tc.name), func(t *testing.T) {
				passesToolkit(t, be, tc.b, dtype, dim, 3)
			})
		}
	}
}

// TestAutoregressiveDirections checks that MAF's Forward and IAF's Inverse
// are the same one-pass map for the same weights (IAF is MAF with the
// directions swapped), and that the names say which is which.
func TestAutoregressiveDirections(t *testing.T) {
	be := testBackend(t)
	made := flowlib.MADE(8).Done()
	maf, iaf := flowlib.NewMAFLayer(made, flowlib.Affine{}), flowlib.NewIAFLayer(made, flowlib.Affine{})
	if maf.Name() != "affine_maf" || iaf.Name() != "affine_iaf" {
		t.Errorf("names %q, %q; want affine_maf, affine_iaf", maf.Name(), iaf.Name())
	}
	store := model.NewStore()
	x := flowcheck.RandomInput(dtypes.Float64, 2, 7, 5, 3)
	if err := flowcheck.RandomizeVariables(be, store, maf, x, 0.3, 1); err != nil {
		t.Fatal(err)
	}
	// The IAF, inverted, is the MAF with the same variables.
	jm, ldm, err := flowcheck.Jacobian(be, store, maf, x)
	if err != nil {
		t.Fatal(err)
	}
	ji, ldi, err := flowcheck.Jacobian(be, store, flowlib.Invert(iaf), x)
	if err != nil {
		t.Fatal(err)
	}
	for e := range jm {
		if math.Abs(ldm[e]-ldi[e]) > 1e-12 {
			t.Errorf("example %d: log-dets %g and %g differ", e, ldm[e], ldi[e])
		}
		for i := range jm[e] {
			for j := range jm[e][i] {
				if jm[e][i][j] != ji[e][i][j] {
					t.Fatalf("example %d: Jacobians differ at (%d, %d)", e, i, j)
				}
				if j > i && jm[e][i][j] != 0 {
					t.Errorf("example %d: ∂z_%d/∂x_%d = %g, want 0 (triangular in the natural order)", e, i, j, jm[e][i][j])
				}
			}
		}
	}
}
