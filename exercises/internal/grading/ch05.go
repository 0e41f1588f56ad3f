package grading

import "time"

var ch05 = Chapter{
	Dir:   "05-realnvp-2d",
	Title: "RealNVP on 2D data",
	Tasks: []Task{
		{Test: "TestRealNVP2DLayers", Title: "Build a RealNVP for 2D points", Points: 2,
			Answer: []string{"NewRealNVP2D"}, Forbidden: []string{flowlibPkg + ".RealNVP"}},
		{Test: "TestRealNVP2DMoons", Title: "Train it on moons below the target NLL", Points: 3, Limit: 60 * time.Second},
		{Test: "TestVAEELBO", Title: "Single-sample ELBO of a Gaussian VAE", Points: 3,
			Answer: []string{"ELBO"}, Forbidden: vaeForbidden},
		{Test: "TestVAEIWAE", Title: "Importance-weighted bound, computed stably", Points: 3,
			Answer: []string{"IWAEBound"}, Forbidden: vaeForbidden},
		{Test: "TestFlowVsVAE", Title: "Flow log-likelihood next to the VAE's bounds", Points: 2,
			Answer: []string{"CompareFlowAndVAE"}, Forbidden: vaeForbidden},
		{Test: "TestDensityGrid2D", Title: "Density of a flow on a grid", Points: 3},
	},
}

// vaeForbidden is flowlib/vae's own ELBO and IWAE bound (and what computes
// them for you), which the VAE tasks ask the learner to write.
var vaeForbidden = []string{vaePkg + ".ELBO", vaePkg + ".IWAEBound", vaePkg + ".LogWeights", vaePkg + ".Evaluate"}
