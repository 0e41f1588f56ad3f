package quality

import (
	"errors"
	"fmt"
	"maps"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/gomlx/compute"
	. "github.com/gomlx/gomlx/core/graph" //nolint:revive
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/model"
	"github.com/gomlx/gomlx/ml/model/checkpoint"
	"github.com/gomlx/gomlx/ml/train/optimizer"
	"github.com/gomlx/gomlx/support/exceptions"

	"github.com/flowbook/flowbook/flowlib"
	"github.com/flowbook/flowbook/flowlib/data"
	"github.com/flowbook/flowbook/flowlib/internal/graphpanic"
)

// DefaultDir is where the repository ships its trained classifier, relative
// to the repository root.
const DefaultDir = "models/digit-classifier"

// TrainCommand is the command, run from the repository root, that trains the
// classifier shipped in [DefaultDir].
const TrainCommand = "flowbook classifier --data mnist:.cache/mnist --out " + DefaultDir

// networkScope is the scope under the store's root that holds the network's
// variables, and networkPrefix the start of their paths.
const (
	networkScope  = "digit_classifier"
	networkPrefix = model.ScopeSeparator + networkScope + model.ScopeSeparator
)

// Keys of what a trained classifier's store records about its training,
// besides the network's own Param* keys.
const (
	// ParamTestAccuracy (float64) is the fraction of the test digits the
	// classifier got right when it was trained; absent if it was not measured.
	ParamTestAccuracy = "quality_test_accuracy"
	// paramKind marks a store as a digit classifier's, so that LoadClassifier
	// can tell it from a flow's checkpoint.
	paramKind = "quality_model"
	kindValue = "digit-classifier"
)

// Classifier is a trained digit classifier: the network of [New] and the
// store holding its weights. [TrainConfig.Run] and [LoadClassifier] return
// one; [Classifier.Logits] is its graph.
type Classifier struct {
	// Store holds the weights, in the scope "digit_classifier", and the
	// hyperparameters the network reads.
	Store *model.Store
	// Dir is the directory the classifier was loaded from or saved to, or "".
	Dir string
}

// Logits is the classifier's graph: images [batchSize, 28, 28, 1] of grey
// levels 0…255 to logits [batchSize, 11]: the digits 0…9, then [NotDigit]. scope is any scope of the
// classifier's store (an Exec's root scope): the network enters its own.
func (c *Classifier) Logits(scope *model.Scope, images *Node) *Node {
	return New(scope.Store().RootScope().At(networkScope), images).Done()
}

// Step is the number of training steps the classifier was trained for.
func (c *Classifier) Step() int64 { return optimizer.GetGlobalStep(c.Store) }

// TestAccuracy is the accuracy on the test digits recorded when the
// classifier was trained, and whether one was recorded.
func (c *Classifier) TestAccuracy() (float64, bool) {
	v, ok := c.Store.RootScope().GetParam(ParamTestAccuracy)
	accuracy, isFloat := v.(float64)
	return accuracy, ok && isFloat
}

// SetTestAccuracy records the accuracy on the test digits in the store, to be
// saved with the weights.
func (c *Classifier) SetTestAccuracy(accuracy float64) {
	c.Store.RootScope().SetParam(ParamTestAccuracy, accuracy)
}

// NumWeights is the number of trainable scalars of the network.
func (c *Classifier) NumWeights() int {
	n := 0
	for v := range c.Store.IterVariables() {
		if v.Trainable && strings.HasPrefix(v.Path(), networkPrefix) {
			n += v.Shape().Size()
		}
	}
	return n
}

// batchSize is the number of images per graph call of the classifier: large
// enough to keep the CPU busy, small enough to keep the activations in a few
// hundred MB.
const batchSize = 500

// Probabilities returns the classifier's softmax output for each image, row
// i holding the 11 probabilities of image i: the digits 0…9, then
// [NotDigit]. The images are checked as [Measure] checks them.
func (c *Classifier) Probabilities(backend compute.Backend, images *data.Samples) ([][NumOutputs]float64, error) {
	if err := CheckImages(images); err != nil {
		return nil, err
	}
	// Without this check, a store lacking the weights would get freshly
	// initialised ones, and random answers.
	if err := c.checkWeights(); err != nil {
		return nil, fmt.Errorf("quality: the classifier cannot be used: %w; load a trained one with LoadClassifier", err)
	}
	exec, err := model.NewExec(backend, c.Store, func(scope *model.Scope, x *Node) *Node {
		defer graphpanic.AsError()
		return Softmax(c.Logits(scope, x), -1)
	})
	if err != nil {
		return nil, fmt.Errorf("quality: %w", err)
	}
	defer exec.Finalize()
	dim := images.Dim
	size := min(batchSize, images.N)
	probs := make([][NumOutputs]float64, 0, images.N)
	// Every call gets a full batch (the last one padded with blank images,
	// whose outputs are dropped), so that the graph is compiled once.
	batch := make([]float32, size*dim)
	for start := 0; start < images.N; start += size {
		end := min(start+size, images.N)
		clear(batch)
		copy(batch, images.Values[start*dim:end*dim])
		out, err := exec.Call(tensors.FromFlatDataAndDimensions(batch, size, Side, Side, 1))
		if err != nil {
			return nil, fmt.Errorf("quality: running the classifier: %w", err)
		}
		flat := tensors.MustCopyFlatData[float32](out[0])
		_ = out[0].FinalizeAll()
		for i := range end - start {
			var row [NumOutputs]float64
			for k := range row {
				row[k] = float64(flat[i*NumOutputs+k])
			}
			probs = append(probs, row)
		}
	}
	return probs, nil
}

// Predict returns the most probable class of each image: a digit 0…9, or
// [NotDigit].
func (c *Classifier) Predict(backend compute.Backend, images *data.Samples) ([]int, error) {
	probs, err := c.Probabilities(backend, images)
	if err != nil {
		return nil, err
	}
	classes := make([]int, len(probs))
	for i, p := range probs {
		classes[i] = argmax(p)
	}
	return classes, nil
}

// Accuracy returns the fraction of the labelled images whose most probable
// class is their label (a digit taken for [NotDigit] is wrong).
func (c *Classifier) Accuracy(backend compute.Backend, images *data.Samples) (float64, error) {
	if images != nil && len(images.Labels) != images.N {
		return 0, fmt.Errorf("quality: Accuracy needs a label per image: %d labels for %d images", len(images.Labels), images.N)
	}
	classes, err := c.Predict(backend, images)
	if err != nil {
		return 0, err
	}
	right := 0
	for i, class := range classes {
		if class == images.Labels[i] {
			right++
		}
	}
	return float64(right) / float64(len(classes)), nil
}

// argmax returns the index of the largest value (the first, on ties).
func argmax(p [NumOutputs]float64) int {
	best := 0
	for k, v := range p {
		if v > p[best] {
			best = k
		}
	}
	return best
}

// Save writes the classifier's weights and hyperparameters as a GoMLX
// checkpoint into dir, created if needed: the network's variables, the
// global step and the hyperparameters, but not Adam's moments, which only
// resuming training would need and which would triple the size. A dir that
// already holds a checkpoint is an error: remove its checkpoint-* files
// first, so that an old model is never mixed with a new one.
func (c *Classifier) Save(dir string) error {
	if existing, _ := filepath.Glob(filepath.Join(dir, "checkpoint-*")); len(existing) > 0 {
		return fmt.Errorf("quality: %s already holds a checkpoint (%s); remove its checkpoint-* files first, or save elsewhere",
			dir, filepath.Base(existing[0]))
	}
	c.Store.RootScope().SetParam(paramKind, kindValue)
	var handler *checkpoint.Handler
	var err error
	if panicErr := exceptions.TryCatch[error](func() {
		handler, err = checkpoint.Build(c.Store).Dir(dir).Done()
	}); panicErr != nil {
		err = panicErr
	}
	if err != nil {
		return fmt.Errorf("quality: saving the classifier in %s: %w", dir, err)
	}
	var optimizerState []*model.Variable
	for v := range c.Store.IterVariables() {
		if !strings.HasPrefix(v.Path(), networkPrefix) && v.Path() != model.JoinPath(model.ScopeSeparator, optimizer.GlobalStepVariableName) {
			optimizerState = append(optimizerState, v)
		}
	}
	handler.ExcludeVarsFromSaving(optimizerState...)
	if err := handler.Save(); err != nil {
		return fmt.Errorf("quality: saving the classifier in %s: %w", dir, err)
	}
	c.Dir = dir
	return nil
}

// ErrNoClassifier is the error (wrapped) of [LoadClassifier] for a directory
// that does not exist or holds no checkpoint.
var ErrNoClassifier = errors.New("no digit classifier")

// LoadClassifier loads the classifier that [Classifier.Save] wrote into dir,
// e.g. [DefaultDir] from the repository root. A missing directory or
// checkpoint is an error wrapping [ErrNoClassifier] that says how to train
// one; a checkpoint of something else (a flow), one whose weights do not
// fit the network, or one holding NaN weights, an error saying so.
func LoadClassifier(dir string) (*Classifier, error) {
	store := model.NewStore()
	err := flowlib.RestoreCheckpoint(store, dir)
	if errors.Is(err, flowlib.ErrNoCheckpoint) {
		why := "it holds no checkpoint"
		if _, statErr := os.Stat(dir); os.IsNotExist(statErr) {
			why = "the directory does not exist"
		}
		return nil, fmt.Errorf("quality: %w in %s (%s): run `%s` from the repository root to train it "+
			"(about 2 minutes), or give the directory of one", ErrNoClassifier, dir, why, trainCommandFor(dir))
	}
	if err != nil {
		return nil, fmt.Errorf("quality: %s", strings.TrimPrefix(err.Error(), "flowlib: "))
	}
	if kind, _ := store.RootScope().GetParam(paramKind); kind != kindValue {
		return nil, fmt.Errorf("quality: the checkpoint in %s is not a digit classifier (a flow's, perhaps): "+
			"give the directory that `flowbook classifier` wrote", dir)
	}
	c := &Classifier{Store: store, Dir: dir}
	if err := c.checkWeights(); err != nil {
		return nil, fmt.Errorf("quality: the classifier in %s cannot be used: %w; it is corrupt: train it again with `%s`",
			dir, err, trainCommandFor(dir))
	}
	return c, nil
}

// trainCommandFor is the command that trains a classifier into dir:
// TrainCommand for the repository's own place, wherever the root is.
func trainCommandFor(dir string) string {
	if strings.HasSuffix(filepath.ToSlash(filepath.Clean(dir)), DefaultDir) {
		return TrainCommand
	}
	return "flowbook classifier --data mnist:.cache/mnist --out " + dir
}

// expectedWeights returns the path and shape of every weight the network of
// New creates for the hyperparameters in scope: what a checkpoint must hold.
// TestExpectedWeightsAreTheNetworks checks it against a built network.
func expectedWeights(scope *model.Scope) map[string][]int {
	cfg := New(scope, nil)
	c0, c1 := 0, 0
	if len(cfg.channels) == 2 {
		c0, c1 = cfg.channels[0], cfg.channels[1]
	}
	flat := (Side / 4) * (Side / 4) * c1 // after two 2×2 poolings
	path := func(parts ...string) string {
		return model.JoinPath(append([]string{model.ScopeSeparator, networkScope}, parts...)...)
	}
	return map[string][]int{
		path("conv_0", "weights"):          {3, 3, 1, c0},
		path("conv_0", "biases"):           {c0},
		path("conv_1", "weights"):          {3, 3, c0, c1},
		path("conv_1", "biases"):           {c1},
		path("hidden", "dense", "weights"): {flat, cfg.hidden},
		path("hidden", "dense", "biases"):  {cfg.hidden},
		path("logits", "dense", "weights"): {cfg.hidden, NumOutputs},
		path("logits", "dense", "biases"):  {NumOutputs},
	}
}

// checkWeights checks that the store holds every weight of the network its
// hyperparameters describe, with the right shape, and that they are finite.
func (c *Classifier) checkWeights() error {
	want := expectedWeights(c.Store.RootScope().At(networkScope))
	for _, path := range slices.Sorted(maps.Keys(want)) { // in order, so that the error is always the same
		dims := want[path]
		v := c.Store.GetVariable(path)
		if v == nil {
			return fmt.Errorf("it lacks the weights %s", path)
		}
		if have := v.Shape().Dimensions; !slices.Equal(have, dims) {
			return fmt.Errorf("the weights %s are %v, but the network it describes has %v", path, have, dims)
		}
		value, err := v.Value()
		if err != nil {
			return fmt.Errorf("the weights %s cannot be read: %w", path, err)
		}
		finite := true
		value.MustConstFlatData(func(flat any) {
			if f, ok := flat.([]float32); ok {
				finite = !slices.ContainsFunc(f, func(x float32) bool { return math.IsNaN(float64(x)) || math.IsInf(float64(x), 0) })
			}
		})
		if !finite {
			return fmt.Errorf("the weights %s hold NaN or Inf", path)
		}
	}
	return nil
}
