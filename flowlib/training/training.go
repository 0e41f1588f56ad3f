// Package training fits a [flowlib.Flow] to data by maximum likelihood, on
// GoMLX's train package: Adam, a cosine learning-rate schedule, gradient
// clipping by global norm, a progress bar (terminal or notebook), periodic
// evaluation on held-out data in nats and bits/dim, checkpoints that can be
// restored and resumed, and a clear stop on NaN or Inf.
//
// The loss is the negative log-likelihood of a batch, averaged over examples,
// in nats: −(1/B) Σ_b log p(x_b). Divided by D·ln 2 it becomes bits per
// dimension, the unit image models report.
package training

import (
	"errors"
	"fmt"
	"io"
	"iter"
	"math"
	"math/rand/v2"
	"os"
	"time"

	"github.com/gomlx/compute"
	"github.com/gomlx/compute/dtypes"
	"github.com/gomlx/compute/gobackend"
	. "github.com/gomlx/gomlx/core/graph" //nolint:revive
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/model"
	"github.com/gomlx/gomlx/ml/model/checkpoint"
	"github.com/gomlx/gomlx/ml/train"
	"github.com/gomlx/gomlx/ml/train/optimizer"
	"github.com/gomlx/gomlx/ml/train/optimizer/cosineschedule"
	"github.com/gomlx/gomlx/ui/commandline"

	"github.com/flowbook/flowbook/flowlib"
	"github.com/flowbook/flowbook/flowlib/data"
	"github.com/flowbook/flowbook/flowlib/inference"
	"github.com/flowbook/flowbook/flowlib/internal/graphpanic"
)

// Hyperparameters, stored in the model.Store (and so in checkpoints) by Run,
// with their defaults.
const (
	// ParamSteps (int, default 2000) is the number of training steps in total;
	// a resumed run continues up to it.
	ParamSteps = "train_steps"
	// ParamBatchSize (int, default 256) is the number of examples per step.
	ParamBatchSize = "batch_size"
	// ParamLearningRate (float64, default 1e-3) is Adam's peak learning rate; the
	// same key as GoMLX's optimizer.ParamLearningRate.
	ParamLearningRate = "learning_rate"
	// ParamCosineSchedule (bool, default true) anneals the learning rate to 1%
	// of its peak along half a cosine over the run.
	ParamCosineSchedule = "cosine_schedule"
	// ParamClipGradNorm (float64, default 10; 0 turns it off) rescales the
	// gradient when its global L2 norm exceeds this value.
	ParamClipGradNorm = "clip_grad_norm"
	// ParamWarmupSteps (int, default 0: none) is the number of first steps over
	// which the learning rate rises linearly to its peak.
	ParamWarmupSteps = "warmup_steps"
)

// Config of a training run; create it with [New] and start it with Run.
type Config struct {
	backend compute.Backend
	store   *model.Store
	flow    *flowlib.Flow
	train   *data.Samples

	steps, batchSize int
	learningRate     float64
	cosine           bool
	clipNorm         float64
	warmup           int
	seed             uint64

	test            *data.Samples
	trainContext    *data.Samples // of a conditional flow; nil for none
	testContext     *data.Samples
	evalEvery       int
	checkpointDir   string
	checkpointEvery int
	progressBar     bool
	log             io.Writer
	afterEval       func(EvalPoint)
	maxSeconds      float64
}

// New configures training of flow, whose variables live in store, on the
// training samples.
func New(backend compute.Backend, store *model.Store, flow *flowlib.Flow, trainData *data.Samples) *Config {
	return &Config{backend: backend, store: store, flow: flow, train: trainData,
		steps: 2000, batchSize: 256, learningRate: 1e-3, cosine: true, clipNorm: 10, seed: 1,
		log: os.Stdout}
}

// Steps sets the total number of training steps.
func (c *Config) Steps(n int) *Config { c.steps = n; return c }

// BatchSize sets the number of examples per step.
func (c *Config) BatchSize(n int) *Config { c.batchSize = n; return c }

// LearningRate sets Adam's (peak) learning rate.
func (c *Config) LearningRate(lr float64) *Config { c.learningRate = lr; return c }

// CosineSchedule turns the cosine learning-rate annealing on or off.
func (c *Config) CosineSchedule(on bool) *Config { c.cosine = on; return c }

// ClipGradNorm sets the largest global gradient norm (0 disables clipping).
func (c *Config) ClipGradNorm(maxNorm float64) *Config { c.clipNorm = maxNorm; return c }

// Warmup raises the learning rate linearly over the first n steps, from 1% of
// its peak to the peak (0, the default, starts at the peak). With the cosine
// schedule on, the cosine decay then runs over the remaining steps; without
// it, the rate stays at the peak after the warm-up. A warm-up keeps Adam's
// first updates small while its second-moment estimates are still based on
// a few batches (Liu et al. 2020, "On the Variance of the Adaptive Learning
// Rate and Beyond", arXiv:1908.03265).
func (c *Config) Warmup(n int) *Config { c.warmup = n; return c }

// Seed fixes the order in which batches are drawn.
func (c *Config) Seed(seed uint64) *Config { c.seed = seed; return c }

// Eval evaluates the mean negative log-likelihood of test every n steps and
// at the end.
func (c *Config) Eval(test *data.Samples, every int) *Config {
	c.test, c.evalEvery = test, every
	return c
}

// Context trains a conditional flow p(x | c): row i of trainContext is the
// context of training example i, and row i of testContext (nil without a
// test set) that of test example i. Every step gives the flow the contexts
// of its batch (see [flowlib.Flow.LogProbWithContext]).
func (c *Config) Context(trainContext, testContext *data.Samples) *Config {
	c.trainContext, c.testContext = trainContext, testContext
	return c
}

// OnEval calls fn after every evaluation (e.g. to redraw a plot in a notebook).
func (c *Config) OnEval(fn func(EvalPoint)) *Config { c.afterEval = fn; return c }

// Checkpoint saves the model in dir every n steps and at the end. If dir
// already holds a checkpoint, Run restores it first and resumes from its step.
func (c *Config) Checkpoint(dir string, every int) *Config {
	c.checkpointDir, c.checkpointEvery = dir, every
	return c
}

// ProgressBar turns GoMLX's progress bar on or off (it adapts to terminals
// and notebooks). It is off by default.
func (c *Config) ProgressBar(on bool) *Config { c.progressBar = on; return c }

// Log sets where evaluation lines go (default os.Stdout; nil silences them).
func (c *Config) Log(w io.Writer) *Config { c.log = w; return c }

// MaxDuration stops training early, after the step that crosses d.
func (c *Config) MaxDuration(d time.Duration) *Config { c.maxSeconds = d.Seconds(); return c }

// EvalPoint is one evaluation on held-out data.
type EvalPoint struct {
	Step int
	// NLL is the mean negative log-likelihood in nats; BitsPerDim the same in
	// bits per coordinate.
	NLL, BitsPerDim float64
	Elapsed         time.Duration
}

// Result summarises a run.
type Result struct {
	// FirstStep and LastStep are the global steps where the run started and ended.
	FirstStep, LastStep int
	// TrainNLL is the moving average of the training loss at the end, in
	// nats; when training stopped at its time limit, the last batch's loss.
	// For a flow trained by regression (flowlib.Flow.TrainsByRegression:
	// flow matching) it is that loss, not an NLL.
	TrainNLL float64
	Evals    []EvalPoint
	Duration time.Duration
	// StepsPerSecond measures training steps only (evaluations excluded).
	StepsPerSecond float64
}

// BitsPerDim converts a negative log-likelihood in nats per example to bits
// per dimension: nll / (dim · ln 2).
func BitsPerDim(nllNats float64, dim int) float64 {
	return nllNats / (float64(dim) * math.Ln2)
}

func (c *Config) validate() error {
	switch {
	case c.train == nil || c.train.N == 0:
		return errors.New("training: no training data (0 examples)")
	case c.steps < 1:
		return fmt.Errorf("training: steps must be at least 1, got %d", c.steps)
	case c.batchSize < 1:
		return fmt.Errorf("training: batch size must be at least 1, got %d", c.batchSize)
	case !(c.learningRate > 0):
		return fmt.Errorf("training: learning rate must be positive, got %g", c.learningRate)
	case c.clipNorm < 0:
		return fmt.Errorf("training: gradient clipping norm must be >= 0, got %g", c.clipNorm)
	case c.warmup < 0 || (c.warmup > 0 && c.warmup >= c.steps):
		return fmt.Errorf("training: warm-up must be between 0 and the number of steps (%d), got %d", c.steps, c.warmup)
	}
	if err := checkData(c.flow, "training data", c.train); err != nil {
		return err
	}
	if c.test != nil {
		if err := checkData(c.flow, "test data", c.test); err != nil {
			return err
		}
	}
	if c.trainContext != nil || c.testContext != nil {
		if err := inference.CheckContext("training: training data", c.train, c.trainContext); err != nil {
			return err
		}
		if c.test != nil {
			if err := inference.CheckContext("training: test data", c.test, c.testContext); err != nil {
				return err
			}
			if c.testContext.Dim != c.trainContext.Dim {
				return fmt.Errorf("training: the test context has %d values per row, the training context %d; give both the same",
					c.testContext.Dim, c.trainContext.Dim)
			}
		}
	}
	return nil
}

// checkData is [inference.CheckSamples] with this package's prefix on its
// errors.
func checkData(flow *flowlib.Flow, what string, s *data.Samples) error {
	if err := inference.CheckSamples(flow, what, s); err != nil {
		return fmt.Errorf("training: %w", err)
	}
	return nil
}

// Run trains and returns a summary. Before the first step it checks the
// training and test data (at least one example, the model's shape, finite
// values in the first layer's domain), and returns an error naming the first
// bad example and coordinate. It stops with an error, naming the step and the
// first layer where non-finite values appear, if the loss becomes NaN or Inf;
// that step changes no variable. After the first step it also checks that
// every [flowlib.ActNorm] layer was initialised ([flowlib.CheckActNormInit]).
func (c *Config) Run() (*Result, error) {
	if err := c.validate(); err != nil {
		return nil, err
	}
	var handler *checkpoint.Handler
	if c.checkpointDir != "" {
		var err error
		handler, err = checkpoint.Build(c.store).Dir(c.checkpointDir).Keep(2).Done()
		if err != nil {
			return nil, fmt.Errorf("training: checkpoint directory %q: %w", c.checkpointDir, err)
		}
	}
	// Record this run's settings (after loading a checkpoint, whose older
	// values they replace), so the next checkpoint saves them.
	root := c.store.RootScope()
	root.SetParam(ParamSteps, c.steps)
	root.SetParam(ParamBatchSize, c.batchSize)
	root.SetParam(ParamLearningRate, c.learningRate)
	root.SetParam(ParamCosineSchedule, c.cosine)
	root.SetParam(ParamClipGradNorm, c.clipNorm)
	root.SetParam(ParamWarmupSteps, c.warmup)

	lr, cosine, steps, warmup := c.learningRate, c.cosine, c.steps, c.warmup
	modelFn := func(scope *model.Scope, inputs []*Node) *Node {
		defer graphpanic.AsError()
		x := inputs[0]
		g := x.Graph()
		if scope.IsTraining(g) {
			learningRateSchedule(scope, g, x.DType(), lr, steps, warmup, cosine)
		}
		var context *Node // The batch's contexts, if the flow is conditional.
		if len(inputs) > 1 {
			context = inputs[1]
		}
		// Per-example NLL, [batchSize], or a flow-matching flow's regression loss.
		return c.flow.TrainingLoss(scope, x, context)
	}
	meanLoss := func(_, predictions []*Node) *Node { return ReduceAllMean(predictions[0]) }
	opt := &clippedAdam{inner: optimizer.Adam().LearningRate(lr).Done(), maxNorm: c.clipNorm}
	trainer := train.NewTrainer(c.backend, c.store, modelFn, meanLoss, opt, nil, nil)
	loop := train.NewLoop(trainer)
	var lastLoss float64 // The batch loss in nats, shown in bits/dim next to the progress bar.
	if c.progressBar {
		dim := c.train.Dim
		regression := c.flow.TrainsByRegression()
		commandline.AttachProgressBar(loop, func() (string, string) {
			if regression {
				return "loss", fmt.Sprintf("%.4f", lastLoss)
			}
			return "bits/dim", fmt.Sprintf("%.4f", BitsPerDim(lastLoss, dim))
		})
	}
	ds := &batches{samples: c.train, context: c.trainContext, batchSize: c.batchSize, rng: rand.New(rand.NewPCG(c.seed, 0xba7c4))}

	result := &Result{FirstStep: int(optimizer.GetGlobalStep(c.store))}
	start := time.Now()
	var evalTime time.Duration
	// One evaluator for every evaluation, so that XLA compiles its graphs once
	// (0.1–1 s each). On GoMLX v0.28.16's pure-Go backend, though, a
	// model.Exec (which an Evaluator holds) called again after the variables changed still computes with
	// their old values (docs/backends.md), so there it is made anew each time,
	// which costs next to nothing on that backend.
	var evaluator *inference.Evaluator
	reuseEvaluator := c.backend.String() != gobackend.BackendName
	defer func() {
		if evaluator != nil {
			evaluator.Finalize()
		}
	}()
	evaluate := func(step int) error {
		if c.test == nil {
			return nil
		}
		t0 := time.Now()
		var logProbs []float64
		var err error
		if c.testContext != nil {
			logProbs, err = inference.LogProbsWithContext(c.backend, c.store, c.flow, c.test, c.testContext)
		} else {
			logProbs, err = c.evaluateWith(&evaluator, reuseEvaluator)
		}
		if err != nil {
			return err
		}
		meanLogProb := 0.0
		for _, v := range logProbs {
			meanLogProb += v
		}
		meanLogProb /= float64(len(logProbs))
		evalTime += time.Since(t0)
		p := EvalPoint{Step: step, NLL: -meanLogProb, BitsPerDim: BitsPerDim(-meanLogProb, c.test.Dim), Elapsed: time.Since(start)}
		result.Evals = append(result.Evals, p)
		if c.log != nil {
			fmt.Fprintf(c.log, "step %6d  test NLL %.4f nats  (%.4f bits/dim)  [%s]\n", p.Step, p.NLL, p.BitsPerDim, p.Elapsed.Round(time.Millisecond))
		}
		if c.afterEval != nil {
			c.afterEval(p)
		}
		return nil
	}

	firstStep := true
	var initErr error // reported as is, without the train loop's wrapping
	loop.OnStep("flowbook_nan_check", -100, func(loop *train.Loop, metrics []*tensors.Tensor) error {
		loss := tensors.ToScalar[float32](metrics[0])
		lastLoss = float64(loss)
		if math.IsNaN(float64(loss)) || math.IsInf(float64(loss), 0) {
			return c.diagnoseNonFinite(loop.LoopStep, float64(loss), ds.last)
		}
		if firstStep {
			// ActNorm's data-dependent initialisation runs in the first step;
			// the graph cannot report a refused one, so look at the flags.
			firstStep = false
			if err := flowlib.CheckActNormInit(c.store); err != nil {
				initErr = fmt.Errorf("training: step %d: %w", loop.LoopStep, err)
				return initErr
			}
		}
		return nil
	})
	if c.evalEvery > 0 {
		train.EveryNSteps(loop, c.evalEvery, "flowbook_eval", 50, func(loop *train.Loop, _ []*tensors.Tensor) error {
			return evaluate(loop.LoopStep + 1)
		})
	}
	savedStep := -1
	if handler != nil && c.checkpointEvery > 0 {
		train.EveryNSteps(loop, c.checkpointEvery, "flowbook_checkpoint", 100, func(*train.Loop, []*tensors.Tensor) error {
			savedStep = int(optimizer.GetGlobalStep(c.store))
			return handler.Save()
		})
	}
	if c.maxSeconds > 0 {
		loop.OnStep("flowbook_time_limit", 200, func(loop *train.Loop, _ []*tensors.Tensor) error {
			if time.Since(start).Seconds() > c.maxSeconds {
				return errTimeUp
			}
			return nil
		})
	}

	metrics, err := loop.RunToGlobalStep(ds, c.steps)
	if err != nil && !errors.Is(err, errTimeUp) {
		var nf *NonFiniteError
		if errors.As(err, &nf) {
			return nil, nf
		}
		if initErr != nil {
			return nil, initErr
		}
		return nil, fmt.Errorf("training: %w", err)
	}
	result.LastStep = int(optimizer.GetGlobalStep(c.store))
	trainTime := time.Since(start) - evalTime
	if n := result.LastStep - result.FirstStep; n > 0 {
		result.StepsPerSecond = float64(n) / trainTime.Seconds()
	}
	if len(metrics) > 1 {
		result.TrainNLL = float64(tensors.ToScalar[float32](metrics[1]))
	} else {
		result.TrainNLL = lastLoss
	}
	if c.test != nil && (len(result.Evals) == 0 || result.Evals[len(result.Evals)-1].Step != result.LastStep) {
		if err := evaluate(result.LastStep); err != nil {
			return nil, err
		}
	}
	if handler != nil && savedStep != result.LastStep {
		if err := handler.Save(); err != nil {
			return nil, fmt.Errorf("training: saving checkpoint: %w", err)
		}
	}
	result.Duration = time.Since(start)
	return result, nil
}

var errTimeUp = errors.New("time limit reached")

// evaluateWith computes the test set's log-probs with *evaluator, made anew
// unless reuse is set.
func (c *Config) evaluateWith(evaluator **inference.Evaluator, reuse bool) ([]float64, error) {
	if *evaluator != nil && !reuse {
		(*evaluator).Finalize()
		*evaluator = nil
	}
	if *evaluator == nil {
		e, err := inference.NewEvaluator(c.backend, c.store, c.flow)
		if err != nil {
			return nil, err
		}
		*evaluator = e
	}
	return (*evaluator).LogProbs(c.test)
}

// learningRateSchedule sets Adam's learning rate for the current step: a
// linear warm-up from peak/100 to peak over the first warmup steps, then,
// with cosine, half a cosine from peak down to peak/100 over the remaining
// steps (otherwise the peak).
func learningRateSchedule(scope *model.Scope, g *Graph, dtype dtypes.DType, peak float64, steps, warmup int, cosine bool) {
	if cosine {
		cfg := cosineschedule.New(scope, g, dtype).LearningRate(peak).MinLearningRate(peak / 100).PeriodSteps(steps - warmup)
		if warmup > 0 {
			cfg.WarmUpSteps(warmup)
		}
		cfg.Done()
		return
	}
	if warmup == 0 {
		return
	}
	// The same warm-up as cosineschedule's, on a counter of its own.
	counter := scope.Store().Scope(model.JoinPath(optimizer.Scope, "warmup"))
	step := MinusOne(optimizer.IncrementCounter(counter, g, "step", dtype)) // 0 at the first step
	ratio := MinScalar(DivScalar(step, float64(warmup)), 1)
	rate := AddScalar(MulScalar(ratio, peak-peak/100), peak/100)
	optimizer.LearningRateVarWithValue(scope, dtype, peak).SetNodeValue(rate)
}

// batches is a train.Dataset of random mini-batches drawn from samples,
// reshuffled every epoch, forever.
type batches struct {
	samples   *data.Samples
	context   *data.Samples // the contexts of a conditional flow's examples, or nil
	batchSize int
	rng       *rand.Rand
	last      []float32 // the most recent batch, kept to diagnose a NaN
}

func (b *batches) Name() string { return "train" }

func (b *batches) Iter() iter.Seq2[train.Batch, error] {
	return func(yield func(train.Batch, error) bool) {
		n, dim := b.samples.N, b.samples.Dim
		size := min(b.batchSize, n)
		dims := append([]int{size}, b.samples.EventShape()...)
		for {
			order := b.rng.Perm(n)
			for start := 0; start+size <= n; start += size {
				flat := make([]float32, size*dim)
				for i, idx := range order[start : start+size] {
					copy(flat[i*dim:(i+1)*dim], b.samples.Row(idx))
				}
				b.last = flat
				batch := train.Batch{Inputs: []*tensors.Tensor{tensors.FromFlatDataAndDimensions(flat, dims...)}}
				if b.context != nil {
					batch.Inputs = append(batch.Inputs, b.contextRows(order[start:start+size]))
				}
				if !yield(batch, nil) {
					return
				}
			}
		}
	}
}

// contextRows gathers the context rows of the given examples.
func (b *batches) contextRows(rows []int) *tensors.Tensor {
	dim := b.context.Dim
	flat := make([]float32, len(rows)*dim)
	for i, idx := range rows {
		copy(flat[i*dim:(i+1)*dim], b.context.Row(idx))
	}
	return tensors.FromFlatDataAndDimensions(flat, append([]int{len(rows)}, b.context.EventShape()...)...)
}

// clippedAdam is Adam with the gradient rescaled to a global L2 norm of at
// most maxNorm (Pascanu et al. 2013): one rare huge gradient, common early in
// flow training, then cannot throw the weights far away.
type clippedAdam struct {
	inner   optimizer.Interface
	maxNorm float64
}

type withGradients interface {
	UpdateGraphWithGradients(scope *model.Scope, grads []*Node, lossDType dtypes.DType)
}

func (o *clippedAdam) UpdateGraph(scope *model.Scope, g *Graph, loss *Node) {
	inner, ok := o.inner.(withGradients)
	if !ok {
		o.inner.UpdateGraph(scope, g, loss)
		return
	}
	grads := scope.BuildTrainableVariablesGradientsGraph(loss)
	sumSquares := ScalarZero(g, loss.DType())
	for _, gr := range grads {
		sumSquares = Add(sumSquares, ConvertDType(ReduceAllSum(Square(gr)), loss.DType()))
	}
	norm := Sqrt(sumSquares)
	factor := ScalarOne(g, loss.DType())
	if o.maxNorm > 0 {
		factor = Min(factor, Div(Scalar(g, loss.DType(), o.maxNorm), AddScalar(norm, 1e-12)))
	}
	// A step with a non-finite loss or gradient would write NaN into every
	// variable. It gets a zero gradient instead (Adam's moments stay finite)
	// and keeps the trainable variables' values (Adam's momentum would still
	// move them), so the model is left as it was when Run stops on it.
	finite := LogicalAnd(IsFinite(norm), IsFinite(loss))
	for i, gr := range grads {
		grads[i] = Where(finite, Mul(gr, ConvertDType(factor, gr.DType())), ZerosLike(gr))
	}
	before := map[*model.Variable]*Node{}
	for v := range scope.IterVariables() {
		if v.Trainable && v.InUseByGraph(g) {
			before[v] = v.NodeValue(g)
		}
	}
	inner.UpdateGraphWithGradients(scope, grads, loss.DType())
	for v, old := range before {
		if updated := v.NodeValue(g); updated != old {
			v.SetNodeValue(Where(finite, updated, old))
		}
	}
}

func (o *clippedAdam) Clear(scope *model.Scope) error { return o.inner.Clear(scope) }
