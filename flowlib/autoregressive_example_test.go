package flowlib_test

import (
	"fmt"
	"strings"

	"github.com/flowbook/flowbook/flowlib"
)

// MADE's masks for 3 values in the order 2, 0, 1, one hidden layer of 4
// units and one parameter per value: row i of a mask is input (or hidden
// unit) i, column j the unit it may feed.
func ExampleMADENet_Masks() {
	made := flowlib.MADE(4).Order(2, 0, 1).Done()
	input, hidden := made.Degrees(3, 0)
	fmt.Println("degrees:", input, hidden)
	for l, mask := range made.Masks(3, 0, 1) {
		fmt.Printf("layer %d:", l)
		for _, row := range mask {
			fmt.Print(" ")
			for _, on := range row {
				if on {
					fmt.Print("1")
				} else {
					fmt.Print("0")
				}
			}
		}
		fmt.Println()
	}
	// Output:
	// degrees: [2 3 1] [[1 2 1 2]]
	// layer 0: 0101 0000 1111
	// layer 1: 110 010 110 010
}

// The layers of an autoregressive neural spline flow and of a coupling one:
// permutations between spline layers.
func ExampleNSF() {
	for _, config := range []*flowlib.VectorFlowConfig{
		flowlib.NSF(2).NumLayers(2).Bins(8).Bound(4),
		flowlib.NSF(2).NumLayers(2).Wrapper(flowlib.WrapCoupling).Permutation(flowlib.PermuteRandom, 1),
	} {
		chain := config.Bijector()
		var names []string
		for i := range chain.Layers {
			names = append(names, chain.LayerScopeName(i))
		}
		fmt.Println(strings.Join(names, " "))
	}
	// Output:
	// 00_spline_maf 01_reverse 02_spline_maf
	// 00_spline_coupling 01_permutation 02_spline_coupling
}
