package grading

var ch01 = Chapter{
	Dir:   "01-change-of-variables",
	Title: "Change of variables",
	Tasks: []Task{
		{Test: "TestAffineGaussianLogProb", Title: "Density of an affine map of a Gaussian", Points: 2},
		{Test: "TestSquareOfUniformDensity", Title: "Density of the square of a uniform", Points: 2},
		{Test: "TestSinhNormalLogProb", Title: "Sinh-normal density with f' from Gradient", Points: 3},
		{Test: "TestPolarLogProb", Title: "A 2D change of variables: polar coordinates", Points: 3},
		{Test: "TestFindTheBug", Title: "Find the bug with an integral, then fix it", Points: 3},
	},
}
