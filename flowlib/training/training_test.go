package training_test

import (
	"errors"
	"math"
	"path/filepath"
	"strings"
	"testing"

	. "github.com/gomlx/gomlx/core/graph" //nolint:revive
	"github.com/gomlx/gomlx/ml/model"

	"github.com/flowbook/flowbook/flowlib"
	"github.com/flowbook/flowbook/flowlib/backend"
	"github.com/flowbook/flowbook/flowlib/data"
	"github.com/flowbook/flowbook/flowlib/training"
)

func smallFlow() *flowlib.Flow {
	return &flowlib.Flow{Base: flowlib.NewStandardNormal(2), Bijector: flowlib.RealNVP(2).NumCouplings(4).Hidden(32, 32).Done()}
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
	before, err := training.MeanLogProb(be, store, flow, testSet)
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

	want, err := training.MeanLogProb(be, store, flow, testSet)
	if err != nil {
		t.Fatal(err)
	}
	restored := model.NewStore()
	if _, err := training.New(be, restored, smallFlow(), trainSet).Steps(600).Checkpoint(dir, 0).Log(nil).Run(); err != nil {
		t.Fatal(err)
	}
	got, err := training.MeanLogProb(be, restored, smallFlow(), testSet)
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
	if got, err := training.MeanLogProb(be, loaded, smallFlow(), testSet); err != nil || got != want {
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
	_, err := training.New(be, model.NewStore(), flow, trainSet).Steps(50).Log(nil).Run()
	var nf *training.NonFiniteError
	if !errors.As(err, &nf) {
		t.Fatalf("want a *NonFiniteError, got %v", err)
	}
	if nf.Step != 0 || !strings.Contains(err.Error(), "01_exploding") {
		t.Errorf("error should name step 0 and layer 01_exploding, got: %v", err)
	}
}

// TestBadTrainingInput checks the clear errors for unusable data or settings.
func TestBadTrainingInput(t *testing.T) {
	be, _ := backend.Shared()
	good, _ := moons(t)
	nan := &data.Samples{Values: []float32{0, 1, float32(math.NaN()), 2}, N: 2, Dim: 2}
	threeD := &data.Samples{Values: make([]float32, 30), N: 10, Dim: 3}
	cases := []struct {
		name string
		cfg  *training.Config
		want string
	}{
		{"empty", training.New(be, model.NewStore(), smallFlow(), &data.Samples{Dim: 2}), "no training data"},
		{"nan", training.New(be, model.NewStore(), smallFlow(), nan), "non-finite value (NaN) in example 1, coordinate 0"},
		{"wrong_dim", training.New(be, model.NewStore(), smallFlow(), threeD), "expects examples of shape [2] but the training data has examples of shape [3]"},
		{"bad_steps", training.New(be, model.NewStore(), smallFlow(), good).Steps(0), "steps must be at least 1"},
		{"bad_lr", training.New(be, model.NewStore(), smallFlow(), good).LearningRate(-1), "learning rate must be positive"},
		{"test_dim", training.New(be, model.NewStore(), smallFlow(), good).Eval(threeD, 10), "but the test data has examples of shape [3]"},
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
