package grading

import "time"

var ch06 = Chapter{
	Dir:   "06-images",
	Title: "Flows on images",
	Tasks: []Task{
		{Test: "TestBitsPerDimByHand", Title: "Bits per dimension from log-likelihoods", Points: 2, Limit: 30 * time.Second,
			Answer: []string{"BitsPerDim"}, Forbidden: []string{trainingPkg + ".BitsPerDim"}},
		{Test: "TestDiscreteLogLikelihood", Title: "Log-likelihood of the discrete image", Points: 3, Limit: 30 * time.Second},
		{Test: "TestUniformDequantize", Title: "Uniform dequantization and its log-det", Points: 2, Limit: 30 * time.Second,
			Answer: []string{"Dequantize"}, Forbidden: []string{flowlibPkg + ".NewUniformDequantization", flowlibPkg + ".UniformDequantization"}},
		{Test: "TestLogitPreprocessing", Title: "The logit transform with α", Points: 3, Limit: 30 * time.Second,
			Answer: []string{"Logit"}, Forbidden: []string{flowlibPkg + ".NewLogit", flowlibPkg + ".Logit"}},
		{Test: "TestSqueeze2x2", Title: "Squeeze 2×2 and its inverse", Points: 3, Limit: 30 * time.Second,
			Answer: []string{"Squeeze2x2"}, Forbidden: []string{flowlibPkg + ".NewSqueeze2x2", flowlibPkg + ".Squeeze2x2", flowlibPkg + ".NewUnsqueeze2x2"}},
	},
}
