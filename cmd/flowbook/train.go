package main

import (
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/gomlx/gomlx/ml/model"

	"github.com/flowbook/flowbook/flowlib"
	"github.com/flowbook/flowbook/flowlib/data"
	"github.com/flowbook/flowbook/flowlib/training"
)

const trainUsage = `Usage: flowbook train --data NAME|file.csv --checkpoint DIR [--model realnvp] [flags]

Fits a normalizing flow to data by maximum likelihood and saves it in the
checkpoint directory DIR, which eval and sample then read.

For a toy dataset, --n points are drawn with --seed; a CSV file gives its rows
(one point per row). A fraction --test-fraction of the points is held out as a
test set, written to DIR/test.csv. At the end, the command prints the test
set's mean log-likelihood (nats per point, higher is better) and NLL in bits
per dimension; for a dataset whose exact density is known (8gaussians,
checkerboard, rings) also the exact density's mean log-likelihood on the same
points and the gap between the two, which is 0 for a perfect model.

If DIR already holds a checkpoint, training resumes from it and continues up
to --steps steps in total. The model's description is stored in the
checkpoint: architecture flags left out are taken from it, and those given
must match it.

Examples:
  flowbook train --data moons --steps 3000 --checkpoint /tmp/fb-moons
  flowbook train --data 8gaussians --n 100000 --base mixture --steps 20000 --lr 2e-3 --checkpoint /tmp/fb-8g
  flowbook train --data points.csv --model realnvp --hidden 128,128 --checkpoint /tmp/fb-mine
  flowbook train --data moons --steps 6000 --checkpoint /tmp/fb-moons   # resumes the first one
`

// trainFlags are the flags of the train command.
type trainFlags struct {
	data         string
	n            int
	testFraction float64
	seed         uint64

	spec       modelSpec
	hidden     intList
	steps      int
	batch      int
	lr, clip   float64
	evalEvery  int
	checkpoint string
	ckptEvery  int
	progress   string
}

// cmdTrain runs "flowbook train".
func cmdTrain(args []string, stdout, stderr io.Writer) error {
	start := time.Now()
	fs := newFlagSet("train")
	f := trainFlags{hidden: intList{64, 64}}
	fs.StringVar(&f.data, "data", "", "`NAME|file.csv`: a toy dataset ("+strings.Join(toyNames(), ", ")+") or a CSV file, one point per row (required)")
	fs.IntVar(&f.n, "n", 20000, "number of points to draw from a toy dataset")
	fs.Float64Var(&f.testFraction, "test-fraction", 0.2, "fraction of the points held out as the test set")
	fs.Uint64Var(&f.seed, "seed", 1, "seed of the toy data, the train/test split, the initial weights and the batch order")
	fs.StringVar(&f.spec.Model, "model", "realnvp", "model to train: "+strings.Join(modelNames, ", ")+" (more will come)")
	fs.IntVar(&f.spec.Couplings, "couplings", 8, "number of RealNVP coupling layers")
	fs.Var(&f.hidden, "hidden", "hidden layer `sizes` of each coupling's MLP, comma-separated")
	fs.StringVar(&f.spec.Mask, "mask", "half", "coupling mask pattern: half or alternating")
	fs.BoolVar(&f.spec.ActNorm, "actnorm", true, "put an ActNorm layer before every coupling")
	fs.StringVar(&f.spec.Activation, "activation", "relu", "activation of the MLPs: relu, tanh, silu, gelu, ...")
	fs.StringVar(&f.spec.Base, "base", "normal", "base distribution: "+strings.Join(baseNames, ", "))
	fs.IntVar(&f.spec.Components, "components", 8, "number of Gaussians of a mixture base")
	fs.IntVar(&f.steps, "steps", 2000, "total number of training steps (a resumed run continues up to it)")
	fs.IntVar(&f.batch, "batch", 512, "points per training step")
	fs.Float64Var(&f.lr, "lr", 1e-3, "peak learning rate of Adam (decayed along a cosine to 1% of it)")
	fs.Float64Var(&f.clip, "clip", 10, "clip the gradient to this global norm (0: no clipping)")
	fs.IntVar(&f.evalEvery, "eval-every", 500, "evaluate on the test set every this many steps (0: only at the end)")
	fs.StringVar(&f.checkpoint, "checkpoint", "", "directory `DIR` for the checkpoints and test.csv; a checkpoint already there is resumed (required)")
	fs.IntVar(&f.ckptEvery, "checkpoint-every", 1000, "save a checkpoint every this many steps (0: only at the end)")
	fs.StringVar(&f.progress, "progress", "auto", "progress bar: on, off, or auto (on when stdout is a terminal)")
	if err := parseFlags(fs, trainUsage, args, stdout); err != nil {
		return err
	}
	if err := requireFlags(fs, "data", f.data, "checkpoint", f.checkpoint); err != nil {
		return err
	}
	f.spec.Hidden = f.hidden
	// "ReLU" and "relu" are one activation: store one name.
	f.spec.Activation = strings.ToLower(f.spec.Activation)
	// No flag for the scale bound yet: the default suits data scaled like the toys.
	f.spec.ScaleBound = flowlib.DefaultScaleBound
	if err := f.check(); err != nil {
		return fmt.Errorf("train: %w", err)
	}
	progress, err := progressOn(f.progress, stdout)
	if err != nil {
		return fmt.Errorf("train: %w", err)
	}

	// The data, split into training and test sets.
	src, err := parseData(f.data)
	if err != nil {
		return fmt.Errorf("train: %w", err)
	}
	all, err := src.load(f.n, f.seed)
	if err != nil {
		return fmt.Errorf("train: %w", err)
	}
	if all.N < 2 {
		return fmt.Errorf("train: %s has %d point(s); training needs at least 2, one to train on and one to test on", src, all.N)
	}
	trainSet, testSet := all.Split(f.testFraction, f.seed)
	spec := f.spec
	spec.Dim = all.Dim

	// An existing checkpoint decides the architecture: check the flags against it.
	ckpt, resuming, err := openCheckpoint(f.checkpoint)
	if err != nil {
		return fmt.Errorf("train: %w", err)
	}
	if resuming {
		if err := checkResume(flagsSet(fs), &spec, ckpt, src.String(), stdout); err != nil {
			return fmt.Errorf("train: %w", err)
		}
		spec = *ckpt.spec
	} else if spec.Base != "mixture" {
		spec.Components = 0 // Unused without a mixture; zero keeps it out of the description.
	}

	// The model: its description goes into the store's parameters first, so
	// that every checkpoint carries it, and the flow is built from them.
	store := model.NewStore()
	root := store.RootScope()
	spec.setParams(root)
	root.SetParam(paramData, src.String())
	root.SetParam(model.ParamInitialSeed, int64(f.seed)) // Reproducible initial weights.
	flow, err := spec.newFlow(root)
	if err != nil {
		return fmt.Errorf("train: %w", err)
	}

	b, err := openBackend(stderr)
	if err != nil {
		return fmt.Errorf("train: %w", err)
	}
	defer b.Finalize()

	// The test set goes next to the checkpoints, for "flowbook eval" to reuse.
	if err := os.MkdirAll(f.checkpoint, 0o755); err != nil {
		return fmt.Errorf("train: cannot create the checkpoint directory: %w", err)
	}
	testPath := filepath.Join(f.checkpoint, "test.csv")
	if err := data.SaveCSV(testPath, testSet); err != nil {
		return fmt.Errorf("train: %w", err)
	}

	drawn := ""
	if src.toy != "" {
		drawn = fmt.Sprintf(" drawn with seed %d", f.seed)
	}
	fmt.Fprintf(stdout, "data: %s, %d points%s: %d to train on, %d to test on (saved in %s)\n",
		src, all.N, drawn, trainSet.N, testSet.N, testPath)
	fmt.Fprintf(stdout, "model: %s\n", &spec)
	startStep := 0
	if resuming {
		startStep = int(ckpt.step)
		fmt.Fprintf(stdout, "resuming from the checkpoint in %s at step %d\n", f.checkpoint, startStep)
		if startStep >= f.steps {
			fmt.Fprintf(stdout, "the checkpoint is already at step %d, not below --steps %d: nothing to train (raise --steps to train longer)\n",
				startStep, f.steps)
		}
	}
	fmt.Fprintf(stdout, "training: up to step %d, batch %d, learning rate %g with cosine decay, gradient clip %g\n",
		f.steps, f.batch, f.lr, f.clip)

	result, err := training.New(b, store, flow, trainSet).
		Steps(f.steps).BatchSize(f.batch).LearningRate(f.lr).ClipGradNorm(f.clip).
		// A resumed run gets a different batch order, rather than replaying the first one.
		Seed(f.seed+uint64(startStep)).
		Eval(testSet, f.evalEvery).
		Checkpoint(f.checkpoint, f.ckptEvery).
		ProgressBar(progress).
		Log(stdout).
		Run()
	if err != nil {
		return fmt.Errorf("train: %w", err)
	}
	if len(result.Evals) == 0 { // Run always evaluates at the end when given a test set.
		return errors.New("train: internal error: no evaluation of the test set")
	}

	// The final evaluation again, point by point, for the median and minimum;
	// its mean is the same number as the last evaluation's, -final.NLL.
	final := result.Evals[len(result.Evals)-1]
	logProbs, err := training.LogProbs(b, store, flow, testSet)
	if err != nil {
		return fmt.Errorf("train: %w", runError("evaluating the model", err))
	}
	s := newScores(logProbs, testSet.Dim)
	if src.toy != "" {
		s.TrueLogLik, s.HasTruth = trueMeanLogLikelihood(src.toy, testSet)
		s.TruthDataset = src.toy
	}
	fmt.Fprintf(stdout, "model: %d trainable parameters\n", trainableParams(store))
	if trained := result.LastStep - result.FirstStep; trained > 0 {
		fmt.Fprintf(stdout, "trained steps %d to %d in %s: %.1f steps/s\n",
			result.FirstStep, result.LastStep, result.Duration.Round(time.Millisecond), result.StepsPerSecond)
	}
	if result.TrainNLL != 0 {
		// Far below the test NLL, it is a sign of overfitting.
		fmt.Fprintf(stdout, "training NLL (moving average): %.4f nats\n", result.TrainNLL)
	}
	fmt.Fprintf(stdout, "test set at step %d:\n", final.Step)
	s.print(stdout)
	fmt.Fprintf(stdout, "checkpoint saved in %s (step %d); wall time %s\n",
		f.checkpoint, result.LastStep, time.Since(start).Round(time.Millisecond))
	return nil
}

// check validates the numeric flags and the model's description.
func (f *trainFlags) check() error {
	switch {
	case f.n <= 0:
		return fmt.Errorf("--n must be positive, got %d", f.n)
	case !(f.testFraction > 0 && f.testFraction < 1):
		return fmt.Errorf("--test-fraction must be between 0 and 1 (exclusive), got %v", f.testFraction)
	case f.steps < 1:
		return fmt.Errorf("--steps must be at least 1, got %d", f.steps)
	case f.batch < 1:
		return fmt.Errorf("--batch must be at least 1, got %d", f.batch)
	case f.clip < 0:
		return fmt.Errorf("--clip must be 0 (off) or positive, got %v", f.clip)
	case f.evalEvery < 0:
		return fmt.Errorf("--eval-every must be 0 (only at the end) or positive, got %d", f.evalEvery)
	case f.ckptEvery < 0:
		return fmt.Errorf("--checkpoint-every must be 0 (only at the end) or positive, got %d", f.ckptEvery)
	}
	if err := checkPositive("--lr", f.lr); err != nil {
		return err
	}
	return f.spec.validate()
}

// progressOn interprets --progress: "auto" shows the bar only when stdout is
// a terminal, since in a file or a pipe its redraws are noise.
func progressOn(value string, stdout io.Writer) (bool, error) {
	switch value {
	case "on", "true":
		return true, nil
	case "off", "false":
		return false, nil
	case "auto":
		f, ok := stdout.(*os.File)
		if !ok {
			return false, nil
		}
		info, err := f.Stat()
		return err == nil && info.Mode()&os.ModeCharDevice != 0, nil
	}
	return false, fmt.Errorf("--progress must be on, off or auto, got %q", value)
}

// checkResume compares a run's flags with the checkpoint it resumes. The
// architecture flags given on the command line (set) must match the
// checkpoint's description, because the saved weights only fit that
// architecture; the caller takes those left out from the checkpoint. Another
// dataset of the same dimension is allowed (that is fine-tuning), with a note.
func checkResume(set map[string]bool, spec *modelSpec, ckpt *trained, dataName string, stdout io.Writer) error {
	if spec.Dim != ckpt.spec.Dim {
		return fmt.Errorf("the data has dimension %d but the model in the checkpoint %q has dimension %d; "+
			"use data of dimension %d, or a new --checkpoint directory", spec.Dim, ckpt.dir, ckpt.spec.Dim, ckpt.spec.Dim)
	}
	want, have := spec.flagValues(), ckpt.spec.flagValues()
	var diffs []string
	for _, name := range slices.Sorted(maps.Keys(want)) {
		if set[name] && want[name] != have[name] {
			diffs = append(diffs, fmt.Sprintf("--%s %s (checkpoint: %s)", name, want[name], have[name]))
		}
	}
	if len(diffs) > 0 {
		return fmt.Errorf("the flags describe another architecture than the checkpoint in %q: %s; "+
			"to resume, leave these flags out (the checkpoint's values are used) or match them; "+
			"to train a new model, give a new --checkpoint directory",
			ckpt.dir, strings.Join(diffs, ", "))
	}
	if ckpt.data != "" && ckpt.data != dataName {
		fmt.Fprintf(stdout, "note: the checkpoint was trained on %s; training continues on %s\n", ckpt.data, dataName)
	}
	return nil
}
