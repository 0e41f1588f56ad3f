package vae_test

import (
	"fmt"

	"github.com/gomlx/gomlx/ml/model"

	"github.com/flowbook/flowbook/flowlib/backend"
	"github.com/flowbook/flowbook/flowlib/data"
	"github.com/flowbook/flowbook/flowlib/vae"
)

// A VAE on moons: train it briefly, then bound its log-likelihood on
// held-out points with the ELBO and the IWAE bound, and draw samples. The
// numbers depend on the backend's random initial weights, so the example
// prints only what does not: sizes, and that IWAE_100 lies above the ELBO.
func Example() {
	be := backend.MustShared()
	moons, err := data.Toy("moons", 3000, 1)
	if err != nil {
		panic(err)
	}
	train, test := moons.Split(0.2, 2)

	store := model.NewStore()
	m := vae.New(2).Latent(2).Hidden(32, 32).Done()
	res, err := vae.Train(be, store, m, train).Steps(200).LearningRate(1e-2).Run()
	if err != nil {
		panic(err)
	}
	// IWAE_1 (the one-sample ELBO) and IWAE_100 from the same samples of z;
	// vae.ELBOs and vae.IWAEs give one bound each.
	bounds, err := vae.Evaluate(be, store, m, test, 1, 1, 100)
	if err != nil {
		panic(err)
	}
	elbo, iwae := bounds[0], bounds[1] // each with Mean and StdErr, in nats
	samples, err := vae.Sample(be, store, m, 5, 1)
	if err != nil {
		panic(err)
	}
	fmt.Printf("trained %d steps; %d held-out points\n", res.Steps, len(elbo.PerPoint))
	fmt.Println("IWAE_100 above the ELBO:", iwae.Mean > elbo.Mean)
	fmt.Printf("samples: %d × %d\n", samples.N, samples.Dim)
	// Output:
	// trained 200 steps; 600 held-out points
	// IWAE_100 above the ELBO: true
	// samples: 5 × 2
}
