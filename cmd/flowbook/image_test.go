package main

import (
	"bytes"
	"encoding/json"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/flowbook/flowbook/flowlib"
	"github.com/flowbook/flowbook/flowlib/data"
)

// gridPixels is the size in pixels, [width, height], of a PNG grid of
// columns×rows images of 28×28, as sample draws it: each pixel enlarged
// gridScale times, 2 pixels of padding between cells (images.NewGrid's
// default).
func gridPixels(columns, rows int) [2]int {
	const padding = 2
	cell := mnistSide * gridScale
	return [2]int{columns*cell + (columns-1)*padding, rows*cell + (rows-1)*padding}
}

// checkPNG fails unless path is a PNG image of size [width, height].
func checkPNG(t *testing.T, path string, size [2]int) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatalf("%s is not a valid PNG: %v", path, err)
	}
	if b := img.Bounds(); b.Dx() != size[0] || b.Dy() != size[1] {
		t.Errorf("%s is %d×%d pixels, want %d×%d", path, b.Dx(), b.Dy(), size[0], size[1])
	}
}

// bitsPerDim returns the number on the "test bits/dim: " line of out,
// checking that the line reads exactly like "test bits/dim: 1.2345".
func bitsPerDim(t *testing.T, out string) float64 {
	t.Helper()
	for _, line := range strings.Split(out, "\n") {
		if rest, ok := strings.CutPrefix(line, "test bits/dim: "); ok {
			v := number(t, line, "test bits/dim:")
			if parts := strings.Split(rest, "."); len(parts) != 2 || len(parts[1]) != 4 {
				t.Errorf("the line %q should have a number with 4 decimals", line)
			}
			return v
		}
	}
	t.Fatalf("no line starting with \"test bits/dim: \" in the output:\n%s", out)
	return 0
}

// TestImageCommands trains a tiny multi-scale RealNVP on the shared made-up
// MNIST files, resumes it, evaluates it and draws every kind of picture.
func TestImageCommands(t *testing.T) {
	tmp := t.TempDir()
	dir := filepath.Join(tmp, "ckpt")
	mnist := "mnist:" + shared.mnist
	trainArgs := []string{"train", "--data", mnist, "--model", "realnvp", "--levels", "2", "--steps-per-level", "1",
		"--hidden", "4", "--batch", "4", "--eval-every", "1", "--test-n", "4", "--checkpoint", dir}

	out := mustRun(t, append(trainArgs, "--steps", "2")...)
	wantContains(t, out, "images of 28×28×1: 32 to train on, 8 to test on (the first 4 evaluated during training)",
		"realnvp, images 28×28×1, 2 levels of 1 coupling, hidden 4, actnorm on, min scale 0.25, learned prior off",
		"batch 4", "step      1  test NLL", "trained steps 0 to 2", "test set at step 2, 4 images", "nats per image")
	if bpd := bitsPerDim(t, out); !(bpd > 0 && bpd < 16) {
		t.Errorf("test bits/dim %v; expected between 0 and 16 (8 for a model that knows nothing)", bpd)
	}
	if _, err := os.Stat(filepath.Join(dir, "test.csv")); err == nil {
		t.Errorf("train wrote test.csv for images, which stay in their own files")
	}

	// Resuming takes the architecture from the checkpoint.
	out = mustRun(t, "train", "--data", mnist, "--steps", "3", "--batch", "4", "--checkpoint", dir)
	wantContains(t, out, "resuming from the checkpoint", "2 levels of 1 coupling, hidden 4", "trained steps 2 to 3",
		"test set at step 3, 8 images")
	// --max-time stops at the first step past it, and says how to go on.
	out = mustRun(t, "train", "--data", mnist, "--steps", "1000", "--batch", "4", "--max-time", "1ns", "--eval-every", "0", "--checkpoint", dir)
	wantContains(t, out, "for at most 1ns", "trained steps 3 to 4", "stopped by --max-time 1ns at step 4 of 1000")

	// Eval finds the test images by itself; the seed decides the dequantization noise.
	out = mustRun(t, "eval", "--checkpoint", dir)
	wantContains(t, out, "step 4 (trained on "+mnist+")", "test split, 8 images", "seed 2")
	first := bitsPerDim(t, out)
	if again := bitsPerDim(t, mustRun(t, "eval", "--checkpoint", dir)); again != first {
		t.Errorf("eval with the same seed gave %v, then %v", first, again)
	}
	out = mustRun(t, "eval", "--checkpoint", dir, "--data", mnist, "--n", "3", "--seed", "5")
	wantContains(t, out, "test split, 3 images", "seed 5")

	// Export writes the model without its training state, and the bits/dim
	// that eval measures, which eval of the exported model then gives too.
	ship := filepath.Join(tmp, "ship")
	out = mustRun(t, "export", "--checkpoint", dir, "--out", ship)
	wantContains(t, out, "saved in "+ship, "on 8 test images (seed 2)")
	var expected expectedScore
	if text, err := os.ReadFile(filepath.Join(ship, "expected.json")); err != nil {
		t.Fatal(err)
	} else if err := json.Unmarshal(text, &expected); err != nil {
		t.Fatal(err)
	}
	if math.Abs(expected.TestBitsPerDim-first) > 5e-5 || expected.Step != 4 || expected.TestImages != 8 || expected.Data != mnist {
		t.Errorf("expected.json holds %+v; want step 4, 8 images of %s, bits/dim %v as eval gives", expected, mnist, first)
	}
	if shipped := bitsPerDim(t, mustRun(t, "eval", "--checkpoint", ship)); shipped != first {
		t.Errorf("eval of the exported model gives %v bits/dim, of the checkpoint %v", shipped, first)
	}
	if code, _, stderr := runCLI("export", "--checkpoint", dir, "--out", ship); code != exitError {
		t.Errorf("export into a directory with a checkpoint: exit %d, want %d", code, exitError)
	} else {
		checkOneErrorLine(t, stderr, "already holds a checkpoint")
	}

	pngPath := func(name string) string { return filepath.Join(tmp, name) }
	tests := []struct {
		name          string
		args          []string
		want          []string
		width, height int // of the grid, in images (columns, rows)
	}{
		{"samples, default n", []string{"--temperature", "0.7"},
			[]string{"64 samples drawn at temperature 0.7 with seed 1", "in 8 columns"}, 8, 8},
		{"samples", []string{"--n", "5"},
			[]string{"5 samples drawn at temperature 1", "in 3 columns", "pixel values: min "}, 3, 2},
		{"reconstruct", []string{"--reconstruct", "--n", "5"},
			[]string{"the first 5 test images", "reconstruction", "largest difference between an image and its reconstruction: 0 pixel levels"}, 3, 4},
		{"interpolate", []string{"--interpolate", "0,7", "--steps", "4", "--data", mnist},
			[]string{"4 images along the latent line from test image 0 to test image 7"}, 4, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := pngPath(strings.ReplaceAll(tt.name, " ", "-") + ".png")
			out := mustRun(t, append([]string{"sample", "--checkpoint", dir, "--out", path}, tt.args...)...)
			wantContains(t, out, append(tt.want, "wrote "+path, "model at step 4")...)
			checkPNG(t, path, gridPixels(tt.width, tt.height))
		})
	}

	// The seed decides the samples.
	a, b := pngPath("a.png"), pngPath("b.png")
	for _, path := range []string{a, b} {
		mustRun(t, "sample", "--checkpoint", dir, "--n", "4", "--seed", "3", "--out", path)
	}
	contentA, errA := os.ReadFile(a)
	contentB, errB := os.ReadFile(b)
	if errA != nil || errB != nil {
		t.Fatal(errA, errB)
	}
	if !bytes.Equal(contentA, contentB) {
		t.Errorf("the same seed drew different images")
	}
}

func TestParseImageData(t *testing.T) {
	abs, err := filepath.Abs("some/dir")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		value   string
		want    dataSource
		wantErr string
	}{
		{"mnist:/data/mnist", dataSource{scheme: "mnist", dir: "/data/mnist"}, ""},
		{"fashion-mnist:/data/fm", dataSource{scheme: "fashion-mnist", dir: "/data/fm"}, ""},
		{"mnist:some/dir", dataSource{scheme: "mnist", dir: abs}, ""},
		{"mnist:", dataSource{}, "needs the directory"},
		{"moons", dataSource{toy: "moons"}, ""},
		{"points.csv", dataSource{path: "points.csv"}, ""},
		{"mnist", dataSource{}, "mnist:DIR"},
	}
	for _, tt := range tests {
		t.Run(tt.value, func(t *testing.T) {
			got, err := parseData(tt.value)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("got %+v, %v; want %+v", got, err, tt.want)
			}
			if again, err := parseData(got.String()); err != nil || again != got {
				t.Errorf("String %q does not parse back: %+v, %v", got.String(), again, err)
			}
		})
	}
}

func TestParsePair(t *testing.T) {
	tests := []struct {
		value   string
		want    [2]int
		wantErr string
	}{
		{"0,1", [2]int{0, 1}, ""},
		{" 12 , 3 ", [2]int{12, 3}, ""},
		{"4,4", [2]int{4, 4}, ""},
		{"1", [2]int{}, "two test image indices"},
		{"1,2,3", [2]int{}, "two test image indices"},
		{"a,1", [2]int{}, `"a" is not an index`},
		{"1,-2", [2]int{}, `"-2" is not an index`},
		{",", [2]int{}, "is not an index"},
	}
	for _, tt := range tests {
		t.Run(tt.value, func(t *testing.T) {
			got, err := parsePair(tt.value)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("got %v, %v; want %v", got, err, tt.want)
			}
		})
	}
}

// images1x1 returns n one-pixel images with the given values.
func images1x1(values ...float32) *data.Samples {
	return &data.Samples{Values: values, N: len(values), Dim: 1, Shape: []int{1, 1, 1}}
}

func TestPairRows(t *testing.T) {
	const w = blankLevel
	tests := []struct {
		name    string
		top     []float32
		bottom  []float32
		columns int
		want    []float32
	}{
		{"one full row", []float32{1, 2}, []float32{-1, -2}, 2, []float32{1, 2, -1, -2}},
		{"two full rows", []float32{1, 2, 3, 4}, []float32{-1, -2, -3, -4}, 2, []float32{1, 2, -1, -2, 3, 4, -3, -4}},
		{"a last row padded", []float32{1, 2, 3}, []float32{-1, -2, -3}, 2, []float32{1, 2, -1, -2, 3, w, -3, w}},
		{"one column", []float32{1, 2}, []float32{-1, -2}, 1, []float32{1, -1, 2, -2}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := pairRows(images1x1(tt.top...), images1x1(tt.bottom...), tt.columns)
			if !slices.Equal(got.Values, tt.want) || got.N != len(tt.want) || !slices.Equal(got.Shape, []int{1, 1, 1}) {
				t.Errorf("got %v (N=%d, shape %v), want %v", got.Values, got.N, got.Shape, tt.want)
			}
		})
	}
}

func TestCheckPixels(t *testing.T) {
	nan, inf := float32(math.NaN()), float32(math.Inf(1))
	tests := []struct {
		name           string
		values         []float32
		wantErr        string
		wantLo, wantHi float32
	}{
		{"finite", []float32{3, 0, 255, 17}, "", 0, 255},
		{"one value", []float32{9}, "", 9, 9},
		{"NaN", []float32{1, nan, 2}, "1 of the 3 pixel values computed are NaN or Inf", 0, 0},
		{"Inf", []float32{inf, -inf}, "2 of the 2 pixel values", 0, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := checkPixels(images1x1(tt.values...))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) || !strings.Contains(err.Error(), "no image was written") {
					t.Fatalf("error %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if lo, hi := pixelRange(tt.values); lo != tt.wantLo || hi != tt.wantHi {
				t.Errorf("range %v..%v, want %v..%v", lo, hi, tt.wantLo, tt.wantHi)
			}
		})
	}
}

func TestFirstN(t *testing.T) {
	s := &data.Samples{Values: []float32{1, 2, 3, 4, 5, 6}, N: 3, Dim: 2, Labels: []int{7, 8, 9}}
	tests := []struct {
		n          int
		wantValues []float32
		wantLabels []int
	}{
		{0, []float32{1, 2, 3, 4, 5, 6}, []int{7, 8, 9}},
		{1, []float32{1, 2}, []int{7}},
		{2, []float32{1, 2, 3, 4}, []int{7, 8}},
		{3, []float32{1, 2, 3, 4, 5, 6}, []int{7, 8, 9}},
		{10, []float32{1, 2, 3, 4, 5, 6}, []int{7, 8, 9}},
	}
	for _, tt := range tests {
		got := firstN(s, tt.n)
		if got.N != len(tt.wantLabels) || !slices.Equal(got.Values, tt.wantValues) || !slices.Equal(got.Labels, tt.wantLabels) {
			t.Errorf("firstN(%d) = %+v, want values %v and labels %v", tt.n, got, tt.wantValues, tt.wantLabels)
		}
	}
	if s.N != 3 {
		t.Errorf("firstN changed its argument")
	}
}

// requestFor runs buildSpec on train's model flags and -set as args give
// them, for data of the given shape.
func requestFor(t *testing.T, shape []int, args ...string) (*requested, error) {
	t.Helper()
	fs := newFlagSet("train")
	defineModelFlags(fs)
	settings := fs.String("set", "", "")
	if err := fs.Parse(args); err != nil {
		t.Fatal(err)
	}
	return buildSpec(fs, flagsSet(fs), *settings, 1, shape)
}

// TestModelSpecImageDefaults checks that the image settings left out take
// the model's defaults (flowlib's builders'), and those given win.
func TestModelSpecImageDefaults(t *testing.T) {
	tests := []struct {
		args             []string
		wantSteps        int
		wantLearnedPrior bool
	}{
		{[]string{"--model", "glow"}, 4, true},
		{[]string{"--model", "realnvp"}, 3, false},
		{[]string{"--model", "glow", "--steps-per-level", "0"}, 4, true},
		{[]string{"--model", "glow", "--learned-prior=false", "--steps-per-level", "2"}, 2, false},
		{[]string{"--model", "realnvp", "--learned-prior", "--steps-per-level", "5"}, 5, true},
	}
	for _, tt := range tests {
		r, err := requestFor(t, []int{28, 28, 1}, tt.args...)
		if err != nil {
			t.Fatalf("%v: %v", tt.args, err)
		}
		params, err := r.spec.Params()
		if err != nil {
			t.Fatal(err)
		}
		steps, prior := params[flowlib.ParamImageFlowSteps], params[flowlib.ParamImageFlowLearnedPrior]
		if steps != tt.wantSteps || prior != tt.wantLearnedPrior {
			t.Errorf("%v: steps %v, learned prior %v; want %d, %v", tt.args, steps, prior, tt.wantSteps, tt.wantLearnedPrior)
		}
	}
}

// TestSetFlag checks -set over the model's parameters: it sets them (typed
// by flowlib's defaults), conflicts with a flag that sets the same one, and
// an unknown key or a key of the other kind of data lists the valid keys.
func TestSetFlag(t *testing.T) {
	image, vectors := []int{28, 28, 1}, []int{2}
	tests := []struct {
		name    string
		shape   []int
		args    []string
		want    map[string]any // parameters of the spec
		wantErr []string
	}{
		{"image settings", image, []string{"--model", "glow", "--set", "image_flow_levels=1;image_flow_hidden=16,32;image_flow_coupling_scale=tanh"},
			map[string]any{flowlib.ParamImageFlowLevels: 1, flowlib.ParamImageFlowHidden: []int{16, 32},
				flowlib.ParamImageFlowCouplingScale: "tanh", flowlib.ParamImageFlowSteps: 4}, nil},
		{"with flags", image, []string{"--levels", "1", "-set", "image_flow_scale_bound=2.5"},
			map[string]any{flowlib.ParamImageFlowLevels: 1, flowlib.ParamImageFlowScaleBound: 2.5}, nil},
		{"seed by -set", image, []string{"-set", "image_flow_seed=9"}, map[string]any{flowlib.ParamImageFlowSeed: 9}, nil},
		{"vector settings", vectors, []string{"-set", "realnvp_couplings=3;flowbook_base=mixture;flowbook_components=5"},
			map[string]any{flowlib.ParamRealNVPCouplings: 3, flowlib.ParamBase: "mixture", flowlib.ParamComponents: 5}, nil},
		{"mixture takes --components' default", vectors, []string{"-set", "flowbook_base=mixture"},
			map[string]any{flowlib.ParamComponents: 8}, nil},
		{"conflict", image, []string{"--levels", "1", "-set", "image_flow_levels=2"}, nil,
			[]string{"--levels and -set image_flow_levels both set", "give one"}},
		{"unknown key", image, []string{"-set", "image_flow_depth=3"}, nil,
			[]string{"-set image_flow_depth: unknown parameter", "realnvp model of images of 28×28×1", "valid parameters:", "image_flow_levels"}},
		{"key of the other data", vectors, []string{"-set", "image_flow_levels=3"}, nil,
			[]string{"-set image_flow_levels: unknown parameter", "vectors of dimension 2", "realnvp_couplings"}},
		{"the model is a flag", image, []string{"-set", "flowbook_model=glow"}, nil, []string{"--model"}},
		{"no value", image, []string{"-set", "image_flow_levels"}, nil, []string{"key=value"}},
		{"bad value", image, []string{"-set", "image_flow_levels=many"}, nil, []string{"-set", "image_flow_levels"}},
		{"invalid value", image, []string{"-set", "image_flow_invconv=qr"}, nil,
			[]string{"-set image_flow_invconv=qr: unknown 1×1 convolution; valid: lu, exp"}},
		{"invalid flag", image, []string{"--levels", "0"}, nil, []string{"--levels 0: realnvp needs at least 1 level"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.name == "with flags" || tt.name == "seed by -set" {
				tt.args = append([]string{"--model", "glow"}, tt.args...)
			}
			r, err := requestFor(t, tt.shape, tt.args...)
			if tt.wantErr != nil {
				if err == nil {
					t.Fatalf("%v: no error, want one saying %q", tt.args, tt.wantErr)
				}
				wantContains(t, err.Error(), tt.wantErr...)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			params, err := r.spec.Params()
			if err != nil {
				t.Fatal(err)
			}
			for key, want := range tt.want {
				if got := params[key]; !reflect.DeepEqual(got, want) {
					t.Errorf("%s = %#v, want %#v", key, got, want)
				}
			}
		})
	}
}

// TestTrainWithSet trains with -set, checks that the checkpoint's
// description has the settings and every key flowlib reads (the coupling
// scale too, which the command line once left out), and that the same
// command resumes: a setting equal to the checkpoint's is no conflict.
func TestTrainWithSet(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "ckpt")
	args := []string{"train", "--data", "moons", "--n", "200", "-set", "realnvp_couplings=1;realnvp_hidden=4",
		"--steps", "2", "--batch", "16", "--eval-every", "0", "--checkpoint", dir}
	out := mustRun(t, args...)
	wantContains(t, out, "model: realnvp, dim 2, 1 couplings, hidden 4,")
	args[slices.Index(args, "--steps")+1] = "4"
	out = mustRun(t, args...)
	wantContains(t, out, "resuming from the checkpoint", "1 couplings, hidden 4,")

	ckpt, found, err := openCheckpoint(shared.imageCkpt)
	if err != nil || !found {
		t.Fatalf("openCheckpoint: found %v, error %v", found, err)
	}
	want, err := ckpt.spec.Params()
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := want[flowlib.ParamImageFlowCouplingScale]; !ok {
		t.Fatalf("the spec's parameters lack %s", flowlib.ParamImageFlowCouplingScale)
	}
	for key := range want {
		if _, stored := ckpt.store.RootScope().GetParam(key); !stored {
			t.Errorf("the image checkpoint lacks the parameter %s", key)
		}
	}
}
