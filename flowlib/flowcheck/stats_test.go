package flowcheck

import (
	"math"
	"testing"
)

func TestMeanStdErr(t *testing.T) {
	for _, tc := range []struct {
		name           string
		values         []float64
		wantMean, want float64 // want: the standard error; NaN when it cannot be estimated
	}{
		// Sample variance of 1, 2, 3, 4 is 5/3, so SE = sqrt(5/3/4).
		{"four values", []float64{1, 2, 3, 4}, 2.5, math.Sqrt(5.0 / 12)},
		{"constant values", []float64{7, 7, 7}, 7, 0},
		{"two values", []float64{-1, 1}, 0, 1},
		{"one value", []float64{3}, 3, math.NaN()},
		{"none", nil, math.NaN(), math.NaN()},
	} {
		t.Run(tc.name, func(t *testing.T) {
			mean, se := MeanStdErr(tc.values)
			same := func(got, want float64) bool {
				return math.IsNaN(got) && math.IsNaN(want) || math.Abs(got-want) < 1e-12
			}
			if !same(mean, tc.wantMean) || !same(se, tc.want) {
				t.Errorf("MeanStdErr(%v) = %v ± %v, want %v ± %v", tc.values, mean, se, tc.wantMean, tc.want)
			}
		})
	}
}
