package training_test

import (
	"errors"
	"fmt"
	"math"
	"path/filepath"
	"strings"
	"testing"

	. "github.com/gomlx/gomlx/core/graph" //nolint:revive
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/model"

	"github.com/flowbook/flowbook/flowlib"
	"github.com/flowbook/flowbook/flowlib/backend"
	"github.com/flowbook/flowbook/flowlib/data"
	"github.com/flowbook/flowbook/flowlib/inference"
	"github.com/flowbook/flowbook/flowlib/training"
)

func smallFlow() *flowlib.Flow {
	return flowlib.RealNVP(2).NumCouplings(4).Hidden(32, 32).Done()
}

func moons(t *testing.T) (trainSet, testSet *data.Samples) {
	t.Helper()
	all, err := data.Toy("moons", 4000, 1)
	if err != nil {
		t.Fatal(err)
	}
	return all.Split(0.25, 2)
}

// TestTrainingLearnsAndCheckpointsRestore trains a small RealNVP on moons:
// the held-out NLL must fall well below where it starts, and a model restored
// from the checkpoint must give exactly the same log-likelihood; resuming
// continues from the saved step.
func TestTrainingLearnsAndCheckpointsRestore(t *testing.T) {
	be, err := backend.Shared()
	if err != nil {
		t.Fatal(err)
	}
	trainSet, testSet := moons(t)
	dir := t.TempDir()
	store := model.NewStore()
	store.SetParam(model.ParamInitialSeed, int64(1))
	flow := smallFlow()
	// Untrained, the flow is the identity (zero-initialised couplings): its
	// density is the base's.
	before, err := inference.MeanLogProb(be, store, flow, testSet)
	if err != nil {
		t.Fatal(err)
	}
	res, err := training.New(be, store, flow, trainSet).Steps(600).BatchSize(256).LearningRate(3e-3).
		Eval(testSet, 300).Checkpoint(dir, 300).Log(nil).Run()
	if err != nil {
		t.Fatal(err)
	}
	first, last := res.Evals[0].NLL, res.Evals[len(res.Evals)-1].NLL
	if !(last < -before-0.5) || !(last < first) {
		t.Errorf("held-out NLL: %.3f untrained, %.3f at step 300, %.3f at step 600: want it falling, by 0.5 nats at least",
			-before, first, last)
	}
	t.Logf("evals %+v, %.0f steps/s", res.Evals, res.StepsPerSecond)

	want, err := inference.MeanLogProb(be, store, flow, testSet)
	if err != nil {
		t.Fatal(err)
	}
	restored := model.NewStore()
	if _, err := training.New(be, restored, smallFlow(), trainSet).Steps(600).Checkpoint(dir, 0).Log(nil).Run(); err != nil {
		t.Fatal(err)
	}
	got, err := inference.MeanLogProb(be, restored, smallFlow(), testSet)
	if err != nil {
		t.Fatal(err)
	}
	if got != want {
		t.Errorf("log-likelihood after restoring the checkpoint %.7f, before %.7f: must be identical", got, want)
	}

	// LoadCheckpoint gives the same model, for evaluation without training.
	loaded := model.NewStore()
	if err := training.LoadCheckpoint(loaded, dir); err != nil {
		t.Fatal(err)
	}
	if got, err := inference.MeanLogProb(be, loaded, smallFlow(), testSet); err != nil || got != want {
		t.Errorf("log-likelihood after LoadCheckpoint %.7f (err %v), before %.7f: must be identical", got, err, want)
	}
	if err := training.LoadCheckpoint(model.NewStore(), t.TempDir()); err == nil || !strings.Contains(err.Error(), "holds no checkpoint") {
		t.Errorf("LoadCheckpoint of an empty directory: got %v, want an error saying it holds no checkpoint", err)
	}
	if err := training.LoadCheckpoint(model.NewStore(), filepath.Join(dir, "missing")); err == nil || !strings.Contains(err.Error(), "no checkpoint in") {
		t.Errorf("LoadCheckpoint of a missing directory: got %v, want an error saying there is no checkpoint", err)
	}

	// Resume: ask for 700 steps in total; it must start from the saved 600.
	res, err = training.New(be, restored, smallFlow(), trainSet).Steps(700).Checkpoint(dir, 0).Log(nil).Run()
	if err != nil {
		t.Fatal(err)
	}
	if res.FirstStep != 600 || res.LastStep != 700 {
		t.Errorf("resumed run went from step %d to %d, want 600 to 700", res.FirstStep, res.LastStep)
	}
}

// explodingLayer multiplies by a huge learnable factor, so the loss overflows.
type explodingLayer struct{}

func (explodingLayer) Name() string { return "exploding" }
func (explodingLayer) Forward(scope *model.Scope, x *Node) (*Node, *Node) {
	w := scope.VariableWithValue("w", float32(1e30)).NodeValue(x.Graph())
	y := Mul(x, Mul(w, w)) // 1e60 overflows float32: Inf.
	return y, ReduceSum(ZerosLike(x), 1)
}
func (explodingLayer) Inverse(scope *model.Scope, y *Node) (*Node, *Node) {
	return y, ReduceSum(ZerosLike(y), 1)
}

// TestNonFiniteLossStopsWithLayerName checks the NaN/Inf guard: training
// stops at once with an error naming the step and the layer.
func TestNonFiniteLossStopsWithLayerName(t *testing.T) {
	be, _ := backend.Shared()
	trainSet, _ := moons(t)
	flow := flowlib.NewFlow(flowlib.NewStandardNormal(2), flowlib.NewElementwiseAffine(2), explodingLayer{})
	store := model.NewStore()
	_, err := training.New(be, store, flow, trainSet).Steps(50).Log(nil).Run()
	var nf *training.NonFiniteError
	if !errors.As(err, &nf) {
		t.Fatalf("want a *NonFiniteError, got %v", err)
	}
	if nf.Step != 0 || !strings.Contains(err.Error(), "01_exploding") {
		t.Errorf("error should name step 0 and layer 01_exploding, got: %v", err)
	}
	// The step with the infinite loss changed no variable: Run stops with
	// the model as it was, not full of NaN.
	for path, want := range map[string]float32{"/bijector/01_exploding/w": 1e30, "/bijector/00_elementwise_affine/log_scale": 0, "/bijector/00_elementwise_affine/shift": 0} {
		for _, v := range tensors.MustCopyFlatData[float32](store.GetVariable(path).MustValue()) {
			if v != want {
				t.Errorf("%s = %v after the non-finite step, want %v", path, v, want)
			}
		}
	}
}

// smallGlow is a tiny Glow for 4×4 grey images.
func smallGlow() *flowlib.Flow { return flowlib.Glow(4, 4, 1).Levels(1).Steps(1).Hidden(4).Done() }

// pixels returns n 4×4×1 images of integer pixel values, with the value at
// flat index bad of example badExample replaced by v (bad < 0: none).
func pixels(n, badExample, bad int, v float32) *data.Samples {
	s := &data.Samples{Values: make([]float32, n*16), N: n, Dim: 16, Shape: []int{4, 4, 1}}
	for i := range s.Values {
		s.Values[i] = float32(i % 256)
	}
	if bad >= 0 {
		s.Values[badExample*16+bad] = v
	}
	return s
}

// TestBadTrainingInput checks the clear errors for unusable data or
// settings, for vector and image flows alike, before the first step.
func TestBadTrainingInput(t *testing.T) {
	be, _ := backend.Shared()
	good, _ := moons(t)
	nan32, inf32 := float32(math.NaN()), float32(math.Inf(1))
	nan := &data.Samples{Values: []float32{0, 1, nan32, 2}, N: 2, Dim: 2}
	inf := &data.Samples{Values: []float32{0, 1, 2, inf32}, N: 2, Dim: 2}
	threeD := &data.Samples{Values: make([]float32, 30), N: 10, Dim: 3}
	logitFlow := func() *flowlib.Flow {
		return flowlib.NewFlow(flowlib.NewStandardLogistic(2), flowlib.NewLogit(0), flowlib.NewElementwiseAffine(2))
	}
	unit := &data.Samples{Values: []float32{0.5, 0.25, 0.75, 1}, N: 2, Dim: 2}
	cases := []struct {
		name string
		cfg  *training.Config
		want string
	}{
		{"empty", training.New(be, model.NewStore(), smallFlow(), &data.Samples{Dim: 2}), "no training data"},
		{"nan", training.New(be, model.NewStore(), smallFlow(), nan), "non-finite value (NaN) in example 1, coordinate 0"},
		{"inf", training.New(be, model.NewStore(), smallFlow(), inf), "training data: non-finite value (+Inf) in example 1, coordinate 1"},
		{"image_nan", training.New(be, model.NewStore(), smallGlow(), pixels(3, 2, 5, nan32)), "non-finite value (NaN) in example 2, coordinate 5"},
		{"image_inf", training.New(be, model.NewStore(), smallGlow(), pixels(3, 0, 15, inf32)), "non-finite value (+Inf) in example 0, coordinate 15"},
		{"image_not_pixels", training.New(be, model.NewStore(), smallGlow(), pixels(3, 1, 3, 0.5)), "raw pixel values"},
		{"image_test_nan", training.New(be, model.NewStore(), smallGlow(), pixels(3, -1, -1, 0)).Eval(pixels(2, 1, 0, nan32), 10), "test data: non-finite value (NaN) in example 1, coordinate 0"},
		{"logit_edge", training.New(be, model.NewStore(), logitFlow(), unit), "value 1 of example 1, coordinate 1 is the edge of [0, 1], where Logit with alpha = 0 is infinite"},
		{"wrong_dim", training.New(be, model.NewStore(), smallFlow(), threeD), "expects examples of shape [2] but the training data has examples of shape [3]"},
		{"vector_for_image", training.New(be, model.NewStore(), smallGlow(), &data.Samples{Values: make([]float32, 32), N: 2, Dim: 16}), "this is an image model"},
		{"shape_not_dim", training.New(be, model.NewStore(), smallGlow(), &data.Samples{Values: make([]float32, 30), N: 2, Dim: 15, Shape: []int{4, 4, 1}}), "examples of shape [4 4 1] (16 values) but Dim = 15"},
		{"values_not_n_dim", training.New(be, model.NewStore(), smallFlow(), &data.Samples{Values: make([]float32, 5), N: 2, Dim: 2}), "has 5 values but N×Dim = 2×2"},
		{"bad_steps", training.New(be, model.NewStore(), smallFlow(), good).Steps(0), "steps must be at least 1"},
		{"bad_lr", training.New(be, model.NewStore(), smallFlow(), good).LearningRate(-1), "learning rate must be positive"},
		{"test_dim", training.New(be, model.NewStore(), smallFlow(), good).Eval(threeD, 10), "but the test data has examples of shape [3]"},
		{"test_empty", training.New(be, model.NewStore(), smallFlow(), good).Eval(&data.Samples{Dim: 2}, 10), "no test data (0 examples)"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := c.cfg.Log(nil).Run()
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("got %v, want an error containing %q", err, c.want)
			}
		})
	}
}

func TestBitsPerDim(t *testing.T) {
	// 2 nats over 2 dimensions is 1 nat per dimension = 1/ln 2 bits.
	if got := training.BitsPerDim(2, 2); math.Abs(got-1/math.Ln2) > 1e-12 {
		t.Errorf("BitsPerDim(2, 2) = %g, want %g", got, 1/math.Ln2)
	}
}

// squash is a test layer (not a bijector: its log-det is a made-up 0) that
// keeps the loss finite whatever comes in.
type squash struct{}

func (squash) Name() string { return "squash" }
func (squash) Forward(_ *model.Scope, x *Node) (*Node, *Node) {
	return Tanh(x), ReduceSum(ZerosLike(x), 1)
}
func (squash) Inverse(_ *model.Scope, y *Node) (*Node, *Node) { return y, ReduceSum(ZerosLike(y), 1) }

// TestActNormRefusalStopsTraining trains on finite data so large that its
// variance overflows float32: ActNorm refuses to initialise, and Run stops
// after the first step with an error naming the layer, whether the loss
// overflowed too or not. The refused layer keeps its variables at zero.
func TestActNormRefusalStopsTraining(t *testing.T) {
	be, _ := backend.Shared()
	huge, _ := moons(t)
	for i := range huge.Values {
		huge.Values[i] *= 1e20
	}
	cases := []struct {
		name      string
		flow      *flowlib.Flow
		nonFinite bool // whether the loss overflows as well
		want      string
	}{
		{"loss_inf", smallFlow(), true, "ActNorm /bijector/00_actnorm, /bijector/02_actnorm"},
		{"loss_finite", flowlib.NewFlow(flowlib.NewStandardNormal(2), flowlib.NewActNorm(2), squash{}), false,
			"training: step 0: flowlib: ActNorm /bijector/00_actnorm: the training batch's per-feature mean or standard deviation is not finite"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			store := model.NewStore()
			_, err := training.New(be, store, c.flow, huge).Steps(20).BatchSize(64).Log(nil).Run()
			var nf *training.NonFiniteError
			if errors.As(err, &nf) != c.nonFinite {
				t.Errorf("got %v (%T); want a *NonFiniteError: %v", err, err, c.nonFinite)
			}
			if err == nil || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), "initialisation was refused") {
				t.Fatalf("got %v, want an error containing %q and saying the initialisation was refused", err, c.want)
			}
			if flag := store.GetVariable("/bijector/00_actnorm/initialized").MustValue(); tensors.ToScalar[float32](flag) != 0 {
				t.Errorf("the refused ActNorm's flag is %v, want 0", flag)
			}
			if c.nonFinite {
				// The step with an infinite loss changed nothing.
				loc := tensors.MustCopyFlatData[float32](store.GetVariable("/bijector/00_actnorm/loc").MustValue())
				if loc[0] != 0 || loc[1] != 0 {
					t.Errorf("loc = %v after the refused initialisation and an infinite loss, want 0, 0", loc)
				}
			}
		})
	}
}

// poison is a test layer that writes NaN into many non-trainable variables
// and into its output, as a diverged model with hundreds of variables would.
type poison struct{ n int }

func (poison) Name() string { return "poison" }
func (p poison) Forward(scope *model.Scope, x *Node) (*Node, *Node) {
	zeros := ZerosLike(x)
	nan := Div(zeros, zeros)
	for i := range p.n {
		v := scope.VariableWithValue(fmt.Sprintf("v%03d", i), float32(0))
		v.SetTrainable(false)
		v.SetNodeValue(ReduceAllSum(nan))
	}
	return Add(x, nan), ReduceSum(zeros, 1)
}
func (poison) Inverse(_ *model.Scope, y *Node) (*Node, *Node) { return y, ReduceSum(ZerosLike(y), 1) }

// TestNonFiniteErrorIsShort checks that a loss gone NaN with 200
// non-finite variables gives a message that names a few and counts them.
func TestNonFiniteErrorIsShort(t *testing.T) {
	be, _ := backend.Shared()
	trainSet, _ := moons(t)
	flow := flowlib.NewFlow(flowlib.NewStandardNormal(2), flowlib.NewElementwiseAffine(2), poison{n: 200})
	_, err := training.New(be, model.NewStore(), flow, trainSet).Steps(5).Log(nil).Run()
	var nf *training.NonFiniteError
	if !errors.As(err, &nf) {
		t.Fatalf("want a *NonFiniteError, got %v", err)
	}
	msg := err.Error()
	// 200 poisoned variables and the loss's moving average.
	for _, want := range []string{"Non-finite values are in 201 variable(s): /bijector/01_poison/v000, ", ", and 196 more.", "first appear in layer 01_poison"} {
		if !strings.Contains(msg, want) {
			t.Errorf("error should contain %q, got: %s", want, msg)
		}
	}
	if n := strings.Count(msg, "/bijector/01_poison/v"); n != 5 {
		t.Errorf("error names %d variables, want 5: %s", n, msg)
	}
	if len(msg) > 800 {
		t.Errorf("error is %d bytes long, want at most 800: %s", len(msg), msg)
	}
}
