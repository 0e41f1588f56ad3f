package flowlib_test

import (
	"fmt"
	"math"
	"testing"

	"github.com/gomlx/compute/dtypes"
	. "github.com/gomlx/gomlx/core/graph" //nolint:revive
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/model"

	"github.com/flowbook/flowbook/flowlib"
	"github.com/flowbook/flowbook/flowlib/flowcheck"
)

// TestConv2DMatchesDirectConvolution compares Conv2D, in both of its
// formulations (widening and narrowing the channels), with a direct
// convolution computed here in float64 from the same weights.
func TestConv2DMatchesDirectConvolution(t *testing.T) {
	be := testBackend(t)
	for _, tc := range []struct{ in, out, kernel int }{
		{3, 5, 3}, // widening: im2col
		{5, 2, 3}, // narrowing: multiply, then shift
		{4, 4, 3},
		{3, 2, 5},
		{3, 4, 1},
	} {
		t.Run(fmt.Sprintf("%d_to_%d_k%d", tc.in, tc.out, tc.kernel), func(t *testing.T) {
			const batch, height, width = 2, 5, 4
			x := flowcheck.RandomInput(dtypes.Float64, 1, 7, batch, height, width, tc.in)
			store := model.NewStore()
			store.SetParam(model.ParamInitialSeed, int64(3))
			// A first run creates the variables; the biases start at zero, so
			// they are set to other values before the run that is checked.
			model.MustExecOnce(be, store, func(scope *model.Scope, x *Node) *Node {
				return flowlib.Conv2D(scope.At("conv"), x, tc.out, tc.kernel)
			}, x)
			var weights, biases []float64
			for v := range store.IterVariables() {
				value, err := v.Value()
				if err != nil {
					t.Fatal(err)
				}
				switch v.Name() {
				case "weights":
					weights = tensors.MustCopyFlatData[float64](value)
				case "biases":
					biases = tensors.MustCopyFlatData[float64](value)
				}
			}
			if len(weights) != tc.kernel*tc.kernel*tc.in*tc.out || len(biases) != tc.out {
				t.Fatalf("variables: %d weights, %d biases", len(weights), len(biases))
			}
			for i := range biases {
				biases[i] = 0.1 * float64(i+1)
			}
			biasTensor := tensors.FromFlatDataAndDimensions(biases, tc.out)
			for v := range store.IterVariables() {
				if v.Name() == "biases" {
					if err := v.SetValue(biasTensor); err != nil {
						t.Fatal(err)
					}
				}
			}
			y := model.MustExecOnce(be, store, func(scope *model.Scope, x *Node) *Node {
				return flowlib.Conv2D(scope.At("conv"), x, tc.out, tc.kernel)
			}, x)
			got := tensors.MustCopyFlatData[float64](y)
			in := tensors.MustCopyFlatData[float64](x)
			r := tc.kernel / 2
			worst := 0.0
			for b := range batch {
				for i := range height {
					for j := range width {
						for o := range tc.out {
							want := biases[o]
							for dy := range tc.kernel {
								for dx := range tc.kernel {
									si, sj := i+dy-r, j+dx-r
									if si < 0 || si >= height || sj < 0 || sj >= width {
										continue
									}
									for c := range tc.in {
										want += in[((b*height+si)*width+sj)*tc.in+c] *
											weights[((dy*tc.kernel+dx)*tc.in+c)*tc.out+o]
									}
								}
							}
							worst = math.Max(worst, math.Abs(got[((b*height+i)*width+j)*tc.out+o]-want))
						}
					}
				}
			}
			if worst > 1e-12 {
				t.Errorf("Conv2D differs from the direct convolution by %.3g", worst)
			}
		})
	}
}
