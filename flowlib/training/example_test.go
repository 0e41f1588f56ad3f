package training_test

import (
	"fmt"

	"github.com/gomlx/gomlx/ml/model"

	"github.com/flowbook/flowbook/flowlib"
	"github.com/flowbook/flowbook/flowlib/backend"
	"github.com/flowbook/flowbook/flowlib/data"
	"github.com/flowbook/flowbook/flowlib/inference"
	"github.com/flowbook/flowbook/flowlib/training"
)

// Train a RealNVP on two moons and compare held-out log-likelihoods before and
// after. (Longer runs, e.g. 3000 steps, reach about −1.2 nats.)
func ExampleConfig_Run() {
	be, _ := backend.New()
	samples, _ := data.Toy("moons", 4000, 1)
	trainSet, testSet := samples.Split(0.25, 1)

	store := model.NewStore()
	store.SetParam(model.ParamInitialSeed, int64(1))
	flow := flowlib.RealNVP(2).NumCouplings(4).Done()
	before, _ := inference.MeanLogProb(be, store, flow, testSet)
	_, err := training.New(be, store, flow, trainSet).Steps(400).BatchSize(256).LearningRate(3e-3).Log(nil).Run()
	after, _ := inference.MeanLogProb(be, store, flow, testSet)
	fmt.Println(err, after > before+0.5)
	// Output: <nil> true
}
