package quality_test

import (
	"errors"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gomlx/gomlx/ml/model"

	"github.com/flowbook/flowbook/flowlib/data"
	"github.com/flowbook/flowbook/flowlib/quality"
)

// The shipped classifier gets at least 97% of the test digits right (it
// got 98.15% when it was trained), and says so in its store.
func TestShippedClassifierAccuracy(t *testing.T) {
	_, test := loadMNIST(t)
	c := shippedClassifier(t)
	accuracy, err := c.Accuracy(testBackend(t), test)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("accuracy on %d test digits: %.4f (step %d, %d weights)", test.N, accuracy, c.Step(), c.NumWeights())
	if accuracy < 0.97 {
		t.Errorf("the shipped classifier gets %.4f of the test digits right, want ≥ 0.97", accuracy)
	}
	if recorded, ok := c.TestAccuracy(); !ok || recorded < 0.97 {
		t.Errorf("recorded test accuracy %v (%v), want ≥ 0.97", recorded, ok)
	}
}

// The shipped checkpoint stays small: weights only, no optimizer state.
func TestShippedClassifierIsSmall(t *testing.T) {
	paths, err := filepath.Glob(filepath.Join(shippedDir, "checkpoint-*"))
	if err != nil || len(paths) != 2 {
		t.Fatalf("want one checkpoint (a .json and a .bin) in %s, got %v (%v)", shippedDir, paths, err)
	}
	var size int64
	for _, p := range paths {
		info, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		size += info.Size()
	}
	if size > 1<<20 {
		t.Errorf("the shipped checkpoint is %d bytes, want < 1 MB", size)
	}
	if _, err := os.Stat(filepath.Join(shippedDir, "README.md")); err != nil {
		t.Errorf("the shipped classifier has no README.md: %v", err)
	}
}

// checkReport fails if the report is not self-consistent: fractions in
// [0, 1], the class counts adding up to the confident images, finite SEs.
func checkReport(t *testing.T, r *quality.Report) {
	t.Helper()
	sum := 0
	for _, c := range r.Classes {
		sum += c
	}
	if want := int(math.Round(r.Confident * float64(r.N))); sum != want {
		t.Errorf("the classes count %d confident images, Confident·N = %d", sum, want)
	}
	if r.Confident+r.NotDigit > 1+1e-9 {
		t.Errorf("Confident %v + NotDigit %v > 1", r.Confident, r.NotDigit)
	}
	for name, v := range map[string]float64{"Confident": r.Confident, "NotDigit": r.NotDigit, "Ink": r.Ink, "Saturated": r.Saturated,
		"Blocks": r.Blocks, "MeanConfidence": r.MeanConfidence, "MeanMax/255": r.MeanMax / 255} {
		if !(v >= 0 && v <= 1) {
			t.Errorf("%s = %v, want a value in [0, 1]", name, v)
		}
	}
	for name, se := range map[string]float64{"ConfidentSE": r.ConfidentSE, "NotDigitSE": r.NotDigitSE, "InkSE": r.InkSE, "SaturatedSE": r.SaturatedSE,
		"SpeckleSE": r.SpeckleSE, "MeanMaxSE": r.MeanMaxSE, "BlocksSE": r.BlocksSE} {
		if !(se >= 0) || math.IsInf(se, 0) {
			t.Errorf("%s = %v, want a finite value ≥ 0", name, se)
		}
	}
}

// Measure tells real digits, blank images, noise and white blocks apart.
func TestMeasure(t *testing.T) {
	b := testBackend(t)
	c := shippedClassifier(t)
	type bounds struct{ lo, hi float64 }
	// The classifier never saw these blank, noise or block images, but it
	// was trained on others of their kinds, labelled NotDigit.
	tests := []struct {
		name                                                          string
		images                                                        func(t *testing.T) *data.Samples
		confident, notDigit, ink, saturated, speckle, meanMax, blocks bounds
	}{
		{"real test digits", func(t *testing.T) *data.Samples { _, test := loadMNIST(t); return test },
			bounds{0.9, 1}, bounds{0, 0.01}, bounds{0.11, 0.15}, bounds{0.005, 0.15}, bounds{0, 0.5}, bounds{250, 255}, bounds{0, 0.01}},
		{"blank", func(*testing.T) *data.Samples { return blank(16) },
			bounds{0, 0.05}, bounds{0.9, 1}, bounds{0, 0}, bounds{0, 0}, bounds{0, 0}, bounds{0, 0}, bounds{0, 0}},
		{"uniform noise", func(*testing.T) *data.Samples { return noise(64, 3) },
			bounds{0, 0.05}, bounds{0.9, 1}, bounds{0.48, 0.52}, bounds{0.015, 0.03}, bounds{0, 3}, bounds{250, 255}, bounds{0, 0}},
		// Only the four corners of a solid square have two black neighbours.
		{"white blocks", func(*testing.T) *data.Samples { return whiteBlocks(32) },
			bounds{0, 0.05}, bounds{0.9, 1}, bounds{0.5, 0.52}, bounds{0.5, 0.52}, bounds{4, 4}, bounds{255, 255}, bounds{1, 1}},
		// Dotted blocks have few white pixels, all of them speckled.
		{"dotted blocks", func(*testing.T) *data.Samples { return dottedBlocks(32) },
			bounds{0, 1}, bounds{0, 1}, bounds{0.06, 0.07}, bounds{0.06, 0.07}, bounds{49, 49}, bounds{255, 255}, bounds{0, 0}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			images := tt.images(t)
			r, err := quality.Measure(b, c, images)
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("%s: %v %+v", tt.name, r.Cells(), *r)
			if r.N != images.N {
				t.Errorf("N = %d, want %d", r.N, images.N)
			}
			checkReport(t, r)
			for _, f := range []struct {
				name  string
				value float64
				want  bounds
			}{
				{"Confident", r.Confident, tt.confident}, {"NotDigit", r.NotDigit, tt.notDigit}, {"Ink", r.Ink, tt.ink}, {"Saturated", r.Saturated, tt.saturated},
				{"Speckle", r.Speckle, tt.speckle}, {"MeanMax", r.MeanMax, tt.meanMax}, {"Blocks", r.Blocks, tt.blocks},
			} {
				if !(f.value >= f.want.lo-1e-9 && f.value <= f.want.hi+1e-9) {
					t.Errorf("%s = %v, want it in [%v, %v]", f.name, f.value, f.want.lo, f.want.hi)
				}
			}
		})
	}
}

// The reference is Measure of the test digits, labelled.
func TestReference(t *testing.T) {
	_, test := loadMNIST(t)
	b, c := testBackend(t), shippedClassifier(t)
	ref, err := quality.Reference(b, c, test)
	if err != nil {
		t.Fatal(err)
	}
	r, err := quality.Measure(b, c, test)
	if err != nil {
		t.Fatal(err)
	}
	if ref.Label != quality.ReferenceLabel {
		t.Errorf("Label %q, want %q", ref.Label, quality.ReferenceLabel)
	}
	r.Label = ref.Label
	if *r != *ref {
		t.Errorf("Reference %+v differs from Measure %+v", *ref, *r)
	}
	// Every digit is about a tenth of the test set.
	for k, count := range ref.Classes {
		if share := float64(count) / float64(ref.N); share < 0.06 || share > 0.14 {
			t.Errorf("%.3f of the test digits are confidently %d; want about 0.1", share, k)
		}
	}
}

// Bad input gets an error that says what is wrong, never a panic.
func TestMeasureRejectsBadInput(t *testing.T) {
	b, c := testBackend(t), shippedClassifier(t)
	with := func(edit func(s *data.Samples)) *data.Samples {
		s := blank(3)
		edit(s)
		return s
	}
	tests := []struct {
		name       string
		classifier *quality.Classifier
		images     *data.Samples
		wants      []string
	}{
		{"no images", c, nil, []string{"no images"}},
		{"empty", c, &data.Samples{Dim: 784, Shape: []int{28, 28, 1}}, []string{"no images"}},
		{"flat vectors", c, with(func(s *data.Samples) { s.Shape = nil }), []string{"Shape [28 28 1]", "got Shape [784]"}},
		{"colour", c, &data.Samples{N: 1, Dim: 784 * 3, Shape: []int{28, 28, 3}, Values: make([]float32, 784*3)}, []string{"got Shape [28 28 3]"}},
		{"short values", c, with(func(s *data.Samples) { s.Values = s.Values[:100] }), []string{"should have 2352 values, got 100"}},
		{"NaN", c, with(func(s *data.Samples) { s.Values[784+28*3+5] = float32(math.NaN()) }), []string{"image 1", "non-finite", "row 3, column 5"}},
		{"Inf", c, with(func(s *data.Samples) { s.Values[7] = float32(math.Inf(1)) }), []string{"image 0", "non-finite"}},
		{"negative", c, with(func(s *data.Samples) { s.Values[2*784] = -1 }), []string{"image 2", "outside the grey levels 0…255"}},
		{"above 255", c, with(func(s *data.Samples) { s.Values[0] = 300 }), []string{"pixel 300", "not rescaled"}},
		{"no classifier", nil, blank(1), []string{"needs a classifier", "LoadClassifier"}},
		{"untrained classifier", &quality.Classifier{Store: model.NewStore()}, blank(1), []string{"lacks the weights", "load a trained one"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := quality.Measure(b, tt.classifier, tt.images)
			if r != nil {
				t.Errorf("a report for bad input: %+v", *r)
			}
			wantError(t, err, tt.wants...)
		})
	}
}

// LoadClassifier says what is wrong with a directory, and how to train a
// classifier when there is none.
func TestLoadClassifierErrors(t *testing.T) {
	empty := t.TempDir()
	// A flow's checkpoint is a checkpoint, but not a classifier's.
	flow := filepath.Join("..", "testdata", "v1", "realnvp-moons")
	tests := []struct {
		name, dir string
		noneThere bool
		wants     []string
	}{
		{"missing", filepath.Join(empty, "nowhere"), true, []string{"no digit classifier", "does not exist", "flowbook classifier --data mnist:.cache/mnist --out " + filepath.Join(empty, "nowhere")}},
		{"empty", empty, true, []string{"no digit classifier", "holds no checkpoint", "flowbook classifier"}},
		{"default", quality.DefaultDir, true, []string{quality.TrainCommand, "repository root"}},
		{"a flow", flow, false, []string{"not a digit classifier"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := quality.LoadClassifier(tt.dir)
			if c != nil {
				t.Errorf("got a classifier from %s", tt.dir)
			}
			wantError(t, err, tt.wants...)
			if got := errors.Is(err, quality.ErrNoClassifier); got != tt.noneThere {
				t.Errorf("errors.Is(err, ErrNoClassifier) = %v, want %v", got, tt.noneThere)
			}
		})
	}
}

// A classifier saved and loaded again computes the same probabilities, and
// its checkpoint holds the weights but not Adam's moments. Saving over a
// checkpoint is refused; a checkpoint whose weights do not fit its
// description does not load.
func TestSaveAndLoad(t *testing.T) {
	b := testBackend(t)
	train := noise(40, 5)
	train.Labels = make([]int, train.N)
	for i := range train.Labels {
		train.Labels[i] = i % 10
	}
	res, err := quality.Train(b, train).Channels(2, 3).Hidden(4).Steps(3).BatchSize(8).Run()
	if err != nil {
		t.Fatal(err)
	}
	if res.Steps != 3 || res.Classifier.Step() != 3 {
		t.Errorf("Steps %d, global step %d; want 3", res.Steps, res.Classifier.Step())
	}
	if _, ok := res.Classifier.TestAccuracy(); ok {
		t.Errorf("a fresh classifier has a recorded test accuracy")
	}
	res.Classifier.SetTestAccuracy(0.25)
	dir := filepath.Join(t.TempDir(), "classifier")
	if err := res.Classifier.Save(dir); err != nil {
		t.Fatal(err)
	}
	wantError(t, res.Classifier.Save(dir), "already holds a checkpoint", "remove its checkpoint-* files")

	loaded, err := quality.LoadClassifier(dir)
	if err != nil {
		t.Fatal(err)
	}
	if a, ok := loaded.TestAccuracy(); !ok || a != 0.25 {
		t.Errorf("loaded test accuracy %v, %v; want 0.25", a, ok)
	}
	if loaded.Step() != 3 || loaded.NumWeights() != res.Classifier.NumWeights() {
		t.Errorf("loaded: step %d, %d weights; saved: step 3, %d weights", loaded.Step(), loaded.NumWeights(), res.Classifier.NumWeights())
	}
	probe := noise(3, 9)
	before, err := res.Classifier.Probabilities(b, probe)
	if err != nil {
		t.Fatal(err)
	}
	after, err := loaded.Probabilities(b, probe)
	if err != nil {
		t.Fatal(err)
	}
	for i := range before {
		for k := range before[i] {
			if math.Abs(before[i][k]-after[i][k]) > 1e-6 {
				t.Fatalf("image %d class %d: probability %v before saving, %v after loading", i, k, before[i][k], after[i][k])
			}
		}
	}
	jsons, _ := filepath.Glob(filepath.Join(dir, "checkpoint-*.json"))
	if len(jsons) != 1 {
		t.Fatalf("want one checkpoint JSON in %s, got %v", dir, jsons)
	}
	content, err := os.ReadFile(jsons[0])
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(content), "Adam") {
		t.Errorf("the checkpoint holds Adam's state; it should hold the weights only")
	}

	// A description that does not fit the weights: hidden 4 → 5.
	damaged := strings.Replace(string(content), `"Key": "quality_hidden",
			"Value": 4`, `"Key": "quality_hidden",
			"Value": 5`, 1)
	if damaged == string(content) {
		t.Fatalf("the checkpoint JSON does not hold quality_hidden = 4 where the test expects it:\n%s", content)
	}
	if err := os.WriteFile(jsons[0], []byte(damaged), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err = quality.LoadClassifier(dir)
	wantError(t, err, "cannot be used", "hidden/dense/biases are [4], but the network it describes has [5]", "train it again")
}

// A few hundred steps on the real digits take the accuracy far above chance:
// the training code learns.
func TestTrainLearns(t *testing.T) {
	train, test := loadMNIST(t)
	b := testBackend(t)
	// 300 with -short too: 100 steps reach only about 0.5 on pure Go.
	const steps = 300
	start := time.Now()
	res, err := quality.Train(b, train).Channels(8, 16).Hidden(32).Steps(steps).BatchSize(64).LearningRate(3e-3).Seed(7).Run()
	if err != nil {
		t.Fatal(err)
	}
	accuracy, err := res.Classifier.Accuracy(b, test)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%d steps in %s: train loss %.3f, train accuracy %.3f, test accuracy %.4f", res.Steps, time.Since(start).Round(time.Millisecond),
		res.Loss, res.Accuracy, accuracy)
	if res.Steps != steps {
		t.Errorf("trained %d steps, want %d", res.Steps, steps)
	}
	if accuracy < 0.7 {
		t.Errorf("test accuracy %.4f after %d steps, want ≥ 0.7 (chance is 0.1)", accuracy, steps)
	}
}

// Train refuses what it cannot train on, before any step.
func TestTrainRejectsBadInput(t *testing.T) {
	b := testBackend(t)
	labelled := func(edit func(s *data.Samples)) *data.Samples {
		s := blank(4)
		s.Labels = []int{0, 1, 2, 3}
		if edit != nil {
			edit(s)
		}
		return s
	}
	tests := []struct {
		name  string
		cfg   *quality.TrainConfig
		wants []string
	}{
		{"no labels", quality.Train(b, blank(4)), []string{"a label per image", "0 labels for 4 images"}},
		{"label 10", quality.Train(b, labelled(func(s *data.Samples) { s.Labels[2] = 10 })), []string{"image 2 has label 10"}},
		{"NaN pixel", quality.Train(b, labelled(func(s *data.Samples) { s.Values[0] = float32(math.NaN()) })), []string{"non-finite", "training images"}},
		{"no steps", quality.Train(b, labelled(nil)).Steps(0), []string{"steps must be at least 1"}},
		{"no batch", quality.Train(b, labelled(nil)).BatchSize(0), []string{"batch size must be at least 1"}},
		{"bad rate", quality.Train(b, labelled(nil)).LearningRate(math.NaN()), []string{"learning rate must be positive"}},
		{"big shift", quality.Train(b, labelled(nil)).Shift(9), []string{"shift must be 0 to 7 pixels"}},
		{"no channels", quality.Train(b, labelled(nil)).Channels(0, 4), []string{"two positive channel counts"}},
		{"dropout 1", quality.Train(b, labelled(nil)).Dropout(1), []string{"dropout must be in [0, 1)"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := tt.cfg.Run()
			if res != nil {
				t.Errorf("trained on bad input")
			}
			wantError(t, err, tt.wants...)
		})
	}
}

// Cells writes a row with the SEs, and the classes as shares.
func TestCells(t *testing.T) {
	r := &quality.Report{Label: "T = 0.7", N: 4, Confident: 0.5, ConfidentSE: 0.25, Classes: [10]int{1, 0, 0, 1},
		NotDigit: 0.25, NotDigitSE: math.Sqrt(0.25 * 0.75 / 4), Ink: 0.125, InkSE: 0.01, Saturated: 0.05, SaturatedSE: 0.002, Speckle: 0.25, SpeckleSE: 0.125, MeanMax: 254.5, MeanMaxSE: 0.5, Blocks: 0, BlocksSE: 0}
	want := []string{"T = 0.7", "4", "0.500 ± 0.250", "50 0 0 50 0 0 0 0 0 0", "0.250 ± 0.217", "0.125 ± 0.010", "0.050 ± 0.002", "0.25 ± 0.12", "254.5 ± 0.5", "0.000 ± 0.000"}
	got := r.Cells()
	if len(got) != len(quality.Columns) {
		t.Fatalf("%d cells for %d columns", len(got), len(quality.Columns))
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("cell %d (%s) = %q, want %q", i, quality.Columns[i], got[i], want[i])
		}
	}
	one := &quality.Report{N: 1, InkSE: math.NaN(), SaturatedSE: math.NaN(), SpeckleSE: math.NaN(), MeanMaxSE: math.NaN()}
	if cells := one.Cells(); cells[3] != "–" || cells[5] != "0.000" {
		t.Errorf("one image, none confident: cells %q, want classes – and no ± for the NaN SE", cells)
	}
}
