package quality

import (
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"slices"
	"time"

	"github.com/gomlx/compute"
	. "github.com/gomlx/gomlx/core/graph" //nolint:revive
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/model"
	"github.com/gomlx/gomlx/ml/train"
	"github.com/gomlx/gomlx/ml/train/loss"
	"github.com/gomlx/gomlx/ml/train/metric"
	"github.com/gomlx/gomlx/ml/train/optimizer"
	"github.com/gomlx/gomlx/ml/train/optimizer/cosineschedule"

	"github.com/flowbook/flowbook/flowlib/data"
	"github.com/flowbook/flowbook/flowlib/internal/graphpanic"
)

// TrainConfig trains a digit classifier by minimising the cross-entropy of
// mini-batches with Adam and a cosine learning-rate schedule, on randomly
// shifted copies of the training digits and on random images that are no
// digit, labelled [NotDigit]. Create it with [Train] and start it with Run.
type TrainConfig struct {
	backend compute.Backend
	train   *data.Samples

	steps, batchSize int
	learningRate     float64
	shift            int
	notDigits        float64
	seed             uint64
	channels         []int
	hidden           int
	dropout          float64
	logEvery         int
	log              io.Writer
	maxDuration      time.Duration
}

// Train configures training of a new classifier on the labelled digits
// images (Shape [28, 28, 1], grey levels 0…255, labels 0…9), such as the
// training split of data.LoadMNIST. Defaults: 2000 steps of 128 images,
// learning rate 2·10⁻³ annealed to 1% of it along half a cosine, shifts of
// up to 2 pixels, one image in eight a non-digit, and the network's
// defaults (see [New]). On XLA's CPU
// backend the defaults train in about a minute and a half on two cores and
// classify about 98% of the workbook's 2,004 MNIST test digits correctly.
func Train(backend compute.Backend, images *data.Samples) *TrainConfig {
	return &TrainConfig{backend: backend, train: images, steps: 2000, batchSize: 128, learningRate: 2e-3, shift: 2, notDigits: 0.125, seed: 1,
		channels: defaultChannels, hidden: defaultHidden, dropout: defaultDropout}
}

// Steps sets the number of training steps.
func (c *TrainConfig) Steps(n int) *TrainConfig { c.steps = n; return c }

// BatchSize sets the number of images per step.
func (c *TrainConfig) BatchSize(n int) *TrainConfig { c.batchSize = n; return c }

// LearningRate sets Adam's peak learning rate.
func (c *TrainConfig) LearningRate(lr float64) *TrainConfig { c.learningRate = lr; return c }

// Shift sets the largest random shift, in pixels along each axis, of the
// training images (0: none). Shifting by a pixel or two is the classic
// augmentation for digits: it keeps the label and teaches the network that
// position does not matter.
func (c *TrainConfig) Shift(pixels int) *TrainConfig { c.shift = pixels; return c }

// NotDigits sets the fraction of each batch that is random images of no
// digit (default 1/8), drawn afresh every step from five kinds: uniform
// noise, sparse speckles, flat grey or black, white rectangles at least 10
// pixels wide, and white blobs (thresholded smooth noise). Learning to
// call them [NotDigit] is what makes the classifier doubt noise instead of
// calling it an 8: the idea of training on outliers of Hendrycks et al.
// 2019 ("Deep anomaly detection with outlier exposure",
// https://arxiv.org/abs/1812.04606), with an extra class.
func (c *TrainConfig) NotDigits(fraction float64) *TrainConfig { c.notDigits = fraction; return c }

// Seed fixes the initial weights, the order of the batches and the shifts.
func (c *TrainConfig) Seed(seed uint64) *TrainConfig { c.seed = seed; return c }

// Channels sets the channels of the network's two convolutions (default 16, 32).
func (c *TrainConfig) Channels(first, second int) *TrainConfig {
	c.channels = []int{first, second}
	return c
}

// Hidden sets the width of the network's dense hidden layer (default 64).
func (c *TrainConfig) Hidden(units int) *TrainConfig { c.hidden = units; return c }

// Dropout sets the dropout rate of the hidden layer (default 0.25).
func (c *TrainConfig) Dropout(rate float64) *TrainConfig { c.dropout = rate; return c }

// Log writes the mean training loss and accuracy every n steps to w.
func (c *TrainConfig) Log(w io.Writer, every int) *TrainConfig {
	c.log, c.logEvery = w, every
	return c
}

// MaxDuration stops training early, after the step that crosses d.
func (c *TrainConfig) MaxDuration(d time.Duration) *TrainConfig { c.maxDuration = d; return c }

// TrainResult summarises a training run.
type TrainResult struct {
	Classifier *Classifier
	// Steps is the number of steps taken (fewer than asked if MaxDuration
	// stopped training).
	Steps int
	// Loss and Accuracy are the mean cross-entropy (nats) and the fraction
	// of right answers on the training batches of the last 100 steps (or
	// fewer, if training was shorter), with shifts, non-digits and dropout.
	Loss, Accuracy float64
	Duration       time.Duration
}

func (c *TrainConfig) validate() error {
	if err := CheckImages(c.train); err != nil {
		return fmt.Errorf("%w (training images)", err)
	}
	if len(c.train.Labels) != c.train.N {
		return fmt.Errorf("quality: training needs a label per image: %d labels for %d images", len(c.train.Labels), c.train.N)
	}
	for i, label := range c.train.Labels {
		if label < 0 || label >= NumClasses {
			return fmt.Errorf("quality: training image %d has label %d; the digits are 0…9", i, label)
		}
	}
	switch {
	case c.steps < 1:
		return fmt.Errorf("quality: steps must be at least 1, got %d", c.steps)
	case c.batchSize < 1:
		return fmt.Errorf("quality: batch size must be at least 1, got %d", c.batchSize)
	case !(c.learningRate > 0) || math.IsInf(c.learningRate, 0):
		return fmt.Errorf("quality: the learning rate must be positive, got %g", c.learningRate)
	case !(c.notDigits >= 0 && c.notDigits < 1):
		return fmt.Errorf("quality: the fraction of non-digits must be in [0, 1), got %g", c.notDigits)
	case c.shift < 0 || c.shift > Side/4:
		return fmt.Errorf("quality: the shift must be 0 to %d pixels, got %d", Side/4, c.shift)
	case len(c.channels) != 2 || c.channels[0] < 1 || c.channels[1] < 1 || c.hidden < 1:
		return fmt.Errorf("quality: the network needs two positive channel counts and a positive hidden size, got %v and %d", c.channels, c.hidden)
	case !(c.dropout >= 0 && c.dropout < 1):
		return fmt.Errorf("quality: dropout must be in [0, 1), got %g", c.dropout)
	}
	return nil
}

// Run trains a new classifier and returns it with a summary. It stops with
// an error if the loss becomes NaN or Inf.
func (c *TrainConfig) Run() (*TrainResult, error) {
	if err := c.validate(); err != nil {
		return nil, err
	}
	store := model.NewStore()
	if err := store.SetRNGStateFromSeed(int64(c.seed)); err != nil {
		return nil, fmt.Errorf("quality: seeding the random number generator: %w", err)
	}
	root := store.RootScope()
	root.SetParam(ParamChannels, c.channels)
	root.SetParam(ParamHidden, c.hidden)
	root.SetParam(ParamDropout, c.dropout)
	classifier := &Classifier{Store: store}

	lr, steps := c.learningRate, c.steps
	modelFn := func(scope *model.Scope, x *Node) *Node {
		defer graphpanic.AsError()
		g := x.Graph()
		if scope.IsTraining(g) {
			cosineschedule.New(scope, g, x.DType()).LearningRate(lr).MinLearningRate(lr / 100).PeriodSteps(steps).Done()
		}
		return classifier.Logits(scope, x)
	}
	// The loss is the cross-entropy; the batch accuracy rides along as a
	// third metric (after the batch loss and its moving average).
	batchAccuracy := metric.NewBaseMetric("accuracy", "acc", metric.AccuracyMetricType, metric.SparseCategoricalAccuracyGraph, nil)
	trainer := train.NewTrainer(c.backend, store, modelFn, loss.SparseCategoricalCrossEntropyLogits,
		optimizer.Adam().LearningRate(lr).Done(), []metric.Interface{batchAccuracy}, nil)

	rng := rand.New(rand.NewPCG(c.seed, 0xc1a55))
	size := min(c.batchSize, c.train.N)
	// At least one digit per batch, however small the batch.
	notDigits := min(int(math.Round(c.notDigits*float64(size))), size-1)
	batches := &shiftedBatches{images: c.train, size: size, notDigits: notDigits, shift: c.shift, rng: rng}
	result := &TrainResult{Classifier: classifier}
	start := time.Now()
	var losses, accuracies []float64
	for step := 1; step <= c.steps; step++ {
		x, labels := batches.next()
		metrics, err := trainer.TrainStep(train.Batch{Inputs: []*tensors.Tensor{x}, Labels: []*tensors.Tensor{labels}})
		if err != nil {
			return nil, fmt.Errorf("quality: training step %d: %w", step, err)
		}
		batchLoss := float64(tensors.ToScalar[float32](metrics[0]))
		stepAccuracy := float64(tensors.ToScalar[float32](metrics[2]))
		if math.IsNaN(batchLoss) || math.IsInf(batchLoss, 0) {
			return nil, fmt.Errorf("quality: training stopped at step %d: the loss is %v; try a lower learning rate", step, batchLoss)
		}
		losses, accuracies = append(losses, batchLoss), append(accuracies, stepAccuracy)
		result.Steps = step
		if c.log != nil && c.logEvery > 0 && (step%c.logEvery == 0 || step == c.steps) {
			fmt.Fprintf(c.log, "step %5d  loss %.4f  train accuracy %.4f  [%s]\n", step, batchLoss, stepAccuracy,
				time.Since(start).Round(time.Second))
		}
		if c.maxDuration > 0 && time.Since(start) > c.maxDuration {
			break
		}
	}
	result.Duration = time.Since(start)
	result.Loss, result.Accuracy = meanOfLast(losses, 100), meanOfLast(accuracies, 100)
	return result, nil
}

// meanOfLast is the mean of the last n values (of all, if there are fewer).
func meanOfLast(values []float64, n int) float64 {
	last := values[max(len(values)-n, 0):]
	sum := 0.0
	for _, v := range last {
		sum += v
	}
	return sum / float64(len(last))
}

// shiftedBatches draws batches of size images: size − notDigits training
// digits without replacement (a fresh permutation each epoch), each moved by
// a random whole number of pixels along each axis, the uncovered border left
// black; then notDigits random non-digits (see drawNotDigit).
type shiftedBatches struct {
	images          *data.Samples
	size, notDigits int
	shift           int
	rng             *rand.Rand
	order           []int
	pos             int
}

// next returns the images [size, 28, 28, 1] and labels [size, 1] of a batch.
func (b *shiftedBatches) next() (images, labels *tensors.Tensor) {
	digits := b.size - b.notDigits
	if b.pos+digits > len(b.order) {
		b.order, b.pos = b.rng.Perm(b.images.N), 0
	}
	dim := b.images.Dim
	pixels := make([]float32, b.size*dim)
	classes := make([]int32, b.size)
	for i, idx := range b.order[b.pos : b.pos+digits] {
		dy, dx := b.rng.IntN(2*b.shift+1)-b.shift, b.rng.IntN(2*b.shift+1)-b.shift
		shiftImage(pixels[i*dim:(i+1)*dim], b.images.Row(idx), dy, dx)
		classes[i] = int32(b.images.Labels[idx])
	}
	for i := digits; i < b.size; i++ {
		drawNotDigit(pixels[i*dim:(i+1)*dim], b.rng)
		classes[i] = NotDigit
	}
	b.pos += digits
	return tensors.FromFlatDataAndDimensions(pixels, b.size, Side, Side, 1),
		tensors.FromFlatDataAndDimensions(classes, b.size, 1)
}

// drawNotDigit fills dst (28×28) with a random image that is no digit, of
// one of five kinds chosen with equal odds: the failures a flow's samples
// show (noise at high temperature, blank or saturated images, blobs) and
// plain junk.
func drawNotDigit(dst []float32, rng *rand.Rand) {
	clear(dst)
	switch rng.IntN(5) {
	case 0: // Uniform noise.
		for i := range dst {
			dst[i] = float32(rng.IntN(256))
		}
	case 1: // Sparse speckles of random grey levels, 5% to 55% of the pixels.
		density := 0.05 + 0.5*rng.Float64()
		for i := range dst {
			if rng.Float64() < density {
				dst[i] = float32(64 + rng.IntN(192))
			}
		}
	case 2: // Black half of the time, else one flat grey level.
		if rng.IntN(2) == 0 {
			level := float32(rng.IntN(256))
			for i := range dst {
				dst[i] = level
			}
		}
	case 3: // One to three bright rectangles, at least 10 pixels on a side, too wide for a stroke.
		for range 1 + rng.IntN(3) {
			h, w := 10+rng.IntN(Side-9), 10+rng.IntN(Side-9)
			y0, x0 := rng.IntN(Side-h+1), rng.IntN(Side-w+1)
			level := float32(180 + rng.IntN(76))
			for y := y0; y < y0+h; y++ {
				for x := x0; x < x0+w; x++ {
					dst[y*Side+x] = level
				}
			}
		}
	case 4: // White blobs: smooth noise, thresholded so that 10% to 50% of the pixels are white.
		for i := range dst {
			dst[i] = rng.Float32()
		}
		for range 2 {
			boxBlur(dst, 2)
		}
		sorted := slices.Clone(dst)
		slices.Sort(sorted)
		threshold := sorted[int((0.5+0.4*rng.Float64())*float64(len(sorted)-1))]
		for i, v := range dst {
			if v > threshold {
				dst[i] = 255
			} else {
				dst[i] = 0
			}
		}
	}
}

// boxBlur replaces each pixel of img (28×28) by the mean of the pixels within
// radius r of it along both axes (a (2r+1)² box, cut at the border).
func boxBlur(img []float32, r int) {
	src := slices.Clone(img)
	for y := range Side {
		for x := range Side {
			var sum float32
			var n int
			for yy := max(y-r, 0); yy <= min(y+r, Side-1); yy++ {
				for xx := max(x-r, 0); xx <= min(x+r, Side-1); xx++ {
					sum += src[yy*Side+xx]
					n++
				}
			}
			img[y*Side+x] = sum / float32(n)
		}
	}
}

// shiftImage writes src moved down by dy and right by dx pixels into dst
// (both 28×28, dst zeroed where src does not reach).
func shiftImage(dst, src []float32, dy, dx int) {
	clear(dst)
	for y := range Side {
		sy := y - dy
		if sy < 0 || sy >= Side {
			continue
		}
		for x := range Side {
			if sx := x - dx; sx >= 0 && sx < Side {
				dst[y*Side+x] = src[sy*Side+sx]
			}
		}
	}
}
