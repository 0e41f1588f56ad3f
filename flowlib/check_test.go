package flowlib_test

import (
	"math"
	"strings"
	"testing"

	"github.com/gomlx/gomlx/core/tensors"

	"github.com/flowbook/flowbook/flowlib"
)

// TestCheckData64 checks that float64 data is checked as it is, not after
// rounding to float32: 3 + 1e-9 is not an integer pixel level, though
// float32 rounds it to 3, and 1 + 1e-12 is outside a Logit's [0, 1], though
// float32 rounds it to 1. The messages are those of CheckData.
func TestCheckData64(t *testing.T) {
	glow := flowlib.Glow(2, 2, 1).Levels(1).Steps(1).Done()
	if err := glow.CheckData64([]float64{0, 255, 17, 3}, 4); err != nil {
		t.Errorf("pixel values rejected: %v", err)
	}
	almost := []float64{0, 255, 17, 3 + 1e-9}
	if err := glow.CheckData([]float32{0, 255, 17, float32(almost[3])}, 4); err != nil {
		t.Fatalf("float32 check of the rounded values: %v; the test needs them accepted", err)
	}
	if err := glow.CheckData64(almost, 4); err == nil || !strings.Contains(err.Error(), "value 3.000000001 of example 0 (position 3) is not an integer in 0…255") {
		t.Errorf("CheckData64(%v): got %v, want an error naming 3.000000001 as not a pixel level", almost, err)
	}
	x := tensors.FromValue([][][][]float64{{{{0}, {1}}, {{2}, {3 + 1e-9}}}})
	if err := glow.CheckTensor(x); err == nil || !strings.Contains(err.Error(), "raw pixel values") {
		t.Errorf("CheckTensor of a float64 tensor: got %v, want the float64 value rejected", err)
	}

	logit := flowlib.NewFlow(flowlib.NewStandardNormal(2), flowlib.NewLogit(0.05))
	if err := logit.CheckData64([]float64{0, 1, 0.5, 1 + 1e-12}, 2); err == nil ||
		!strings.Contains(err.Error(), "value 1.000000000001 of example 1, coordinate 1 is outside [0, 1]") {
		t.Errorf("Logit CheckData64: got %v, want 1.000000000001 outside [0, 1]", err)
	}
	vector := flowlib.NewFlow(flowlib.NewStandardNormal(2), flowlib.NewActNorm(2))
	if err := vector.CheckData64([]float64{0.5, math.NaN()}, 2); err == nil || !strings.Contains(err.Error(), "non-finite value (NaN) in example 0, coordinate 1") {
		t.Errorf("vector CheckData64 of NaN: got %v, want the non-finite value named", err)
	}
	if err := vector.CheckData64([]float64{0.5, 1e300}, 2); err != nil {
		t.Errorf("vector CheckData64 of 1e300, finite in float64: %v", err)
	}
}
