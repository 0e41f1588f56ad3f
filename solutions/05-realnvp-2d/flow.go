package realnvp

import "github.com/flowbook/flowbook/flowlib"

// NewRealNVP2D returns a RealNVP flow for 2D points, built from flowlib's
// pieces:
//
//   - base: flowlib.NewStandardNormal(2);
//   - bijector: a flowlib.Chain of 2·couplings layers, a block of two layers per
//     coupling: flowlib.NewActNorm(2), then flowlib.NewAffineCoupling(mask,
//     conditioner), in this order;
//   - masks: flowlib.HalfMask(2) ("10": keep x₁, move x₂) in the first block,
//     its flip ("01") in the second, and alternating from there, so that each
//     coupling moves the coordinate the previous one kept;
//   - conditioner: flowlib.MLP(hidden...).Done(), the same Conditioner for every
//     coupling (each coupling gets its own weights in its own scope).
//
// flowlib.NewFlow(base, layers...) assembles the flow. The grader trains
// NewRealNVP2D(6, 32, 32) on moons.
func NewRealNVP2D(couplings int, hidden ...int) *flowlib.Flow {
	conditioner := flowlib.MLP(hidden...).Done()
	mask := flowlib.HalfMask(2)
	var layers []flowlib.Bijector
	for range couplings {
		layers = append(layers, flowlib.NewActNorm(2), flowlib.NewAffineCoupling(mask, conditioner))
		mask = mask.Flip() // the next coupling moves the coordinate this one kept
	}
	return flowlib.NewFlow(flowlib.NewStandardNormal(2), layers...)
}
