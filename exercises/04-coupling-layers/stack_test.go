package coupling

import (
	"fmt"
	"math"
	"strings"
	"testing"

	"github.com/gomlx/gomlx/ml/model"

	"github.com/flowbook/flowbook/exercises/internal/grading"
	"github.com/flowbook/flowbook/flowlib"
	"github.com/flowbook/flowbook/flowlib/flowcheck"
)

// stackMasks returns the masks of the chain's layers, ending the check if a
// layer is not a flowlib.AffineCoupling.
func stackMasks(c *grading.C, chain *flowlib.Chain) []string {
	masks := make([]string, len(chain.Layers))
	for i, layer := range chain.Layers {
		coupling, ok := layer.(*flowlib.AffineCoupling)
		if !ok {
			c.Fatalf("%s", grading.Explain(fmt.Sprintf("layer %d of the stack", i), "a *flowlib.AffineCoupling",
				fmt.Sprintf("%T", layer), "build each layer with flowlib.NewAffineCoupling(mask, conditioner)"))
		}
		masks[i] = coupling.Mask.String()
	}
	return masks
}

func TestSwappedHalves(t *testing.T) {
	grading.Run(t, func(c *grading.C) {
		const k, dim = 3, 4
		chain := AlternatingStack(k, dim, flowlib.MLP(8).Activation("tanh").Done())
		if chain == nil {
			c.Fatalf("%s", grading.Explain("AlternatingStack(3, 4, conditioner)", "a chain of 3 couplings", "nil",
				"AlternatingStack still returns nil: is it still the stub? Write its body (see its doc comment)"))
		}
		if len(chain.Layers) != k {
			c.Fatalf("%s", grading.Explain("AlternatingStack(3, 4, conditioner): the number of layers", "3",
				fmt.Sprint(len(chain.Layers)), "build exactly k couplings, one per mask: HalfMask, its flip, HalfMask, ..."))
		}
		masks := stackMasks(c, chain)

		// Every output must depend on every input: no exact zero in ∂z/∂x.
		store := model.NewStore()
		store.SetParam(model.ParamInitialSeed, int64(2))
		x := flowcheck.RandomInput(grading.Float64, 1.5, 11, 3, dim)
		c.NoError(flowcheck.RandomizeVariables(c.Backend(), store, chain, x, 0.5, 4),
			"running your stack on 3 random points", "each layer must be a coupling on vectors of size dim")
		jac, _, err := flowcheck.Jacobian(c.Backend(), store, chain, x)
		c.NoError(err, "the brute-force Jacobian of your stack", "each layer must be a coupling on vectors of size dim")
		var zeros []string
		for i := range dim {
			for j := range dim {
				for e := range jac {
					if math.Abs(jac[e][i][j]) < 1e-12 {
						zeros = append(zeros, fmt.Sprintf("∂z%d/∂x%d", i+1, j+1))
						break
					}
				}
			}
		}
		if len(zeros) > 0 {
			hint := "alternate the masks: HalfMask(dim) in layer 0, its Flip() in layer 1, and so on"
			if masks[0] == masks[1] && masks[1] == masks[2] {
				hint = fmt.Sprintf("every layer uses the same mask %s: the kept coordinates are never transformed "+
					"(z_a = x_a). Flip the mask after each layer (mask = mask.Flip())", masks[0])
			}
			c.Errorf("%s", grading.Explain(
				"every output of 3 couplings on 4 coordinates depends on every input: no zero entry in ∂z/∂x (brute-force Jacobian)",
				"16 non-zero entries", fmt.Sprintf("%d zero entries: %s (masks %s)", len(zeros), strings.Join(zeros, " "),
					strings.Join(masks, ", ")), hint))
		}

		// The exact sequence of masks, on an odd dimension too.
		for _, tc := range []struct{ k, dim int }{{3, 4}, {4, 5}, {1, 2}, {2, 3}, {8, 9}} {
			var want []string
			mask := flowlib.HalfMask(tc.dim)
			for range tc.k {
				want = append(want, mask.String())
				mask = mask.Flip()
			}
			got := stackMasks(c, AlternatingStack(tc.k, tc.dim, flowlib.MLP(8).Done()))
			if strings.Join(got, " ") != strings.Join(want, " ") {
				hint := "layer 0 uses flowlib.HalfMask(dim), and each following layer flips the previous layer's mask"
				if len(got) != len(want) {
					hint = "build exactly k couplings"
				} else if len(got) > 1 && got[0] == got[1] {
					hint = "the mask is not flipped between layers: flip it after each layer (mask = mask.Flip())"
				}
				c.Errorf("%s", grading.Explain(fmt.Sprintf("the masks of AlternatingStack(%d, %d, ...), layer by layer", tc.k, tc.dim),
					strings.Join(want, " "), strings.Join(got, " "), hint))
				return
			}
		}
	})
}
