package training

import (
	"errors"
	"fmt"
	"io"
	"math"
	"time"

	"github.com/gomlx/compute"
	"github.com/gomlx/compute/dtypes"
	. "github.com/gomlx/gomlx/core/graph" //nolint:revive
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/model"
	"github.com/gomlx/gomlx/ml/train"
	"github.com/gomlx/gomlx/ml/train/optimizer"
	"github.com/gomlx/gomlx/ml/train/optimizer/cosineschedule"

	"github.com/flowbook/flowbook/flowlib"
	"github.com/flowbook/flowbook/flowlib/internal/graphpanic"
)

// LogDensityFn is an unnormalised target log-density log p̃(x), built into
// the graph: x [batchSize, event...] → [batchSize], in nats. It may be off
// from the true log p(x) by a constant, log Z: p̃ = Z·p.
type LogDensityFn func(x *Node) *Node

// ReverseKLConfig fits a flow q_θ to a target density known only up to a
// constant, p̃ = Z·p, by minimising the reverse Kullback–Leibler divergence
//
//	KL(q_θ ‖ p) = E_{x∼q_θ}[log q_θ(x) − log p̃(x)] + log Z
//
// with samples drawn from the flow itself and reparameterised, x = f⁻¹(z), z
// from the base, so that the gradient reaches θ through x as well as through
// log q_θ. log Z does not depend on θ: the loss is the batch mean of
// log q_θ(x) − log p̃(x), which is KL − log Z, and its negative is the
// evidence lower bound of log Z. No data are needed, only log p̃: this is the
// objective of variational inference with flows (Rezende & Mohamed 2015,
// https://arxiv.org/abs/1505.05770) and of Boltzmann generators (Noé et al.
// 2019, https://arxiv.org/abs/1812.01729). The reverse KL is mode-seeking: it
// costs little to leave out a mode of p, a lot to put mass where p has none.
//
// The optimiser is the one [Config] uses: Adam with a cosine schedule and
// gradient clipping by global norm; a step whose loss or gradient is not
// finite changes no variable, and Run stops on it with an error. Create it
// with [NewReverseKL] and start it with Run.
//
// ActNorm layers are not initialised from data (there is none): they start as
// the identity and train like any other layer.
type ReverseKLConfig struct {
	backend   compute.Backend
	store     *model.Store
	flow      *flowlib.Flow
	logTarget LogDensityFn

	steps, batchSize int
	learningRate     float64
	cosine           bool
	clipNorm         float64
	reportEvery      int
	onReport         func(ReverseKLPoint)
	log              io.Writer
	maxSeconds       float64
}

// NewReverseKL configures fitting flow, whose variables live in store, to the
// unnormalised target log-density logTarget. The defaults are those of
// [New]: 2000 steps of 256 samples, learning rate 10⁻³ with cosine decay,
// gradients clipped at global norm 10; no log.
func NewReverseKL(backend compute.Backend, store *model.Store, flow *flowlib.Flow, logTarget LogDensityFn) *ReverseKLConfig {
	return &ReverseKLConfig{backend: backend, store: store, flow: flow, logTarget: logTarget,
		steps: 2000, batchSize: 256, learningRate: 1e-3, cosine: true, clipNorm: 10}
}

// Steps sets the number of training steps.
func (c *ReverseKLConfig) Steps(n int) *ReverseKLConfig { c.steps = n; return c }

// BatchSize sets the number of samples drawn from the flow per step.
func (c *ReverseKLConfig) BatchSize(n int) *ReverseKLConfig { c.batchSize = n; return c }

// LearningRate sets Adam's (peak) learning rate.
func (c *ReverseKLConfig) LearningRate(lr float64) *ReverseKLConfig { c.learningRate = lr; return c }

// CosineSchedule turns the cosine learning-rate annealing on or off.
func (c *ReverseKLConfig) CosineSchedule(on bool) *ReverseKLConfig { c.cosine = on; return c }

// ClipGradNorm sets the largest global gradient norm (0 disables clipping).
func (c *ReverseKLConfig) ClipGradNorm(maxNorm float64) *ReverseKLConfig {
	c.clipNorm = maxNorm
	return c
}

// Report records, every n steps and at the end, the mean loss of the steps
// since the last report in Result.Curve, and calls fn with it (fn may be nil),
// e.g. to redraw a curve in a notebook.
func (c *ReverseKLConfig) Report(every int, fn func(ReverseKLPoint)) *ReverseKLConfig {
	c.reportEvery, c.onReport = every, fn
	return c
}

// Log sets where report lines go (default nil: none).
func (c *ReverseKLConfig) Log(w io.Writer) *ReverseKLConfig { c.log = w; return c }

// MaxDuration stops training early, after the step that crosses d.
func (c *ReverseKLConfig) MaxDuration(d time.Duration) *ReverseKLConfig {
	c.maxSeconds = d.Seconds()
	return c
}

// ReverseKLPoint is the mean loss, E_q[log q − log p̃] = KL(q‖p) − log Z in
// nats, over the steps up to Step since the previous point.
type ReverseKLPoint struct {
	Step    int
	Loss    float64
	Elapsed time.Duration
}

// ReverseKLResult summarises a reverse-KL run.
type ReverseKLResult struct {
	// FirstStep and LastStep are the global steps where the run started and ended.
	FirstStep, LastStep int
	// Loss is the mean loss of the last reporting period (of the last 100
	// steps when Report was not set), in nats.
	Loss     float64
	Curve    []ReverseKLPoint
	Duration time.Duration
	// StepsPerSecond is the number of training steps per second.
	StepsPerSecond float64
}

func (c *ReverseKLConfig) validate() error {
	switch {
	case c.flow == nil || c.flow.Base == nil || c.flow.Bijector == nil:
		return errors.New("training: reverse KL needs a flow with a base and a bijector")
	case c.logTarget == nil:
		return errors.New("training: reverse KL needs a target log-density (got nil)")
	case c.steps < 1:
		return fmt.Errorf("training: steps must be at least 1, got %d", c.steps)
	case c.batchSize < 1:
		return fmt.Errorf("training: batch size must be at least 1, got %d", c.batchSize)
	case !(c.learningRate > 0):
		return fmt.Errorf("training: learning rate must be positive, got %g", c.learningRate)
	case c.clipNorm < 0:
		return fmt.Errorf("training: gradient clipping norm must be >= 0, got %g", c.clipNorm)
	case c.reportEvery < 0:
		return fmt.Errorf("training: report interval must be >= 0, got %d", c.reportEvery)
	}
	return nil
}

// reverseKLLoss returns log q(x) − log p̃(x) of n reparameterised samples of
// the flow, shape [n], checking the target's output shape.
func reverseKLLoss(scope *model.Scope, g *Graph, flow *flowlib.Flow, logTarget LogDensityFn, n int) (x, logQ, logP *Node) {
	x, logQ = flow.SampleWithLogProb(scope, g, dtypes.Float32, n, 1)
	logP = logTarget(x)
	if logP == nil || !logP.Shape().Equal(logQ.Shape()) {
		got := "nil"
		if logP != nil {
			got = logP.Shape().String()
		}
		panic(fmt.Errorf("training: the target log-density must return one value per sample, shape %s, got %s",
			logQ.Shape(), got))
	}
	return x, logQ, ConvertDType(logP, logQ.DType())
}

// Run trains and returns a summary. It stops with an error if the loss
// becomes NaN or Inf (that step changes no variable), e.g. when the flow
// samples a point where log p̃ is −Inf.
func (c *ReverseKLConfig) Run() (*ReverseKLResult, error) {
	if err := c.validate(); err != nil {
		return nil, err
	}
	lr, cosine, steps, n := c.learningRate, c.cosine, c.steps, c.batchSize
	// GoMLX's trainer needs an input: a dummy one, since the samples come
	// from the graph itself.
	lossFn := func(scope *model.Scope, dummy *Node) *Node {
		defer graphpanic.AsError()
		g := dummy.Graph()
		if cosine && scope.IsTraining(g) {
			cosineschedule.New(scope, g, dtypes.Float32).LearningRate(lr).MinLearningRate(lr / 100).
				PeriodSteps(steps).Done()
		}
		_, logQ, logP := reverseKLLoss(scope, g, c.flow, c.logTarget, n)
		return Sub(logQ, logP) // Per-sample loss, [batchSize].
	}
	meanLoss := func(_, predictions []*Node) *Node { return ReduceAllMean(predictions[0]) }
	opt := &clippedAdam{inner: optimizer.Adam().LearningRate(lr).Done(), maxNorm: c.clipNorm}
	trainer := train.NewTrainer(c.backend, c.store, lossFn, meanLoss, opt, nil, nil)

	result := &ReverseKLResult{FirstStep: int(optimizer.GetGlobalStep(c.store))}
	every := c.reportEvery
	if every == 0 {
		every = 100
	}
	start := time.Now()
	var sum float64
	var count int
	report := func(step int) {
		if count == 0 {
			return
		}
		p := ReverseKLPoint{Step: step, Loss: sum / float64(count), Elapsed: time.Since(start)}
		sum, count = 0, 0
		result.Loss = p.Loss
		if c.reportEvery == 0 {
			return
		}
		result.Curve = append(result.Curve, p)
		if c.log != nil {
			fmt.Fprintf(c.log, "step %6d  reverse-KL loss %.4f nats  [%s]\n", p.Step, p.Loss, p.Elapsed.Round(time.Millisecond))
		}
		if c.onReport != nil {
			c.onReport(p)
		}
	}
	step := result.FirstStep
	for step < steps {
		dummy := tensors.FromFlatDataAndDimensions([]float32{0}, 1)
		metrics, err := trainer.TrainStep(train.Batch{Inputs: []*tensors.Tensor{dummy}})
		if err != nil {
			return nil, fmt.Errorf("training: reverse KL, step %d: %w", step+1, err)
		}
		loss := float64(tensors.ToScalar[float32](metrics[0]))
		step = int(optimizer.GetGlobalStep(c.store))
		if math.IsNaN(loss) || math.IsInf(loss, 0) {
			return nil, &NonFiniteError{Step: step, Loss: loss,
				Cause: "the loss log q(x) − log p̃(x) of the flow's samples is not finite; " +
					"the target may be −Inf (zero density) where the flow puts samples, or the learning rate too high"}
		}
		sum += loss
		count++
		if step%every == 0 || step >= steps {
			report(step)
		}
		if c.maxSeconds > 0 && time.Since(start).Seconds() > c.maxSeconds {
			break
		}
	}
	report(step)
	result.LastStep = step
	result.Duration = time.Since(start)
	if d := result.LastStep - result.FirstStep; d > 0 {
		result.StepsPerSecond = float64(d) / result.Duration.Seconds()
	}
	return result, nil
}

// LogZEstimate is what samples of a fitted flow q say about an unnormalised
// target p̃ = Z·p, with log-weights log w = log p̃(x) − log q(x), x ∼ q.
type LogZEstimate struct {
	// N is the number of samples.
	N int
	// Loss is the mean of log q(x) − log p̃(x), the reverse-KL loss: an
	// unbiased estimate of KL(q‖p) − log Z, so −Loss is a lower bound of log Z
	// (the ELBO) and, where log Z is known, Loss + log Z estimates KL(q‖p).
	// LossStdErr is its standard error.
	Loss, LossStdErr float64
	// LogZ is the importance-sampling estimate log((1/N) Σ w_i), and
	// LogZStdErr its standard error by the delta method, sd(w)/(√N·mean(w)).
	// Ẑ is unbiased for Z when q > 0 wherever p > 0, but if q misses a region
	// where p has mass, no sample lands there: the estimate is then too low
	// and its standard error does not show it.
	LogZ, LogZStdErr float64
	// ESS is the effective sample size (Σ w)² / Σ w², between 1 and N; N when
	// q = p exactly.
	ESS float64
}

// EstimateLogZ draws n samples from the flow (at temperature 1) and returns
// the reverse-KL loss and the importance-sampling estimate of log Z for the
// target logTarget, each with its standard error. The samples are drawn in
// batches of up to 65,536, each by a freshly built graph.
func EstimateLogZ(backend compute.Backend, store *model.Store, flow *flowlib.Flow, logTarget LogDensityFn, n int) (LogZEstimate, error) {
	if n < 2 {
		return LogZEstimate{}, fmt.Errorf("training: EstimateLogZ needs at least 2 samples, got %d", n)
	}
	if logTarget == nil {
		return LogZEstimate{}, errors.New("training: EstimateLogZ needs a target log-density (got nil)")
	}
	logW := make([]float64, 0, n)
	const chunk = 65536
	for len(logW) < n {
		size := min(chunk, n-len(logW))
		// A fresh graph per batch: the random state changes between batches,
		// and a reused executor would not see it on the pure-Go backend
		// (docs/backends.md).
		outs, err := model.CallOnceN(backend, store, func(scope *model.Scope, g *Graph) []*Node {
			defer graphpanic.AsError()
			_, logQ, logP := reverseKLLoss(scope, g, flow, logTarget, size)
			return []*Node{Sub(logP, logQ)}
		})
		if err != nil {
			return LogZEstimate{}, fmt.Errorf("training: EstimateLogZ: %w", err)
		}
		for _, v := range tensors.MustCopyFlatData[float32](outs[0]) {
			logW = append(logW, float64(v))
		}
	}
	return logZFromLogWeights(logW), nil
}

// logZFromLogWeights computes the estimates of [LogZEstimate] from the
// log-weights, stably (every weight is scaled by exp(−max log w)).
func logZFromLogWeights(logW []float64) LogZEstimate {
	n := float64(len(logW))
	est := LogZEstimate{N: len(logW)}
	maxLW := math.Inf(-1)
	var mean, sq float64
	for _, lw := range logW {
		maxLW = max(maxLW, lw)
		mean += -lw / n
		sq += lw * lw / n
	}
	est.Loss = mean
	est.LossStdErr = math.Sqrt(max(sq-mean*mean, 0) * n / (n - 1) / n)
	var s1, s2 float64 // Σ w/e^max and Σ (w/e^max)²
	for _, lw := range logW {
		w := math.Exp(lw - maxLW)
		s1 += w
		s2 += w * w
	}
	est.LogZ = maxLW + math.Log(s1/n)
	meanW := s1 / n
	varW := max(s2/n-meanW*meanW, 0) * n / (n - 1)
	est.LogZStdErr = math.Sqrt(varW/n) / meanW
	est.ESS = s1 * s1 / s2
	if math.IsInf(maxLW, -1) || math.IsNaN(maxLW) {
		est.LogZ, est.LogZStdErr, est.ESS = maxLW, math.NaN(), 0
	}
	return est
}
