package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/gomlx/compute"

	"github.com/flowbook/flowbook/flowlib"
	"github.com/flowbook/flowbook/flowlib/data"
	"github.com/flowbook/flowbook/flowlib/inference"
	"github.com/flowbook/flowbook/flowlib/training"
)

const exportUsage = `Usage: flowbook export --checkpoint DIR --out DIR [--data mnist:DIR] [--n N] [--seed S]

Writes the trained model of the checkpoint directory to --out, a new or
empty directory, as a checkpoint without what only training needs (the
optimizer's moments, the schedule, the metrics): about a third of the
size, the form the workbook ships its trained models in (models/). eval,
sample and quality read it like any checkpoint, and flowlib.Load loads it.

For an image model, export then measures its test bits/dim on the test
images it was trained on (all of them, or the first --n), with the
dequantization noise drawn with --seed, and writes the number to
OUT/expected.json; the tests in models/ check the shipped models against
it.

Example:
  flowbook export --checkpoint /tmp/fb-glow --out models/glow-mnist --data mnist:.cache/mnist
`

// expectedScore is what export writes to expected.json: the test bits/dim
// of the exported model and how it was measured, for models/'s tests.
type expectedScore struct {
	Model          string  `json:"model"`
	Step           int64   `json:"step"`
	Data           string  `json:"data"`
	TestImages     int     `json:"test_images"`
	Seed           uint64  `json:"seed"`
	TestBitsPerDim float64 `json:"test_bits_per_dim"`
	Backend        string  `json:"backend"`
}

func cmdExport(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("export")
	dir := fs.String("checkpoint", "", "directory `DIR` of the trained model (required)")
	out := fs.String("out", "", "directory `DIR` to write the model to; it must not hold a checkpoint (required)")
	n := fs.Int("n", 0, "measure the test bits/dim on the first `N` test images only (0: all)")
	seed := fs.Uint64("seed", 2, "seed of the dequantization noise of the measurement")
	dataFlag := fs.String("data", "", "`mnist:DIR` to record as the model's data instead of the training run's "+
		"(which train stores as an absolute path): for a shipped model, a path relative to the repository, like mnist:.cache/mnist")
	if err := parseFlags(fs, exportUsage, args, stdout); err != nil {
		return err
	}
	if err := requireFlags(fs, "checkpoint", *dir, "out", *out); err != nil {
		return err
	}
	if *n < 0 {
		return fmt.Errorf("export: --n must be 0 (all test images) or positive, got %d", *n)
	}
	t, err := openCheckpointForUse("export", *dir)
	if err != nil {
		return err
	}
	if bad := t.NonFiniteWeights(); len(bad) > 0 {
		return fmt.Errorf("export: the model in %s has non-finite weights (%s, ...): its training diverged; retrain it rather than ship it",
			t.dir, bad[0])
	}
	if *dataFlag != "" {
		if !t.spec.IsImage() {
			return fmt.Errorf("export: --data applies to image models; the model in %s is a vector model", t.dir)
		}
		if _, err := parseData(*dataFlag); err != nil {
			return fmt.Errorf("export: %w", err)
		}
		t.data = *dataFlag
		t.store.RootScope().SetParam(paramData, *dataFlag)
	}
	var score *expectedScore
	if t.spec.IsImage() && t.data != "" {
		b, err := openBackend(stderr)
		if err != nil {
			return fmt.Errorf("export: %w", err)
		}
		// The weights now live on the backend: finalize it only after saving.
		defer b.Finalize()
		if score, err = measureForExport(b, t, *n, *seed); err != nil {
			return fmt.Errorf("export: %w", err)
		}
	}
	if err := flowlib.SaveModel(t.store, *out); err != nil {
		return fmt.Errorf("export: %w", err)
	}
	fmt.Fprintf(stdout, "model: %s, step %d\nsaved in %s\n", t.spec, t.step, *out)
	if score == nil {
		return nil
	}
	text, err := json.MarshalIndent(score, "", "  ")
	if err != nil {
		return fmt.Errorf("export: %w", err)
	}
	path := filepath.Join(*out, "expected.json")
	if err := os.WriteFile(path, append(text, '\n'), 0o644); err != nil {
		return fmt.Errorf("export: %w", err)
	}
	fmt.Fprintf(stdout, "test bits/dim: %.4f on %d test images (seed %d), written to %s\n",
		score.TestBitsPerDim, score.TestImages, score.Seed, path)
	return nil
}

// measureForExport measures an image model's test bits/dim on the first n
// test images (0: all) of the data it was trained on.
func measureForExport(b compute.Backend, t *trained, n int, seed uint64) (*expectedScore, error) {
	src, err := parseData(t.data)
	if err != nil {
		return nil, err
	}
	images, err := src.loadForModel(n, seed, t.spec, t.dir)
	if err != nil {
		return nil, err
	}
	images = firstN(images, n)
	bitsPerDim, err := imageBitsPerDim(b, t, images, seed)
	if err != nil {
		return nil, err
	}
	if err := t.checkComplete(); err != nil {
		return nil, err
	}
	return &expectedScore{Model: t.spec.String(), Step: t.step, Data: t.data, TestImages: images.N, Seed: seed,
		TestBitsPerDim: bitsPerDim, Backend: b.Name()}, nil
}

// imageBitsPerDim is the mean test bits/dim of an image model on images,
// with the dequantization noise drawn with seed.
func imageBitsPerDim(b compute.Backend, t *trained, images *data.Samples, seed uint64) (float64, error) {
	// The dequantization noise comes from the store's random state, saved
	// with the checkpoint; reseeding it makes the seed decide the estimate.
	if err := t.store.SetRNGStateFromSeed(int64(seed)); err != nil {
		return 0, fmt.Errorf("seeding the random number generator: %w", err)
	}
	logProbs, err := inference.LogProbs(b, t.store, t.flow, images)
	if err != nil {
		return 0, runError("evaluating the model", err)
	}
	s := newScores(logProbs, images.Dim)
	if err := s.checkFinite("the test images", false); err != nil {
		return 0, err
	}
	return training.BitsPerDim(-s.MeanLogLik, images.Dim), nil
}
