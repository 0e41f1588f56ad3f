package inference_test

import (
	"fmt"

	"github.com/gomlx/gomlx/ml/model"

	"github.com/flowbook/flowbook/flowlib"
	"github.com/flowbook/flowbook/flowlib/backend"
	"github.com/flowbook/flowbook/flowlib/data"
	"github.com/flowbook/flowbook/flowlib/inference"
)

// An untrained RealNVP is the identity (its couplings start at zero), so its
// log-density is the standard normal's: log p(0, 0) = −log 2π.
func ExampleLogProbs() {
	be, _ := backend.New()
	store := model.NewStore()
	flow := flowlib.RealNVP(2).NumCouplings(2).Done()
	points := &data.Samples{Values: []float32{0, 0, 1, 0}, N: 2, Dim: 2}
	logProbs, err := inference.LogProbs(be, store, flow, points)
	fmt.Printf("%.4f %.4f %v\n", logProbs[0], logProbs[1], err)
	// Output: -1.8379 -2.3379 <nil>
}

// Sample from a flow, then map the samples to the latent space and back.
func ExampleReconstruct() {
	be, _ := backend.New()
	store := model.NewStore()
	store.SetParam(model.ParamInitialSeed, int64(1))
	flow := flowlib.RealNVP(2).NumCouplings(2).Done()
	samples, _ := inference.Sample(be, store, flow, 100, 1)
	back, err := inference.Reconstruct(be, store, flow, samples)
	fmt.Println(back.N, back.Dim, err)
	// Output: 100 2 <nil>
}
