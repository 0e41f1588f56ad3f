package grading

import "time"

var ch03 = Chapter{
	Dir:   "03-invertibility-nice",
	Title: "Invertibility and a first flow",
	Tasks: []Task{
		{Test: "TestCouplingInverse", Title: "Inverse of an additive coupling", Points: 2,
			Answer: []string{"Coupling"}, Forbidden: []string{flowlibPkg + ".NewAdditiveCoupling", flowlibPkg + ".AdditiveCoupling"}},
		{Test: "TestLeakyReLUBijector", Title: "A leaky-ReLU bijector", Points: 3},
		{Test: "TestChainLogDet", Title: "A chain whose log-dets add, both ways", Points: 3,
			Answer: []string{"Chain"}, Forbidden: []string{flowlibPkg + ".NewChain", flowlibPkg + ".Chain"}},
		{Test: "TestNICETrains", Title: "Train a NICE below the volume-preserving floor", Points: 4, Limit: 45 * time.Second},
	},
}
