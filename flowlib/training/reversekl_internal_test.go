package training

import (
	"math"
	"testing"
)

// The estimates from log-weights, on cases worked out by hand; huge
// log-weights must not overflow.
func TestLogZFromLogWeights(t *testing.T) {
	close := func(got, want float64) bool { return math.Abs(got-want) < 1e-9*max(1, math.Abs(want)) }
	// w = {1, 3}: Ẑ = 2, sample sd of w = √2, so se(log Ẑ) = √2/(√2·2) = 0.5; ESS = 16/10.
	for _, shift := range []float64{0, 1000, -1000} {
		e := logZFromLogWeights([]float64{shift, shift + math.Log(3)})
		if !close(e.LogZ, shift+math.Log(2)) || !close(e.LogZStdErr, 0.5) || !close(e.ESS, 1.6) ||
			!close(e.Loss, -shift-math.Log(3)/2) || !close(e.LossStdErr, math.Log(3)/2) {
			t.Errorf("log-weights {%g, %g + log 3}: got %+v; want LogZ %g, LogZStdErr 0.5, ESS 1.6, Loss %g ± %g",
				shift, shift, e, shift+math.Log(2), -shift-math.Log(3)/2, math.Log(3)/2)
		}
	}
	// Equal weights: q = p up to Z; no spread, ESS = N.
	if e := logZFromLogWeights([]float64{-2, -2, -2, -2}); !close(e.LogZ, -2) || e.LogZStdErr != 0 || !close(e.ESS, 4) {
		t.Errorf("equal log-weights −2: got %+v, want LogZ −2 with no error and ESS 4", e)
	}
}
