package grading

import "time"

var ch08 = Chapter{
	Dir:   "08-autoregressive-splines",
	Title: "Autoregressive and spline flows",
	Tasks: []Task{
		{Test: "TestMADEDegrees", Title: "MADE's degrees for an order and a context", Points: 2, Limit: 30 * time.Second,
			Answer: []string{"Degrees"}, Forbidden: madeForbidden},
		{Test: "TestMADEMasks", Title: "MADE's masks: ≥ in the hidden layers, > at the output", Points: 3, Limit: 30 * time.Second,
			Answer: []string{"Masks"}, Forbidden: madeForbidden},
		{Test: "TestMAFInverse", Title: "MAF's inverse in D passes, with its log-det", Points: 3, Limit: 30 * time.Second,
			Answer: []string{"MAFInverse"}, Forbidden: autoregressiveForbidden},
		{Test: "TestIAFSample", Title: "IAF's sample and log-density in one pass", Points: 1, Limit: 30 * time.Second,
			Answer: []string{"IAFSample"}, Forbidden: autoregressiveForbidden},
		{Test: "TestSplineForward", Title: "The spline's bin and forward map, tails included", Points: 3, Limit: 30 * time.Second,
			Answer: []string{"Bin", "Spline"}, Forbidden: splineForbidden},
		{Test: "TestSplineLogDet", Title: "The spline's log-det log g'(x)", Points: 2, Limit: 30 * time.Second,
			Answer: []string{"Spline"}, Forbidden: splineForbidden},
		{Test: "TestSplineInverse", Title: "The spline's inverse with the stable root", Points: 3, Limit: 30 * time.Second,
			Answer: []string{"Spline"}, Forbidden: splineForbidden},
	},
}

// madeForbidden is flowlib's MADE, whose Degrees and Masks methods compute
// what the MADE tasks ask for.
var madeForbidden = []string{flowlibPkg + ".MADE", flowlibPkg + ".MADENet", flowlibPkg + ".MADEConfig"}

// autoregressiveForbidden is flowlib's autoregressive layer, which inverts
// MAF and samples IAF.
var autoregressiveForbidden = []string{flowlibPkg + ".NewMAFLayer", flowlibPkg + ".NewIAFLayer", flowlibPkg + ".Autoregressive",
	flowlibPkg + ".MAF", flowlibPkg + ".IAF"}

// splineForbidden is flowlib's rational-quadratic spline.
var splineForbidden = []string{flowlibPkg + ".RationalQuadraticSpline", flowlibPkg + ".NSF"}
