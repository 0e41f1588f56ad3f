package main

import (
	"fmt"
	"math/rand/v2"
	"runtime/debug"
	"strings"

	"github.com/gomlx/compute"
	"github.com/gomlx/compute/dtypes"
	. "github.com/gomlx/gomlx/core/graph" //nolint:revive
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/model"
	"github.com/gomlx/gomlx/ml/train"
	"github.com/gomlx/gomlx/ml/train/optimizer"

	"github.com/flowbook/flowbook/flowlib"
	"github.com/flowbook/flowbook/flowlib/data"
	"github.com/flowbook/flowbook/flowlib/inference"
	"github.com/flowbook/flowbook/flowlib/training"
)

// The benchmark's settings, the same in bench/reference/*.py.
const (
	moonsTrain, moonsTest = 10_000, 10_000
	moonsBatch            = 512
	pointsPerCall         = 65_536 // log-prob and sampling of 2D points
	imageBatch            = 64     // training batch of MNIST digits
	imageLogProbBatch     = 256    // held-out digits per log-prob call
	imageTestExamples     = 1000   // held-out digits for the learning check
	learningRate          = 1e-3
	batchPool             = 16 // pre-drawn batches, cycled, so the timed loop is the model's work
)

// environment is what every case is built from.
type environment struct {
	backend  compute.Backend
	mnistDir string
	seed     uint64
	convForm string // flowlib.ParamConvForm
}

// worker runs a case: call does the case's operation n times, learn (for
// training cases) trains a fresh model and reports held-out quality.
type worker struct {
	call         func(n int) error
	learn        func(steps int) (*learnResult, error)
	itemsPerCall int
	params       int
}

// learnResult answers a "learn" request.
type learnResult struct {
	Initial float64 `json:"initial"`
	Final   float64 `json:"final"`
	Metric  string  `json:"metric"`
	Steps   int     `json:"steps"`
	Seconds float64 `json:"seconds"`
}

// benchCase is one benchmark case.
type benchCase struct {
	name, summary, unit string
	build               func(env *environment) (*worker, error)
}

var cases = []benchCase{
	{"realnvp2d-train", "RealNVP on moons (8 couplings, MLP 64-64): one Adam step, batch 512", "steps",
		func(env *environment) (*worker, error) { return moonsTraining(env) }},
	{"realnvp2d-logprob", "RealNVP on moons: log p of 65,536 points", "points",
		func(env *environment) (*worker, error) { return moonsInference(env, false) }},
	{"realnvp2d-sample", "RealNVP on moons: draw 65,536 points", "points",
		func(env *environment) (*worker, error) { return moonsInference(env, true) }},
	{"coupling-train", "one affine coupling on squeezed MNIST [64,14,14,4], ConvNet(64,64): one Adam step", "steps",
		func(env *environment) (*worker, error) { return imageTraining(env, couplingFlow) }},
	{"glow-train", "Glow on MNIST (2 levels × 4 steps, ConvNet(64,64)): one Adam step, batch 64", "steps",
		func(env *environment) (*worker, error) { return imageTraining(env, glowFlow) }},
	{"glow-logprob", "Glow on MNIST: log p of 256 held-out digits", "images",
		func(env *environment) (*worker, error) { return imageInference(env, false) }},
	{"glow-sample", "Glow on MNIST: draw 64 digits", "images",
		func(env *environment) (*worker, error) { return imageInference(env, true) }},
}

func lookupCase(name string) (benchCase, bool) {
	for _, c := range cases {
		if c.name == name {
			return c, true
		}
	}
	return benchCase{}, false
}

func caseNames() string {
	names := make([]string, len(cases))
	for i, c := range cases {
		names[i] = c.name
	}
	return strings.Join(names, ", ")
}

// simdBuild reports whether the binary was built with GOEXPERIMENT=simd,
// which turns on the pure-Go backend's SIMD kernels.
var simdBuild = func() bool {
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return false
	}
	for _, s := range info.Settings {
		if s.Key == "GOEXPERIMENT" && strings.Contains(s.Value, "simd") {
			return true
		}
	}
	return false
}()

func moonsFlow() *flowlib.Flow {
	return flowlib.RealNVP(2).Done()
}

// couplingFlow is a single affine coupling with Glow's conditioner, on MNIST
// digits dequantized, logit-transformed and squeezed to 14×14×4 (and
// unsqueezed after, so the latent has the data's shape).
func couplingFlow() *flowlib.Flow {
	coupling := flowlib.NewAffineCoupling(flowlib.ChannelMask(4), flowlib.ConvNet(64, 64).Done())
	coupling.Contracting = true
	return flowlib.NewFlow(flowlib.NewStandardNormal(28, 28, 1), flowlib.NewUniformDequantization(256),
		flowlib.NewLogit(0.05), flowlib.NewSqueeze2x2(), coupling, flowlib.NewUnsqueeze2x2())
}

func glowFlow() *flowlib.Flow { return flowlib.Glow(28, 28, 1).Done() }

func moonsData(env *environment) (trainSet, testSet *data.Samples, err error) {
	if trainSet, err = data.Toy("moons", moonsTrain, env.seed); err != nil {
		return nil, nil, err
	}
	testSet, err = data.Toy("moons", moonsTest, env.seed+1000)
	return trainSet, testSet, err
}

func mnistData(env *environment) (trainSet, testSet *data.Samples, err error) {
	trainSet, testSet, err = data.LoadMNIST(env.mnistDir)
	if err != nil {
		return nil, nil, fmt.Errorf("%w (scripts/fetch-mnist fetches the digits)", err)
	}
	return trainSet, firstExamples(testSet, imageTestExamples), nil
}

func moonsTraining(env *environment) (*worker, error) {
	trainSet, testSet, err := moonsData(env)
	if err != nil {
		return nil, err
	}
	return trainingWorker(env, moonsFlow, trainSet, testSet, moonsBatch, "test NLL (nats)")
}

func imageTraining(env *environment, newFlow func() *flowlib.Flow) (*worker, error) {
	trainSet, testSet, err := mnistData(env)
	if err != nil {
		return nil, err
	}
	return trainingWorker(env, newFlow, trainSet, testSet, imageBatch, "test bits/dim")
}

// trainer is a flow, its variables and an Adam trainer minimising the mean
// negative log-likelihood, the objective of flowlib/training (without its
// gradient clipping and learning-rate schedule, which the references lack).
type trainer struct {
	flow    *flowlib.Flow
	store   *model.Store
	trainer *train.Trainer
}

func newTrainer(env *environment, flow *flowlib.Flow) *trainer {
	store := model.NewStore()
	store.SetParam(model.ParamInitialSeed, int64(env.seed))
	store.SetParam(flowlib.ParamConvForm, env.convForm)
	modelFn := func(scope *model.Scope, x *Node) *Node { return Neg(flow.LogProb(scope, x)) }
	meanLoss := func(_, predictions []*Node) *Node { return ReduceAllMean(predictions[0]) }
	t := train.NewTrainer(env.backend, store, modelFn, meanLoss, optimizer.Adam().LearningRate(learningRate).Done(), nil, nil)
	return &trainer{flow: flow, store: store, trainer: t}
}

// steps runs n training steps on batches from the pool, and waits for the
// last loss, so the time covers the computation on asynchronous backends.
func (t *trainer) steps(n int, pool *batches) error {
	var last []*tensors.Tensor
	for range n {
		metrics, err := t.trainer.TrainStep(train.Batch{Inputs: []*tensors.Tensor{pool.next()}})
		if err != nil {
			return err
		}
		for _, m := range last {
			m.FinalizeAll()
		}
		last = metrics
	}
	loss := tensors.ToScalar[float32](last[0])
	for _, m := range last {
		m.FinalizeAll()
	}
	if loss != loss {
		return fmt.Errorf("the training loss became NaN")
	}
	return nil
}

func trainingWorker(env *environment, newFlow func() *flowlib.Flow, trainSet, testSet *data.Samples, batchSize int, metric string) (*worker, error) {
	if err := newFlow().CheckData(trainSet.Values, trainSet.Dim); err != nil {
		return nil, err
	}
	pool := newBatches(trainSet, batchSize, env.seed)
	t := newTrainer(env, newFlow())
	w := &worker{itemsPerCall: 1}
	w.call = func(n int) error {
		if err := t.steps(n, pool); err != nil {
			return err
		}
		if w.params == 0 {
			w.params = trainableParameters(t.store)
		}
		return nil
	}
	w.learn = func(steps int) (*learnResult, error) {
		fresh := newTrainer(env, newFlow())
		// A pool of its own, so that learning does not depend on how many timed calls came before.
		learnPool := newBatches(trainSet, batchSize, env.seed+1)
		before, err := heldOut(env, fresh, testSet, metric)
		if err != nil {
			return nil, err
		}
		if err := fresh.steps(steps, learnPool); err != nil {
			return nil, err
		}
		after, err := heldOut(env, fresh, testSet, metric)
		if err != nil {
			return nil, err
		}
		return &learnResult{Initial: before, Final: after, Metric: metric, Steps: steps}, nil
	}
	return w, nil
}

// heldOut evaluates the metric of a training case on held-out data: the mean
// negative log-likelihood in nats, or bits per dimension.
func heldOut(env *environment, t *trainer, testSet *data.Samples, metric string) (float64, error) {
	logProb, err := inference.MeanLogProb(env.backend, t.store, t.flow, testSet)
	if err != nil {
		return 0, err
	}
	if strings.Contains(metric, "bits/dim") {
		return training.BitsPerDim(-logProb, testSet.Dim), nil
	}
	return -logProb, nil
}

func trainableParameters(store *model.Store) int {
	n := 0
	for v := range store.IterVariables() {
		if v.Trainable && !strings.Contains(v.Scope(), optimizer.AdamDefaultScope) {
			n += v.Shape().Size()
		}
	}
	return n
}

// moonsInference times log p of 65,536 moons points, or drawing 65,536
// points, with the RealNVP after one training step (which sets the ActNorm
// layers from data, so that the model is not the identity).
func moonsInference(env *environment, sample bool) (*worker, error) {
	trainSet, _, err := moonsData(env)
	if err != nil {
		return nil, err
	}
	t := newTrainer(env, moonsFlow())
	if err := t.steps(1, newBatches(trainSet, moonsBatch, env.seed)); err != nil {
		return nil, err
	}
	points, err := data.Toy("moons", pointsPerCall, env.seed+2000)
	if err != nil {
		return nil, err
	}
	return inferenceWorker(env, t, points, sample)
}

// imageInference times log p of 256 held-out digits, or drawing 64 digits,
// with Glow after one training step.
func imageInference(env *environment, sample bool) (*worker, error) {
	trainSet, testSet, err := mnistData(env)
	if err != nil {
		return nil, err
	}
	t := newTrainer(env, glowFlow())
	if err := t.steps(1, newBatches(trainSet, imageBatch, env.seed)); err != nil {
		return nil, err
	}
	n := imageLogProbBatch
	if sample {
		n = imageBatch
	}
	return inferenceWorker(env, t, firstExamples(testSet, n), sample)
}

// inferenceWorker compiles one graph, log p of a batch or sampling a batch of
// the same size, and times calls of it.
func inferenceWorker(env *environment, t *trainer, batch *data.Samples, sample bool) (*worker, error) {
	dims := append([]int{batch.N}, batch.EventShape()...)
	var exec *model.Exec
	var err error
	if sample {
		exec, err = model.NewExec(env.backend, t.store, func(scope *model.Scope, g *Graph) *Node {
			return t.flow.Sample(scope, g, dtypes.Float32, batch.N, 1)
		})
	} else {
		exec, err = model.NewExec(env.backend, t.store, func(scope *model.Scope, x *Node) *Node {
			return t.flow.LogProb(scope, x)
		})
	}
	if err != nil {
		return nil, err
	}
	w := &worker{itemsPerCall: batch.N, params: trainableParameters(t.store)}
	w.call = func(n int) error {
		for range n {
			var args []any
			if !sample {
				args = []any{tensors.FromFlatDataAndDimensions(batch.Values, dims...)}
			}
			out, err := exec.Call(args...)
			if err != nil {
				return err
			}
			// Reading the result back is part of the work: a caller wants it on the host.
			_ = tensors.MustCopyFlatData[float32](out[0])
			out[0].FinalizeAll()
		}
		return nil
	}
	return w, nil
}

// batches cycles through a pool of pre-drawn random mini-batches. The
// trainer takes ownership of each batch's tensor, so a new tensor is made
// from the stored values at every step (a copy of a few hundred KB at most).
type batches struct {
	flat [][]float32
	dims []int
	i    int
}

func newBatches(s *data.Samples, size int, seed uint64) *batches {
	rng := rand.New(rand.NewPCG(seed, 0xbe7c4))
	b := &batches{dims: append([]int{size}, s.EventShape()...)}
	for range batchPool {
		flat := make([]float32, 0, size*s.Dim)
		for range size {
			flat = append(flat, s.Row(rng.IntN(s.N))...)
		}
		b.flat = append(b.flat, flat)
	}
	return b
}

func (b *batches) next() *tensors.Tensor {
	t := tensors.FromFlatDataAndDimensions(b.flat[b.i%len(b.flat)], b.dims...)
	b.i++
	return t
}

// firstExamples returns the first n examples of s (all of them if it has fewer).
func firstExamples(s *data.Samples, n int) *data.Samples {
	n = min(n, s.N)
	out := *s
	out.Values = s.Values[:n*s.Dim]
	out.N = n
	out.Labels = nil
	if len(s.Labels) >= n {
		out.Labels = s.Labels[:n]
	}
	return &out
}
