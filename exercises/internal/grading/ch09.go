package grading

import "time"

var ch09 = Chapter{
	Dir:   "09-residual-continuous",
	Title: "Residual and continuous flows",
	Tasks: []Task{
		{Test: "TestSpectralNorm", Title: "Spectral norm by power iteration, and W/max(1, σ̂/c)", Points: 3, Limit: 30 * time.Second,
			Answer: []string{"SpectralNorm", "SpectralNormalize"}, Forbidden: residualForbidden},
		{Test: "TestFixedPointInverse", Title: "The fixed-point inverse of y = x + g(x), with its error", Points: 3, Limit: 30 * time.Second,
			Answer: []string{"FixedPointInverse"}, Forbidden: residualForbidden},
		{Test: "TestPowerSeriesLogDet", Title: "log det(I + J) as a power series of traces", Points: 2, Limit: 30 * time.Second,
			Answer: []string{"PowerSeriesLogDet"}, Forbidden: append([]string{flowcheckPkg + ".LogAbsDet"}, residualForbidden...)},
		{Test: "TestHutchinsonTrace", Title: "Hutchinson's trace estimator and its variance", Points: 2, Limit: 30 * time.Second,
			Answer: []string{"HutchinsonTrace", "HutchinsonVariance"}, Forbidden: cnfForbidden},
		{Test: "TestRK4Step", Title: "One step of the classic Runge–Kutta method", Points: 2, Limit: 30 * time.Second,
			Answer: []string{"RK4Step"}, Forbidden: odeForbidden},
		{Test: "TestCNFLogDensity", Title: "A continuous flow's log-density, from t = 1 back to t = 0", Points: 3, Limit: 60 * time.Second,
			Answer: []string{"CNFLogDensity"}, Forbidden: append(append([]string{}, odeForbidden...), cnfForbidden...)},
		{Test: "TestFlowMatching", Title: "Flow matching's path, target velocity and loss", Points: 2, Limit: 30 * time.Second,
			Answer: []string{"FlowMatchingPath", "FlowMatchingLoss"}, Forbidden: cnfForbidden},
	},
}

// residualForbidden is flowlib's residual flow, whose blocks spectrally
// normalise their weights, invert by fixed-point iteration and take the
// series log-det.
var residualForbidden = []string{flowlibPkg + ".ResidualBlock", flowlibPkg + ".ResidualFlow", flowlibPkg + ".InvertResidual",
	flowlibPkg + ".ResidualFlowConfig"}

// odeForbidden is flowlib's ODE solvers.
var odeForbidden = []string{flowlibPkg + ".RK4", flowlibPkg + ".DormandPrince", flowlibPkg + ".DefaultDormandPrince", flowlibPkg + ".ODEFunc"}

// cnfForbidden is flowlib's continuous flows: the CNF (its trace
// estimators, log-density and flow-matching loss) and their builders.
var cnfForbidden = []string{flowlibPkg + ".CNF", flowlibPkg + ".CNFLogProb", flowlibPkg + ".CNFSample", flowlibPkg + ".FFJORD",
	flowlibPkg + ".FlowMatching", flowlibPkg + ".CNFConfig"}
