package coupling

import "github.com/flowbook/flowbook/flowlib"

// AlternatingStack returns a flowlib.Chain of k flowlib.AffineCoupling layers
// (flowlib.NewAffineCoupling) on vectors of size dim, all with the given
// conditioner (each layer gets its own weights in the chain). Layer 0 uses
// flowlib.HalfMask(dim), layer 1 its flip, layer 2 HalfMask(dim) again, and
// so on: each layer transforms the coordinates the previous one kept.
//
// With the same mask in every layer, the kept coordinates would never change
// (z_a = x_a), and the stack would be no more expressive than one coupling.
// With alternating masks and k >= 3, every output coordinate depends on every
// input coordinate.
func AlternatingStack(k, dim int, conditioner flowlib.Conditioner) *flowlib.Chain {
	// TODO(exercise): build the k layers, flipping the mask after each one.
	return nil
}
