// Package models_test checks the trained models shipped in this directory:
// each one loads, reaches the test bits/dim written beside it (by flowbook
// export) and draws samples at temperature 1 without blowing up.
package models_test

import (
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/flowbook/flowbook/flowlib"
	"github.com/flowbook/flowbook/flowlib/backend"
	"github.com/flowbook/flowbook/flowlib/data"
	"github.com/flowbook/flowbook/flowlib/inference"
	"github.com/flowbook/flowbook/flowlib/quality"
	"github.com/flowbook/flowbook/flowlib/training"
)

// expected is the expected.json that flowbook export writes.
type expected struct {
	Model          string  `json:"model"`
	Step           int64   `json:"step"`
	Data           string  `json:"data"`
	TestImages     int     `json:"test_images"`
	Seed           uint64  `json:"seed"`
	TestBitsPerDim float64 `json:"test_bits_per_dim"`
	Backend        string  `json:"backend"`
}

// shippedFlows returns the directories here that hold an exported flow.
func shippedFlows(t *testing.T) map[string]expected {
	t.Helper()
	files, err := filepath.Glob(filepath.Join("*", "expected.json"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatal("no shipped flow (a directory with expected.json) in models/")
	}
	models := map[string]expected{}
	for _, f := range files {
		text, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var e expected
		if err := json.Unmarshal(text, &e); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		models[filepath.Dir(f)] = e
	}
	return models
}

// testDigits loads MNIST's test split from $FLOWBOOK_MNIST_DIR (set by
// scripts/test) or ../.cache/mnist.
func testDigits(t *testing.T) *data.Samples {
	t.Helper()
	dir := os.Getenv("FLOWBOOK_MNIST_DIR")
	if dir == "" {
		dir = filepath.Join("..", ".cache", "mnist")
	}
	if _, err := os.Stat(dir); os.IsNotExist(err) {
		t.Skipf("no MNIST in %s (scripts/fetch-mnist .cache/mnist, or set FLOWBOOK_MNIST_DIR)", dir)
	}
	_, test, err := data.LoadMNIST(dir)
	if err != nil {
		t.Fatal(err)
	}
	return test
}

// TestShippedModelsBitsPerDim loads each shipped flow and measures its test
// bits/dim as export did (the same test images and dequantization seed): it
// must be within 0.01 of the value written beside it.
func TestShippedModelsBitsPerDim(t *testing.T) {
	be := backend.MustShared()
	test := testDigits(t)
	for dir, want := range shippedFlows(t) {
		t.Run(dir, func(t *testing.T) {
			m, err := flowlib.Load(dir)
			if err != nil {
				t.Fatal(err)
			}
			if got := m.Spec.String(); got != want.Model {
				t.Errorf("the checkpoint describes %q, expected.json %q", got, want.Model)
			}
			if !strings.HasPrefix(want.Data, "mnist:") || want.TestImages < 1 || want.TestImages > test.N {
				t.Fatalf("expected.json: data %q, %d test images; want MNIST and at most %d", want.Data, want.TestImages, test.N)
			}
			images := &data.Samples{Values: test.Values[:want.TestImages*test.Dim], N: want.TestImages, Dim: test.Dim, Shape: test.Shape}
			if err := m.Store.SetRNGStateFromSeed(int64(want.Seed)); err != nil {
				t.Fatal(err)
			}
			logP, err := inference.MeanLogProb(be, m.Store, m.Flow, images)
			if err != nil {
				t.Fatal(err)
			}
			if err := m.CheckComplete(); err != nil {
				t.Fatal(err)
			}
			got := training.BitsPerDim(-logP, images.Dim)
			t.Logf("%s: %.4f test bits/dim on %d test digits (expected.json: %.4f, measured on %s)", dir, got, images.N, want.TestBitsPerDim, want.Backend)
			if math.Abs(got-want.TestBitsPerDim) > 0.01 {
				t.Errorf("test bits/dim %.4f, expected.json says %.4f: more than 0.01 apart", got, want.TestBitsPerDim)
			}
		})
	}
}

// TestShippedModelsSampleWithoutBlowUps samples each shipped flow at
// temperature 1 and compares the pixels with real test digits': no
// saturated blocks (images more than 30% white), no more speckled pixels
// (white next to black: what an exploding inverse draws) than a few times
// the real digits' 0.13 per image, a saturated fraction no larger than twice
// theirs, and a brightest pixel per image near theirs.
func TestShippedModelsSampleWithoutBlowUps(t *testing.T) {
	if testing.Short() {
		t.Skip("samples hundreds of digits from each model; the bits/dim test loads and runs them")
	}
	be := backend.MustShared()
	test := testDigits(t)
	classifier, err := quality.LoadClassifier(filepath.Join(".", "digit-classifier"))
	if err != nil {
		t.Fatal(err)
	}
	real, err := quality.Reference(be, classifier, test)
	if err != nil {
		t.Fatal(err)
	}
	for dir := range shippedFlows(t) {
		t.Run(dir, func(t *testing.T) {
			m, err := flowlib.Load(dir)
			if err != nil {
				t.Fatal(err)
			}
			if err := m.Store.SetRNGStateFromSeed(1); err != nil {
				t.Fatal(err)
			}
			samples, err := inference.Sample(be, m.Store, m.Flow, 256, 1.0)
			if err != nil {
				t.Fatal(err)
			}
			r, err := quality.Measure(be, classifier, samples)
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("%s at T = 1: saturated %.4f (real %.4f), speckled %.2f px/image (real %.2f), mean max %.1f (real %.1f), blocks %.3f, confident %.3f",
				dir, r.Saturated, real.Saturated, r.Speckle, real.Speckle, r.MeanMax, real.MeanMax, r.Blocks, r.Confident)
			if r.Blocks > 0 {
				t.Errorf("%.1f%% of the samples are saturated blocks (more than 30%% white pixels); real digits: none", 100*r.Blocks)
			}
			if limit := max(1, 4*real.Speckle); r.Speckle > limit {
				t.Errorf("%.2f speckled pixels per sample, above %.2f (real digits: %.2f): an inverse blows up", r.Speckle, limit, real.Speckle)
			}
			if r.Saturated > 2*real.Saturated {
				t.Errorf("saturated pixel fraction %.4f, above twice the real digits' %.4f", r.Saturated, real.Saturated)
			}
			if math.Abs(r.MeanMax-real.MeanMax) > 25 {
				t.Errorf("the brightest pixel of a sample is %.1f on average, the real digits' %.1f: too faint or too bright", r.MeanMax, real.MeanMax)
			}
		})
	}
}
