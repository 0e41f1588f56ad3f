package notebook

import (
	"fmt"
	"math"

	"github.com/flowbook/flowbook/flowlib/plot"
	"github.com/flowbook/flowbook/flowlib/training"
)

// NLLChart returns a live [Curve] of held-out negative log-likelihood, in
// nats against the training step, 560×280 px. Its y range is fixed to
// [lo, hi] so that a rare spike does not squash the rest of the curve;
// evaluations outside it are marked on the chart's edge and counted in a
// note ([plot.MarkOffChart]), so every one of them stays visible. Unless
// floor is NaN, a dashed line at floor, labelled floorLabel, shows a bound
// such as the NLL of the true density.
func NLLChart(title string, lo, hi, floor float64, floorLabel string) *Curve {
	return NewCurve(func() *plot.Figure {
		f := plot.New().Size(560, 280).Title(title).XLabel("step").YLabel("NLL (nats)").
			YRange(lo, hi).MarkOffChart()
		if !math.IsNaN(floor) {
			f.HLine(floor, plot.Dashed(), plot.Color("#555"), plot.Label(floorLabel))
		}
		return f
	})
}

// TrainRun is what [TrainTracked] returns: the run's result, and its held-out
// NLL before training, at the last evaluation and at the best one, in nats.
type TrainRun struct {
	*training.Result
	Before, Last, Best float64
}

// String summarises the run in one line, e.g. "5000 steps in 24.9 s (211
// steps/s); held-out NLL 3.900 nats before training, 2.276 after (best 2.274)".
func (r *TrainRun) String() string {
	return fmt.Sprintf("%d steps in %.1f s (%.0f steps/s); held-out NLL %.3f nats before training, %.3f after (best %.3f)",
		r.LastStep-r.FirstStep, r.Duration.Seconds(), r.StepsPerSecond, r.Before, r.Last, r.Best)
}

// TrainTracked runs cfg, which must evaluate on held-out data
// ([training.Config.Eval]), and adds every evaluation to the named series of
// curve, after the point (0, before): the held-out NLL before training,
// which the caller measures (e.g. with [inference.MeanLogProb]). It does not
// call curve.Done, so that several runs can share one chart.
func TrainTracked(cfg *training.Config, curve *Curve, series string, before float64) (*TrainRun, error) {
	curve.Add(series, 0, before)
	res, err := cfg.OnEval(func(p training.EvalPoint) { curve.Add(series, float64(p.Step), p.NLL) }).Run()
	if err != nil {
		return nil, err
	}
	if len(res.Evals) == 0 {
		return nil, fmt.Errorf("notebook: TrainTracked: the run made no evaluation; set Eval on its config")
	}
	run := &TrainRun{Result: res, Before: before, Last: res.Evals[len(res.Evals)-1].NLL, Best: before}
	for _, e := range res.Evals {
		run.Best = min(run.Best, e.NLL)
	}
	return run, nil
}
