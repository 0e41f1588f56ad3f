package grading

var ch04 = Chapter{
	Dir:   "04-coupling-layers",
	Title: "Coupling layers",
	Tasks: []Task{
		{Test: "TestAffineCouplingForward", Title: "Forward of an affine coupling", Points: 3,
			Answer: []string{"AffineCoupling"}, Forbidden: []string{flowlibPkg + ".NewAffineCoupling", flowlibPkg + ".AffineCoupling"}},
		{Test: "TestAffineCouplingInverse", Title: "Inverse of an affine coupling", Points: 3,
			Answer: []string{"AffineCoupling"}, Forbidden: []string{flowlibPkg + ".NewAffineCoupling", flowlibPkg + ".AffineCoupling"}},
		{Test: "TestSwappedHalves", Title: "Stack couplings with alternating masks", Points: 3},
		{Test: "TestBoundScaleTanh", Title: "Bound the log-scale with B·tanh(r/B)", Points: 2},
		{Test: "TestCheckerboard2D", Title: "Checkerboard mask for H×W images", Points: 2,
			Answer: []string{"CheckerboardMask"}, Forbidden: []string{flowlibPkg + ".CheckerboardMask"}},
	},
}
