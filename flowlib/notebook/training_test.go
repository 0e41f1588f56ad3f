package notebook

import (
	"math"
	"strings"
	"testing"

	"github.com/gomlx/gomlx/ml/model"

	"github.com/flowbook/flowbook/flowlib"
	"github.com/flowbook/flowbook/flowlib/backend"
	"github.com/flowbook/flowbook/flowlib/data"
	"github.com/flowbook/flowbook/flowlib/inference"
	"github.com/flowbook/flowbook/flowlib/training"
)

func TestNLLChartMarksWhatLeavesIt(t *testing.T) {
	tests := []struct {
		name      string
		floor     float64
		ys        []float64
		wantNotes []string
		wantFloor bool
	}{
		{"all inside", 2.1, []float64{3, 2.5, 2.3}, nil, true},
		{"a spike", 2.1, []float64{3, 40, 2.3}, []string{"▲ 1 above the chart, up to 40"}, true},
		{"no floor", math.NaN(), []float64{3, 1, 2.3}, []string{"▼ 1 below the chart, down to 1"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := NLLChart("held-out NLL", 2, 4, tt.floor, "true density")
			for i, y := range tt.ys {
				c.Add("RealNVP", float64(100*i), y)
			}
			svg := c.Figure().SVG()
			for _, note := range tt.wantNotes {
				// The note is in the series' colour; the legend names the series.
				if !strings.Contains(svg, note) {
					t.Errorf("SVG lacks the note %q", note)
				}
			}
			if n := strings.Count(svg, "the chart,"); n != len(tt.wantNotes) {
				t.Errorf("%d notes, want %d", n, len(tt.wantNotes))
			}
			if got := strings.Contains(svg, "true density"); got != tt.wantFloor {
				t.Errorf("floor line shown: %v, want %v", got, tt.wantFloor)
			}
		})
	}
}

func TestTrainTracked(t *testing.T) {
	be, err := backend.Shared()
	if err != nil {
		t.Fatal(err)
	}
	all, err := data.Toy("moons", 1200, 1)
	if err != nil {
		t.Fatal(err)
	}
	trainSet, testSet := all.Split(0.25, 2)
	store := model.NewStore()
	flow := flowlib.RealNVP(2).NumCouplings(2).Hidden(16).Done()
	before, err := inference.MeanLogProb(be, store, flow, testSet)
	if err != nil {
		t.Fatal(err)
	}
	curve := NLLChart("moons", 0, 5, math.NaN(), "")
	run, err := TrainTracked(training.New(be, store, flow, trainSet).Steps(60).LearningRate(5e-3).Eval(testSet, 20).Log(nil),
		curve, "RealNVP", -before)
	if err != nil {
		t.Fatal(err)
	}
	if len(run.Evals) != 3 {
		t.Fatalf("%d evaluations, want 3 (steps 20, 40, 60)", len(run.Evals))
	}
	if xs := curve.xs["RealNVP"]; len(xs) != 4 || xs[0] != 0 || xs[3] != 60 {
		t.Errorf("curve steps %v, want [0 20 40 60]", xs)
	}
	best := math.Inf(1)
	for _, e := range run.Evals {
		best = min(best, e.NLL)
	}
	if run.Before != -before || run.Last != run.Evals[2].NLL || run.Best != min(best, -before) {
		t.Errorf("before %.3f last %.3f best %.3f; evals %+v", run.Before, run.Last, run.Best, run.Evals)
	}
	if !(run.Last < run.Before) {
		t.Errorf("held-out NLL %.3f after 60 steps, %.3f before: want it lower", run.Last, run.Before)
	}
	if s := run.String(); !strings.Contains(s, "60 steps in") || !strings.Contains(s, "before training") {
		t.Errorf("String() = %q", s)
	}
	// Without evaluations there is nothing to track.
	if _, err := TrainTracked(training.New(be, model.NewStore(), flow, trainSet).Steps(2).Log(nil), curve, "x", 0); err == nil {
		t.Error("TrainTracked without Eval: want an error")
	}
}
