package grading

import "time"

var ch06 = Chapter{
	Dir:   "06-images",
	Title: "Flows on images",
	Tasks: []Task{
		{Test: "TestBitsPerDimByHand", Title: "Bits per dimension from log-likelihoods", Points: 2, Limit: 30 * time.Second},
		{Test: "TestDiscreteLogLikelihood", Title: "Log-likelihood of the discrete image", Points: 3, Limit: 30 * time.Second},
		{Test: "TestUniformDequantize", Title: "Uniform dequantization and its log-det", Points: 2, Limit: 30 * time.Second},
		{Test: "TestLogitPreprocessing", Title: "The logit transform with α", Points: 3, Limit: 30 * time.Second},
		{Test: "TestSqueeze2x2", Title: "Squeeze 2×2 and its inverse", Points: 3, Limit: 30 * time.Second},
	},
}
