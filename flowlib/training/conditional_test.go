package training_test

import (
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/gomlx/gomlx/ml/model"

	"github.com/flowbook/flowbook/flowlib"
	"github.com/flowbook/flowbook/flowlib/backend"
	"github.com/flowbook/flowbook/flowlib/data"
	"github.com/flowbook/flowbook/flowlib/flowcheck"
	"github.com/flowbook/flowbook/flowlib/inference"
	"github.com/flowbook/flowbook/flowlib/training"
)

// tiltedGaussian is a 2D density that changes with a context c in [−1, 1]:
// a Gaussian with standard deviations 1 and 0.2, centred at (1.5c, 0) and
// turned by the angle c·π/2, so that it slides and rotates as c goes.
type tiltedGaussian struct{}

func (tiltedGaussian) frame(c float64) (mx, my, cos, sin float64) {
	return 1.5 * c, 0, math.Cos(c * math.Pi / 2), math.Sin(c * math.Pi / 2)
}

// sample draws x | c.
func (g tiltedGaussian) sample(rng *rand.Rand, c float64) (x, y float64) {
	mx, my, cos, sin := g.frame(c)
	u, v := rng.NormFloat64(), 0.2*rng.NormFloat64()
	return mx + cos*u - sin*v, my + sin*u + cos*v
}

// logProb is log p(x | c).
func (g tiltedGaussian) logProb(x, y, c float64) float64 {
	mx, my, cos, sin := g.frame(c)
	dx, dy := x-mx, y-my
	u, v := cos*dx+sin*dy, -sin*dx+cos*dy
	return -0.5*(u*u+(v/0.2)*(v/0.2)) - math.Log(2*math.Pi*0.2)
}

// draw returns n points and their contexts; a fixed context if c is not NaN,
// else contexts uniform in [−1, 1].
func (g tiltedGaussian) draw(rng *rand.Rand, n int, c float64) (points, contexts *data.Samples) {
	points = &data.Samples{N: n, Dim: 2, Values: make([]float32, 2*n)}
	contexts = &data.Samples{N: n, Dim: 1, Values: make([]float32, n)}
	for i := range n {
		ci := c
		if math.IsNaN(c) {
			ci = 2*rng.Float64() - 1
		}
		x, y := g.sample(rng, ci)
		points.Values[2*i], points.Values[2*i+1] = float32(x), float32(y)
		contexts.Values[i] = float32(ci)
	}
	return points, contexts
}

// TestConditionalTraining fits a conditional RealNVP to the tilted Gaussian
// with training.Config.Context and checks, for three contexts, the KL from
// the true p(x | c) on fresh points: small for the right context, large when
// the flow is given another one, so the fit really depends on c.
func TestConditionalTraining(t *testing.T) {
	be, err := backend.Shared()
	if err != nil {
		t.Fatal(err)
	}
	var truth tiltedGaussian
	rng := rand.New(rand.NewPCG(1, 2))
	trainX, trainC := truth.draw(rng, 20000, math.NaN())
	testX, testC := truth.draw(rng, 2000, math.NaN())

	store := model.NewStore()
	store.SetParam(model.ParamInitialSeed, int64(1))
	flow := flowlib.RealNVP(2).NumCouplings(6).Hidden(32, 32).Activation("tanh").Done()
	res, err := training.New(be, store, flow, trainX).Context(trainC, testC).
		Steps(2500).BatchSize(256).LearningRate(3e-3).Eval(testX, 0).Run()
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%d steps, %.0f steps/s, test NLL %.3f nats", res.LastStep, res.StepsPerSecond, res.Evals[len(res.Evals)-1].NLL)

	for _, c := range []float64{-1, 0, 1} {
		x, _ := truth.draw(rng, 2000, c)
		kl := func(given float64) (mean, stdErr float64) {
			ctx := &data.Samples{N: x.N, Dim: 1, Values: make([]float32, x.N)}
			for i := range ctx.Values {
				ctx.Values[i] = float32(given)
			}
			logQ, err := inference.LogProbsWithContext(be, store, flow, x, ctx)
			if err != nil {
				t.Fatal(err)
			}
			gaps := make([]float64, x.N)
			for i := range gaps {
				gaps[i] = truth.logProb(float64(x.Values[2*i]), float64(x.Values[2*i+1]), c) - logQ[i]
			}
			return flowcheck.MeanStdErr(gaps)
		}
		right, rightErr := kl(c)
		wrong, wrongErr := kl(-c - 0.5)
		t.Logf("c = %+.0f: KL(p‖q) ≈ %.3f ± %.3f nats given c, %.2f ± %.2f given %+.1f", c, right, rightErr, wrong, wrongErr, -c-0.5)
		if right > 0.1 {
			t.Errorf("c = %g: KL from the true p(x | c) is %.3f ± %.3f nats, want < 0.1", c, right, rightErr)
		}
		if wrong < 1 {
			t.Errorf("c = %g: given another context the KL is only %.3f nats: the model hardly depends on c", c, wrong)
		}
	}
}

// TestContextConfigErrors checks that Run refuses contexts that do not go
// with the data before it trains anything.
func TestContextConfigErrors(t *testing.T) {
	be, _ := backend.Shared()
	rng := rand.New(rand.NewPCG(1, 2))
	trainX, trainC := tiltedGaussian{}.draw(rng, 64, math.NaN())
	testX, testC := tiltedGaussian{}.draw(rng, 32, math.NaN())
	short := &data.Samples{N: 10, Dim: 1, Values: make([]float32, 10)}
	wide := &data.Samples{N: 32, Dim: 2, Values: make([]float32, 64)}
	cases := []struct {
		name              string
		train, test       *data.Samples
		trainCtx, testCtx *data.Samples
		want              string
	}{
		{"short_train_context", trainX, testX, short, testC, "training: training data: 10 context rows for 64 examples"},
		{"test_context_missing", trainX, testX, trainC, nil, "training: test data: no context given"},
		{"train_context_missing", trainX, testX, nil, testC, "training: training data: no context given"},
		{"widths_differ", trainX, testX, trainC, wide, "the test context has 2 values per row, the training context 1"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			store := model.NewStore()
			flow := flowlib.RealNVP(2).NumCouplings(2).Hidden(8).Done()
			_, err := training.New(be, store, flow, tc.train).Context(tc.trainCtx, tc.testCtx).
				Eval(tc.test, 5).Steps(5).Log(nil).Run()
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got error %v, want one containing %q", err, tc.want)
			}
			if store.NumVariables() != 0 {
				t.Errorf("the refused run created %d variables", store.NumVariables())
			}
		})
	}
}
