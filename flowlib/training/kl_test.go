package training_test

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/gomlx/gomlx/ml/model"

	"github.com/flowbook/flowbook/flowlib"
	"github.com/flowbook/flowbook/flowlib/backend"
	"github.com/flowbook/flowbook/flowlib/data"
	"github.com/flowbook/flowbook/flowlib/training"
)

// TestKLToTrue compares KLToTrue with the KL computed directly, for flows
// whose density is known in closed form: an untrained RealNVP (the
// identity, so p_θ = N(0, I)), against samples of known densities.
func TestKLToTrue(t *testing.T) {
	be, err := backend.Shared()
	if err != nil {
		t.Fatal(err)
	}
	logStdNormal := func(x, y float64) float64 { return -0.5*(x*x+y*y) - math.Log(2*math.Pi) }
	normal := func(n int, scale float64) *data.Samples {
		rng := rand.New(rand.NewPCG(3, 4))
		s := &data.Samples{N: n, Dim: 2, Values: make([]float32, 2*n)}
		for i := range s.Values {
			s.Values[i] = float32(scale * rng.NormFloat64())
		}
		return s
	}
	logNormal := func(scale float64) func(x, y float64) float64 {
		return func(x, y float64) float64 { return logStdNormal(x/scale, y/scale) - 2*math.Log(scale) }
	}
	eight, err := data.Toy("8gaussians", 4000, 5)
	if err != nil {
		t.Fatal(err)
	}
	eightLog, _ := data.TrueLogDensity("8gaussians")
	tests := []struct {
		name    string
		samples *data.Samples
		logTrue func(x, y float64) float64
		exact   float64 // the exact KL, NaN where unknown
	}{
		// KL(N(0, s²I) ‖ N(0, I)) = 2·(−log s + (s² − 1)/2) in 2D.
		{"same density", normal(4000, 1), logNormal(1), 0},
		{"wider data", normal(20000, 1.5), logNormal(1.5), 2 * (-math.Log(1.5) + (1.5*1.5-1)/2)},
		{"narrower data", normal(20000, 0.5), logNormal(0.5), 2 * (-math.Log(0.5) + (0.5*0.5-1)/2)},
		{"8 gaussians", eight, eightLog, math.NaN()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			store := model.NewStore()
			flow := flowlib.RealNVP(2).NumCouplings(2).Hidden(8).Done()
			got, err := training.KLToTrue(be, store, flow, tt.samples, tt.logTrue)
			if err != nil {
				t.Fatal(err)
			}
			// The same estimate, computed here directly.
			var diffs []float64
			mean := 0.0
			for i := range tt.samples.N {
				x, y := float64(tt.samples.Values[2*i]), float64(tt.samples.Values[2*i+1])
				diffs = append(diffs, tt.logTrue(x, y)-logStdNormal(x, y))
				mean += diffs[i] / float64(tt.samples.N)
			}
			ss := 0.0
			for _, d := range diffs {
				ss += (d - mean) * (d - mean)
			}
			se := math.Sqrt(ss / float64(len(diffs)-1) / float64(len(diffs)))
			if math.Abs(got.KL-mean) > 1e-4*(1+math.Abs(mean)) || math.Abs(got.StdErr-se) > 1e-4*(1+se) {
				t.Errorf("KLToTrue = %.5f ± %.5f, direct computation %.5f ± %.5f", got.KL, got.StdErr, mean, se)
			}
			if math.Abs(got.ModelNLL-got.TrueNLL-got.KL) > 1e-9 || got.N != tt.samples.N {
				t.Errorf("ModelNLL %.4f − TrueNLL %.4f ≠ KL %.4f, or N %d ≠ %d", got.ModelNLL, got.TrueNLL, got.KL, got.N, tt.samples.N)
			}
			if !math.IsNaN(tt.exact) && math.Abs(got.KL-tt.exact) > 4*got.StdErr+1e-6 {
				t.Errorf("KL %.4f ± %.4f, exact value %.4f: more than 4 standard errors apart", got.KL, got.StdErr, tt.exact)
			}
		})
	}
	if _, err := training.KLToTrue(be, model.NewStore(), flowlib.RealNVP(2).Done(), eight, nil); err == nil {
		t.Error("KLToTrue without a true density: want an error")
	}
}
