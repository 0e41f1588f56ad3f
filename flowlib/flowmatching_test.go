package flowlib_test

import (
	"io"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/gomlx/gomlx/ml/model"

	"github.com/flowbook/flowbook/flowlib"
	"github.com/flowbook/flowbook/flowlib/data"
	"github.com/flowbook/flowbook/flowlib/inference"
	"github.com/flowbook/flowbook/flowlib/training"
)

// gaussianSamples draws n points of N((1, −0.5), diag(0.6², 1.3²)) and
// returns them with their mean true log-density.
func gaussianSamples(n int, seed uint64) (*data.Samples, float64) {
	rng := rand.New(rand.NewPCG(seed, 1))
	s := &data.Samples{N: n, Dim: 2, Values: make([]float32, 2*n)}
	mean := 0.0
	for i := range n {
		a, b := rng.NormFloat64(), rng.NormFloat64()
		s.Values[2*i], s.Values[2*i+1] = float32(1+0.6*a), float32(-0.5+1.3*b)
		za, zb := (float64(s.Values[2*i])-1)/0.6, (float64(s.Values[2*i+1])+0.5)/1.3
		mean += (-math.Log(2*math.Pi) - math.Log(0.6*1.3) - (za*za+zb*zb)/2) / float64(n)
	}
	return s, mean
}

// TestFlowMatchingLearns trains a CNF by flow matching (regression, no
// likelihood) on a Gaussian and evaluates its exact log-likelihood through
// the CNF (RK4, exact trace): it must come within 0.1 nats of the true
// density's, from more than 0.5 nats away at the start (the identity).
func TestFlowMatchingLearns(t *testing.T) {
	be := testBackend(t)
	trainSet, _ := gaussianSamples(4000, 1)
	testSet, truth := gaussianSamples(1000, 2)
	flow := flowlib.FlowMatching(2).Hidden(32, 32).Steps(6).Done()
	if !flow.TrainsByRegression() {
		t.Fatal("a flow-matching flow does not say it trains by regression")
	}
	store := model.NewStore()
	store.SetParam(model.ParamInitialSeed, int64(1))
	before, err := inference.MeanLogProb(be, store, flow, testSet)
	if err != nil {
		t.Fatal(err)
	}
	res, err := training.New(be, store, flow, trainSet).Steps(600).BatchSize(256).LearningRate(5e-3).
		Eval(testSet, 0).Log(io.Discard).Run()
	if err != nil {
		t.Fatal(err)
	}
	after := res.Evals[len(res.Evals)-1].NLL
	t.Logf("flow matching on a Gaussian: test NLL %.4f before, %.4f after 600 steps (true %.4f); final loss %.4f; %.0f steps/s",
		-before, after, -truth, res.TrainNLL, res.StepsPerSecond)
	if -before-(-truth) < 0.5 {
		t.Errorf("the untrained flow is already within 0.5 nats (%.4f vs %.4f)", -before, -truth)
	}
	if math.Abs(after-(-truth)) > 0.1 {
		t.Errorf("after flow matching, test NLL %.4f is not within 0.1 of the true %.4f", after, -truth)
	}
}
