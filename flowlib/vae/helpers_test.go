package vae_test

import (
	"math/rand/v2"

	"github.com/gomlx/gomlx/core/tensors"
)

// vaeNoise is a float32 tensor of standard normal values, the same for the same seed.
func vaeNoise(seed uint64, dims ...int) *tensors.Tensor {
	rng := rand.New(rand.NewPCG(seed, 99))
	size := 1
	for _, d := range dims {
		size *= d
	}
	v := make([]float32, size)
	for i := range v {
		v[i] = float32(rng.NormFloat64())
	}
	return tensors.FromFlatDataAndDimensions(v, dims...)
}
