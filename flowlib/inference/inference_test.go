package inference_test

import (
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/gomlx/compute/dtypes"
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/model"

	"github.com/flowbook/flowbook/flowlib"
	"github.com/flowbook/flowbook/flowlib/backend"
	"github.com/flowbook/flowbook/flowlib/data"
	"github.com/flowbook/flowbook/flowlib/inference"
)

func smallFlow() *flowlib.Flow {
	return flowlib.RealNVP(2).NumCouplings(4).Hidden(32, 32).Done()
}

// smallGlow is a tiny Glow for 4×4 grey images.
func smallGlow() *flowlib.Flow { return flowlib.Glow(4, 4, 1).Levels(1).Steps(1).Hidden(4).Done() }

// pixels returns n 4×4×1 images of integer pixel values, with the value at
// flat index bad of example badExample replaced by v.
func pixels(n, badExample, bad int, v float32) *data.Samples {
	s := &data.Samples{Values: make([]float32, n*16), N: n, Dim: 16, Shape: []int{4, 4, 1}}
	for i := range s.Values {
		s.Values[i] = float32(i % 256)
	}
	s.Values[badExample*16+bad] = v
	return s
}

// TestEntryPointsCheckData checks that evaluation, sampling and
// reconstruction refuse empty or non-finite data with a clear error.
func TestEntryPointsCheckData(t *testing.T) {
	be, _ := backend.Shared()
	nan := &data.Samples{Values: []float32{0, 1, float32(math.NaN()), 2}, N: 2, Dim: 2}
	nan64 := &data.SamplesOf[float64]{Values: []float64{0, 1, 2, math.Inf(-1)}, N: 2, Dim: 2}
	empty := &data.Samples{Dim: 2}
	cases := []struct {
		name string
		run  func() error
		want string
	}{
		{"logprobs_empty", func() error { _, err := inference.LogProbs(be, model.NewStore(), smallFlow(), empty); return err }, "no examples to evaluate"},
		{"logprobs_nil", func() error {
			_, err := inference.LogProbs(be, model.NewStore(), smallFlow(), (*data.Samples)(nil))
			return err
		}, "no examples to evaluate"},
		{"logprobs_nan", func() error { _, err := inference.LogProbs(be, model.NewStore(), smallFlow(), nan); return err }, "non-finite value (NaN) in example 1, coordinate 0"},
		{"logprobs_float64_inf", func() error { _, err := inference.LogProbs(be, model.NewStore(), smallFlow(), nan64); return err }, "non-finite value (-Inf) in example 1, coordinate 1"},
		{"mean_logprob_image_nan", func() error {
			_, err := inference.MeanLogProb(be, model.NewStore(), smallGlow(), pixels(2, 1, 7, float32(math.NaN())))
			return err
		}, "non-finite value (NaN) in example 1, coordinate 7"},
		{"sample_0", func() error { _, err := inference.Sample(be, model.NewStore(), smallFlow(), 0, 1); return err }, "number of samples must be at least 1, got 0"},
		{"sample_0_image", func() error { _, err := inference.Sample(be, model.NewStore(), smallGlow(), 0, 1); return err }, "number of samples must be at least 1, got 0"},
		{"sample_cold", func() error {
			_, err := inference.SampleOf[float64](be, model.NewStore(), smallFlow(), 3, 0)
			return err
		}, "temperature must be positive, got 0"},
		{"reconstruct_empty", func() error { _, err := inference.Reconstruct(be, model.NewStore(), smallFlow(), empty); return err }, "no data (0 examples)"},
		{"reconstruct_nan", func() error { _, err := inference.Reconstruct(be, model.NewStore(), smallFlow(), nan); return err }, "non-finite value (NaN)"},
		{"reconstruct_wrong_shape", func() error {
			_, err := inference.Reconstruct(be, model.NewStore(), smallGlow(), &data.Samples{Values: make([]float32, 32), N: 2, Dim: 16})
			return err
		}, "this is an image model"},
		{"interpolate_nan", func() error {
			_, err := inference.InterpolateLatents(be, model.NewStore(), smallFlow(), nan, 0, 1, 3)
			return err
		}, "non-finite value (NaN) in example 1, coordinate 0"},
		{"interpolate_endpoints", func() error {
			_, err := inference.InterpolateLatents(be, model.NewStore(), smallFlow(), nan, 0, 2, 3)
			return err
		}, "endpoints 0 and 2 must be examples"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if err := c.run(); err == nil || !strings.Contains(err.Error(), c.want) || !strings.HasPrefix(err.Error(), "inference: ") {
				t.Errorf("got %v, want an error starting with \"inference: \" and containing %q", err, c.want)
			}
		})
	}
}

// Parameters of the float64 affine model: log-scale s and shift t.
const logScale, shift = 0.3, -0.1

// float64Affine returns a StandardNormal flow with one ElementwiseAffine
// layer, y = x·exp(s) + t, whose variables are float64 and hold s and t. A
// first evaluation on float64 data creates them, in float64.
func float64Affine(t *testing.T) (*model.Store, *flowlib.Flow) {
	t.Helper()
	be, _ := backend.Shared()
	store := model.NewStore()
	flow := flowlib.NewFlow(flowlib.NewStandardNormal(1), flowlib.NewElementwiseAffine(1))
	if _, err := inference.LogProbs(be, store, flow, &data.SamplesOf[float64]{Values: []float64{0}, N: 1, Dim: 1}); err != nil {
		t.Fatal(err)
	}
	store.GetVariable("/bijector/00_elementwise_affine/log_scale").MustSetValue(tensors.FromValue([][]float64{{logScale}}))
	store.GetVariable("/bijector/00_elementwise_affine/shift").MustSetValue(tensors.FromValue([][]float64{{shift}}))
	return store, flow
}

// affineLogProb is the closed form of float64Affine's log-density:
// log N(x·e^s + t; 0, 1) + s.
func affineLogProb(x float64) float64 {
	z := x*math.Exp(logScale) + shift
	return -z*z/2 - math.Log(2*math.Pi)/2 + logScale
}

// TestFloat64ModelKeepsFloat64Precision checks that a float64 model is
// evaluated in float64 from the data to the log-probabilities on the host:
// with inputs that float32 cannot hold (1 + 1e-9 rounds to 1 in float32,
// which would move log p by about 2e-9·z), the log-probabilities match the
// closed form to 1e-13, far below float32's resolution of about 1e-7.
func TestFloat64ModelKeepsFloat64Precision(t *testing.T) {
	be, _ := backend.Shared()
	store, flow := float64Affine(t)
	if dtype, err := inference.ModelDType(store); err != nil || dtype != dtypes.Float64 {
		t.Fatalf("ModelDType = %s, %v; want Float64", dtype, err)
	}
	xs := []float64{1 + 1e-9, 0.1234567890123, -2.000000001}
	lp, err := inference.LogProbs(be, store, flow, &data.SamplesOf[float64]{Values: xs, N: len(xs), Dim: 1})
	if err != nil {
		t.Fatal(err)
	}
	for i, x := range xs {
		if want := affineLogProb(x); math.Abs(lp[i]-want) > 1e-13 {
			t.Errorf("log p(%v) = %.16g, want %.16g (closed form): off by %.2g", x, lp[i], want, lp[i]-want)
		}
	}
	if lp[0] == affineLogProb(1) {
		t.Errorf("log p(1 + 1e-9) = log p(1): the input was rounded to float32")
	}

	// float32 data into the float64 model: converted exactly, evaluated in float64.
	x32 := float32(0.1234567890123)
	mean, err := inference.MeanLogProb(be, store, flow, &data.Samples{Values: []float32{x32}, N: 1, Dim: 1})
	if err != nil {
		t.Fatal(err)
	}
	if want := affineLogProb(float64(x32)); math.Abs(mean-want) > 1e-13 {
		t.Errorf("float32 data in a float64 model: log p = %.16g, want %.16g", mean, want)
	}

	// Reconstruct runs forward and back in float64: error of order 1e-16, where
	// float32 would give 1e-8.
	back, err := inference.Reconstruct(be, store, flow, &data.SamplesOf[float64]{Values: xs, N: len(xs), Dim: 1})
	if err != nil {
		t.Fatal(err)
	}
	for i, x := range xs {
		if math.Abs(back.Values[i]-x) > 1e-14 {
			t.Errorf("Reconstruct(%v) = %.16g, want it back to 1e-14", x, back.Values[i])
		}
	}
}

// TestFloat64Sampling checks that SampleOf[float64] returns a float64
// model's samples without rounding them through float32, with the model's
// distribution (mean t, standard deviation e^−s for z = x·e^s + t), and that
// Sample still gives float32 samples of the same model.
func TestFloat64Sampling(t *testing.T) {
	be, _ := backend.Shared()
	store, flow := float64Affine(t)
	s, err := inference.SampleOf[float64](be, store, flow, 4000, 1)
	if err != nil {
		t.Fatal(err)
	}
	rounded, sum := 0, 0.0
	for _, v := range s.Values {
		if float64(float32(v)) == v {
			rounded++
		}
		sum += v
	}
	if rounded > 10 {
		t.Errorf("%d of %d float64 samples are float32 values: they went through float32", rounded, s.N)
	}
	// x = (z − t)·e^−s with z ~ N(0, 1): mean −t·e^−s = 0.074, sd e^−s = 0.74,
	// so the mean of 4000 samples is within 0.06 of it (5 standard errors).
	if mean, want := sum/float64(s.N), -shift*math.Exp(-logScale); math.Abs(mean-want) > 0.06 {
		t.Errorf("sample mean %.4f, want %.4f", mean, want)
	}
	s32, err := inference.Sample(be, store, flow, 5, 0.5)
	if err != nil || s32.N != 5 || s32.Dim != 1 {
		t.Errorf("Sample of a float64 model: %+v, %v; want 5 float32 samples", s32, err)
	}
}

// TestFloat64DataWithoutVariables checks a flow without variables (a
// StandardNormal behind a Logit): it computes in the data's dtype, so
// float64 data near 0.5 keeps its digits, and CheckData64 rejects values
// outside [0, 1] that float32 would round onto its edge.
func TestFloat64DataWithoutVariables(t *testing.T) {
	be, _ := backend.Shared()
	flow := flowlib.NewFlow(flowlib.NewStandardNormal(1), flowlib.NewLogit(0))
	ys := []float64{0.5 + 1e-10, 1e-12}
	lp, err := inference.LogProbs(be, model.NewStore(), flow, &data.SamplesOf[float64]{Values: ys, N: 2, Dim: 1})
	if err != nil {
		t.Fatal(err)
	}
	for i, y := range ys {
		// z = logit(y), log p(y) = log N(z) − log y − log(1 − y).
		z := math.Log(y) - math.Log1p(-y)
		want := -z*z/2 - math.Log(2*math.Pi)/2 - math.Log(y) - math.Log1p(-y)
		if math.Abs(lp[i]-want) > 1e-12*math.Max(1, math.Abs(want)) {
			t.Errorf("log p(%v) = %.16g, want %.16g", y, lp[i], want)
		}
	}
	outside := &data.SamplesOf[float64]{Values: []float64{0.5, 1 + 1e-12}, N: 2, Dim: 1}
	_, err = inference.LogProbs(be, model.NewStore(), flowlib.NewFlow(flowlib.NewStandardNormal(1), flowlib.NewLogit(0.05)), outside)
	if err == nil || !strings.Contains(err.Error(), "value 1.000000000001 of example 1, coordinate 0 is outside [0, 1]") {
		t.Errorf("got %v, want an error naming the value 1.000000000001 outside [0, 1]", err)
	}
}

// TestModelDType checks the dtype read from the store: none before the
// first graph, the variables' dtype after it, and an error for a mix.
func TestModelDType(t *testing.T) {
	store := model.NewStore()
	if dtype, err := inference.ModelDType(store); err != nil || dtype != dtypes.InvalidDType {
		t.Errorf("empty store: ModelDType = %s, %v; want InvalidDType and no error", dtype, err)
	}
	store.RootScope().VariableWithValue("a", []float32{1})
	if dtype, err := inference.ModelDType(store); err != nil || dtype != dtypes.Float32 {
		t.Errorf("float32 variable: ModelDType = %s, %v; want Float32", dtype, err)
	}
	frozen := store.RootScope().VariableWithValue("frozen", []float64{1})
	frozen.SetTrainable(false)
	if dtype, err := inference.ModelDType(store); err != nil || dtype != dtypes.Float32 {
		t.Errorf("with a non-trainable float64 variable: ModelDType = %s, %v; want Float32", dtype, err)
	}
	store.RootScope().VariableWithValue("b", []float64{1})
	if _, err := inference.ModelDType(store); err == nil || !strings.Contains(err.Error(), "mix dtypes: /a is Float32 but /b is Float64") {
		t.Errorf("mixed variables: got %v, want an error naming /a and /b", err)
	}
}

// TestContextChecks checks that the conditional entry points refuse a
// missing, short or non-finite context with a message that says which row.
func TestContextChecks(t *testing.T) {
	be, _ := backend.Shared()
	points := &data.Samples{Values: []float32{0, 1, 2, 3, 4, 5}, N: 3, Dim: 2}
	ctx := func(v ...float32) *data.Samples { return &data.Samples{Values: v, N: len(v), Dim: 1} }
	flow := flowlib.RealNVP(2).NumCouplings(2).Hidden(8).Done()
	cases := []struct {
		name string
		run  func() error
		want string
	}{
		{"check_nil", func() error { return inference.CheckContext("data", points, nil) }, "data: no context given"},
		{"check_rows", func() error { return inference.CheckContext("data", points, ctx(1, 2)) }, "2 context rows for 3 examples"},
		{"check_nan", func() error { return inference.CheckContext("data", points, ctx(1, float32(math.NaN()), 2)) }, "non-finite context value (NaN) in row 1, column 0"},
		{"check_inf", func() error { return inference.CheckContext("data", points, ctx(1, 2, float32(math.Inf(1)))) }, "non-finite context value (+Inf) in row 2"},
		{"check_no_columns", func() error {
			return inference.CheckContext("data", points, &data.Samples{N: 3, Dim: 0})
		}, "0 values per row"},
		{"check_ragged", func() error {
			return inference.CheckContext("data", points, &data.Samples{Values: []float32{1, 2}, N: 3, Dim: 1})
		}, "the context has 2 values but N×Dim = 3×1"},
		{"logprobs_rows", func() error {
			_, err := inference.LogProbsWithContext(be, model.NewStore(), flow, points, ctx(1))
			return err
		}, "1 context rows for 3 examples"},
		{"sample_none", func() error {
			_, err := inference.SampleWithContext(be, model.NewStore(), flow, ctx(), 1)
			return err
		}, "needs at least one context row"},
		{"sample_nan", func() error {
			_, err := inference.SampleWithContext(be, model.NewStore(), flow, ctx(float32(math.NaN())), 1)
			return err
		}, "non-finite context value (NaN) in row 0"},
		{"sample_temperature", func() error {
			_, err := inference.SampleWithContext(be, model.NewStore(), flow, ctx(0.5), 0)
			return err
		}, "temperature must be positive"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.run()
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got error %v, want one containing %q", err, tc.want)
			}
		})
	}
	if err := inference.CheckContext("data", points, ctx(1, 2, 3)); err != nil {
		t.Errorf("a good context was refused: %v", err)
	}
}

// TestLatentLevels checks which latent coordinates leave a multi-scale flow
// at which level: half of them at each FactorOut, the rest at the last level.
func TestLatentLevels(t *testing.T) {
	be, _ := backend.Shared()
	for _, tc := range []struct {
		name string
		flow *flowlib.Flow
		want []int // coordinates per level 0, 1, ...
	}{
		{"glow, 1 level", smallGlow(), []int{16}},
		{"glow, 2 levels", flowlib.Glow(4, 4, 1).Levels(2).Steps(1).Hidden(4).Done(), []int{8, 8}},
		{"realnvp, 3 levels", flowlib.RealNVPImage(8, 8, 1).Levels(3).Steps(1).Hidden(4).Done(), []int{32, 16, 16}},
		{"vectors", smallFlow(), []int{2}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			levels, err := inference.LatentLevels(be, tc.flow)
			if err != nil {
				t.Fatal(err)
			}
			counts := make([]int, len(tc.want))
			for _, l := range levels {
				if l < 0 || l >= len(counts) {
					t.Fatalf("level %d, want levels 0…%d", l, len(counts)-1)
				}
				counts[l]++
			}
			if !slices.Equal(counts, tc.want) {
				t.Errorf("coordinates per level %v, want %v", counts, tc.want)
			}
		})
	}

	// The coordinates labelled 1 are those that the second level computes:
	// changing its weights changes them and no others.
	glow := flowlib.Glow(4, 4, 1).Levels(2).Steps(1).Hidden(4).LearnedPrior(false).Done()
	store := model.NewStore()
	images := pixels(2, 0, 0, 9)
	encode := func() []float32 {
		if err := store.SetRNGStateFromSeed(7); err != nil {
			t.Fatal(err)
		}
		z, err := inference.Encode(be, store, glow, images)
		if err != nil {
			t.Fatal(err)
		}
		return z.Values
	}
	encode() // ActNorm initialises itself from the first batch it sees.
	before := encode()
	if again := encode(); !slices.Equal(before, again) {
		t.Fatalf("two encodings with the same seed differ:\n%v\n%v", before, again)
	}
	changed := 0
	for v := range store.IterVariables() {
		if !v.Trainable || !strings.Contains(v.Path(), "/inner/") {
			continue
		}
		value, _ := v.Value()
		w := tensors.MustCopyFlatData[float32](value)
		for i := range w {
			w[i] += 0.3 * float32(i%5+1)
		}
		if err := v.SetValue(tensors.FromFlatDataAndDimensions(w, value.Shape().Dimensions...)); err != nil {
			t.Fatal(err)
		}
		changed++
	}
	if changed == 0 {
		t.Fatal("no variables of the second level to change")
	}
	after := encode()
	levels, err := inference.LatentLevels(be, glow)
	if err != nil {
		t.Fatal(err)
	}
	for i := range before {
		if moved := before[i] != after[i]; moved != (levels[i%16] == 1) {
			t.Errorf("latent coordinate %d (level %d): changed %v when the second level's weights changed", i%16, levels[i%16], moved)
		}
	}
}

// TestEncodeDecode checks that Decode inverts Encode, that ResampleLevels
// keeping every level gives the examples back and keeping none gives
// different images per variant, and that bad requests are refused.
func TestEncodeDecode(t *testing.T) {
	be, _ := backend.Shared()
	store := model.NewStore()
	flow := smallFlow()
	x := &data.SamplesOf[float64]{Values: []float64{0.5, -1, 2, 0.25, -0.75, 1.5}, N: 3, Dim: 2}
	z, err := inference.Encode(be, store, flow, x)
	if err != nil {
		t.Fatal(err)
	}
	back, err := inference.Decode(be, store, flow, z)
	if err != nil {
		t.Fatal(err)
	}
	for i, v := range back.Values {
		if math.Abs(v-x.Values[i]) > 1e-4 {
			t.Fatalf("Decode(Encode(x)) = %v, want %v", back.Values, x.Values)
		}
	}
	if _, err := inference.Decode(be, store, flow, &data.SamplesOf[float64]{Values: []float64{1, 2, 3}, N: 1, Dim: 3}); err == nil ||
		!strings.Contains(err.Error(), "latent has shape [2]") {
		t.Errorf("latents of the wrong size: got %v", err)
	}
	if _, err := inference.Decode(be, store, flow, &data.SamplesOf[float64]{Values: []float64{1, math.NaN()}, N: 1, Dim: 2}); err == nil ||
		!strings.Contains(err.Error(), "non-finite latent value (NaN) in latent 0, coordinate 1") {
		t.Errorf("a NaN latent: got %v", err)
	}

	glowStore, glow := model.NewStore(), flowlib.Glow(4, 4, 1).Levels(2).Steps(1).Hidden(4).Done()
	images := pixels(2, 0, 0, 7)
	kept, err := inference.ResampleLevels(be, glowStore, glow, images, []int{0, 1}, 2, 1, 3)
	if err != nil {
		t.Fatal(err)
	}
	if kept.N != 4 {
		t.Fatalf("%d images for 2 examples × 2 variants", kept.N)
	}
	for i, v := range kept.Values {
		if want := images.Values[(i/32)*16+i%16]; math.Abs(float64(v-want)) > 0.5 {
			t.Fatalf("keeping every level, pixel %d is %v, want the example's %v", i, v, want)
		}
	}
	fresh, err := inference.ResampleLevels(be, glowStore, glow, images, nil, 2, 1, 3)
	if err != nil {
		t.Fatal(err)
	}
	if slices.Equal(fresh.Row(0), fresh.Row(1)) {
		t.Error("keeping no level, two variants of an example are the same image")
	}
	for _, tc := range []struct {
		keep     []int
		variants int
		want     string
	}{
		{[]int{2}, 1, "level 2 to keep does not exist; this flow's latent has levels 0…1"},
		{nil, 0, "at least 1 variant"},
	} {
		if _, err := inference.ResampleLevels(be, glowStore, glow, images, tc.keep, tc.variants, 1, 3); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("ResampleLevels(keep %v, %d variants): got %v, want an error containing %q", tc.keep, tc.variants, err, tc.want)
		}
	}
}
