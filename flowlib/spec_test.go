package flowlib_test

import (
	"encoding/json"
	"errors"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/gomlx/compute"
	. "github.com/gomlx/gomlx/core/graph" //nolint:revive
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/model"

	"github.com/flowbook/flowbook/flowlib"
	"github.com/flowbook/flowbook/flowlib/data"
	"github.com/flowbook/flowbook/flowlib/internal/graphpanic"
	"github.com/flowbook/flowbook/flowlib/training"
)

// oldCheckpoints is where the checkpoints of flowbook's command line from
// before flowlib had model descriptions lie (see expected.json for what was
// computed from them then).
const oldCheckpoints = "testdata/v1"

// oldExpected is testdata/v1/expected.json.
type oldExpected struct {
	Backend string `json:"backend"`
	Moons   struct {
		LogProbs []float64 `json:"log_probs"`
		Points   []float32 `json:"points"`
	} `json:"realnvp-moons"`
	Glow    oldImageExpected `json:"glow-mnist"`
	RealNVP oldImageExpected `json:"realnvp-mnist"`
}

// oldImageExpected is what the old code computed from an image checkpoint.
type oldImageExpected struct {
	PixelSums      []float64 `json:"pixel_sums"`
	SampleLogProbs []float64 `json:"sample_log_probs"`
	WeightedSums   []float64 `json:"weighted_sums"`
}

// fixedLatent is the z of expected.json: shape [3, 28, 28, 1], flat value i
// float32(0.8·sin(0.37·i)).
func fixedLatent(n, h, w, c int) *tensors.Tensor {
	values := make([]float32, n*h*w*c)
	for i := range values {
		values[i] = float32(0.8 * math.Sin(0.37*float64(i)))
	}
	return tensors.FromFlatDataAndDimensions(values, n, h, w, c)
}

// inverseOf runs x, logDet = flow.Inverse(z) and the base's log-density of
// z, with the store's variables.
func inverseOf(t *testing.T, be compute.Backend, store *model.Store, flow *flowlib.Flow, z *tensors.Tensor) (x []float32, logDet, baseLogProb []float64) {
	t.Helper()
	exec, err := model.NewExec(be, store, func(scope *model.Scope, z *Node) []*Node {
		defer graphpanic.AsError()
		x, ld := flow.Inverse(scope, z)
		return []*Node{x, ld, flow.Base.LogProb(scope.At("base"), z)}
	})
	if err != nil {
		t.Fatal(err)
	}
	defer exec.Finalize()
	out, err := exec.Call(z)
	if err != nil {
		t.Fatalf("Inverse: %v", err)
	}
	return tensors.MustCopyFlatData[float32](out[0]), toFloat64(out[1]), toFloat64(out[2])
}

// logProbOf runs flow.LogProb on points (rows of dim values).
func logProbOf(t *testing.T, be compute.Backend, store *model.Store, flow *flowlib.Flow, points []float32, dim int) []float64 {
	t.Helper()
	exec, err := model.NewExec(be, store, func(scope *model.Scope, x *Node) *Node {
		defer graphpanic.AsError()
		return flow.LogProb(scope, x)
	})
	if err != nil {
		t.Fatal(err)
	}
	defer exec.Finalize()
	out, err := exec.Call(tensors.FromFlatDataAndDimensions(points, len(points)/dim, dim))
	if err != nil {
		t.Fatalf("LogProb: %v", err)
	}
	return toFloat64(out[0])
}

func toFloat64(t *tensors.Tensor) []float64 {
	var out []float64
	for _, v := range tensors.MustCopyFlatData[float32](t) {
		out = append(out, float64(v))
	}
	return out
}

// closeTo reports whether got is within rel of want, relative to |want|.
func closeTo(got, want, rel float64) bool {
	return math.Abs(got-want) <= rel*math.Max(math.Abs(want), 1e-12)
}

// TestLoadOldCheckpoints loads the checkpoints that flowbook's command line
// wrote before flowlib knew model descriptions, with Load alone, and checks
// that they compute what the old code computed from them: the log-densities
// of four points (vectors), and for images the Inverse of a fixed latent
// (pixel sums, weighted sums, and the log-density of the sample). Within
// 1e-4 relative on the backend expected.json was made on (pure Go), 1e-3
// on another (XLA).
func TestLoadOldCheckpoints(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join(oldCheckpoints, "expected.json"))
	if err != nil {
		t.Fatal(err)
	}
	var want oldExpected
	if err := json.Unmarshal(raw, &want); err != nil {
		t.Fatal(err)
	}
	be := testBackend(t)
	rel, pixelRel := 1e-4, 0.0
	if be.Name() != want.Backend {
		rel, pixelRel = 1e-3, 1e-3 // Another backend rounds differently: a pixel may land on the next value.
	}
	t.Logf("backend %q (expected.json: %q): tolerance %g relative", be.Name(), want.Backend, rel)

	t.Run("realnvp-moons", func(t *testing.T) {
		m, err := flowlib.Load(filepath.Join(oldCheckpoints, "realnvp-moons"))
		if err != nil {
			t.Fatal(err)
		}
		if got := m.Spec.String(); got != "realnvp, dim 2, 4 couplings, hidden 16,16, mask half, actnorm on, activation relu, base diag" {
			t.Errorf("spec %s", got)
		}
		if m.Step != 200 {
			t.Errorf("step %d, want 200", m.Step)
		}
		got := logProbOf(t, be, m.Store, m.Flow, want.Moons.Points, 2)
		for i := range want.Moons.LogProbs {
			if !closeTo(got[i], want.Moons.LogProbs[i], rel) {
				t.Errorf("log p(point %d) = %.7g, the old code: %.7g", i, got[i], want.Moons.LogProbs[i])
			}
		}
		if err := m.CheckComplete(); err != nil {
			t.Error(err)
		}
	})
	for _, tc := range []struct {
		name string
		kind flowlib.ModelKind
		want oldImageExpected
	}{
		{"glow-mnist", flowlib.ModelGlow, want.Glow},
		{"realnvp-mnist", flowlib.ModelRealNVP, want.RealNVP},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m, err := flowlib.Load(filepath.Join(oldCheckpoints, tc.name))
			if err != nil {
				t.Fatal(err)
			}
			if m.Spec.Kind() != tc.kind || !reflect.DeepEqual(m.Spec.ImageShape(), []int{28, 28, 1}) {
				t.Errorf("spec %s, want %s on 28×28×1", m.Spec, tc.kind)
			}
			params, err := m.Spec.Params()
			if err != nil {
				t.Fatal(err)
			}
			// The checkpoints predate the key: they had the contracting scale.
			if got := params[flowlib.ParamImageFlowCouplingScale]; got != string(flowlib.ScaleContracting) {
				t.Errorf("%s = %v, want contracting", flowlib.ParamImageFlowCouplingScale, got)
			}
			x, ld, baseLP := inverseOf(t, be, m.Store, m.Flow, fixedLatent(3, 28, 28, 1))
			for i := range 3 {
				var pixels, weighted float64
				for j, v := range x[i*784 : (i+1)*784] {
					pixels += float64(v)
					weighted += float64(v) * float64(j%97)
				}
				if !closeTo(pixels, tc.want.PixelSums[i], pixelRel) || !closeTo(weighted, tc.want.WeightedSums[i], pixelRel) {
					t.Errorf("image %d: pixel sum %g, weighted %g; the old code: %g, %g",
						i, pixels, weighted, tc.want.PixelSums[i], tc.want.WeightedSums[i])
				}
				if got := baseLP[i] - ld[i]; !closeTo(got, tc.want.SampleLogProbs[i], rel) {
					t.Errorf("image %d: log p(x) = %.7g, the old code: %.7g", i, got, tc.want.SampleLogProbs[i])
				}
			}
			if err := m.CheckComplete(); err != nil {
				t.Error(err)
			}
		})
	}
}

// TestSpecRoundTrip trains tiny models of each kind for a few steps with
// their description stored by SetParams, loads the checkpoint with Load
// alone, and checks that it is the same model: the same description, the
// same weights, and the same deterministic outputs (log-densities of fixed
// points for vectors; for images, whose log-density is noisy through the
// dequantization, the Inverse of a fixed latent and its log-determinant).
func TestSpecRoundTrip(t *testing.T) {
	be := testBackend(t)
	rng := rand.New(rand.NewPCG(3, 4))
	vectors := &data.Samples{N: 64, Dim: 3, Values: make([]float32, 64*3)}
	for i := range vectors.Values {
		vectors.Values[i] = float32(rng.NormFloat64())
	}
	images := &data.Samples{N: 16, Dim: 16, Shape: []int{4, 4, 1}, Values: make([]float32, 16*16)}
	for i := range images.Values {
		images.Values[i] = float32(rng.IntN(256))
	}
	mixture := flowlib.RealNVP(3).NumCouplings(2).Hidden(8).Mask(flowlib.MaskAlternating).
		Activation("tanh").Base(flowlib.NewGaussianMixture(3, 3))
	for _, tc := range []struct {
		name   string
		config interface {
			SetParams(*model.Scope) error
			Done() *flowlib.Flow
		}
		data *data.Samples
		want string // the loaded spec's String
	}{
		{"realnvp-vectors", mixture, vectors,
			"realnvp, dim 3, 2 couplings, hidden 8, mask alternating, actnorm on, activation tanh, base mixture of 3 Gaussians"},
		{"glow", flowlib.Glow(4, 4, 1).Levels(2).Steps(1).Hidden(8).InvConv(flowlib.InvConvExp).
			Dequantization(flowlib.DequantizeVariational).Seed(5).MinScale(0.1), images,
			"glow, images 4×4×1, 2 levels of 1 step, hidden 8, 1×1 conv exp, min scale 0.1, learned prior on, variational dequantization, logit alpha 0.05"},
		{"maf", flowlib.MAF(3).NumLayers(2).Hidden(8).ActNorm(true).Permutation(flowlib.PermuteRandom, 4).
			Base(flowlib.NewDiagonalGaussian(3)), vectors,
			"maf, dim 3, 2 layers, hidden 8, activation relu, random (seed 4) permutations, actnorm on, base diag"},
		{"iaf", flowlib.IAF(3).NumLayers(2).Hidden(8, 8).Activation("tanh").ScaleBound(2), vectors,
			"iaf, dim 3, 2 layers, hidden 8,8, activation tanh, reverse permutations, actnorm off, base normal"},
		{"nsf-ar", flowlib.NSF(3).NumLayers(2).Hidden(8).Bins(4).Bound(3), vectors,
			"nsf, dim 3, 2 layers, hidden 8, activation relu, autoregressive, 4 bins on [-3, 3], reverse permutations, actnorm off, base normal"},
		{"nsf-c", flowlib.NSF(3).NumLayers(2).Hidden(8).Wrapper(flowlib.WrapCoupling).Base(flowlib.NewGaussianMixture(2, 3)), vectors,
			"nsf, dim 3, 2 layers, hidden 8, activation relu, coupling, 8 bins on [-5, 5], reverse permutations, actnorm off, base mixture of 2 Gaussians"},
		{"realnvp-images", flowlib.RealNVPImage(4, 4, 1).Levels(2).Steps(1).Hidden(8).ActNorm(false).
			CouplingScale(flowlib.ScaleTanh).LogitAlpha(0.1), images,
			"realnvp, images 4×4×1, 2 levels of 1 coupling, hidden 8, actnorm off, tanh coupling scale, learned prior off, uniform dequantization, logit alpha 0.1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			store := model.NewStore()
			if err := tc.config.SetParams(store.RootScope()); err != nil {
				t.Fatal(err)
			}
			flow := tc.config.Done()
			dir := t.TempDir()
			if _, err := training.New(be, store, flow, tc.data).Steps(3).BatchSize(8).Checkpoint(dir, 0).Log(nil).Run(); err != nil {
				t.Fatal(err)
			}
			m, err := flowlib.Load(dir)
			if err != nil {
				t.Fatal(err)
			}
			if got := m.Spec.String(); got != tc.want {
				t.Errorf("loaded spec:\n  %s\nwant\n  %s", got, tc.want)
			}
			if m.Step != 3 {
				t.Errorf("step %d, want 3", m.Step)
			}
			var before, after []float64
			if tc.data.Shape == nil {
				points := vectors.Values[:3*5]
				before = logProbOf(t, be, store, flow, points, 3)
				after = logProbOf(t, be, m.Store, m.Flow, points, 3)
			} else {
				z := fixedLatent(2, 4, 4, 1)
				x0, ld0, _ := inverseOf(t, be, store, flow, z)
				x1, ld1, _ := inverseOf(t, be, m.Store, m.Flow, z)
				if !reflect.DeepEqual(x0, x1) {
					t.Errorf("Inverse of a fixed latent differs after Load:\n%v\n%v", x0, x1)
				}
				before, after = ld0, ld1
			}
			if !reflect.DeepEqual(before, after) {
				t.Errorf("outputs before saving %v, after Load %v: must be identical", before, after)
			}
			if err := m.CheckComplete(); err != nil {
				t.Error(err)
			}
			trained := 0
			for v := range store.IterVariables() {
				if !v.Trainable {
					continue
				}
				trained++
				loaded := m.Store.GetVariable(v.Path())
				if loaded == nil {
					t.Errorf("variable %s missing after Load", v.Path())
					continue
				}
				a, _ := v.Value()
				b, _ := loaded.Value()
				if !reflect.DeepEqual(tensors.MustCopyFlatData[float32](a), tensors.MustCopyFlatData[float32](b)) {
					t.Errorf("variable %s differs after Load", v.Path())
				}
			}
			if trained == 0 {
				t.Error("the model has no trainable variables to compare")
			}
		})
	}
}

// validParams returns the description of a small model of each kind.
func validParams(t *testing.T, image bool) map[string]any {
	t.Helper()
	spec, err := flowlib.NewSpec(flowlib.ModelRealNVP, 2)
	if image {
		spec, err = flowlib.NewSpec(flowlib.ModelGlow, 8, 8, 1)
	} else if err == nil {
		err = spec.WithBase(flowlib.BaseMixture, 4)
	}
	if err != nil {
		t.Fatal(err)
	}
	params, err := spec.Params()
	if err != nil {
		t.Fatal(err)
	}
	return params
}

// TestReadSpecErrors edits valid descriptions the way a hand-edited or
// foreign checkpoint would be, and checks that ReadSpec returns a
// ParamError naming the parameter, with a message saying what is wrong.
func TestReadSpecErrors(t *testing.T) {
	for _, tc := range []struct {
		name  string
		image bool
		key   string
		value any // nil: delete the key
		want  string
	}{
		{"no model", false, flowlib.ParamModel, nil, "is missing"},
		{"unknown model", false, flowlib.ParamModel, "nice", `"nice": unknown model; valid: realnvp, glow, maf, iaf, nsf`},
		{"glow on vectors", false, flowlib.ParamModel, "glow", "glow is a model of images"},
		{"dim of wrong type", false, flowlib.ParamDim, "2", `is "2": a string, want a int`},
		{"no couplings", false, flowlib.ParamRealNVPCouplings, nil, "is missing"},
		{"zero couplings", false, flowlib.ParamRealNVPCouplings, 0, "is 0: must be at least 1"},
		{"hidden of wrong type", false, flowlib.ParamRealNVPHidden, "8", "want a []int"},
		{"negative hidden", false, flowlib.ParamRealNVPHidden, []int{8, -1}, "must be positive"},
		{"unknown mask", false, flowlib.ParamRealNVPMask, "checker", "unknown mask; valid: half, alternating"},
		{"unknown activation", false, flowlib.ParamRealNVPActivation, "foo", "unknown activation; valid:"},
		{"zero scale bound", false, flowlib.ParamRealNVPScaleBound, 0.0, "must be positive"},
		{"unknown base", false, flowlib.ParamBase, "gmm", "unknown base distribution; valid: normal, diag, mixture"},
		{"mixture without components", false, flowlib.ParamComponents, nil, "is missing"},
		{"mixture of none", false, flowlib.ParamComponents, 0, "at least 1 component"},
		{"no levels", true, flowlib.ParamImageFlowLevels, nil, "is missing"},
		{"too many levels", true, flowlib.ParamImageFlowLevels, 4, "divisible by 16, but the image is 8×8"},
		{"zero steps", true, flowlib.ParamImageFlowSteps, 0, "at least 1 step"},
		{"unknown invconv", true, flowlib.ParamImageFlowInvConv, "qr", "unknown 1×1 convolution; valid: lu, exp"},
		{"unknown dequantization", true, flowlib.ParamImageFlowDequantization, "none", "valid: uniform, variational"},
		{"unknown coupling scale", true, flowlib.ParamImageFlowCouplingScale, "sigmoid", "valid: contracting, tanh"},
		{"logit alpha", true, flowlib.ParamImageFlowLogitAlpha, 0.5, "[0, 0.5)"},
		{"min scale of 1", true, flowlib.ParamImageFlowMinScale, 1.0, "must be in [0, 1)"},
		{"negative min scale", true, flowlib.ParamImageFlowMinScale, -0.1, "must be in [0, 1)"},
		{"shape of wrong rank", true, flowlib.ParamShape, []int{8, 8}, "[height, width, channels]"},
		{"shape against dim", true, flowlib.ParamShape, []int{8, 8, 2}, "size 128 is not the dimension 64"},
		{"seed of wrong type", true, flowlib.ParamImageFlowSeed, 1.0, "a float64, want a int"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			params := validParams(t, tc.image)
			if tc.value == nil {
				delete(params, tc.key)
			} else {
				params[tc.key] = tc.value
			}
			store := model.NewStore()
			store.RootScope().SetParams(params)
			_, err := flowlib.ReadSpec(store.RootScope())
			var perr *flowlib.ParamError
			if !errors.As(err, &perr) || perr.Key != tc.key || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("got %v, want a ParamError of %q containing %q", err, tc.key, tc.want)
			}
		})
	}
	for _, image := range []bool{false, true} {
		store := model.NewStore()
		store.RootScope().SetParams(validParams(t, image))
		if _, err := flowlib.ReadSpec(store.RootScope()); err != nil {
			t.Errorf("valid description (image %v): %v", image, err)
		}
	}
	// The image models have no other base.
	if s, err := flowlib.NewSpec(flowlib.ModelGlow, 8, 8, 1); err != nil {
		t.Fatal(err)
	} else if err := s.WithBase(flowlib.BaseMixture, 3); err == nil {
		t.Error("WithBase(mixture) of an image model: no error")
	}
	// A base that no BaseKind names cannot be stored.
	store := model.NewStore()
	if err := flowlib.RealNVP(2).Base(flowlib.NewStandardLogistic(2)).SetParams(store.RootScope()); err == nil ||
		!strings.Contains(err.Error(), "cannot be stored") {
		t.Errorf("SetParams with a logistic base: got %v, want an error saying it cannot be stored", err)
	}
	if _, found := store.GetParam(flowlib.ParamModel); found {
		t.Error("a failed SetParams wrote parameters")
	}
}

// TestLoadEditedCheckpoint edits the parameters in a copy of an old
// checkpoint's JSON and checks that Load returns an error naming the
// parameter, not a panic; and that a directory without checkpoint gives
// ErrNoCheckpoint.
func TestLoadEditedCheckpoint(t *testing.T) {
	src := filepath.Join(oldCheckpoints, "glow-mnist")
	for _, tc := range []struct {
		name string
		edit func(p map[string]any) // of the parameter with Key key
		key  string
		want string
	}{
		{"renamed levels", func(p map[string]any) { p["Key"] = "something_else" }, flowlib.ParamImageFlowLevels,
			`parameter "image_flow_levels" is missing`},
		{"hidden as a string", func(p map[string]any) { p["Value"], p["ValueType"] = "8", "string" }, flowlib.ParamImageFlowHidden,
			`parameter "image_flow_hidden" is "8"`},
		{"shape of another size", func(p map[string]any) { p["Value"] = []int{28, 28, 2} }, flowlib.ParamShape,
			`parameter "flowbook_shape" is [28 28 2]: its size 1568 is not the dimension 784`},
		{"unknown model", func(p map[string]any) { p["Value"] = "nice" }, flowlib.ParamModel, `"nice": unknown model`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := copyEdited(t, src, tc.key, tc.edit)
			_, err := flowlib.Load(dir)
			var perr *flowlib.ParamError
			if !errors.As(err, &perr) || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "cannot be used") {
				t.Errorf("got %v, want a ParamError saying %q", err, tc.want)
			}
		})
	}
	for _, dir := range []string{t.TempDir(), filepath.Join(t.TempDir(), "missing")} {
		if _, err := flowlib.Load(dir); !errors.Is(err, flowlib.ErrNoCheckpoint) {
			t.Errorf("Load(%s): got %v, want ErrNoCheckpoint", dir, err)
		}
	}
}

// copyEdited copies the checkpoint files of dir into a new directory, with
// edit applied to the parameter key of the JSON file.
func copyEdited(t *testing.T, dir, key string, edit func(map[string]any)) string {
	t.Helper()
	out := t.TempDir()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		content, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if strings.HasSuffix(e.Name(), ".json") {
			var doc map[string]any
			if err := json.Unmarshal(content, &doc); err != nil {
				t.Fatal(err)
			}
			found := false
			for _, p := range doc["Params"].([]any) {
				if p := p.(map[string]any); p["Key"] == key {
					edit(p)
					found = true
				}
			}
			if !found {
				t.Fatalf("no parameter %q in %s", key, e.Name())
			}
			if content, err = json.Marshal(doc); err != nil {
				t.Fatal(err)
			}
		}
		if err := os.WriteFile(filepath.Join(out, e.Name()), content, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return out
}
