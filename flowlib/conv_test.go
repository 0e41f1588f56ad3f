package flowlib_test

import (
	"fmt"
	"math"
	"strings"
	"testing"

	"github.com/gomlx/compute/dtypes"
	. "github.com/gomlx/gomlx/core/graph" //nolint:revive
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/model"
	"github.com/gomlx/gomlx/support/exceptions"

	"github.com/flowbook/flowbook/flowlib"
	"github.com/flowbook/flowbook/flowlib/flowcheck"
)

// convForms lists the values of ParamConvForm: each must compute the same
// function on every backend.
var convForms = []string{flowlib.ConvFormAuto, flowlib.ConvFormMatMul, flowlib.ConvFormBuiltIn}

// TestConv2DMatchesDirectConvolution compares Conv2D, in each of its forms
// (the built-in convolution, and the matrix product that widens or narrows
// the channels), with a direct convolution computed here in float64 from the
// same weights.
func TestConv2DMatchesDirectConvolution(t *testing.T) {
	be := testBackend(t)
	for _, tc := range []struct {
		form            string
		in, out, kernel int
	}{
		{flowlib.ConvFormMatMul, 3, 5, 3}, // widening: im2col
		{flowlib.ConvFormMatMul, 5, 2, 3}, // narrowing: multiply, then shift
		{flowlib.ConvFormMatMul, 4, 4, 3},
		{flowlib.ConvFormMatMul, 3, 2, 5},
		{flowlib.ConvFormMatMul, 3, 4, 1},
		{flowlib.ConvFormBuiltIn, 3, 5, 3},
		{flowlib.ConvFormBuiltIn, 5, 2, 3},
		{flowlib.ConvFormBuiltIn, 3, 2, 5},
		{flowlib.ConvFormBuiltIn, 3, 4, 1},
		{flowlib.ConvFormAuto, 5, 2, 3},
	} {
		t.Run(fmt.Sprintf("%s/%d_to_%d_k%d", tc.form, tc.in, tc.out, tc.kernel), func(t *testing.T) {
			const batch, height, width = 2, 5, 4
			x := flowcheck.RandomInput(dtypes.Float64, 1, 7, batch, height, width, tc.in)
			store := model.NewStore()
			store.SetParam(model.ParamInitialSeed, int64(3))
			store.SetParam(flowlib.ParamConvForm, tc.form)
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

// TestConv2DFormsAgree checks that Conv2D's forms are the same function with
// the same gradients: the output of a small conditioner-like stack (3×3
// widening, 3×3 narrowing) and the gradients of a loss with respect to the
// input and every weight must agree between the forms, in float64.
func TestConv2DFormsAgree(t *testing.T) {
	be := testBackend(t)
	x := flowcheck.RandomInput(dtypes.Float64, 1, 11, 3, 6, 6, 2)
	results := map[string][][]float64{}
	for _, form := range convForms {
		store := model.NewStore()
		store.SetParam(model.ParamInitialSeed, int64(5))
		store.SetParam(flowlib.ParamConvForm, form)
		outs := model.MustCallOnceN(be, store, func(scope *model.Scope, x *Node) []*Node {
			h := flowlib.Conv2D(scope.At("widen"), x, 6, 3)
			y := flowlib.Conv2D(scope.At("narrow"), Tanh(h), 2, 3)
			loss := ReduceAllSum(Mul(y, Sin(y)))
			wWiden := scope.At("widen").GetVariable("weights").NodeValue(x.Graph())
			wNarrow := scope.At("narrow").GetVariable("weights").NodeValue(x.Graph())
			return append([]*Node{y}, Gradient(loss, x, wWiden, wNarrow)...)
		}, x)
		for _, o := range outs {
			results[form] = append(results[form], tensors.MustCopyFlatData[float64](o))
		}
	}
	names := []string{"output", "d loss/d input", "d loss/d widening weights", "d loss/d narrowing weights"}
	reference := results[flowlib.ConvFormMatMul]
	for _, form := range convForms {
		for i, name := range names {
			worst := 0.0
			for j, v := range results[form][i] {
				worst = math.Max(worst, math.Abs(v-reference[i][j]))
			}
			if worst > 1e-10 {
				t.Errorf("%s: form %q differs from %q by %.3g", name, form, flowlib.ConvFormMatMul, worst)
			}
		}
	}
}

// TestConv2DRejectsUnknownForm checks that a misspelt ParamConvForm names
// the valid values instead of silently picking one.
func TestConv2DRejectsUnknownForm(t *testing.T) {
	store := model.NewStore()
	store.SetParam(flowlib.ParamConvForm, "im2col")
	x := flowcheck.RandomInput(dtypes.Float32, 1, 1, 1, 4, 4, 2)
	err := exceptions.TryCatch[error](func() {
		model.MustExecOnce(testBackend(t), store, func(scope *model.Scope, x *Node) *Node {
			return flowlib.Conv2D(scope, x, 2, 3)
		}, x)
	})
	if err == nil || !strings.Contains(err.Error(), `conv_form = "im2col"`) || !strings.Contains(err.Error(), `"builtin"`) {
		t.Fatalf("an unknown conv form gave error %v, want one naming it and the valid forms", err)
	}
}
