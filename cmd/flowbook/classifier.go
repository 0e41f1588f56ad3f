package main

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/flowbook/flowbook/flowlib/quality"
)

const classifierUsage = `Usage: flowbook classifier --out DIR [--data mnist:DIR] [flags]

Trains the small convolutional digit classifier of flowlib/quality on the
MNIST training digits (randomly shifted by up to --shift pixels), measures its
accuracy on the test digits, and saves it as a GoMLX checkpoint in --out with
a README.md that records this command, the date, the backend, the training
time and the test accuracy. "flowbook quality" uses it to tell whether a
flow's samples look like digits. With the defaults it takes about a minute
and a half with XLA on two CPU cores and gets about 98% of the test digits
right.

The repository ships one in ` + quality.DefaultDir + `, trained with
  ` + quality.TrainCommand + `
To train it again, add --force: it replaces the checkpoint in --out.

Examples:
  ` + quality.TrainCommand + ` --force
  flowbook classifier --out /tmp/digits --steps 300
`

// cmdClassifier runs "flowbook classifier".
func cmdClassifier(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("classifier")
	dataFlag := fs.String("data", "mnist:.cache/mnist", "`mnist:DIR`: the MNIST digits to train and test on")
	out := fs.String("out", "", "directory `DIR` to save the classifier in (required)")
	steps := fs.Int("steps", 2000, "number of training steps")
	batch := fs.Int("batch", 128, "images per training step")
	lr := fs.Float64("lr", 2e-3, "Adam's peak learning rate, annealed along half a cosine")
	shift := fs.Int("shift", 2, "largest random shift of a training image, in pixels along each axis (0: none)")
	seed := fs.Uint64("seed", 1, "seed of the initial weights, the batches and the shifts")
	maxTime := fs.Duration("max-time", 0, "stop training after this long (0: no limit)")
	force := fs.Bool("force", false, "replace a checkpoint already in --out")
	if err := parseFlags(fs, classifierUsage, args, stdout); err != nil {
		return err
	}
	if err := requireFlags(fs, "out", *out); err != nil {
		return err
	}
	for name, v := range map[string]int{"--steps": *steps, "--batch": *batch} {
		if err := checkPositive(name, v); err != nil {
			return fmt.Errorf("classifier: %w", err)
		}
	}
	if err := checkPositive("--lr", *lr); err != nil {
		return fmt.Errorf("classifier: %w", err)
	}
	src, err := parseData(*dataFlag)
	if err != nil {
		return fmt.Errorf("classifier: %w", err)
	}
	if src.scheme != "mnist" {
		return fmt.Errorf("classifier: --data %s: the classifier learns the digits, so it trains on mnist:DIR", *dataFlag)
	}
	old, _ := filepath.Glob(filepath.Join(*out, "checkpoint-*"))
	if len(old) > 0 && !*force {
		return fmt.Errorf("classifier: %s already holds a checkpoint; add --force to replace it, or give another --out", *out)
	}
	train, test, err := src.loadImages()
	if err != nil {
		return fmt.Errorf("classifier: %w", err)
	}

	b, err := openBackend(stderr)
	if err != nil {
		return fmt.Errorf("classifier: %w", err)
	}
	defer b.Finalize()
	fmt.Fprintf(stdout, "training on %d digits of %s, testing on %d; %d steps of %d, learning rate %g, shifts up to %d pixels\n",
		train.N, src, test.N, *steps, *batch, *lr, *shift)
	res, err := quality.Train(b, train).Steps(*steps).BatchSize(*batch).LearningRate(*lr).Shift(*shift).Seed(*seed).
		MaxDuration(*maxTime).Log(stdout, max(*steps/10, 1)).Run()
	if err != nil {
		return fmt.Errorf("classifier: %w", err)
	}
	accuracy, err := res.Classifier.Accuracy(b, test)
	if err != nil {
		return fmt.Errorf("classifier: %w", err)
	}
	res.Classifier.SetTestAccuracy(accuracy)
	if res.Steps < *steps {
		fmt.Fprintf(stdout, "stopped by --max-time %s at step %d of %d\n", *maxTime, res.Steps, *steps)
	}
	fmt.Fprintf(stdout, "trained %d steps in %s; test accuracy %.4f (%d test digits)\n",
		res.Steps, res.Duration.Round(100*time.Millisecond), accuracy, test.N)

	for _, path := range old { // --force: the old checkpoint goes only once the new one is ready.
		if err := os.Remove(path); err != nil {
			return fmt.Errorf("classifier: removing the old checkpoint: %w", err)
		}
	}
	if err := res.Classifier.Save(*out); err != nil {
		return fmt.Errorf("classifier: %w", err)
	}
	size := dirSize(*out)
	readme := classifierReadme(args, b.Description(), res, accuracy, test.N, size)
	if err := os.WriteFile(filepath.Join(*out, "README.md"), []byte(readme), 0o644); err != nil {
		return fmt.Errorf("classifier: %w", err)
	}
	fmt.Fprintf(stdout, "saved the classifier in %s (%d kB) with README.md\n", *out, (size+512)/1024)
	return nil
}

// dirSize is the total size in bytes of the checkpoint files in dir.
func dirSize(dir string) int64 {
	paths, _ := filepath.Glob(filepath.Join(dir, "checkpoint-*"))
	var total int64
	for _, p := range paths {
		if info, err := os.Stat(p); err == nil {
			total += info.Size()
		}
	}
	return total
}

// classifierReadme is the README.md saved next to a classifier: what it is,
// and how, when and how well it was trained.
func classifierReadme(args []string, backendName string, res *quality.TrainResult, accuracy float64, nTest int, size int64) string {
	command := "flowbook classifier " + strings.Join(quoteArgs(args), " ")
	return fmt.Sprintf(`# Digit classifier

The small convolutional network of flowlib/quality: two 3×3 convolutions and
a dense layer, %d weights, with 11 classes, the digits 0–9 and "not a
digit" (trained on random noise, blank and grey images, rectangles and
blobs). "flowbook quality" and quality.Measure use it to tell whether a
flow's samples look like digits. Load it with
quality.LoadClassifier(%q), or notebook.DigitClassifier() in a notebook.

Trained with (from the repository root):

    %s

| | |
|---|---|
| test accuracy | %.4f on the %d test digits |
| training | %d steps in %s |
| date | %s |
| backend | %s, %d CPU cores (Go %s) |
| checkpoint | %d kB: the weights, without the optimizer's state |

The last 100 training steps averaged a loss of %.4f nats and an accuracy
of %.4f, on shifted digits and non-digits with dropout.
`, res.Classifier.NumWeights(), quality.DefaultDir, command, accuracy, nTest, res.Steps,
		res.Duration.Round(time.Second), time.Now().UTC().Format("2006-01-02 15:04 UTC"),
		backendName, runtime.NumCPU(), runtime.Version(), (size+512)/1024, res.Loss, res.Accuracy)
}

// quoteArgs quotes the arguments that a shell would split or expand.
func quoteArgs(args []string) []string {
	out := make([]string, len(args))
	for i, a := range args {
		if a == "" || strings.ContainsAny(a, " \t\n'\"\\$`*?[]{}()<>|&;#~") {
			a = "'" + strings.ReplaceAll(a, "'", `'\''`) + "'"
		}
		out[i] = a
	}
	return out
}
