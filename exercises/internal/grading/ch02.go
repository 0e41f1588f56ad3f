package grading

var ch02 = Chapter{
	Dir:   "02-jacobians",
	Title: "Jacobians and determinants",
	Tasks: []Task{
		{Test: "TestLogAbsDet2x2", Title: "log|det| of a 2×2 matrix by hand", Points: 1,
			Answer: []string{"LogAbsDet2x2"}, Forbidden: []string{flowcheckPkg + ".LogAbsDet"}},
		{Test: "TestLogAbsDetLU", Title: "log|det| by LU with partial pivoting", Points: 3,
			Answer: []string{"LogAbsDetLU"}, Forbidden: []string{flowcheckPkg + ".LogAbsDet"}},
		{Test: "TestAffineMapBijector", Title: "An affine map as a bijector", Points: 3},
		{Test: "TestComposedLogProb", Title: "Log-det of a composition and log p(x)", Points: 3},
		{Test: "TestTriangularLogAbsDet", Title: "O(D) log-det of a triangular matrix", Points: 2,
			Answer: []string{"TriangularLogAbsDet"}, Forbidden: []string{flowcheckPkg + ".LogAbsDet"}},
		{Test: "TestJacobianSpherical", Title: "Jacobian by autodiff: spherical coordinates", Points: 3,
			Answer: []string{"Jacobian"}, Forbidden: []string{flowcheckPkg + ".Jacobian"}},
	},
}
