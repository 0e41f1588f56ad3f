package training_test

import (
	"math"
	"testing"

	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/model"

	"github.com/flowbook/flowbook/flowlib"
	"github.com/flowbook/flowbook/flowlib/backend"
	"github.com/flowbook/flowbook/flowlib/training"
)

// TestWarmup reads Adam's learning rate after every step and compares it with
// the schedule: a linear rise from peak/100 over the warm-up steps, then the
// peak (no cosine) or half a cosine down to peak/100 over the other steps.
func TestWarmup(t *testing.T) {
	be, err := backend.Shared()
	if err != nil {
		t.Fatal(err)
	}
	trainSet, testSet := moons(t)
	testSet.N, testSet.Values = 16, testSet.Values[:32]
	const peak, steps = 1e-2, 30
	lo := peak / 100
	tests := []struct {
		name   string
		warmup int
		cosine bool
	}{
		{"warm-up, constant after", 10, false},
		{"warm-up, then cosine", 10, true},
		{"cosine only", 0, true},
		{"neither", 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			want := func(step int) float64 { // the rate of the step-th step, from 1
				s := float64(step - 1)
				if s < float64(tt.warmup) {
					return lo + (peak-lo)*s/float64(tt.warmup)
				}
				if !tt.cosine {
					return peak
				}
				frac := (s - float64(tt.warmup)) / float64(steps-tt.warmup)
				return lo + (peak-lo)*(1+math.Cos(math.Pi*frac))/2
			}
			store := model.NewStore()
			flow := flowlib.RealNVP(2).NumCouplings(2).Hidden(8).Done()
			var got []float64
			_, err := training.New(be, store, flow, trainSet).Steps(steps).BatchSize(32).LearningRate(peak).
				CosineSchedule(tt.cosine).Warmup(tt.warmup).Eval(testSet, 1).Log(nil).
				OnEval(func(p training.EvalPoint) {
					if p.Step > len(got) { // the final evaluation repeats the last step
						v := store.GetVariable("/optimizers/learning_rate")
						got = append(got, float64(tensors.ToScalar[float32](v.MustValue())))
					}
				}).Run()
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != steps {
				t.Fatalf("read %d learning rates, want %d", len(got), steps)
			}
			for i, g := range got {
				if w := want(i + 1); math.Abs(g-w) > 1e-6*peak+1e-4*w {
					t.Errorf("step %d: learning rate %.6g, want %.6g", i+1, g, w)
				}
			}
		})
	}
	for _, w := range []int{-1, 30, 31} {
		_, err := training.New(be, model.NewStore(), smallFlow(), trainSet).Steps(steps).Warmup(w).Log(nil).Run()
		if err == nil {
			t.Errorf("Warmup(%d) with %d steps: want an error", w, steps)
		}
	}
}
