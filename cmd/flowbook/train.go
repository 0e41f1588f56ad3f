package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"time"

	"github.com/gomlx/compute"
	"github.com/gomlx/gomlx/ml/model"

	"github.com/flowbook/flowbook/flowlib"
	"github.com/flowbook/flowbook/flowlib/data"
	"github.com/flowbook/flowbook/flowlib/inference"
	"github.com/flowbook/flowbook/flowlib/training"
)

const trainUsage = `Usage: flowbook train --data NAME|file.csv|mnist:DIR --checkpoint DIR [--model realnvp|glow|maf|iaf|nsf|resflow|ffjord|flowmatch] [flags]

Fits a normalizing flow to data by maximum likelihood and saves it in the
checkpoint directory DIR, which eval and sample then read.

Vector data: for a toy dataset, --n points are drawn with --seed; a CSV file
gives its rows (one point per row; see "CSV files" below). A fraction
--test-fraction of the points is held out as a test set, written to
DIR/test.csv. At the end, the command prints the test set's mean
log-likelihood (nats per point, higher is better) and NLL in bits per
dimension; for a dataset whose exact density is known (8gaussians,
checkerboard, rings) also the exact density's mean log-likelihood on the same
points and the gap between the two, which is 0 for a perfect model. The model
is realnvp (RealNVP on vectors), maf (masked autoregressive flow: fast
density, sampling one coordinate at a time), iaf (inverse autoregressive
flow: fast sampling, slow density) or nsf (neural spline flow, autoregressive;
-set vector_flow_wrapper=coupling for coupling layers). For maf, iaf and nsf,
--couplings is the number of layers; vector_flow_bins, vector_flow_bound,
vector_flow_permutation and the other vector_flow_* keys are set with -set.
The model can also be resflow (a residual flow: contractive residual blocks,
--couplings of them, log-det by the Russian-roulette estimator; resflow_*
keys), ffjord (a continuous flow trained by maximum likelihood through a
fixed-step RK4 solver, Hutchinson's trace) or flowmatch (the same vector
field trained by flow matching, a regression, and evaluated by its exact
log-likelihood); for those two, -set cnf_steps=N sets the RK4 steps and
cnf_trace=exact|hutchinson the trace.

Images: --data mnist:DIR (or fashion-mnist:DIR) reads the MNIST files in DIR
(scripts/fetch-mnist DIR downloads them) with their own training and test
splits; --test-n limits the test images evaluated during training. The model
is glow (Glow, Kingma & Dhariwal 2018) or realnvp (the multi-scale RealNVP of
Dinh et al. 2016), both with dequantization and a logit preprocessing, shaped
by --levels, --steps-per-level and --hidden. The data's location is stored in
the checkpoint, so eval and sample find the test images by themselves. At the
end, the command prints the test NLL in nats per image and in bits/dim (lower
is better; 8 bits/dim knows nothing about the images).

` + csvHelp + `
If training fails before the first checkpoint is saved, nothing is left in
DIR: train removes the test.csv it wrote (and DIR, if it created it). A
checkpoint saved before a failure stays, and the same command resumes it.

--max-time stops training after that much time (the checkpoint is saved);
the same command again continues from there.

-set "key=value;key=value" sets any parameter of the model by its flowlib
key (flowlib.Param*), including those without a flag, such as
image_flow_coupling_scale=tanh, image_flow_min_scale=0 (Glow's unbounded
scale) or realnvp_scale_bound=2; a wrong key lists
the valid ones for the model and data. A flag and -set cannot both set one
parameter.

If DIR already holds a checkpoint, training resumes from it and continues up
to --steps steps in total. The model's description is stored in the
checkpoint: architecture flags left out are taken from it, and those given
must match it (-set settings too).

Examples:
  flowbook train --data moons --steps 3000 --checkpoint /tmp/fb-moons
  flowbook train --data 8gaussians --n 100000 --base mixture --steps 20000 --lr 2e-3 --checkpoint /tmp/fb-8g
  flowbook train --data points.csv --model realnvp --hidden 128,128 --checkpoint /tmp/fb-mine
  flowbook train --data moons --model nsf --couplings 4 -set "vector_flow_bins=8;vector_flow_bound=4" --checkpoint /tmp/fb-nsf
  flowbook train --data moons --model flowmatch --hidden 64,64 --steps 3000 --lr 2e-3 --checkpoint /tmp/fb-fm
  flowbook train --data moons --steps 6000 --checkpoint /tmp/fb-moons   # resumes the first one
  flowbook train --model glow --data mnist:.cache/mnist --max-time 30m --checkpoint /tmp/fb-glow
  flowbook train --model realnvp --data mnist:.cache/mnist --levels 2 --steps-per-level 2 --test-n 500 --checkpoint /tmp/fb-rnvp
  flowbook train --model glow --data mnist:.cache/mnist -set "image_flow_steps=8;image_flow_hidden=128,128" --checkpoint /tmp/fb-glow8
`

// Flags that only one kind of data uses. Giving one for the other kind is
// an error rather than silently ignored, since whoever gives it expects an
// effect. Each maps to the reason, for the message.
var (
	vectorOnlyFlags = map[string]string{
		"n":             "the MNIST files decide the number of images",
		"test-fraction": "the MNIST files have their own test split (--test-n evaluates fewer test images)",
		"couplings":     "image models are shaped by --levels and --steps-per-level",
		"mask":          "image models choose their own masks",
		"activation":    "image models use ReLU",
		"base":          "image models have a standard normal base",
		"components":    "image models have a standard normal base",
	}
	imageOnlyFlags = []string{"levels", "steps-per-level", "learned-prior", "invconv", "dequantization", "logit-alpha", "test-n"}
)

// trainFlags are the flags of the train command, but for those of the
// model's description (paramFlags), which buildSpec reads from the flag set.
type trainFlags struct {
	data         string
	n            int
	testFraction float64
	testN        int
	seed         uint64
	settings     string // -set

	steps      int
	batch      int
	lr, clip   float64
	warmup     int
	maxTime    time.Duration
	evalEvery  int
	checkpoint string
	ckptEvery  int
	progress   string
}

// Default batch sizes: vector models are small and fast per point, while an
// image costs hundreds of times more.
const (
	defaultVectorBatch = 512
	defaultImageBatch  = 32
)

// defineModelFlags defines train's flags of the model's description, with
// defaults those of flowlib's builders (only the flags given are applied).
func defineModelFlags(fs *flag.FlagSet) {
	hidden := intList{64, 64}
	fs.String("model", string(flowlib.ModelRealNVP), "model to train: realnvp (vectors or images), glow (images), maf, iaf, nsf, resflow, ffjord or flowmatch (vectors)")
	fs.Int("couplings", 8, "number of RealNVP coupling layers, or of maf, iaf and nsf layers (vector data; default 5 for those)")
	fs.Var(&hidden, "hidden", "hidden layer `sizes` of each coupling's MLP, or channels of its ConvNet for images, comma-separated")
	fs.String("mask", string(flowlib.MaskHalf), "coupling mask pattern: half or alternating (vector data)")
	fs.Bool("actnorm", true, "put an ActNorm layer before every coupling (realnvp; glow always has them) or layer (maf, iaf, nsf: off unless given)")
	fs.String("activation", "relu", "activation of the MLPs: relu, tanh, silu, gelu, ... (vector data)")
	fs.String("base", string(flowlib.BaseNormal), "base distribution: "+strings.Join(baseNames, ", ")+" (vector data)")
	fs.Int("components", 8, "number of Gaussians of a mixture base (vector data)")
	fs.Int("levels", 2, "number of scales L of an image model (each one halves the height and width)")
	fs.Int("steps-per-level", 0, "flow steps K per level of an image model (0: 4 for glow, 3 for realnvp)")
	fs.Bool("learned-prior", false, "learned conditional prior for the factored-out channels (default: on for glow, off for realnvp; --learned-prior=false turns it off)")
	fs.String("invconv", string(flowlib.InvConvLU), "glow's invertible 1×1 convolutions: lu or exp")
	fs.String("dequantization", string(flowlib.DequantizeUniform), "dequantization of the pixel values: uniform or variational")
	fs.Float64("logit-alpha", 0.05, "the α of the logit preprocessing of images, in [0, 0.5)")
}

// cmdTrain runs "flowbook train".
func cmdTrain(args []string, stdout, stderr io.Writer) error {
	start := time.Now()
	fs := newFlagSet("train")
	var f trainFlags
	fs.StringVar(&f.data, "data", "", "`NAME|file.csv|mnist:DIR`: a toy dataset ("+strings.Join(toyNames(), ", ")+
		"), a CSV file with one point per row, or the MNIST (mnist:DIR) or Fashion-MNIST (fashion-mnist:DIR) files in DIR (required)")
	fs.IntVar(&f.n, "n", 20000, "number of points to draw from a toy dataset")
	fs.Float64Var(&f.testFraction, "test-fraction", 0.2, "fraction of the points held out as the test set (vector data)")
	fs.IntVar(&f.testN, "test-n", 0, "evaluate only the first `N` test images during training (images; 0: all)")
	fs.Uint64Var(&f.seed, "seed", 1, "seed of the toy data, the train/test split, the initial weights and the batch order")
	defineModelFlags(fs)
	fs.StringVar(&f.settings, "set", "", "model parameters as `key=value;key=value`, like "+
		"\"image_flow_steps=8;image_flow_hidden=128,128\" (the keys are flowlib's Param* keys; "+
		"a wrong key lists the valid ones); a flag and -set cannot both set one parameter")
	fs.IntVar(&f.steps, "steps", 2000, "total number of training steps (a resumed run continues up to it)")
	fs.IntVar(&f.batch, "batch", 0, fmt.Sprintf("examples per training step (0: %d for vector data, %d for images)", defaultVectorBatch, defaultImageBatch))
	fs.Float64Var(&f.lr, "lr", 1e-3, "peak learning rate of Adam (decayed along a cosine to 1% of it)")
	fs.IntVar(&f.warmup, "warmup", 0, "raise the learning rate linearly from 1% of --lr to --lr over the first `N` steps (0: no warm-up)")
	fs.Float64Var(&f.clip, "clip", 10, "clip the gradient to this global norm (0: no clipping)")
	fs.DurationVar(&f.maxTime, "max-time", 0, "stop training after this `duration`, like 30m or 2h (0: no limit); the same command again continues")
	fs.IntVar(&f.evalEvery, "eval-every", 500, "evaluate on the test set every this many steps (0: only at the end)")
	fs.StringVar(&f.checkpoint, "checkpoint", "", "directory `DIR` for the checkpoints (and test.csv for vector data); a checkpoint already there is resumed (required)")
	fs.IntVar(&f.ckptEvery, "checkpoint-every", 1000, "save a checkpoint every this many steps (0: only at the end)")
	fs.StringVar(&f.progress, "progress", "auto", "progress bar: on, off, or auto (on when stdout is a terminal)")
	if err := parseFlags(fs, trainUsage, args, stdout); err != nil {
		return err
	}
	if err := requireFlags(fs, "data", f.data, "checkpoint", f.checkpoint); err != nil {
		return err
	}
	set := flagsSet(fs)
	if err := f.check(); err != nil {
		return fmt.Errorf("train: %w", err)
	}
	progress, err := progressOn(f.progress, stdout)
	if err != nil {
		return fmt.Errorf("train: %w", err)
	}
	src, err := parseData(f.data)
	if err != nil {
		return fmt.Errorf("train: %w", err)
	}
	if err := checkFlagsForData(set, src, fs.Lookup("model").Value.String()); err != nil {
		return fmt.Errorf("train: %w", err)
	}

	// The data, split into training and test sets.
	var trainSet, testSet *data.Samples
	if src.images() {
		trainSet, testSet, err = src.loadImages()
	} else {
		trainSet, testSet, err = f.loadVectors(src)
	}
	if err != nil {
		return fmt.Errorf("train: %w", err)
	}
	shape := []int{trainSet.Dim}
	if src.images() {
		shape = trainSet.EventShape()
	}
	req, err := buildSpec(fs, set, f.settings, f.seed, shape)
	if err != nil {
		return fmt.Errorf("train: %w", err)
	}
	spec := req.spec

	// An existing checkpoint decides the architecture: check the flags against it.
	ckpt, resuming, err := openCheckpoint(f.checkpoint)
	if err != nil {
		return fmt.Errorf("train: %w", err)
	}
	if resuming {
		if err := checkModelFlags(set, ckpt.spec); err != nil {
			return fmt.Errorf("train: %w", err)
		}
		if err := checkResume(req, ckpt, src.String(), stdout); err != nil {
			return fmt.Errorf("train: %w", err)
		}
		spec = ckpt.spec
	} else if err := checkModelFlags(set, spec); err != nil {
		return fmt.Errorf("train: %w", err)
	}

	// The model: its description goes into the store's parameters first, so
	// that every checkpoint carries it, and the flow is built from it.
	store := model.NewStore()
	root := store.RootScope()
	if err := spec.SetParams(root); err != nil {
		return fmt.Errorf("train: %w", err)
	}
	root.SetParam(paramData, src.String())
	root.SetParam(model.ParamInitialSeed, int64(f.seed)) // Reproducible initial weights.
	flow, err := spec.Flow()
	if err != nil {
		return fmt.Errorf("train: %w", err)
	}

	b, err := openBackend(stderr)
	if err != nil {
		return fmt.Errorf("train: %w", err)
	}
	defer b.Finalize()

	_, statErr := os.Stat(f.checkpoint)
	out := leftovers{dir: f.checkpoint, created: os.IsNotExist(statErr)}
	if err := os.MkdirAll(f.checkpoint, 0o755); err != nil {
		return fmt.Errorf("train: cannot create the checkpoint directory: %w", err)
	}
	// From here on, a failure says what it leaves in the directory.
	fail := func(err error) error { return fmt.Errorf("train: %w", out.afterFailure(err)) }
	evalSet := testSet
	if src.images() {
		// The images stay where they are: the checkpoint records where.
		evalSet = firstN(testSet, f.testN)
		evaluated := ""
		if evalSet.N < testSet.N {
			evaluated = fmt.Sprintf(" (the first %d evaluated during training)", evalSet.N)
		}
		fmt.Fprintf(stdout, "data: %s, images of %s: %d to train on, %d to test on%s\n",
			src, describeShape(spec.ImageShape()), trainSet.N, testSet.N, evaluated)
	} else {
		// The test set goes next to the checkpoints, for "flowbook eval" to reuse.
		testPath := filepath.Join(f.checkpoint, "test.csv")
		out.testCSV = testPath
		if err := data.SaveCSV(testPath, testSet); err != nil {
			return fail(err)
		}
		drawn := ""
		if src.toy != "" {
			drawn = fmt.Sprintf(" drawn with seed %d", f.seed)
		}
		fmt.Fprintf(stdout, "data: %s, %d points%s: %d to train on, %d to test on (saved in %s)\n",
			src, trainSet.N+testSet.N, drawn, trainSet.N, testSet.N, testPath)
	}
	fmt.Fprintf(stdout, "model: %s\n", spec)
	startStep := 0
	if resuming {
		startStep = int(ckpt.step)
		fmt.Fprintf(stdout, "resuming from the checkpoint in %s at step %d\n", f.checkpoint, startStep)
		if startStep >= f.steps {
			fmt.Fprintf(stdout, "the checkpoint is already at step %d, not below --steps %d: nothing to train (raise --steps to train longer)\n",
				startStep, f.steps)
		}
	}
	batch := f.batch
	if batch == 0 {
		batch = defaultVectorBatch
		if spec.IsImage() {
			batch = defaultImageBatch
		}
	}
	limit := ""
	if f.maxTime > 0 {
		limit = fmt.Sprintf(", for at most %s", f.maxTime)
	}
	warmup := ""
	if f.warmup > 0 {
		warmup = fmt.Sprintf(" after a %d-step warm-up", f.warmup)
	}
	fmt.Fprintf(stdout, "training: up to step %d%s, batch %d, learning rate %g with cosine decay%s, gradient clip %g\n",
		f.steps, limit, batch, f.lr, warmup, f.clip)

	result, err := training.New(b, store, flow, trainSet).
		Steps(f.steps).BatchSize(batch).LearningRate(f.lr).Warmup(f.warmup).ClipGradNorm(f.clip).
		// A resumed run gets a different batch order, rather than replaying the first one.
		Seed(f.seed+uint64(startStep)).
		MaxDuration(f.maxTime).
		Eval(evalSet, f.evalEvery).
		Checkpoint(f.checkpoint, f.ckptEvery).
		ProgressBar(progress).
		Log(stdout).
		Run()
	if err != nil {
		return fail(err)
	}
	if len(result.Evals) == 0 { // Run always evaluates at the end when given a test set.
		return fail(errors.New("internal error: no evaluation of the test set"))
	}

	fmt.Fprintf(stdout, "model: %d trainable parameters\n", trainableParams(store))
	if trained := result.LastStep - result.FirstStep; trained > 0 {
		fmt.Fprintf(stdout, "trained steps %d to %d in %s: %.1f steps/s\n",
			result.FirstStep, result.LastStep, result.Duration.Round(time.Millisecond), result.StepsPerSecond)
	}
	if result.LastStep < f.steps && f.maxTime > 0 {
		fmt.Fprintf(stdout, "stopped by --max-time %s at step %d of %d; the same command continues from there\n",
			f.maxTime, result.LastStep, f.steps)
	}
	if result.TrainNLL != 0 && flow.TrainsByRegression() {
		fmt.Fprintf(stdout, "training loss (flow matching, moving average): %.4f\n", result.TrainNLL)
	} else if result.TrainNLL != 0 {
		// Far below the test NLL, it is a sign of overfitting.
		fmt.Fprintf(stdout, "training NLL (moving average): %.4f nats\n", result.TrainNLL)
	}
	final := result.Evals[len(result.Evals)-1]
	if spec.IsImage() {
		fmt.Fprintf(stdout, "test set at step %d, %d images:\n", final.Step, evalSet.N)
		printImageScores(stdout, final.NLL, final.BitsPerDim)
	} else if err := printVectorScores(stdout, stderr, b, store, flow, src, testSet, out.testCSV, final.Step); err != nil {
		return fail(err)
	}
	fmt.Fprintf(stdout, "checkpoint saved in %s (step %d); wall time %s\n",
		f.checkpoint, result.LastStep, time.Since(start).Round(time.Millisecond))
	return nil
}

// leftovers is what a training run put in its checkpoint directory before
// the first checkpoint: the directory itself, if it made it, and test.csv.
type leftovers struct {
	dir     string
	created bool   // the run created dir
	testCSV string // the test set the run wrote, or ""
}

// afterFailure adds to the error of a failed run what it leaves behind. A
// checkpoint saved before the failure (by this run or the one it resumed)
// stays, for eval, sample and resuming. Without one, the run removes what it
// created: a directory holding only test.csv would look like a trained model
// to whoever finds it.
func (l leftovers) afterFailure(err error) error {
	t, found, openErr := openCheckpoint(l.dir)
	switch {
	case openErr != nil:
		return noteError{err, fmt.Sprintf("the checkpoint in %s cannot be read back either", l.dir)}
	case found:
		if bad := t.NonFiniteWeights(); len(bad) > 0 {
			// Saved after the step that diverged: resuming it would fail again.
			return noteError{err, fmt.Sprintf("%s keeps the checkpoint of step %d, but its weights %s are not finite: "+
				"delete the directory, or give a new --checkpoint", l.dir, t.step, firstFew(bad))}
		}
		return noteError{err, fmt.Sprintf("%s keeps the checkpoint of step %d (train resumes from it)", l.dir, t.step)}
	}
	removedTest := l.testCSV != "" && os.Remove(l.testCSV) == nil
	switch {
	case l.created && os.Remove(l.dir) == nil: // Fails if the directory is not empty.
		return noteError{err, fmt.Sprintf("no model was saved, so %s was removed", l.dir)}
	case removedTest:
		return noteError{err, fmt.Sprintf("no model was saved, and %s was removed", l.testCSV)}
	case l.testCSV != "":
		return noteError{err, fmt.Sprintf("no model was saved, but %s could not be removed", l.testCSV)}
	}
	return noteError{err, fmt.Sprintf("no model was saved in %s", l.dir)}
}

// noteError is an error with a note appended after a semicolon, such as what
// a failed run left behind. The note replaces a final full stop, so that the
// message reads as one sentence.
type noteError struct {
	err  error
	note string
}

// Error implements error.
func (e noteError) Error() string {
	return strings.TrimRight(e.err.Error(), ". \n") + "; " + e.note
}

// Unwrap gives errors.Is and errors.As the error without the note.
func (e noteError) Unwrap() error { return e.err }

// loadVectors loads vector data and splits it into training and test sets.
func (f *trainFlags) loadVectors(src dataSource) (train, test *data.Samples, err error) {
	all, err := src.load(f.n, f.seed)
	if err != nil {
		return nil, nil, err
	}
	if all.N < 2 {
		return nil, nil, fmt.Errorf("%s has %d point(s); training needs at least 2, one to train on and one to test on", src, all.N)
	}
	train, test = all.Split(f.testFraction, f.seed)
	return train, test, nil
}

// printVectorScores evaluates the flow on the test set, saved in testPath,
// again, point by point, for the median and minimum, and prints the scores;
// the mean is the same number as the last evaluation's, -NLL.
func printVectorScores(stdout, stderr io.Writer, b compute.Backend, store *model.Store, flow *flowlib.Flow,
	src dataSource, testSet *data.Samples, testPath string, step int) error {
	logProbs, err := inference.LogProbs(b, store, flow, testSet)
	if err != nil {
		return runError("evaluating the model", err)
	}
	s := newScores(logProbs, testSet.Dim)
	if err := s.checkFinite(testPath, true); err != nil {
		return err
	}
	if src.toy != "" {
		s.addTruth(src.toy, testSet)
	}
	fmt.Fprintf(stdout, "test set at step %d:\n", step)
	s.print(stdout, stderr)
	return nil
}

// printImageScores prints the test NLL of an image model: in nats per image,
// and in bits/dim on a line of its own, "test bits/dim: 1.2345", for scripts
// to find.
func printImageScores(w io.Writer, nll, bitsPerDim float64) {
	fmt.Fprintf(w, "  NLL: %.4f nats per image (a one-sample estimate of the dequantization bound)\n", nll)
	fmt.Fprintf(w, "test bits/dim: %.4f\n", bitsPerDim)
}

// check validates the numeric flags; the model's description is validated
// once the data says whether it is an image model.
func (f *trainFlags) check() error {
	switch {
	case f.n <= 0:
		return fmt.Errorf("--n must be positive, got %d", f.n)
	case !(f.testFraction > 0 && f.testFraction < 1):
		return fmt.Errorf("--test-fraction must be between 0 and 1 (exclusive), got %v", f.testFraction)
	case f.testN < 0:
		return fmt.Errorf("--test-n must be 0 (all test images) or positive, got %d", f.testN)
	case f.steps < 1:
		return fmt.Errorf("--steps must be at least 1, got %d", f.steps)
	case f.batch < 0:
		return fmt.Errorf("--batch must be positive, or 0 for the default, got %d", f.batch)
	case f.clip < 0:
		return fmt.Errorf("--clip must be 0 (off) or positive, got %v", f.clip)
	case f.warmup < 0 || f.warmup >= f.steps:
		return fmt.Errorf("--warmup must be 0 (none) or fewer than --steps (%d), got %d", f.steps, f.warmup)
	case f.maxTime < 0:
		return fmt.Errorf("--max-time must be 0 (no limit) or positive, got %s", f.maxTime)
	case f.evalEvery < 0:
		return fmt.Errorf("--eval-every must be 0 (only at the end) or positive, got %d", f.evalEvery)
	case f.ckptEvery < 0:
		return fmt.Errorf("--checkpoint-every must be 0 (only at the end) or positive, got %d", f.ckptEvery)
	}
	return checkPositive("--lr", f.lr)
}

// checkFlagsForData rejects flags given for the other kind of data than
// src's (set holds the flags given), glow for vector data, and maf, iaf
// and nsf for images.
func checkFlagsForData(set map[string]bool, src dataSource, modelName string) error {
	if src.images() {
		if kind := flowlib.ModelKind(modelName); isVectorOnly(kind) {
			return fmt.Errorf("the model %s is for vector data, and %s holds images: use --model glow or realnvp for images", kind, src)
		}
		for _, name := range slices.Sorted(maps.Keys(vectorOnlyFlags)) {
			if set[name] {
				return fmt.Errorf("--%s applies to vector data, not to the images of %s: %s", name, src, vectorOnlyFlags[name])
			}
		}
		return nil
	}
	if modelName == "glow" {
		return fmt.Errorf("the model glow needs images, and %s is vector data: use --data mnist:DIR "+
			"(or fashion-mnist:DIR), or --model realnvp for vector data", src)
	}
	for _, name := range imageOnlyFlags {
		if set[name] {
			return fmt.Errorf("--%s applies to image models, which need images (--data mnist:DIR), not to the vector data of %s",
				name, src)
		}
	}
	return nil
}

// checkModelFlags rejects image flags that the model of spec (the
// checkpoint's, when resuming) does not have: glow's 1×1 convolutions are not
// in realnvp, and glow cannot do without ActNorm.
func checkModelFlags(set map[string]bool, spec *flowlib.Spec) error {
	switch {
	case isVectorFlow(spec.Kind()) && set["mask"]:
		return fmt.Errorf("--mask applies to realnvp: %s orders its coordinates with MADE and permutations "+
			"(nsf's couplings use half masks between permutations)", spec.Kind())
	case spec.Kind() == flowlib.ModelResFlow && set["mask"]:
		return fmt.Errorf("--mask applies to realnvp: resflow's residual blocks transform every coordinate at once")
	case isContinuous(spec.Kind()) && (set["mask"] || set["couplings"] || set["actnorm"]):
		flagName := "mask"
		if set["couplings"] {
			flagName = "couplings"
		} else if set["actnorm"] {
			flagName = "actnorm"
		}
		return fmt.Errorf("--%s does not apply to %s, one continuous flow (a vector field integrated by an ODE solver); "+
			"shape it with --hidden, --activation and -set cnf_steps=N", flagName, spec.Kind())
	case !spec.IsImage():
		return nil
	case spec.Kind() == flowlib.ModelRealNVP && set["invconv"]:
		return fmt.Errorf("--invconv applies to glow, whose steps have 1×1 convolutions; realnvp has none")
	case spec.Kind() == flowlib.ModelGlow && set["actnorm"]:
		return fmt.Errorf("--actnorm applies to realnvp: every glow step starts with an ActNorm")
	}
	return nil
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

// checkResume compares a run's request with the checkpoint it resumes. The
// parameters given on the command line (by a flag or -set) must match the
// checkpoint's description, because the saved weights only fit that
// architecture; the caller takes those left out from the checkpoint. Another
// dataset of the same dimension is allowed (that is fine-tuning), with a note.
func checkResume(req *requested, ckpt *trained, dataName string, stdout io.Writer) error {
	spec := req.spec
	switch {
	case spec.IsImage() != ckpt.spec.IsImage() || !slices.Equal(spec.ImageShape(), ckpt.spec.ImageShape()):
		return fmt.Errorf("the data are %s but the model in the checkpoint %q is for %s; "+
			"use data like the model's, or a new --checkpoint directory", describeData(spec), ckpt.dir, describeData(ckpt.spec))
	case spec.Dim() != ckpt.spec.Dim():
		return fmt.Errorf("the data has dimension %d but the model in the checkpoint %q has dimension %d; "+
			"use data of dimension %d, or a new --checkpoint directory", spec.Dim(), ckpt.dir, ckpt.spec.Dim(), ckpt.spec.Dim())
	}
	want, err := spec.Params()
	if err != nil {
		return err
	}
	have, err := ckpt.spec.Params()
	if err != nil {
		return err
	}
	var diffs []string
	for _, key := range slices.Sorted(maps.Keys(req.given)) {
		wanted, ok := want[key]
		if !ok {
			wanted = req.given[key] // Not part of the model asked for, like the components of no mixture.
		}
		had, ok := have[key]
		if !ok {
			had = "none"
		}
		if !reflect.DeepEqual(wanted, had) {
			diffs = append(diffs, fmt.Sprintf("%s %s (checkpoint: %s)", req.origin[key], formatValue(wanted), formatValue(had)))
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

// describeData says what data a spec is for: "images of 28×28×1" or
// "vectors of dimension 2".
func describeData(spec *flowlib.Spec) string {
	if spec.IsImage() {
		return "images of " + describeShape(spec.ImageShape())
	}
	return fmt.Sprintf("vectors of dimension %d", spec.Dim())
}
