package flowlib_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/gomlx/gomlx/ml/model"

	"github.com/flowbook/flowbook/flowlib"
)

// TestVectorFlowsPassTheToolkit checks the bijectors the MAF, IAF and NSF
// builders make, in float32 and float64.
func TestVectorFlowsPassTheToolkit(t *testing.T) {
	be := testBackend(t)
	const dim = 3
	for _, dtype := range toolkitDTypes() {
		for _, tc := range []struct {
			name   string
			config *flowlib.VectorFlowConfig
			layers []string // the chain's layer scopes
		}{
			{"maf", flowlib.MAF(dim).NumLayers(2).Hidden(12).Activation("tanh"),
				[]string{"00_affine_maf", "01_reverse", "02_affine_maf"}},
			{"iaf_random", flowlib.IAF(dim).NumLayers(2).Hidden(12).Permutation(flowlib.PermuteRandom, 3),
				[]string{"00_affine_iaf", "01_permutation", "02_affine_iaf"}},
			{"nsf_ar", flowlib.NSF(dim).NumLayers(2).Hidden(12).Bins(4).Bound(2).ActNorm(true),
				[]string{"00_actnorm", "01_spline_maf", "02_reverse", "03_actnorm", "04_spline_maf"}},
			{"nsf_c", flowlib.NSF(dim).NumLayers(3).Hidden(12).Wrapper(flowlib.WrapCoupling).Bins(5).Bound(2),
				[]string{"00_spline_coupling", "01_reverse", "02_spline_coupling", "03_reverse", "04_spline_coupling"}},
		} {
			t.Run(fmt.Sprintf("%s/%s", dtype, tc.name), func(t *testing.T) {
				chain := tc.config.Bijector()
				var names []string
				for i := range chain.Layers {
					names = append(names, chain.LayerScopeName(i))
				}
				if strings.Join(names, " ") != strings.Join(tc.layers, " ") {
					t.Errorf("layers %v, want %v", names, tc.layers)
				}
				passesToolkit(t, be, chain, dtype, dim, 3)
			})
		}
	}
}

// TestVectorFlowErrors checks that invalid configurations and descriptions
// give a ParamError naming the parameter.
func TestVectorFlowErrors(t *testing.T) {
	for _, tc := range []struct {
		name   string
		config *flowlib.VectorFlowConfig
		key    string
		want   string
	}{
		{"no layers", flowlib.MAF(2).NumLayers(0), flowlib.ParamVectorFlowLayers, "must be at least 1"},
		{"bad hidden", flowlib.IAF(2).Hidden(4, 0), flowlib.ParamVectorFlowHidden, "must be positive"},
		{"bad permutation", flowlib.MAF(2).Permutation("shuffle", 0), flowlib.ParamVectorFlowPermutation, "valid: reverse, random"},
		{"negative seed", flowlib.MAF(2).Permutation(flowlib.PermuteRandom, -1), flowlib.ParamVectorFlowSeed, "must not be negative"},
		{"bad activation", flowlib.NSF(2).Activation("nope"), flowlib.ParamVectorFlowActivation, "unknown activation"},
		{"zero scale bound", flowlib.MAF(2).ScaleBound(0), flowlib.ParamVectorFlowScaleBound, "must be positive"},
		{"bad wrapper", flowlib.NSF(2).Wrapper("mask"), flowlib.ParamVectorFlowWrapper, "valid: autoregressive, coupling"},
		{"coupling in 1D", flowlib.NSF(1).Wrapper(flowlib.WrapCoupling), flowlib.ParamDim, "at least 2"},
		{"no bins", flowlib.NSF(2).Bins(0), flowlib.ParamVectorFlowBins, "must be at least 1"},
		{"too many bins", flowlib.NSF(2).Bins(1000), flowlib.ParamVectorFlowBins, "too many bins"},
		{"zero bound", flowlib.NSF(2).Bound(0), flowlib.ParamVectorFlowBound, "must be positive"},
		{"no dimension", flowlib.MAF(0), flowlib.ParamDim, "at least 1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.config.Validate()
			var perr *flowlib.ParamError
			if !errors.As(err, &perr) || perr.Key != tc.key || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("got %v, want a ParamError of %q containing %q", err, tc.key, tc.want)
			}
			store := model.NewStore()
			if err := tc.config.SetParams(store.RootScope()); err == nil {
				t.Error("SetParams of an invalid configuration: no error")
			}
			if _, found := store.GetParam(flowlib.ParamModel); found {
				t.Error("a failed SetParams wrote parameters")
			}
		})
	}
	if _, err := flowlib.NewSpec(flowlib.ModelMAF, 8, 8, 1); err == nil || !strings.Contains(err.Error(), "maf is a model of vectors") {
		t.Errorf("NewSpec(maf, images): got %v, want an error saying maf is for vectors", err)
	}
	// A description of each kind reads back as the same; one missing key
	// of its kind is reported by name.
	for _, tc := range []struct {
		config  *flowlib.VectorFlowConfig
		missing string
	}{
		{flowlib.MAF(2), flowlib.ParamVectorFlowScaleBound},
		{flowlib.IAF(2), flowlib.ParamVectorFlowLayers},
		{flowlib.NSF(2), flowlib.ParamVectorFlowBins},
	} {
		store := model.NewStore()
		if err := tc.config.SetParams(store.RootScope()); err != nil {
			t.Fatal(err)
		}
		spec, err := flowlib.ReadSpec(store.RootScope())
		if err != nil {
			t.Fatalf("%s: %v", tc.config.Kind(), err)
		}
		if spec.Kind() != tc.config.Kind() || spec.String() != tc.config.String() || spec.Dim() != 2 {
			t.Errorf("read back %s (%s), want %s", spec, spec.Kind(), tc.config)
		}
		params, _ := spec.Params()
		delete(params, tc.missing)
		store = model.NewStore()
		store.RootScope().SetParams(params)
		_, err = flowlib.ReadSpec(store.RootScope())
		var perr *flowlib.ParamError
		if !errors.As(err, &perr) || perr.Key != tc.missing || !perr.Missing {
			t.Errorf("%s without %s: got %v, want a ParamError saying it is missing", tc.config.Kind(), tc.missing, err)
		}
	}
}
