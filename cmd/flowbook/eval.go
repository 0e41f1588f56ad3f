package main

import (
	"fmt"
	"io"
	"strings"

	"github.com/flowbook/flowbook/flowlib/data"
	"github.com/flowbook/flowbook/flowlib/inference"
	"github.com/flowbook/flowbook/flowlib/training"
)

const evalUsage = `Usage: flowbook eval --checkpoint DIR --data file.csv|NAME|mnist:DIR [flags]

Evaluates a trained flow on data: the mean log-likelihood of the points under
the model, in nats per point (higher is better), and the negative
log-likelihood in bits per dimension (lower is better).

For a vector model, --data is a CSV file with one point per row and as many
columns as the model has dimensions, such as DIR/test.csv, the test set train
held out; or the name of a toy dataset, from which --n fresh points are drawn
with --seed.

` + csvHelp + `
When the points come from a toy dataset with a known density (8gaussians,
checkerboard, rings), the exact density's mean log-likelihood on the same
points is printed too, and the gap between the two with its standard error:
an estimate of KL(data‖model), 0 for a perfect model and never below. For a
CSV file, --truth says which dataset the points come from; by default (auto)
it is the dataset the model was trained on, which is right for DIR/test.csv.
A gap below 0 by more than twice its standard error gets a warning: the
points do not follow that density (another dataset, or another scale).

eval fails (exit status 1) when the mean log-likelihood is not finite, and
names the first points whose log-likelihood is -Inf or NaN.

For an image model, eval uses the test split of the images it was trained on
(or of --data mnist:DIR), all of it unless --n limits it to the first N
images, and prints the NLL in nats per image and a line "test bits/dim: B".
The NLL of an image flow is a one-sample estimate (the dequantization noise is
random, drawn with --seed), so it differs a little from train's.

Examples:
  flowbook eval --checkpoint /tmp/fb-moons --data /tmp/fb-moons/test.csv
  flowbook eval --checkpoint /tmp/fb-8g --data 8gaussians --n 50000
  flowbook eval --checkpoint /tmp/fb-glow
  flowbook eval --checkpoint /tmp/fb-glow --data mnist:.cache/mnist --n 1000
`

// cmdEval runs "flowbook eval".
func cmdEval(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("eval")
	dir := fs.String("checkpoint", "", "directory `DIR` of the trained model (required)")
	dataFlag := fs.String("data", "", "`file.csv|NAME|mnist:DIR`: the points to evaluate, a toy dataset to draw them from, "+
		"or images (required for vector models; image models default to the images they were trained on)")
	n := fs.Int("n", 20000, "number of points to draw from a toy dataset; for images, evaluate only the first N test images")
	// The default differs from train's default seed, so the points are fresh
	// ones rather than the training set again.
	seed := fs.Uint64("seed", 2, "seed of the points drawn from a toy dataset, or of the dequantization noise for images")
	truth := fs.String("truth", "auto", "toy `dataset` whose exact density a CSV file's points follow: auto, none, or a name")
	if err := parseFlags(fs, evalUsage, args, stdout); err != nil {
		return err
	}
	if err := requireFlags(fs, "checkpoint", *dir); err != nil {
		return err
	}
	set := flagsSet(fs)
	if err := checkPositive("--n", *n); err != nil {
		return fmt.Errorf("eval: %w", err)
	}
	if err := checkTruthFlag(*truth); err != nil {
		return fmt.Errorf("eval: %w", err)
	}
	t, err := openCheckpointForUse("eval", *dir)
	if err != nil {
		return err
	}
	if *dataFlag == "" && t.spec.IsImage() && t.data != "" {
		*dataFlag = t.data // The images it was trained on.
	}
	if err := requireFlags(fs, "data", *dataFlag); err != nil {
		return err
	}
	src, err := parseData(*dataFlag)
	if err != nil {
		return fmt.Errorf("eval: %w", err)
	}
	if t.spec.IsImage() && set["truth"] {
		return fmt.Errorf("eval: --truth applies to toy datasets; the model in %s is an image model", t.dir)
	}
	points, err := src.loadForModel(*n, *seed, t.spec, t.dir)
	if err != nil {
		return fmt.Errorf("eval: %w", err)
	}
	if t.spec.IsImage() && set["n"] {
		points = firstN(points, *n)
	}

	b, err := openBackend(stderr)
	if err != nil {
		return fmt.Errorf("eval: %w", err)
	}
	defer b.Finalize()
	if t.spec.IsImage() {
		// The dequantization noise comes from the store's random state, saved
		// with the checkpoint; reseeding it makes --seed decide the estimate.
		if err := t.store.SetRNGStateFromSeed(int64(*seed)); err != nil {
			return fmt.Errorf("eval: seeding the random number generator: %w", err)
		}
	}
	logProbs, err := inference.LogProbs(b, t.store, t.flow, points)
	if err != nil {
		return fmt.Errorf("eval: %w", runError("evaluating the model", err))
	}
	if err := t.checkComplete(); err != nil {
		return fmt.Errorf("eval: %w", err)
	}

	trainedOn := ""
	if t.data != "" {
		trainedOn = " on " + t.data
	}
	fmt.Fprintf(stdout, "checkpoint: %s, step %d (trained%s)\n", t.dir, t.step, trainedOn)
	fmt.Fprintf(stdout, "model: %s\n", t.spec)
	if t.spec.IsImage() {
		s := newScores(logProbs, points.Dim)
		if err := s.checkFinite("the test images", false); err != nil {
			return fmt.Errorf("eval: %w", err)
		}
		fmt.Fprintf(stdout, "data: %s, test split, %d images (dequantization noise drawn with seed %d)\n", src, points.N, *seed)
		printImageScores(stdout, -s.MeanLogLik, training.BitsPerDim(-s.MeanLogLik, points.Dim))
		return nil
	}
	s := newScores(logProbs, points.Dim)
	if err := s.checkFinite(src.String(), src.path != ""); err != nil {
		return fmt.Errorf("eval: %w", err)
	}
	if name, assumed := truthDataset(*truth, src, t.data); name != "" {
		s.addTruth(name, points)
		s.TruthAssumed = assumed
	}
	drawn := ""
	if src.toy != "" {
		drawn = fmt.Sprintf(", %d points drawn with seed %d", *n, *seed)
	}
	fmt.Fprintf(stdout, "data: %s%s\n", src, drawn)
	s.print(stdout, stderr)
	return nil
}

// checkTruthFlag validates --truth: auto, none, or a toy dataset whose exact
// density is known.
func checkTruthFlag(value string) error {
	if value == "auto" || value == "none" {
		return nil
	}
	if _, ok := data.TrueLogDensity(value); ok {
		return nil
	}
	var known []string
	for _, name := range toyNames() {
		if _, ok := data.TrueLogDensity(name); ok {
			known = append(known, name)
		}
	}
	return fmt.Errorf("--truth %q: use auto, none, or a toy dataset with a known density: %s", value, strings.Join(known, ", "))
}

// truthDataset decides which toy dataset's exact density to compare with, if
// any: a named dataset is its own truth; a file's points are assumed to
// follow the --truth dataset, or with "auto" the one the model was trained on
// (assumed reports that it is an assumption, for the output to say so).
func truthDataset(truthFlag string, src dataSource, trainedOn string) (name string, assumed bool) {
	switch {
	case truthFlag == "none":
		return "", false
	case truthFlag != "auto":
		return truthFlag, src.toy != truthFlag
	case src.toy != "":
		return src.toy, false
	}
	if _, ok := data.TrueLogDensity(trainedOn); ok {
		return trainedOn, true
	}
	return "", false
}
