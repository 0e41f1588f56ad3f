package main

import (
	"cmp"
	"fmt"
	"math"
	"os"
	"slices"
	"strings"

	"github.com/gomlx/gomlx/ml/layers/activation"
	"github.com/gomlx/gomlx/ml/model"
	"github.com/gomlx/gomlx/ml/model/checkpoint"
	"github.com/gomlx/gomlx/ml/train/optimizer"
	"github.com/gomlx/gomlx/support/exceptions"

	"github.com/flowbook/flowbook/flowlib"
)

// modelNames are the models flowbook can build. realnvp is RealNVP on
// vectors (flowlib.RealNVP) for vector data, and the multi-scale RealNVP
// (flowlib.RealNVPImage) for images; glow (flowlib.Glow) is for images only.
var modelNames = []string{"realnvp", "glow"}

// baseNames are the base distributions of vector models: N(0, I), a
// learnable diagonal Gaussian, and a learnable mixture of Gaussians. Image
// models always have a standard normal base.
var baseNames = []string{"normal", "diag", "mixture"}

// Keys of the parameters that describe the model, stored in the root scope of
// the model store. Checkpoints save store parameters along with the weights,
// so a checkpoint carries the description needed to rebuild its model. The
// hyperparameters use flowlib's own keys (flowlib.ParamRealNVP* for vector
// models, flowlib.ParamImageFlow* for image models), which the builders'
// FromScope read back. An image model is one with paramShape; checkpoints of
// vector models, older than image models, have none.
const (
	paramModel      = "flowbook_model"      // string: one of modelNames
	paramDim        = "flowbook_dim"        // int: the data dimension (height·width·channels for images)
	paramShape      = "flowbook_shape"      // []int: [height, width, channels] of an image model; absent for vectors
	paramBase       = "flowbook_base"       // string: one of baseNames (vector models)
	paramComponents = "flowbook_components" // int: mixture components (0 unless the base is "mixture")
	paramData       = "flowbook_data"       // string: the training data, as --data names it (images: SCHEME:/abs/dir)
)

// modelSpec is everything needed to rebuild a model: its architecture. The
// weights are not part of it; they come from the checkpoint. Which fields
// matter depends on the kind of model: Shape is set for image models only.
type modelSpec struct {
	Model      string
	Dim        int
	Shape      []int // [height, width, channels] of an image model; nil for a vector model
	Hidden     []int
	ActNorm    bool
	ScaleBound float64

	// Vector models.
	Base       string
	Components int
	Couplings  int
	Mask       string
	Activation string

	// Image models. StepsPerLevel 0 means the model's default until
	// withDefaults fills it in.
	Levels         int
	StepsPerLevel  int
	LearnedPrior   bool
	InvConv        string
	Dequantization string
	LogitAlpha     float64
	Seed           int // of the 1×1 convolutions' initial rotations (glow)
}

// images reports whether the spec is of an image model.
func (s *modelSpec) images() bool { return s.Shape != nil }

// withDefaults fills in the image settings that depend on the model and
// were not given on the command line (set holds the flags that were):
// K = 4 steps per level and a learned prior for glow, K = 3 and none for
// realnvp, as flowlib's builders have them.
func (s *modelSpec) withDefaults(set map[string]bool) {
	glow := s.Model == "glow"
	if s.StepsPerLevel == 0 {
		s.StepsPerLevel = 3
		if glow {
			s.StepsPerLevel = 4
		}
	}
	if !set["learned-prior"] {
		s.LearnedPrior = glow
	}
	if glow {
		s.ActNorm = true // Every Glow step starts with one.
	}
}

// validate reports a spec that cannot be built, naming the flag to fix. The
// data's dimension or image size is checked later, by flowlib, once the data
// is known.
func (s *modelSpec) validate() error {
	if !slices.Contains(modelNames, s.Model) {
		return fmt.Errorf("unknown model %q; valid models: %s", s.Model, strings.Join(modelNames, ", "))
	}
	for _, h := range s.Hidden {
		if h < 1 {
			return fmt.Errorf("--hidden sizes must be positive, got %s", joinInts(s.Hidden))
		}
	}
	if s.images() {
		return s.validateImage()
	}
	switch {
	case s.Model == "glow":
		return fmt.Errorf("the model glow needs images: use --data mnist:DIR (or fashion-mnist:DIR), " +
			"or --model realnvp for vector data")
	case !slices.Contains(baseNames, s.Base):
		return fmt.Errorf("unknown base distribution %q; valid --base values: %s", s.Base, strings.Join(baseNames, ", "))
	case s.Base == "mixture" && s.Components < 1:
		return fmt.Errorf("--components must be at least 1 for a mixture base, got %d", s.Components)
	case s.Couplings < 1:
		return fmt.Errorf("--couplings must be at least 1, got %d", s.Couplings)
	case s.Mask != "half" && s.Mask != "alternating":
		return fmt.Errorf("unknown mask %q; valid --mask values: half, alternating", s.Mask)
	case !(s.ScaleBound > 0):
		return fmt.Errorf("the coupling scale bound must be positive, got %v", s.ScaleBound)
	}
	// activation.FromName panics on an unknown name; ask first to give an error.
	if _, alias := activation.Aliases[s.Activation]; !alias {
		if _, err := activation.TypeString(s.Activation); err != nil {
			var names []string
			for _, name := range activation.TypeStrings() {
				names = append(names, strings.ToLower(name)) // GoMLX accepts its names in lower case too.
			}
			return fmt.Errorf("unknown activation %q; valid --activation values: %s", s.Activation, strings.Join(names, ", "))
		}
	}
	return nil
}

// validateImage is validate for an image model. flowlib's Validate checks the
// same and more (that the image size suits the levels), but its messages name
// settings rather than flags.
func (s *modelSpec) validateImage() error {
	switch {
	case len(s.Shape) != 3:
		return fmt.Errorf("the image shape must be [height, width, channels], got %v", s.Shape)
	case s.Levels < 1:
		return fmt.Errorf("--levels must be at least 1, got %d", s.Levels)
	case s.StepsPerLevel < 0:
		return fmt.Errorf("--steps-per-level must be at least 1 (or 0 for the model's default), got %d", s.StepsPerLevel)
	case s.InvConv != "lu" && s.InvConv != "exp":
		return fmt.Errorf("unknown 1×1 convolution %q; valid --invconv values: lu, exp", s.InvConv)
	case s.Dequantization != "uniform" && s.Dequantization != "variational":
		return fmt.Errorf("unknown dequantization %q; valid --dequantization values: uniform, variational", s.Dequantization)
	case !(s.LogitAlpha >= 0 && s.LogitAlpha < 0.5):
		return fmt.Errorf("--logit-alpha must be in [0, 0.5), got %v", s.LogitAlpha)
	case !(s.ScaleBound > 0):
		return fmt.Errorf("the coupling scale bound must be positive, got %v", s.ScaleBound)
	case len(s.Hidden) == 0:
		return fmt.Errorf("--hidden needs at least one size, like 64,64")
	}
	return nil
}

// setParams stores the spec in the scope's parameters, where checkpoints
// save it and newFlow reads it.
func (s *modelSpec) setParams(scope *model.Scope) {
	scope.SetParam(paramModel, s.Model)
	scope.SetParam(paramDim, s.Dim)
	if s.images() {
		scope.SetParam(paramShape, slices.Clone(s.Shape))
		scope.SetParam(flowlib.ParamImageFlowLevels, s.Levels)
		scope.SetParam(flowlib.ParamImageFlowSteps, s.StepsPerLevel)
		scope.SetParam(flowlib.ParamImageFlowHidden, slices.Clone(s.Hidden))
		scope.SetParam(flowlib.ParamImageFlowLearnedPrior, s.LearnedPrior)
		scope.SetParam(flowlib.ParamImageFlowInvConv, s.InvConv)
		scope.SetParam(flowlib.ParamImageFlowDequantization, s.Dequantization)
		scope.SetParam(flowlib.ParamImageFlowLogitAlpha, s.LogitAlpha)
		scope.SetParam(flowlib.ParamImageFlowActNorm, s.ActNorm)
		scope.SetParam(flowlib.ParamImageFlowScaleBound, s.ScaleBound)
		scope.SetParam(flowlib.ParamImageFlowSeed, s.Seed)
		return
	}
	scope.SetParam(paramBase, s.Base)
	scope.SetParam(paramComponents, s.Components)
	scope.SetParam(flowlib.ParamRealNVPCouplings, s.Couplings)
	scope.SetParam(flowlib.ParamRealNVPHidden, slices.Clone(s.Hidden))
	scope.SetParam(flowlib.ParamRealNVPMask, s.Mask)
	scope.SetParam(flowlib.ParamRealNVPActNorm, s.ActNorm)
	scope.SetParam(flowlib.ParamRealNVPActivation, s.Activation)
	scope.SetParam(flowlib.ParamRealNVPScaleBound, s.ScaleBound)
}

// specFromScope reads a spec stored by setParams, checking that every
// parameter is there with the right type: a checkpoint edited by hand, or
// written by another program, gets an error naming the culprit instead of a
// panic deep inside model building.
func specFromScope(scope *model.Scope) (*modelSpec, error) {
	s := &modelSpec{}
	reads := []error{
		readParam(scope, paramModel, &s.Model),
		readParam(scope, paramDim, &s.Dim),
	}
	if _, image := scope.GetParam(paramShape); image {
		reads = append(reads,
			readParam(scope, paramShape, &s.Shape),
			readParam(scope, flowlib.ParamImageFlowLevels, &s.Levels),
			readParam(scope, flowlib.ParamImageFlowSteps, &s.StepsPerLevel),
			readParam(scope, flowlib.ParamImageFlowHidden, &s.Hidden),
			readParam(scope, flowlib.ParamImageFlowLearnedPrior, &s.LearnedPrior),
			readParam(scope, flowlib.ParamImageFlowInvConv, &s.InvConv),
			readParam(scope, flowlib.ParamImageFlowDequantization, &s.Dequantization),
			readParam(scope, flowlib.ParamImageFlowLogitAlpha, &s.LogitAlpha),
			readParam(scope, flowlib.ParamImageFlowActNorm, &s.ActNorm),
			readParam(scope, flowlib.ParamImageFlowScaleBound, &s.ScaleBound),
			readParam(scope, flowlib.ParamImageFlowSeed, &s.Seed))
	} else {
		reads = append(reads,
			readParam(scope, paramBase, &s.Base),
			readParam(scope, paramComponents, &s.Components),
			readParam(scope, flowlib.ParamRealNVPCouplings, &s.Couplings),
			readParam(scope, flowlib.ParamRealNVPHidden, &s.Hidden),
			readParam(scope, flowlib.ParamRealNVPMask, &s.Mask),
			readParam(scope, flowlib.ParamRealNVPActNorm, &s.ActNorm),
			readParam(scope, flowlib.ParamRealNVPActivation, &s.Activation),
			readParam(scope, flowlib.ParamRealNVPScaleBound, &s.ScaleBound))
	}
	for _, err := range reads {
		if err != nil {
			return nil, err
		}
	}
	if err := s.validate(); err != nil {
		return nil, err
	}
	if s.images() && s.StepsPerLevel < 1 {
		return nil, fmt.Errorf("parameter %q is %d, want at least 1", flowlib.ParamImageFlowSteps, s.StepsPerLevel)
	}
	if size := shapeSize(s.Shape); s.images() && size != s.Dim {
		return nil, fmt.Errorf("parameter %q is %v, whose size %d is not the dimension %d", paramShape, s.Shape, size, s.Dim)
	}
	return s, nil
}

// shapeSize is the number of values in one example of the given shape.
func shapeSize(shape []int) int {
	size := 1
	for _, d := range shape {
		size *= d
	}
	return size
}

// readParam sets *dst to the parameter key of scope, or returns an error if it
// is missing or of another type.
func readParam[T any](scope *model.Scope, key string, dst *T) error {
	value, found := scope.GetParam(key)
	if !found {
		return fmt.Errorf("parameter %q is missing", key)
	}
	v, ok := value.(T)
	if !ok {
		return fmt.Errorf("parameter %q is %v (%T), want a %T", key, value, value, *dst)
	}
	*dst = v
	return nil
}

// flagValues returns the spec's fields keyed by the name of the train flag
// that sets them, formatted as on the command line, so that a resumed run
// can compare its flags with a checkpoint's architecture. A spec without a
// mixture base has no components: "none".
func (s *modelSpec) flagValues() map[string]string {
	if s.images() {
		return map[string]string{
			"model":           s.Model,
			"hidden":          joinInts(s.Hidden),
			"actnorm":         fmt.Sprint(s.ActNorm),
			"levels":          fmt.Sprint(s.Levels),
			"steps-per-level": fmt.Sprint(s.StepsPerLevel),
			"learned-prior":   fmt.Sprint(s.LearnedPrior),
			"invconv":         s.InvConv,
			"dequantization":  s.Dequantization,
			"logit-alpha":     fmt.Sprint(s.LogitAlpha),
		}
	}
	components := fmt.Sprint(s.Components)
	if s.Base != "mixture" && s.Components == 0 {
		components = "none"
	}
	return map[string]string{
		"model":      s.Model,
		"base":       s.Base,
		"components": components,
		"couplings":  fmt.Sprint(s.Couplings),
		"hidden":     joinInts(s.Hidden),
		"mask":       s.Mask,
		"actnorm":    fmt.Sprint(s.ActNorm),
		"activation": s.Activation,
	}
}

// String describes the spec in one line, for the logs.
func (s *modelSpec) String() string {
	onOff := func(on bool) string {
		if on {
			return "on"
		}
		return "off"
	}
	if s.images() {
		layers := plural(s.StepsPerLevel, "step")
		extra := "1×1 conv " + s.InvConv
		if s.Model == "realnvp" {
			layers = plural(s.StepsPerLevel, "coupling")
			extra = "actnorm " + onOff(s.ActNorm)
		}
		return fmt.Sprintf("%s, images %s, %s of %s, hidden %s, %s, learned prior %s, %s dequantization, logit alpha %g",
			s.Model, describeShape(s.Shape), plural(s.Levels, "level"), layers, joinInts(s.Hidden), extra,
			onOff(s.LearnedPrior), s.Dequantization, s.LogitAlpha)
	}
	base := s.Base
	if s.Base == "mixture" {
		base = fmt.Sprintf("mixture of %d Gaussians", s.Components)
	}
	return fmt.Sprintf("%s, dim %d, %d couplings, hidden %s, mask %s, actnorm %s, activation %s, base %s",
		s.Model, s.Dim, s.Couplings, joinInts(s.Hidden), s.Mask, onOff(s.ActNorm), s.Activation, base)
}

// plural writes a count and a noun, like "1 level" or "2 levels".
func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}

// newFlow builds the flow described by the parameters of scope, the root
// scope of a store that setParams (or a checkpoint) filled. Building only
// declares the layers; their variables are created, or restored from the
// checkpoint, when a graph first uses them.
func (s *modelSpec) newFlow(scope *model.Scope) (*flowlib.Flow, error) {
	if s.images() {
		height, width, channels := s.Shape[0], s.Shape[1], s.Shape[2]
		cfg := flowlib.RealNVPImage(height, width, channels)
		if s.Model == "glow" {
			cfg = flowlib.Glow(height, width, channels)
		}
		cfg.FromScope(scope)
		if err := cfg.Validate(); err != nil {
			return nil, err
		}
		return cfg.Done(), nil
	}
	cfg := flowlib.RealNVP(s.Dim).FromScope(scope)
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	var base flowlib.Distribution
	switch s.Base {
	case "normal":
		base = flowlib.NewStandardNormal(s.Dim)
	case "diag":
		base = flowlib.NewDiagonalGaussian(s.Dim)
	case "mixture":
		base = flowlib.NewGaussianMixture(s.Components, s.Dim)
	}
	return &flowlib.Flow{Base: base, Bijector: cfg.Done()}, nil
}

// trained is a model restored from a checkpoint directory.
type trained struct {
	dir   string
	store *model.Store
	spec  *modelSpec
	flow  *flowlib.Flow
	step  int64  // the global training step the checkpoint was saved at
	data  string // what the model was trained on (paramData), or ""
	// varNames are the variables read from the checkpoint; see checkComplete.
	varNames map[string]bool
}

// openCheckpoint restores the latest checkpoint in dir. It returns found=false
// (and no error) when dir does not exist or holds no checkpoint, and an error
// when the checkpoint cannot be read or does not describe a flowbook model.
//
// All variables are loaded at once (Immediate), rather than as graphs ask for
// them, so that checkComplete can tell whether the model needed a variable
// the checkpoint lacks.
func openCheckpoint(dir string) (t *trained, found bool, err error) {
	info, err := os.Stat(dir)
	if os.IsNotExist(err) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("checkpoint directory %q: %w", dir, err)
	}
	if !info.IsDir() {
		return nil, false, fmt.Errorf("--checkpoint %q is a file, not a directory; give the directory that train wrote", dir)
	}
	corrupt := func(err error) error {
		return fmt.Errorf("the checkpoint in %q cannot be used: %v; it is corrupt or was not written by flowbook: "+
			"retrain it, or give another --checkpoint directory", dir, err)
	}

	store := model.NewStore()
	// GoMLX's checkpoint code panics on some malformed files (for example a
	// variable whose size does not fit its data): catch those too.
	var handler *checkpoint.Handler
	var loadErr error
	panicErr := exceptions.TryCatch[error](func() {
		// Build (not Load) does not fail on an empty directory, and only
		// creates directories that do not exist, which was ruled out above.
		handler, loadErr = checkpoint.Build(store).Dir(dir).Immediate().Done()
	})
	if err := cmp.Or(panicErr, loadErr); err != nil {
		return nil, false, corrupt(err)
	}
	if has, err := handler.HasCheckpoints(); err != nil || !has {
		return nil, false, err
	}

	t = &trained{dir: dir, store: store, varNames: map[string]bool{}}
	root := store.RootScope()
	if t.spec, err = specFromScope(root); err != nil {
		return nil, false, corrupt(err)
	}
	if t.flow, err = t.spec.newFlow(root); err != nil {
		return nil, false, corrupt(err)
	}
	_ = readParam(root, paramData, &t.data) // Optional: it only labels what the model was trained on.
	if err := exceptions.TryCatch[error](func() { t.step = optimizer.GetGlobalStep(store) }); err != nil {
		return nil, false, corrupt(err)
	}
	for v := range store.IterVariables() {
		t.varNames[v.Path()] = true
	}
	return t, true, nil
}

// checkComplete reports whether running the model created trainable
// variables that the checkpoint did not have. Such a weight starts from its
// initial value, so the model would silently not be the one that was trained:
// the checkpoint's weights do not match its own description. (Non-trainable
// variables, like the random number generator's state, may be created anew.)
func (t *trained) checkComplete() error {
	var missing []string
	for v := range t.store.IterVariables() {
		if v.Trainable && !t.varNames[v.Path()] {
			missing = append(missing, v.Path())
		}
	}
	if len(missing) == 0 {
		return nil
	}
	if len(missing) > 3 {
		missing = append(missing[:3], "...")
	}
	return fmt.Errorf("the checkpoint in %q lacks weights of the model it describes (%s); it is corrupt or incomplete: retrain it",
		t.dir, strings.Join(missing, ", "))
}

// nonFiniteWeights returns the paths of the trainable variables holding NaN
// or ±Inf: the weights of a training run that diverged.
func (t *trained) nonFiniteWeights() []string {
	var bad []string
	for v := range t.store.IterVariables() {
		value, err := v.Value()
		if !v.Trainable || err != nil {
			continue
		}
		finite := true
		value.MustConstFlatData(func(flat any) {
			switch f := flat.(type) {
			case []float32:
				finite = !slices.ContainsFunc(f, func(x float32) bool { return !isFinite(float64(x)) })
			case []float64:
				finite = !slices.ContainsFunc(f, func(x float64) bool { return !isFinite(x) })
			}
		})
		if !finite {
			bad = append(bad, v.Path())
		}
	}
	return bad
}

// isFinite reports whether x is neither NaN nor ±Inf.
func isFinite(x float64) bool { return !math.IsNaN(x) && !math.IsInf(x, 0) }

// openCheckpointForUse is openCheckpoint for eval and sample, which need a
// checkpoint: a missing one is an error that says how to make one.
func openCheckpointForUse(cmd, dir string) (*trained, error) {
	t, found, err := openCheckpoint(dir)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", cmd, err)
	}
	if !found {
		return nil, fmt.Errorf("%s: no checkpoint in %q: %s", cmd, dir, whyNoCheckpoint(dir))
	}
	return t, nil
}

// whyNoCheckpoint says what the directory dir, which openCheckpoint found no
// checkpoint in, holds instead. A test.csv alone is what a vector training
// run writes before its first checkpoint: that run did not finish.
func whyNoCheckpoint(dir string) string {
	trainFirst := "train one first: flowbook train --data moons --checkpoint " + dir
	entries, err := os.ReadDir(dir)
	switch {
	case os.IsNotExist(err):
		return "the directory does not exist; " + trainFirst
	case err != nil:
		return err.Error()
	case len(entries) == 0:
		return "the directory is empty; " + trainFirst
	}
	for _, e := range entries {
		if e.Name() == "test.csv" {
			return "it holds test.csv but no model, so the training run that wrote it did not finish " +
				"(it failed, or was stopped before its first checkpoint); run that train command again"
		}
	}
	return fmt.Sprintf("it holds %s but no checkpoint files (checkpoint-*); give the directory train wrote, or %s",
		plural(len(entries), "file"), trainFirst)
}

// trainableParams counts the scalars in the store's trainable variables: the
// model's weights, without the optimizer's state.
func trainableParams(store *model.Store) int {
	n := 0
	for v := range store.IterVariables() {
		if v.Trainable {
			n += v.Shape().Size()
		}
	}
	return n
}

// runError shortens the error of a failed graph execution. GoMLX wraps the
// panic that stopped graph building in the names of its internal functions;
// the part after "panicked: " is the actual cause.
func runError(what string, err error) error {
	msg := err.Error()
	if i := strings.LastIndex(msg, "panicked: "); i >= 0 {
		msg = msg[i+len("panicked: "):]
	}
	return fmt.Errorf("%s failed: %s; if the checkpoint was edited or damaged, retrain it", what, msg)
}
