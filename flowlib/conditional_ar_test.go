package flowlib_test

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/gomlx/compute/dtypes"
	"github.com/gomlx/gomlx/ml/model"

	"github.com/flowbook/flowbook/flowlib"
	"github.com/flowbook/flowbook/flowlib/data"
	"github.com/flowbook/flowbook/flowlib/flowcheck"
	"github.com/flowbook/flowbook/flowlib/inference"
	"github.com/flowbook/flowbook/flowlib/training"
)

// TestConditionalVectorFlows gives MAF, IAF and NSF (both wrappers) a
// one-number context and checks, for two contexts, that each inverts with
// the exact log-det, and that the density changes with the context (it
// reaches the conditioners).
func TestConditionalVectorFlows(t *testing.T) {
	be := testBackend(t)
	for _, tc := range []struct {
		name   string
		config *flowlib.VectorFlowConfig
	}{
		{"maf", flowlib.MAF(2).NumLayers(2).Hidden(8).Activation("tanh")},
		{"iaf", flowlib.IAF(2).NumLayers(2).Hidden(8).Activation("tanh")},
		{"nsf_ar", flowlib.NSF(2).NumLayers(2).Hidden(8).Bins(4).Bound(3)},
		{"nsf_c", flowlib.NSF(2).NumLayers(2).Hidden(8).Bins(4).Bound(3).Wrapper(flowlib.WrapCoupling)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			flow := tc.config.Done()
			a, b := givenContext{flow, []float64{0.7}}, givenContext{flow, []float64{-1.3}}
			store := randomized(t, be, a, 0.3)
			x := flowcheck.RandomInput(dtypes.Float64, 4, 3, 16, 2)
			for _, g := range []givenContext{a, b} {
				s, err := flowcheck.Summarize(be, store, g, x)
				if err != nil {
					t.Fatal(err)
				}
				if s.RoundTrip > 1e-9 || s.LogDetSum > 1e-9 || s.LogDetError > 1e-9 || math.IsNaN(s.LogDetError) {
					t.Errorf("context %v: %s; want all below 1e-9", g.row, s)
				}
				t.Logf("context %v: %s", g.row, s)
			}
			if d := maxAbsDiff(a.logProb(be, store, x), b.logProb(be, store, x)); d < 1e-3 {
				t.Errorf("log p(x | c) changes by at most %.2g between two contexts: the context does not reach the layers", d)
			}
		})
	}
}

// rotatedMoons draws n points of the moons turned by the angle c·π/2 about
// the origin, with c uniform in [−1, 1] (or fixed, if c is not NaN).
func rotatedMoons(t *testing.T, n int, c float64, seed uint64) (points, contexts *data.Samples) {
	t.Helper()
	moons, err := data.Toy("moons", n, seed)
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(seed, 99))
	contexts = &data.Samples{N: n, Dim: 1, Values: make([]float32, n)}
	for i := range n {
		ci := c
		if math.IsNaN(c) {
			ci = 2*rng.Float64() - 1
		}
		cos, sin := math.Cos(ci*math.Pi/2), math.Sin(ci*math.Pi/2)
		x, y := float64(moons.Values[2*i]), float64(moons.Values[2*i+1])
		moons.Values[2*i], moons.Values[2*i+1] = float32(cos*x-sin*y), float32(sin*x+cos*y)
		contexts.Values[i] = float32(ci)
	}
	return moons, contexts
}

// TestRotatedMoons fits a conditional NSF to moons whose angle is the
// context, and checks that for each of three angles the model gives the
// moons turned by that angle a clearly higher likelihood when it is told
// that angle than when it is told another: the density turns with c.
func TestRotatedMoons(t *testing.T) {
	if testing.Short() {
		t.Skip("trains a model")
	}
	be := testBackend(t)
	trainX, trainC := rotatedMoons(t, 10000, math.NaN(), 1)
	testX, testC := rotatedMoons(t, 1000, math.NaN(), 2)
	store := model.NewStore()
	store.SetParam(model.ParamInitialSeed, int64(1))
	flow := flowlib.NSF(2).NumLayers(3).Hidden(32, 32).Bins(6).Bound(4).Done()
	res, err := training.New(be, store, flow, trainX).Context(trainC, testC).
		Steps(800).BatchSize(256).LearningRate(3e-3).Eval(testX, 0).Log(nil).Run()
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%d steps, %.0f steps/s, test NLL %.3f nats", res.LastStep, res.StepsPerSecond, res.Evals[len(res.Evals)-1].NLL)
	for _, c := range []float64{-1, 0, 0.5} {
		x, _ := rotatedMoons(t, 1000, c, 3)
		meanLogProb := func(given float64) float64 {
			ctx := &data.Samples{N: x.N, Dim: 1, Values: make([]float32, x.N)}
			for i := range ctx.Values {
				ctx.Values[i] = float32(given)
			}
			lp, err := inference.LogProbsWithContext(be, store, flow, x, ctx)
			if err != nil {
				t.Fatal(err)
			}
			mean, _ := flowcheck.MeanStdErr(lp)
			return mean
		}
		other := c + 1
		if other > 1 {
			other -= 2
		}
		right, wrong := meanLogProb(c), meanLogProb(other)
		t.Logf("moons at angle %+.2f·π/2: mean log p %.3f given it, %.3f given %+.2f", c, right, wrong, other)
		if right-wrong < 1 {
			t.Errorf("angle %g: the right context gains only %.3f nats over another: the density hardly turns with c", c, right-wrong)
		}
	}
}
