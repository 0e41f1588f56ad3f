package vae

import (
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"time"

	"github.com/gomlx/compute"
	"github.com/gomlx/compute/dtypes"
	"github.com/gomlx/compute/shapes"
	. "github.com/gomlx/gomlx/core/graph" //nolint:revive
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/model"
	"github.com/gomlx/gomlx/ml/train"
	"github.com/gomlx/gomlx/ml/train/optimizer"
	"github.com/gomlx/gomlx/ml/train/optimizer/cosineschedule"

	"github.com/flowbook/flowbook/flowlib/data"
	"github.com/flowbook/flowbook/flowlib/internal/graphpanic"
)

// TrainConfig trains a VAE by maximising the mean ELBO of mini-batches (one
// reparameterised sample of z per example, the KL term in closed form as in
// [Model.ELBO]) with Adam and a cosine learning-rate schedule. Create it
// with [Train] and start it with Run.
type TrainConfig struct {
	backend compute.Backend
	store   *model.Store
	vae     *Model
	train   *data.Samples

	steps, batchSize int
	learningRate     float64
	seed             uint64
	warmup           int
	reportEvery      int
	onReport         func(Point)
	log              io.Writer
	maxSeconds       float64
}

// Train configures training of m, whose variables live in store, on the
// samples (vectors of m's Dim). Defaults: 2000 steps, batches of 256,
// learning rate 10⁻³ annealed to 1% of it along half a cosine, no KL
// warm-up, no log. The initial weights and the noise of the samples of z
// follow the store's random seed (model.ParamInitialSeed), the order of the
// batches [TrainConfig.Seed]. A model from [NewMLP] trains with the KL term
// estimated from the sample, as notebook 05's did.
func Train(backend compute.Backend, store *model.Store, m *Model, samples *data.Samples) *TrainConfig {
	return &TrainConfig{backend: backend, store: store, vae: m, train: samples,
		steps: 2000, batchSize: 256, learningRate: 1e-3, seed: 1}
}

// Steps sets the number of training steps: Run trains until the store's
// global step reaches n, so a second Run with a larger n continues.
func (c *TrainConfig) Steps(n int) *TrainConfig { c.steps = n; return c }

// BatchSize sets the number of examples per step (at most the number of
// examples).
func (c *TrainConfig) BatchSize(n int) *TrainConfig { c.batchSize = n; return c }

// LearningRate sets Adam's peak learning rate.
func (c *TrainConfig) LearningRate(lr float64) *TrainConfig { c.learningRate = lr; return c }

// Seed fixes the order in which batches are drawn (default 1).
func (c *TrainConfig) Seed(seed uint64) *TrainConfig { c.seed = seed; return c }

// KLWarmup scales the KL term's gradient by β = min(1, t/n) at global step
// t (default n = 0: β = 1 throughout), which lets the decoder learn to use z
// before the KL term pulls q(z|x) onto the prior (Bowman et al. 2016,
// https://arxiv.org/abs/1511.06349; Sønderby et al. 2016). Only the
// gradient changes: the reported values stay the ELBO.
func (c *TrainConfig) KLWarmup(steps int) *TrainConfig { c.warmup = steps; return c }

// Report records, every n steps and at the end, the mean training ELBO of
// the steps since the last report in Result.Curve, and calls fn with it (fn
// may be nil).
func (c *TrainConfig) Report(every int, fn func(Point)) *TrainConfig {
	c.reportEvery, c.onReport = every, fn
	return c
}

// Log writes a line at every report (every 100 steps when Report was not
// set) to w; nil (the default) writes none.
func (c *TrainConfig) Log(w io.Writer) *TrainConfig { c.log = w; return c }

// MaxDuration stops training early, after the step that crosses d.
func (c *TrainConfig) MaxDuration(d time.Duration) *TrainConfig { c.maxSeconds = d.Seconds(); return c }

// Point is the mean training ELBO in nats per example over the steps up to
// Step since the previous point.
type Point struct {
	Step int
	ELBO float64
}

// Result summarises a training run.
type Result struct {
	// LastStep is the global step where training ended, and Steps the number
	// of steps this run took.
	LastStep, Steps int
	// ELBO is the mean training ELBO of the last reporting period (the last
	// 100 steps when Report was not set), in nats per example: one sample of
	// z per example, on the batches as they were trained on.
	ELBO     float64
	Curve    []Point
	Duration time.Duration
}

func (c *TrainConfig) validate() error {
	if err := checkModel("Train", c.vae); err != nil {
		return err
	}
	switch {
	case c.steps < 1:
		return fmt.Errorf("vae: steps must be at least 1, got %d", c.steps)
	case c.batchSize < 1:
		return fmt.Errorf("vae: batch size must be at least 1, got %d", c.batchSize)
	case !(c.learningRate > 0) || math.IsInf(c.learningRate, 0):
		return fmt.Errorf("vae: learning rate must be positive and finite, got %g", c.learningRate)
	case c.warmup < 0:
		return fmt.Errorf("vae: KL warm-up must be at least 0 steps, got %d", c.warmup)
	case c.reportEvery < 0:
		return fmt.Errorf("vae: report interval must be at least 0, got %d", c.reportEvery)
	}
	return checkSamples(c.vae, "training data", c.train)
}

// negObjective is the per-example loss: −ELBO in value, and in gradient that
// of −(log p(x|z) − β·KL) when warmup > 0.
func (c *TrainConfig) negObjective(scope *model.Scope, x *Node) *Node {
	m, g := c.vae, x.Graph()
	eps := scope.RandomNormal(g, shapes.Make(x.DType(), x.Shape().Dimensions[0], m.Latent))
	if m.monteCarloKL && c.warmup == 0 {
		return Neg(ELBO(scope, m, x, eps)) // NewMLP's objective, op for op.
	}
	m.checkInput("Train", x)
	var recon, kl *Node
	if m.monteCarloKL {
		var logPrior, logQ *Node
		recon, logPrior, logQ = m.elboTerms(scope, x, eps)
		kl = Sub(logQ, logPrior)
	} else {
		mean, logStd, z := m.encodeSample(scope, x, eps)
		params, decLogStd := m.Decode(scope, z)
		recon, kl = m.logLikelihood(x, params, decLogStd), KLStandardNormal(mean, logStd)
	}
	if c.warmup == 0 {
		return Sub(kl, recon)
	}
	// β·KL in the gradient, all of the KL in the value:
	// recon − β·KL − stop((1 − β)·KL) = recon − KL.
	step := ConvertDType(optimizer.GetGlobalStepVar(scope).NodeValue(g), x.DType())
	beta := MinScalar(DivScalar(AddScalar(step, 1), float64(c.warmup)), 1)
	beta = StopGradient(beta)
	rest := StopGradient(Mul(OneMinus(beta), kl))
	return Neg(Sub(Sub(recon, Mul(beta, kl)), rest))
}

// Run trains and returns a summary. It returns an error, before training,
// for a model or data it cannot train on (no examples, the wrong size, a
// NaN, non-binary data for a Bernoulli decoder), and stops with an error
// when the loss becomes NaN or Inf.
func (c *TrainConfig) Run() (*Result, error) {
	if err := c.validate(); err != nil {
		return nil, err
	}
	lr, steps := c.learningRate, c.steps
	modelFn := func(scope *model.Scope, x *Node) *Node {
		defer graphpanic.AsError()
		g := x.Graph()
		if scope.IsTraining(g) {
			cosineschedule.New(scope, g, x.DType()).LearningRate(lr).MinLearningRate(lr / 100).PeriodSteps(steps).Done()
		}
		return c.negObjective(scope, x)
	}
	meanLoss := func(_, predictions []*Node) *Node { return ReduceAllMean(predictions[0]) }
	trainer := train.NewTrainer(c.backend, c.store, modelFn, meanLoss, optimizer.Adam().LearningRate(lr).Done(), nil, nil)

	rng := rand.New(rand.NewPCG(c.seed, 0x7ae))
	n, dim := c.train.N, c.train.Dim
	size := min(c.batchSize, n)
	var order []int
	next := 0
	every := c.reportEvery
	if every == 0 {
		every = 100
	}
	result := &Result{}
	start := time.Now()
	var sum float64
	var count int
	report := func(step int) {
		if count == 0 {
			return
		}
		p := Point{Step: step, ELBO: sum / float64(count)}
		sum, count = 0, 0
		result.ELBO = p.ELBO
		if c.log != nil {
			fmt.Fprintf(c.log, "step %6d  ELBO %.4f nats  [%s]\n", p.Step, p.ELBO, time.Since(start).Round(time.Millisecond))
		}
		if c.reportEvery > 0 {
			result.Curve = append(result.Curve, p)
			if c.onReport != nil {
				c.onReport(p)
			}
		}
	}
	first := int(optimizer.GetGlobalStep(c.store))
	step := first
	for step < steps {
		if next+size > len(order) {
			order, next = rng.Perm(n), 0
		}
		flat := make([]float32, size*dim)
		for i, idx := range order[next : next+size] {
			copy(flat[i*dim:(i+1)*dim], c.train.Values[idx*dim:(idx+1)*dim])
		}
		next += size
		metrics, err := trainer.TrainStep(train.Batch{Inputs: []*tensors.Tensor{tensors.FromFlatDataAndDimensions(flat, size, dim)}})
		if err != nil {
			return nil, fmt.Errorf("vae: training step %d: %w", step+1, err)
		}
		if metrics[0].DType() != dtypes.Float32 {
			return nil, errors.New("vae: the training loss is not float32")
		}
		loss := float64(tensors.ToScalar[float32](metrics[0]))
		step = int(optimizer.GetGlobalStep(c.store))
		if math.IsNaN(loss) || math.IsInf(loss, 0) {
			return nil, fmt.Errorf("vae: training stopped at step %d: the loss (−ELBO) is %v; try a lower learning rate", step, loss)
		}
		sum -= loss
		count++
		if step%every == 0 {
			report(step)
		}
		if c.maxSeconds > 0 && time.Since(start).Seconds() > c.maxSeconds {
			break
		}
	}
	report(step)
	result.LastStep, result.Steps = step, step-first
	result.Duration = time.Since(start)
	return result, nil
}
