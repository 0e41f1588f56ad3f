package vae_test

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	. "github.com/gomlx/gomlx/core/graph" //nolint:revive
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/model"

	"github.com/flowbook/flowbook/flowlib/backend"
	"github.com/flowbook/flowbook/flowlib/data"
	"github.com/flowbook/flowbook/flowlib/vae"
)

// Probabilistic PCA in 3D with a 2D latent: z ∼ N(0, I), x = W z + b + σ·noise,
// so p(x) = N(b, W Wᵀ + σ² I) exactly. W's columns w_k are orthogonal, so
// Wᵀ W = diag(d_k) and the true posterior is diagonal,
// q*(z|x) = N(μ, diag s²) with μ_k = w_k·(x − b)/(d_k + σ²) and
// s_k² = σ²/(d_k + σ²): an affine encoder (New(...).Hidden()) can be exact.
var (
	ppcaW     = [3][2]float64{{1.0, -0.4}, {0.5, 0.8}, {-0.5, 0}} // columns (1, 0.5, −0.5) and (−0.4, 0.8, 0)
	ppcaB     = [3]float64{0.2, -0.1, 0.3}
	ppcaSigma = 0.5
)

// ppcaD is d_k = |w_k|².
func ppcaD(k int) float64 {
	var d float64
	for j := range 3 {
		d += ppcaW[j][k] * ppcaW[j][k]
	}
	return d
}

// ppcaLogP is log p(x) in closed form: with C = W Wᵀ + σ² I,
// log det C = 2(D − K) log σ + Σ_k log(d_k + σ²) and
// C⁻¹ = (I − Σ_k w_k w_kᵀ/(d_k + σ²))/σ² (Woodbury).
func ppcaLogP(x []float32) float64 {
	s2 := ppcaSigma * ppcaSigma
	var r [3]float64
	quad := 0.0
	for j := range 3 {
		r[j] = float64(x[j]) - ppcaB[j]
		quad += r[j] * r[j]
	}
	logDet := 2 * (3 - 2) * math.Log(ppcaSigma)
	for k := range 2 {
		dot := 0.0
		for j := range 3 {
			dot += ppcaW[j][k] * r[j]
		}
		quad -= dot * dot / (ppcaD(k) + s2)
		logDet += math.Log(ppcaD(k) + s2)
	}
	return -0.5 * (quad/s2 + logDet + 3*math.Log(2*math.Pi))
}

// ppcaPoints are n points of the model and their log p(x).
func ppcaPoints(n int, seed uint64) (*data.Samples, []float64) {
	rng := rand.New(rand.NewPCG(seed, 3))
	s := &data.Samples{N: n, Dim: 3, Values: make([]float32, 3*n)}
	logP := make([]float64, n)
	for i := range n {
		z := [2]float64{rng.NormFloat64(), rng.NormFloat64()}
		for j := range 3 {
			s.Values[3*i+j] = float32(ppcaW[j][0]*z[0] + ppcaW[j][1]*z[1] + ppcaB[j] + ppcaSigma*rng.NormFloat64())
		}
		logP[i] = ppcaLogP(s.Row(i))
	}
	return s, logP
}

// ppcaModel returns vae.New(3).Latent(2).Hidden() with its variables set in
// a new store: the decoder to the PPCA model, the encoder to the true
// posterior distorted by meanScale, meanShift and logStdShift (1, 0, 0:
// exact).
func ppcaModel(t *testing.T, meanScale, meanShift, logStdShift float64) (*model.Store, *vae.Model) {
	t.Helper()
	const bound = 6 // the default LogStdBound: log σ = 6·tanh(r/6)
	m := vae.New(3).Latent(2).Hidden().Done()
	store := model.NewStore()
	s2 := ppcaSigma * ppcaSigma
	encW := make([][]float32, 3) // x [3] → (μ_1, μ_2, r_1, r_2)
	for j := range encW {
		encW[j] = make([]float32, 4)
	}
	encB := make([]float32, 4)
	for k := range 2 {
		c := ppcaD(k) + s2
		wb := 0.0
		for j := range 3 {
			encW[j][k] = float32(meanScale * ppcaW[j][k] / c)
			wb += ppcaW[j][k] * ppcaB[j]
		}
		encB[k] = float32(-meanScale*wb/c + meanShift)
		logStd := 0.5*math.Log(s2/c) + logStdShift
		encB[2+k] = float32(bound * math.Atanh(logStd/bound))
	}
	decW := make([][]float32, 2) // z [2] → μ_x [3]
	for k := range decW {
		decW[k] = make([]float32, 3)
		for j := range 3 {
			decW[k][j] = float32(ppcaW[j][k])
		}
	}
	decB := []float32{float32(ppcaB[0]), float32(ppcaB[1]), float32(ppcaB[2])}
	raw := float32(ppcaSigma - 0.01 + math.Log(-math.Expm1(-(ppcaSigma - 0.01)))) // softplus(raw) + 0.01 = σ
	for path, value := range map[string]any{
		"/encoder/output/dense/weights": encW, "/encoder/output/dense/biases": encB,
		"/decoder/output/dense/weights": decW, "/decoder/output/dense/biases": decB,
		"/decoder/raw_std": []float32{raw, raw, raw},
	} {
		store.VariableWithValue(path, value)
	}
	return store, m
}

// checkPPCAVariables fails unless the model's graphs used exactly the
// variables ppcaModel set (so none was created at random beside them).
func checkPPCAVariables(t *testing.T, store *model.Store) {
	t.Helper()
	n := 0
	for v := range store.IterVariables() {
		if v.Trainable {
			n++
		}
	}
	if n != 5 {
		var paths []string
		for v := range store.IterVariables() {
			paths = append(paths, v.Path())
		}
		t.Errorf("the PPCA model's store holds %d trainable variables, want the 5 set by the test: %v", n, paths)
	}
}

// (a) With the true posterior as encoder, log p(x, z) − log q(z|x) = log p(x)
// for every z: IWAE_1 (the one-sample ELBO with the sampled KL) and
// Model.IWAE equal the closed-form log p(x) point by point, and the
// closed-form-KL ELBO does in the mean.
func TestBoundsExactWithTruePosterior(t *testing.T) {
	be := backend.MustShared()
	store, m := ppcaModel(t, 1, 0, 0)
	points, logP := ppcaPoints(500, 7)
	iwae1, err := vae.IWAEs(be, store, m, points, 1, 3)
	if err != nil {
		t.Fatal(err)
	}
	checkPPCAVariables(t, store)
	worst := 0.0
	for i := range logP {
		worst = max(worst, math.Abs(iwae1[i]-logP[i]))
	}
	t.Logf("true posterior: max |IWAE_1 − log p(x)| over %d points = %.2g", points.N, worst)
	if worst > 1e-4 {
		t.Errorf("max |IWAE_1 − log p(x)| with the true posterior: %.2g, want < 1e-4", worst)
	}
	// Model.IWAE draws its k samples in the graph; every log-weight is log p(x).
	inGraph := tensors.MustCopyFlatData[float32](model.MustExecOnce(be, store, func(scope *model.Scope, x *Node) *Node {
		return m.IWAE(scope, x, 10)
	}, tensors.FromFlatDataAndDimensions(points.Values, points.N, 3)))
	worst = 0
	for i := range logP {
		worst = max(worst, math.Abs(float64(inGraph[i])-logP[i]))
	}
	if worst > 1e-4 {
		t.Errorf("max |Model.IWAE(k = 10) − log p(x)| with the true posterior: %.2g, want < 1e-4", worst)
	}
	elbos, err := vae.ELBOs(be, store, m, points, 3)
	if err != nil {
		t.Fatal(err)
	}
	d, se := pairedDiff(elbos, logP)
	t.Logf("true posterior: ELBO (closed-form KL) − log p(x) = %.4f ± %.4f", d, se)
	if math.Abs(d) > 4*se || se > 0.1 {
		t.Errorf("ELBO − log p(x) with the true posterior: %.4f ± %.4f, want 0 within 4 standard errors", d, se)
	}
}

// (a) With a distorted encoder: ELBO ≈ IWAE_1 < IWAE_10 < IWAE_100 <
// IWAE_1000 ≤ log p(x), the gap to the closed-form log p(x) closing as k
// grows.
func TestBoundsBelowLogPAndTightenWithK(t *testing.T) {
	be := backend.MustShared()
	store, m := ppcaModel(t, 0.6, 0.15, 0.5)
	points, logP := ppcaPoints(2000, 8)
	ks := []int{1, 10, 100, 1000}
	start := time.Now()
	bounds, err := vae.Evaluate(be, store, m, points, 5, ks...)
	if err != nil {
		t.Fatal(err)
	}
	elbos, err := vae.ELBOs(be, store, m, points, 5)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("bounds on %d points in %v", points.N, time.Since(start).Round(time.Millisecond))
	checkPPCAVariables(t, store)
	meanLogP, seLogP := meanSE(logP)
	e, eSE := meanSE(elbos)
	t.Logf("%-28s %9s ± %6s   %s", "", "mean", "s.e.", "log p(x) − bound (paired s.e.)")
	t.Logf("%-28s %9.4f ± %6.4f", "log p(x), closed form", meanLogP, seLogP)
	gap, gapSE := pairedDiff(logP, elbos)
	t.Logf("%-28s %9.4f ± %6.4f   %.4f ± %.4f", "ELBO (closed-form KL)", e, eSE, gap, gapSE)
	for _, b := range bounds {
		gap, gapSE := pairedDiff(logP, b.PerPoint)
		t.Logf("%-28s %9.4f ± %6.4f   %.4f ± %.4f", fmt.Sprintf("IWAE_%d", b.K), b.Mean, b.StdErr, gap, gapSE)
		if gap < -3*gapSE-1e-4 {
			t.Errorf("IWAE_%d is above log p(x) by %.4f ± %.4f: a bound must not be", b.K, -gap, gapSE)
		}
	}
	// The closed-form-KL ELBO and IWAE_1 have the same expectation.
	if d, se := pairedDiff(elbos, bounds[0].PerPoint); math.Abs(d) > 4*se {
		t.Errorf("ELBO (closed-form KL) − IWAE_1 = %.4f ± %.4f: want 0 within 4 standard errors", d, se)
	}
	for i := 1; i < len(bounds); i++ {
		b, prev := bounds[i], bounds[i-1]
		d, se := pairedDiff(b.PerPoint, prev.PerPoint)
		// Strictly larger while the gap is large; by k = 1000 the bound is
		// within noise of log p(x) and need only not decrease.
		if (b.K <= 100 && !(d > 3*se)) || d < -3*se {
			t.Errorf("IWAE_%d − IWAE_%d = %.4f ± %.4f: want it positive (not negative for k = 1000)", b.K, prev.K, d, se)
		}
	}
	if gap := meanLogP - bounds[0].Mean; gap < 0.3 {
		t.Errorf("ELBO gap %.3f with a distorted encoder: want > 0.3 (else the test tests nothing)", gap)
	}
	if gap := meanLogP - bounds[3].Mean; gap > 0.02 {
		t.Errorf("IWAE_1000 is %.4f below log p(x): want < 0.02", gap)
	}
}

// (b) Model.KL, the closed form, equals the Monte Carlo estimate
// E_q[log q(z|x) − log p(z)] for every point, within 4 standard errors of
// the estimate, for a model at its random initial weights.
func TestKLMatchesMonteCarlo(t *testing.T) {
	be := backend.MustShared()
	const n, samples, latent = 40, 4000, 3
	m := vae.New(2).Latent(latent).Hidden(16).Done()
	store := model.NewStore()
	points, err := data.Toy("moons", n, 4)
	if err != nil {
		t.Fatal(err)
	}
	x := tensors.FromFlatDataAndDimensions(points.Values, n, 2)
	outs, err := model.ExecOnceN(be, store, func(scope *model.Scope, x, eps *Node) []*Node {
		mean, logStd := m.Encode(scope, x)
		z := Add(InsertAxes(mean, 0), Mul(InsertAxes(Exp(logStd), 0), eps)) // [S, n, latent]
		zero := ZerosLike(z)
		mc := Sub(vae.LogNormal(z, BroadcastToShape(InsertAxes(mean, 0), z.Shape()),
			BroadcastToShape(InsertAxes(logStd, 0), z.Shape())), vae.LogNormal(z, zero, zero)) // [S, n]
		return []*Node{m.KL(scope, x), ReduceMean(mc, 0), ReduceMean(Square(mc), 0)}
	}, x, vaeNoise(5, samples, n, latent))
	if err != nil {
		t.Fatal(err)
	}
	kl := tensors.MustCopyFlatData[float32](outs[0])
	mc := tensors.MustCopyFlatData[float32](outs[1])
	sq := tensors.MustCopyFlatData[float32](outs[2])
	worst, mean := 0.0, 0.0
	for i := range kl {
		se := math.Sqrt(max(float64(sq[i])-float64(mc[i])*float64(mc[i]), 0) / samples)
		z := math.Abs(float64(kl[i])-float64(mc[i])) / se
		worst = max(worst, z)
		mean += float64(kl[i]) / n
		if !(z < 4) {
			t.Errorf("point %d: closed-form KL %.4f, Monte Carlo %.4f ± %.4f: %.1f standard errors apart", i, kl[i], mc[i], se, z)
		}
	}
	t.Logf("closed-form KL (mean over %d points %.3f nats) against %d samples each: worst |difference| = %.2f standard errors", n, mean, samples, worst)
	if !(mean > 0.01) {
		t.Errorf("mean KL %.4f at the random initial weights: want clearly positive, else the test tests nothing", mean)
	}
}

// (c) The gradient of the mean ELBO is finite and reaches every trainable
// variable, for both decoders.
func TestELBOGradientReachesEveryVariable(t *testing.T) {
	be := backend.MustShared()
	for _, tc := range []struct {
		name    string
		m       *vae.Model
		x       [][]float32
		numVars int
	}{
		{"Gaussian", vae.New(2).Latent(2).Hidden(8).Done(), [][]float32{{0.5, -1}, {1, 2}, {-0.3, 0.1}}, 9},
		{"Bernoulli", vae.New(4).Latent(2).Hidden(8).Decoder(vae.Bernoulli).Done(), [][]float32{{0, 1, 1, 0}, {1, 1, 0, 0}}, 8},
	} {
		t.Run(tc.name, func(t *testing.T) {
			store := model.NewStore()
			grads, err := model.ExecOnceN(be, store, func(scope *model.Scope, x *Node) []*Node {
				loss := Neg(ReduceAllMean(tc.m.ELBO(scope, x, nil)))
				return scope.BuildTrainableVariablesGradientsGraph(loss)
			}, tensors.FromValue(tc.x))
			if err != nil {
				t.Fatal(err)
			}
			if len(grads) != tc.numVars {
				t.Errorf("%d gradients, want one per variable, %d", len(grads), tc.numVars)
			}
			for i, g := range grads {
				v := tensors.MustCopyFlatData[float32](g)
				norm := 0.0
				for _, x := range v {
					norm += float64(x) * float64(x)
				}
				if !allFinite(v) || !(norm > 0) {
					t.Errorf("gradient %d (shape %s): squared norm %g, finite %v: want finite and non-zero", i, g.Shape(), norm, allFinite(v))
				}
			}
		})
	}
}

// binaryPatterns are n binary vectors of size 16: one of two prototypes
// (ones on the left half, or on every other coordinate) with 5% of the bits
// flipped.
func binaryPatterns(n int, seed uint64) *data.Samples {
	rng := rand.New(rand.NewPCG(seed, 5))
	s := &data.Samples{N: n, Dim: 16, Values: make([]float32, 16*n)}
	for i := range n {
		kind := rng.IntN(2)
		for j := range 16 {
			bit := (kind == 0 && j < 8) || (kind == 1 && j%2 == 0)
			if rng.Float64() < 0.05 {
				bit = !bit
			}
			if bit {
				s.Values[16*i+j] = 1
			}
		}
	}
	return s
}

// (c) A few hundred steps of Train raise the held-out ELBO by a measured
// amount: on moons (Gaussian decoder) past the best single Gaussian, on
// binary patterns (Bernoulli decoder) past the best product of independent
// Bernoullis (about −7.1 nats; the patterns' own log-likelihood is about
// −log 2 − 16·H(0.05) ≈ −3.9).
func TestTrainRaisesELBO(t *testing.T) {
	be := backend.MustShared()
	moons, err := data.Toy("moons", 6000, 1)
	if err != nil {
		t.Fatal(err)
	}
	moonsTrain, moonsTest := moons.Split(1.0/6, 2)
	bits := binaryPatterns(3000, 1)
	bitsTrain, bitsTest := bits.Split(1.0/6, 2)
	for _, tc := range []struct {
		name        string
		m           *vae.Model
		train, test *data.Samples
		baseline    float64 // a model without a latent
		steps       int
	}{
		{"moons/Gaussian", vae.New(2).Latent(2).Done(), moonsTrain, moonsTest, bestGaussian(moonsTest), 500},
		{"patterns/Bernoulli", vae.New(16).Latent(2).Hidden(32).Decoder(vae.Bernoulli).Done(), bitsTrain, bitsTest, independentBits(bitsTest), 300},
	} {
		t.Run(tc.name, func(t *testing.T) {
			store := model.NewStore()
			store.SetParam(model.ParamInitialSeed, int64(1))
			res, err := vae.Train(be, store, tc.m, tc.train).Steps(tc.steps).LearningRate(1e-2).Report(100, nil).Run()
			if err != nil {
				t.Fatal(err)
			}
			after, err := vae.ELBOs(be, store, tc.m, tc.test, 1)
			if err != nil {
				t.Fatal(err)
			}
			iwae, err := vae.IWAEs(be, store, tc.m, tc.test, 100, 1)
			if err != nil {
				t.Fatal(err)
			}
			b := res.Curve[0].ELBO // the training ELBO of the first 100 steps
			a, aSE := meanSE(after)
			i, _ := meanSE(iwae)
			t.Logf("%d steps in %v (%.0f steps/s): training ELBO %.3f over the first 100 steps, %.3f over the last; held-out ELBO %.3f ± %.3f, IWAE_100 %.3f; without a latent %.3f",
				res.Steps, res.Duration.Round(time.Millisecond), float64(res.Steps)/res.Duration.Seconds(), b, res.ELBO, a, aSE, i, tc.baseline)
			if res.Steps != tc.steps || res.LastStep != tc.steps || len(res.Curve) != tc.steps/100 {
				t.Errorf("Result: %d steps, last step %d, %d points: want %d, %d, %d", res.Steps, res.LastStep, len(res.Curve), tc.steps, tc.steps, tc.steps/100)
			}
			if !(a > b+1) {
				t.Errorf("training ELBO %.3f over the first 100 steps, held-out ELBO %.3f at the end: want a gain of more than 1 nat", b, a)
			}
			if !(a > tc.baseline+0.2) {
				t.Errorf("held-out ELBO %.3f: want it above the model without a latent (%.3f) by 0.2 nats", a, tc.baseline)
			}
			if d, se := pairedDiff(iwae, after); !(d > 3*se) {
				t.Errorf("IWAE_100 − ELBO = %.4f ± %.4f on the same points: want clearly positive", d, se)
			}
		})
	}
}

// independentBits is the mean log-likelihood of binary data under the
// product of Bernoullis fitted to it coordinate by coordinate.
func independentBits(s *data.Samples) float64 {
	total := 0.0
	for j := range s.Dim {
		p := 0.0
		for i := range s.N {
			p += float64(s.Values[i*s.Dim+j]) / float64(s.N)
		}
		if p > 0 && p < 1 {
			total += p*math.Log(p) + (1-p)*math.Log(1-p)
		}
	}
	return total
}

// KL warm-up changes the gradient, not the value: from the same initial
// weights and noise, the first step reports the same ELBO with and without
// warm-up, but leaves different weights (β = 1/100 scales the KL term's
// gradient).
func TestKLWarmup(t *testing.T) {
	be := backend.MustShared()
	moons, err := data.Toy("moons", 2000, 3)
	if err != nil {
		t.Fatal(err)
	}
	run := func(warmup, steps int) (*vae.Result, *model.Store) {
		store := model.NewStore()
		store.SetParam(model.ParamInitialSeed, int64(4))
		m := vae.New(2).Latent(2).Hidden(16).Done()
		res, err := vae.Train(be, store, m, moons).Steps(steps).LearningRate(1e-2).KLWarmup(warmup).Report(1, nil).Run()
		if err != nil {
			t.Fatal(err)
		}
		return res, store
	}
	plain, plainStore := run(0, 1)
	warm, warmStore := run(100, 1)
	p, w := plain.Curve[0].ELBO, warm.Curve[0].ELBO
	t.Logf("first step: ELBO %.5f without warm-up, %.5f with", p, w)
	if math.Abs(p-w) > 1e-4*max(1, math.Abs(p)) {
		t.Errorf("first-step ELBO %.6f without warm-up, %.6f with: want the same value", p, w)
	}
	moved := 0.0
	for v := range plainStore.IterVariables() {
		if !v.Trainable {
			continue
		}
		a := tensors.MustCopyFlatData[float32](v.MustValue())
		b := tensors.MustCopyFlatData[float32](warmStore.GetVariable(v.Path()).MustValue())
		for i := range a {
			moved = max(moved, math.Abs(float64(a[i]-b[i])))
		}
	}
	if !(moved > 1e-6) {
		t.Errorf("after one step the weights with and without warm-up differ by at most %g: want the warm-up to change the step", moved)
	}
}

// IWAEBound is computed stably: log-weights of ±1000 give finite, exact
// results; with k = 1 it returns the log-weight itself, which is the
// one-sample ELBO of the same noise.
func TestIWAEBoundStable(t *testing.T) {
	be := backend.MustShared()
	lw := tensors.FromValue([][]float32{{1000, -1000, 0}, {1000 + float32(math.Log(3)), -1000, 0}})
	got := tensors.MustCopyFlatData[float32](model.MustExecOnce(be, model.NewStore(), func(_ *model.Scope, lw *Node) *Node {
		return vae.IWAEBound(lw)
	}, lw))
	want := []float64{1000 + math.Log(2), -1000, 0} // log((1 + 3)/2) = log 2
	for i := range want {
		if math.Abs(float64(got[i])-want[i]) > 1e-3 {
			t.Errorf("IWAEBound column %d: %v, want %v", i, got[i], want[i])
		}
	}
	m := vae.New(2).Latent(3).Hidden(8).Done()
	x := tensors.FromValue([][]float32{{0.5, -1}, {1, 2}})
	outs := model.MustExecOnceN(be, model.NewStore(), func(scope *model.Scope, x, eps *Node) []*Node {
		return []*Node{vae.IWAEBound(vae.LogWeights(scope, m, x, InsertAxes(eps, 0))), vae.ELBO(scope, m, x, eps)}
	}, x, vaeNoise(1, 2, 3))
	one, elbo := tensors.MustCopyFlatData[float32](outs[0]), tensors.MustCopyFlatData[float32](outs[1])
	for i := range one {
		if math.Abs(float64(one[i]-elbo[i])) > 1e-5*max(1, math.Abs(float64(elbo[i]))) {
			t.Errorf("point %d: IWAE_1 %v, one-sample ELBO with the same noise %v: want equal", i, one[i], elbo[i])
		}
	}
}

// Sample draws from p(x): Gaussian draws scatter around the decoder means of
// the same z by σ_x (InitialStd = 0.1 at the initial weights); Bernoulli draws are 0 or 1
// and their means probabilities.
func TestSample(t *testing.T) {
	be := backend.MustShared()
	for _, tc := range []struct {
		name string
		m    *vae.Model
	}{
		{"Gaussian", vae.New(2).Latent(2).Hidden(8).Done()},
		{"Bernoulli", vae.New(5).Latent(2).Hidden(8).Decoder(vae.Bernoulli).Done()},
	} {
		t.Run(tc.name, func(t *testing.T) {
			store := model.NewStore()
			const n = 3000
			draws, err := vae.Sample(be, store, tc.m, n, 7)
			if err != nil {
				t.Fatal(err)
			}
			means, err := vae.SampleMeans(be, store, tc.m, n, 7)
			if err != nil {
				t.Fatal(err)
			}
			if draws.N != n || draws.Dim != tc.m.Dim || len(draws.Values) != n*tc.m.Dim || means.N != n || means.Dim != tc.m.Dim {
				t.Fatalf("Sample: N %d, Dim %d, %d values; SampleMeans: N %d, Dim %d: want %d × %d", draws.N, draws.Dim, len(draws.Values), means.N, means.Dim, n, tc.m.Dim)
			}
			if !allFinite(draws.Values) || !allFinite(means.Values) {
				t.Fatal("non-finite samples")
			}
			var sq float64
			for i, v := range draws.Values {
				if tc.m.Likelihood == vae.Bernoulli && v != 0 && v != 1 {
					t.Fatalf("Bernoulli draw %v: want 0 or 1", v)
				}
				if p := means.Values[i]; tc.m.Likelihood == vae.Bernoulli && !(p >= 0 && p <= 1) {
					t.Fatalf("Bernoulli mean %v: want a probability", p)
				}
				sq += float64(v-means.Values[i]) * float64(v-means.Values[i]) / float64(len(draws.Values))
			}
			t.Logf("mean squared distance of the draws from the decoder means: %.4f", sq)
			if tc.m.Likelihood == vae.Gaussian && math.Abs(sq-0.01) > 0.001 {
				t.Errorf("Gaussian draws scatter around their means by a variance of %.4f: want σ_x² = 0.01 at the initial weights", sq)
			}
		})
	}
}

// (d) Bad input gives an error that says what is wrong, or, for a bad
// builder, a panic.
func TestInputValidation(t *testing.T) {
	be := backend.MustShared()
	gauss := vae.New(2).Latent(2).Hidden(4).Done()
	bern := vae.New(2).Latent(2).Hidden(4).Decoder(vae.Bernoulli).Done()
	good := &data.Samples{N: 2, Dim: 2, Values: []float32{0, 1, 1, 0}}
	train := func(m *vae.Model, s *data.Samples) func() error {
		return func() error { _, err := vae.Train(be, model.NewStore(), m, s).Steps(1).Run(); return err }
	}
	for _, tc := range []struct {
		name, want string
		run        func() error
	}{
		{"Train without data", "no training data", train(gauss, nil)},
		{"Train on 0 examples", "0 examples", train(gauss, &data.Samples{Dim: 2})},
		{"Train on the wrong size", "takes vectors of 2 values but the training data has 3", train(gauss, &data.Samples{N: 1, Dim: 3, Values: []float32{1, 2, 3}})},
		{"Train on NaN", "non-finite value NaN in example 1, coordinate 0", train(gauss, &data.Samples{N: 2, Dim: 2, Values: []float32{0, 0, float32(math.NaN()), 0}})},
		{"Train on Inf", "non-finite value +Inf", train(gauss, &data.Samples{N: 1, Dim: 2, Values: []float32{0, float32(math.Inf(1))}})},
		{"Train Bernoulli on non-binary data", "Bernoulli decoder models binary data, but the training data has 0.5 in example 0, coordinate 1", train(bern, &data.Samples{N: 1, Dim: 2, Values: []float32{1, 0.5}})},
		{"Values do not match N×Dim", "3 values but N×Dim", train(gauss, &data.Samples{N: 2, Dim: 2, Values: []float32{1, 2, 3}})},
		{"Train with 0 steps", "steps must be at least 1", func() error { _, err := vae.Train(be, model.NewStore(), gauss, good).Steps(0).Run(); return err }},
		{"Train without a model", "needs a Model", train(nil, good)},
		{"ELBOs on the wrong size", "takes vectors of 2 values", func() error {
			_, err := vae.ELBOs(be, model.NewStore(), gauss, &data.Samples{N: 1, Dim: 1, Values: []float32{1}}, 1)
			return err
		}},
		{"IWAEs with k = 0", "must be at least 1, got 0", func() error { _, err := vae.IWAEs(be, model.NewStore(), gauss, good, 0, 1); return err }},
		{"IWAEs Bernoulli on non-binary data", "binary", func() error {
			_, err := vae.IWAEs(be, model.NewStore(), bern, &data.Samples{N: 1, Dim: 2, Values: []float32{2, 0}}, 5, 1)
			return err
		}},
		{"Evaluate on one point", "at least 2 points", func() error {
			_, err := vae.Evaluate(be, model.NewStore(), gauss, &data.Samples{N: 1, Dim: 2, Values: []float32{0, 0}}, 1, 1)
			return err
		}},
		{"Evaluate without k", "at least one k", func() error { _, err := vae.Evaluate(be, model.NewStore(), gauss, good, 1); return err }},
		{"Sample 0", "n ≥ 1", func() error { _, err := vae.Sample(be, model.NewStore(), gauss, 0, 1); return err }},
		{"ELBO with noise of the wrong shape", "noise", func() error {
			_, err := model.ExecOnce(be, model.NewStore(), func(scope *model.Scope, x *Node) *Node {
				return vae.ELBO(scope, gauss, x, Concatenate([]*Node{x, x}, 1)) // [1, 4], latent 2
			}, tensors.FromValue([][]float32{{1, 2}}))
			return err
		}},
		{"Model.ELBO on the wrong width", "takes x of shape [batchSize, 2]", func() error {
			_, err := model.ExecOnce(be, model.NewStore(), func(scope *model.Scope, x *Node) *Node {
				return gauss.ELBO(scope, x, nil)
			}, tensors.FromValue([][]float32{{1, 2, 3}}))
			return err
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.run()
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("got error %v, want one containing %q", err, tc.want)
			} else {
				t.Log(err)
			}
		})
	}
	for _, tc := range []struct {
		name string
		cfg  *vae.MLPConfig
	}{
		{"dim 0", vae.New(0)},
		{"latent 0", vae.New(2).Latent(0)},
		{"hidden size 0", vae.New(2).Hidden(8, 0)},
		{"MinStd 0", vae.New(2).MinStd(0)},
		{"unknown decoder", vae.New(2).Decoder(vae.Likelihood(7))},
		{"NewMLP with a Bernoulli decoder", vae.NewMLP(2, 2).Decoder(vae.Bernoulli)},
	} {
		t.Run("Done with "+tc.name, func(t *testing.T) {
			defer func() {
				if r := recover(); r == nil {
					t.Error("Done: want a panic")
				} else if !strings.Contains(fmt.Sprint(r), "vae: ") {
					t.Errorf("panic %v: want the package prefix", r)
				}
			}()
			tc.cfg.Done()
		})
	}
}

// NewMLP, notebook 05's model, trained by notebook 05's recipe on 8
// Gaussians, must beat the best single Gaussian, and its IWAE bound must be
// above its ELBO on the same points.
//
// That model's Train is sensitive to the initial weights: on some seeds an
// early batch with a tiny decoder σ costs ~10⁵ nats and the run stays near
// −7 nats, on others the VAE collapses onto the prior (−3.55, the best
// Gaussian). Which seeds do so differs between backends (their random
// initialisations differ). The test therefore trains three seeds and checks
// the best one: a VAE that can never beat one Gaussian fails it, and so
// does a broken bound. It takes 20–30 s, so -short skips it.
func TestTrainMLPVAE(t *testing.T) {
	if testing.Short() {
		t.Skip("trains three VAEs for 2000 steps each")
	}
	be := backend.MustShared()
	all, err := data.Toy("8gaussians", 12000, 1)
	if err != nil {
		t.Fatal(err)
	}
	trainSet, testSet := all.Split(1.0/6, 2)
	gaussian := bestGaussian(testSet)
	var best []vae.Bound
	for seed := int64(1); seed <= 3; seed++ {
		store := model.NewStore()
		store.SetParam(model.ParamInitialSeed, seed)
		v := vae.NewMLP(2, 2).Done()
		res, err := vae.Train(be, store, v, trainSet).Steps(2000).LearningRate(3e-3).Report(500, nil).Run()
		if err != nil {
			t.Fatal(err)
		}
		if len(res.Curve) != 4 || res.LastStep != 2000 {
			t.Errorf("seed %d: %d reports, last step %d: want 4 and 2000", seed, len(res.Curve), res.LastStep)
		}
		bounds, err := vae.Evaluate(be, store, v, testSet, 1, 1, 10)
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("seed %d: 2000 steps in %v: train ELBO %.3f; held-out ELBO %.3f ± %.3f, IWAE_10 %.3f; best Gaussian %.3f",
			seed, res.Duration.Round(time.Millisecond), res.ELBO, bounds[0].Mean, bounds[0].StdErr, bounds[1].Mean, gaussian)
		if best == nil || bounds[0].Mean > best[0].Mean {
			best = bounds
		}
	}
	elbo, iwae := best[0], best[1]
	if !(elbo.Mean > gaussian+0.2) {
		t.Errorf("best held-out ELBO of three seeds %.3f: want it above the best single Gaussian's %.3f by 0.2 nats", elbo.Mean, gaussian)
	}
	if gain, se := pairedDiff(iwae.PerPoint, elbo.PerPoint); !(gain > 3*se) {
		t.Errorf("IWAE_10 − ELBO = %.4f ± %.4f on the same points: want clearly positive", gain, se)
	}
}
