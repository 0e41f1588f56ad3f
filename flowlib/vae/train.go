package vae

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"time"

	"github.com/gomlx/compute"
	"github.com/gomlx/compute/shapes"
	. "github.com/gomlx/gomlx/core/graph" //nolint:revive
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/model"
	"github.com/gomlx/gomlx/ml/train"
	"github.com/gomlx/gomlx/ml/train/optimizer"
	"github.com/gomlx/gomlx/ml/train/optimizer/cosineschedule"

	"github.com/flowbook/flowbook/flowlib/data"
	"github.com/flowbook/flowbook/flowlib/flowcheck"
)

// TrainConfig trains a VAE by maximising the mean ELBO of mini-batches (one
// reparameterised sample of z per example) with Adam and a cosine
// learning-rate schedule. Create it with [Train] and start it with Run.
type TrainConfig struct {
	backend compute.Backend
	store   *model.Store
	vae     *VAE
	train   *data.Samples

	steps, batchSize int
	learningRate     float64
	seed             uint64
	reportEvery      int
	onReport         func(Point)
	maxSeconds       float64
}

// Train configures training of v, whose variables live in store, on the
// samples (vectors). Defaults: 2000 steps, batches of 256, learning rate
// 10⁻³ annealed to 1% of it along half a cosine.
func Train(backend compute.Backend, store *model.Store, v *VAE, samples *data.Samples) *TrainConfig {
	return &TrainConfig{backend: backend, store: store, vae: v, train: samples,
		steps: 2000, batchSize: 256, learningRate: 1e-3, seed: 1}
}

// Steps sets the number of training steps.
func (c *TrainConfig) Steps(n int) *TrainConfig { c.steps = n; return c }

// BatchSize sets the number of examples per step.
func (c *TrainConfig) BatchSize(n int) *TrainConfig { c.batchSize = n; return c }

// LearningRate sets Adam's peak learning rate.
func (c *TrainConfig) LearningRate(lr float64) *TrainConfig { c.learningRate = lr; return c }

// Seed fixes the order in which batches are drawn.
func (c *TrainConfig) Seed(seed uint64) *TrainConfig { c.seed = seed; return c }

// Report records, every n steps and at the end, the mean training ELBO of
// the steps since the last report in Result.Curve, and calls fn with it (fn
// may be nil).
func (c *TrainConfig) Report(every int, fn func(Point)) *TrainConfig {
	c.reportEvery, c.onReport = every, fn
	return c
}

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
	// LastStep is the global step where training ended.
	LastStep int
	// ELBO is the mean training ELBO of the last reporting period (the last
	// 100 steps when Report was not set), in nats per example.
	ELBO     float64
	Curve    []Point
	Duration time.Duration
}

func (c *TrainConfig) validate() error {
	switch {
	case c.vae == nil || c.vae.Encode == nil || c.vae.Decode == nil || c.vae.Latent < 1:
		return errors.New("vae: Train needs a VAE with an encoder, a decoder and Latent ≥ 1")
	case c.train == nil || c.train.N < 1 || c.train.Dim < 1 || len(c.train.Values) != c.train.N*c.train.Dim:
		return errors.New("vae: no training data, or its Values do not hold N×Dim numbers")
	case c.steps < 1:
		return fmt.Errorf("vae: steps must be at least 1, got %d", c.steps)
	case c.batchSize < 1:
		return fmt.Errorf("vae: batch size must be at least 1, got %d", c.batchSize)
	case !(c.learningRate > 0):
		return fmt.Errorf("vae: learning rate must be positive, got %g", c.learningRate)
	}
	for i, v := range c.train.Values {
		if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
			return fmt.Errorf("vae: non-finite value %v in example %d, coordinate %d", v, i/c.train.Dim, i%c.train.Dim)
		}
	}
	return nil
}

// Run trains and returns a summary; it stops with an error when the loss
// becomes NaN or Inf.
func (c *TrainConfig) Run() (*Result, error) {
	if err := c.validate(); err != nil {
		return nil, err
	}
	v, lr, steps := c.vae, c.learningRate, c.steps
	modelFn := func(scope *model.Scope, x *Node) *Node {
		g := x.Graph()
		if scope.IsTraining(g) {
			cosineschedule.New(scope, g, x.DType()).LearningRate(lr).MinLearningRate(lr / 100).PeriodSteps(steps).Done()
		}
		eps := scope.RandomNormal(g, shapes.Make(x.DType(), x.Shape().Dimensions[0], v.Latent))
		return Neg(ELBO(scope, v, x, eps))
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
		if c.reportEvery > 0 {
			result.Curve = append(result.Curve, p)
			if c.onReport != nil {
				c.onReport(p)
			}
		}
	}
	step := int(optimizer.GetGlobalStep(c.store))
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
	result.LastStep = step
	result.Duration = time.Since(start)
	return result, nil
}

// Bound is a lower bound of the mean log-likelihood of some data, measured
// with K importance samples per point (K = 1: the single-sample ELBO).
type Bound struct {
	K int
	// Mean is the bound averaged over the points, in nats per point, and
	// StdErr its standard error: the spread over the points, which also holds
	// the Monte Carlo noise of the samples, divided by √N.
	Mean, StdErr float64
	// PerPoint is the estimate for each point.
	PerPoint []float64
}

// maxEvalRows bounds the memory of an evaluation graph: K·(points per batch).
const maxEvalRows = 1 << 17

// Evaluate measures the VAE's bounds on the samples for each K in ks: the
// IWAE bound with K samples per point (for K = 1, the single-sample ELBO).
// The bounds for every K use the first K of the same max(ks) samples of z per
// point, drawn from noise seeded by seed, so their differences are not blurred
// by independent noise. The points are evaluated in batches of up to
// 2¹⁷ / max(ks).
func Evaluate(backend compute.Backend, store *model.Store, v *VAE, samples *data.Samples, seed uint64, ks ...int) ([]Bound, error) {
	if v == nil || samples == nil || samples.N < 2 || samples.Dim < 1 || len(samples.Values) != samples.N*samples.Dim {
		return nil, errors.New("vae: Evaluate needs a VAE and at least 2 points whose Values hold N×Dim numbers")
	}
	if len(ks) == 0 {
		return nil, errors.New("vae: Evaluate needs at least one K")
	}
	kMax := 0
	for _, k := range ks {
		if k < 1 {
			return nil, fmt.Errorf("vae: every K must be at least 1, got %d", k)
		}
		kMax = max(kMax, k)
	}
	exec, err := model.NewExec(backend, store, func(scope *model.Scope, x, eps *Node) []*Node {
		lw := LogWeights(scope, v, x, eps)
		outs := make([]*Node, len(ks))
		for i, k := range ks {
			outs[i] = IWAEBound(Slice(lw, AxisRange(0, k)))
		}
		return outs
	})
	if err != nil {
		return nil, err
	}
	defer exec.Finalize()
	rng := rand.New(rand.NewPCG(seed, 0x1ae))
	perPoint := make([][]float64, len(ks))
	batch := max(1, maxEvalRows/kMax)
	dim := samples.Dim
	for start := 0; start < samples.N; start += batch {
		end := min(start+batch, samples.N)
		m := end - start
		eps := make([]float32, kMax*m*v.Latent)
		for i := range eps {
			eps[i] = float32(rng.NormFloat64())
		}
		x := tensors.FromFlatDataAndDimensions(samples.Values[start*dim:end*dim], m, dim)
		outs, err := exec.Call(x, tensors.FromFlatDataAndDimensions(eps, kMax, m, v.Latent))
		if err != nil {
			return nil, fmt.Errorf("vae: Evaluate: %w", err)
		}
		for i, o := range outs {
			for _, b := range tensors.MustCopyFlatData[float32](o) {
				perPoint[i] = append(perPoint[i], float64(b))
			}
		}
	}
	bounds := make([]Bound, len(ks))
	for i, k := range ks {
		bounds[i] = Bound{K: k, PerPoint: perPoint[i]}
		bounds[i].Mean, bounds[i].StdErr = flowcheck.MeanStdErr(perPoint[i])
	}
	return bounds, nil
}
