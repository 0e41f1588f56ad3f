package grading

import "time"

var ch07 = Chapter{
	Dir:   "07-glow",
	Title: "Glow",
	Tasks: []Task{
		{Test: "TestActNormInit", Title: "ActNorm's data-dependent initialisation", Points: 2, Limit: 30 * time.Second,
			Answer: []string{"ActNormInit"}, Forbidden: []string{flowlibPkg + ".NewActNorm", flowlibPkg + ".ActNorm"}},
		{Test: "TestActNormLayer", Title: "ActNorm forward, inverse and log-det", Points: 3, Limit: 30 * time.Second,
			Answer: []string{"ActNorm"}, Forbidden: []string{flowlibPkg + ".NewActNorm", flowlibPkg + ".ActNorm"}},
		{Test: "TestLUMatrix", Title: "W = P·L·(U + diag s) from its LU factors", Points: 2, Limit: 30 * time.Second},
		{Test: "TestLULogAbsDet", Title: "log|det W| from the LU factors", Points: 1, Limit: 30 * time.Second,
			Answer: []string{"LULogAbsDet"}, Forbidden: []string{flowcheckPkg + ".LogAbsDet"}},
		{Test: "TestTriangularInverse", Title: "A triangular inverse without a solver", Points: 3, Limit: 30 * time.Second,
			Answer: []string{"TriangularInverse"}, Forbidden: []string{graphPkg + ".Inverse", flowcheckPkg + ".LogAbsDet"}},
		{Test: "TestConv1x1", Title: "The invertible 1×1 convolution and its log-det", Points: 3, Limit: 30 * time.Second,
			Answer: []string{"Conv1x1"}, Forbidden: []string{flowlibPkg + ".NewInvertible1x1Conv", flowlibPkg + ".NewInvertible1x1ConvExp", flowlibPkg + ".Invertible1x1Conv"}},
		{Test: "TestTemperatureSampling", Title: "Samples at a temperature and their log-likelihood", Points: 2, Limit: 30 * time.Second},
	},
}
