package main

import (
	"fmt"
	"io"
	"strings"

	"github.com/flowbook/flowbook/flowlib/data"
	"github.com/flowbook/flowbook/flowlib/training"
)

const evalUsage = `Usage: flowbook eval --checkpoint DIR --data file.csv|NAME [flags]

Evaluates a trained flow on data: the mean log-likelihood of the points under
the model, in nats per point (higher is better), and the negative
log-likelihood in bits per dimension (lower is better).

--data is a CSV file with one point per row and as many columns as the model
has dimensions, such as DIR/test.csv, the test set train held out; or the name
of a toy dataset, from which --n fresh points are drawn with --seed.

When the points come from a toy dataset with a known density (8gaussians,
checkerboard, rings), the exact density's mean log-likelihood on the same
points is printed too, and the gap between the two: an estimate of
KL(data‖model), 0 for a perfect model. For a CSV file, --truth says which
dataset the points come from; by default (auto) it is the dataset the model
was trained on, which is right for DIR/test.csv.

Examples:
  flowbook eval --checkpoint /tmp/fb-moons --data /tmp/fb-moons/test.csv
  flowbook eval --checkpoint /tmp/fb-8g --data 8gaussians --n 50000
`

// cmdEval runs "flowbook eval".
func cmdEval(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("eval")
	dir := fs.String("checkpoint", "", "directory `DIR` of the trained model (required)")
	dataFlag := fs.String("data", "", "`file.csv|NAME`: the points to evaluate, or a toy dataset to draw them from (required)")
	n := fs.Int("n", 20000, "number of points to draw from a toy dataset")
	// The default differs from train's default seed, so the points are fresh
	// ones rather than the training set again.
	seed := fs.Uint64("seed", 2, "seed of the points drawn from a toy dataset")
	truth := fs.String("truth", "auto", "toy `dataset` whose exact density a CSV file's points follow: auto, none, or a name")
	if err := parseFlags(fs, evalUsage, args, stdout); err != nil {
		return err
	}
	if err := requireFlags(fs, "checkpoint", *dir, "data", *dataFlag); err != nil {
		return err
	}
	if err := checkPositive("--n", *n); err != nil {
		return fmt.Errorf("eval: %w", err)
	}
	if err := checkTruthFlag(*truth); err != nil {
		return fmt.Errorf("eval: %w", err)
	}
	src, err := parseData(*dataFlag)
	if err != nil {
		return fmt.Errorf("eval: %w", err)
	}
	t, err := openCheckpointForUse("eval", *dir)
	if err != nil {
		return err
	}
	points, err := src.loadForModel(*n, *seed, t.spec.Dim, t.dir)
	if err != nil {
		return fmt.Errorf("eval: %w", err)
	}

	b, err := openBackend(stderr)
	if err != nil {
		return fmt.Errorf("eval: %w", err)
	}
	defer b.Finalize()
	logProbs, err := training.LogProbs(b, t.store, t.flow, points)
	if err != nil {
		return fmt.Errorf("eval: %w", runError("evaluating the model", err))
	}
	if err := t.checkComplete(); err != nil {
		return fmt.Errorf("eval: %w", err)
	}

	s := newScores(logProbs, points.Dim)
	s.TruthDataset, s.TruthAssumed = truthDataset(*truth, src, t.data)
	if s.TruthDataset != "" {
		s.TrueLogLik, s.HasTruth = trueMeanLogLikelihood(s.TruthDataset, points)
	}
	trainedOn := ""
	if t.data != "" {
		trainedOn = " on " + t.data
	}
	fmt.Fprintf(stdout, "checkpoint: %s, step %d (trained%s)\n", t.dir, t.step, trainedOn)
	fmt.Fprintf(stdout, "model: %s\n", t.spec)
	drawn := ""
	if src.toy != "" {
		drawn = fmt.Sprintf(", %d points drawn with seed %d", *n, *seed)
	}
	fmt.Fprintf(stdout, "data: %s%s\n", src, drawn)
	s.print(stdout)
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
