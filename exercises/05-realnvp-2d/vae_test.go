package realnvp

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	. "github.com/gomlx/gomlx/core/graph" //nolint:revive
	"github.com/gomlx/gomlx/ml/model"

	"github.com/flowbook/flowbook/exercises/internal/grading"
)

// vaePoints are the graders' data points and standard normal noise, 2D.
var (
	vaePoints = [][2]float64{{0.4, -0.3}, {-1.5, 0.8}, {2.1, 1.2}, {0.0, 0.0}, {-0.7, -1.9}, {1.3, -0.6}}
	vaeNoise  = [][2]float64{{0.3, -1.2}, {1.1, 0.4}, {-0.5, 0.9}, {-1.6, -0.2}, {0.8, 1.7}, {0.05, -0.6}}
)

func flat2(v [][2]float64) []float64 {
	out := make([]float64, 0, 2*len(v))
	for _, p := range v {
		out = append(out, p[0], p[1])
	}
	return out
}

// elboMistakes returns the values plausible mistakes give for the ELBO of
// each point with encoder e and noise eps.
func elboMistakes(e encoder, points, eps [][2]float64) []grading.VecDiagnosis {
	type variant struct {
		hint string
		f    func(x, eps [2]float64) float64
	}
	sampleAt := func(x [2]float64, z func(mean, logStd [2]float64) [2]float64) elboTerms {
		mean, logStd := e.encode(x)
		return terms(x, z(mean, logStd), mean, logStd)
	}
	variants := []variant{
		{"the KL part has the wrong sign: ELBO = log p(x|z) + log p(z) - log q(z|x), i.e. E[log p(x|z)] - KL(q(z|x) ‖ p(z))",
			func(x, eps [2]float64) float64 { t := e.elboSample(x, eps); return t.logLik - t.logPrior + t.logQ }},
		{"the log q(z|x) term is missing: the ELBO subtracts the log-density of z under the encoder, - log q(z|x)",
			func(x, eps [2]float64) float64 { t := e.elboSample(x, eps); return t.logLik + t.logPrior }},
		{"the prior term log p(z) is missing: ELBO = log p(x|z) + log p(z) - log q(z|x)",
			func(x, eps [2]float64) float64 { t := e.elboSample(x, eps); return t.logLik - t.logQ }},
		{"only the reconstruction term log p(x|z) is there: add log p(z) - log q(z|x)",
			func(x, eps [2]float64) float64 { return e.elboSample(x, eps).logLik }},
		{"z is not sampled: use the reparameterization z = μ_z + exp(log σ_z)·ε with the given ε",
			func(x, _ [2]float64) float64 {
				return sampleAt(x, func(mean, _ [2]float64) [2]float64 { return mean }).elbo()
			}},
		{"σ_z = exp(log σ_z): z = μ_z + exp(log σ_z)·ε, not μ_z + log σ_z·ε",
			func(x, eps [2]float64) float64 {
				return sampleAt(x, func(mean, logStd [2]float64) [2]float64 {
					return [2]float64{mean[0] + logStd[0]*eps[0], mean[1] + logStd[1]*eps[1]}
				}).elbo()
			}},
		{"z was drawn with the variance instead of the standard deviation: z = μ_z + exp(log σ_z)·ε",
			func(x, eps [2]float64) float64 {
				return sampleAt(x, func(mean, logStd [2]float64) [2]float64 {
					return [2]float64{mean[0] + math.Exp(2*logStd[0])*eps[0], mean[1] + math.Exp(2*logStd[1])*eps[1]}
				}).elbo()
			}},
	}
	var out []grading.VecDiagnosis
	for _, v := range variants {
		values := make([]float64, len(points))
		for i := range points {
			values[i] = v.f(points[i], eps[i])
		}
		out = append(out, grading.VecMistake(values, v.hint))
	}
	return out
}

// runELBO runs the learner's ELBO on points and noise.
func runELBO(c *grading.C, what string, e encoder, points, eps [][2]float64) []float64 {
	vae := e.vae()
	outs := grading.ExecModelCalling(c, what, "ELBO", model.NewStore(), func(scope *model.Scope, in []*Node) []*Node {
		return []*Node{ELBO(scope, vae, in[0], in[1])}
	}, grading.Tensor(flat2(points), len(points), 2), grading.Tensor(flat2(eps), len(eps), 2))
	if dims := outs[0].Shape().Dimensions; !slices.Equal(dims, []int{len(points)}) {
		hint := "the ELBO has one value per example: shape [batchSize]"
		if len(dims) == 0 {
			hint = "the ELBO was reduced over the batch: keep one value per example (LogNormal already sums over the coordinates)"
		} else if len(dims) == 2 {
			hint = "the ELBO still has one value per coordinate: LogNormal sums over the last axis, so combine its results"
		}
		c.Fatalf("%s", grading.Explain(what+": the shape of the result", fmt.Sprintf("[%d]", len(points)), fmt.Sprint(dims), hint))
	}
	return grading.Values(outs[0])
}

func TestVAEELBO(t *testing.T) {
	grading.Run(t, func(c *grading.C) {
		logPx := make([]float64, len(vaePoints))
		for i, x := range vaePoints {
			logPx[i] = logMarginal(x)
		}
		// 1. With the true posterior as encoder, the bound is tight for every ε.
		what := "ELBO of a linear-Gaussian VAE (x = Wz + b + noise) whose encoder is the true posterior p(z|x), on 6 points: " +
			"equal to the exact log p(x) for any ε"
		got := runELBO(c, what, trueEncoder, vaePoints, vaeNoise)
		c.CloseVec(what, got, logPx, 1e-9,
			"with q(z|x) = p(z|x), log p(x|z) + log p(z) - log q(z|x) = log p(x) at every z: check the three terms and their signs",
			elboMistakes(trueEncoder, vaePoints, vaeNoise)...)

		// 2. An imperfect encoder: the single-sample value for the given ε.
		what = "ELBO of the same VAE with an imperfect encoder (shifted mean, wider σ_z), single sample with the given ε, on 6 points"
		got = runELBO(c, what, imperfectEncoder, vaePoints, vaeNoise)
		want := make([]float64, len(vaePoints))
		for i := range vaePoints {
			want[i] = imperfectEncoder.elboSample(vaePoints[i], vaeNoise[i]).elbo()
		}
		if !c.CloseVec(what, got, want, 1e-9,
			"z = μ_z + exp(log σ_z)·ε, then log p(x|z) + log p(z) - log q(z|x), each from LogNormal",
			elboMistakes(imperfectEncoder, vaePoints, vaeNoise)...) {
			return
		}

		// 3. Averaged over ε, the ELBO is below log p(x) by KL(q(z|x) ‖ p(z|x)).
		const n = 4000
		x := vaePoints[0]
		rng := rand.New(rand.NewPCG(5, 6))
		points, eps := make([][2]float64, n), make([][2]float64, n)
		for i := range n {
			points[i] = x
			eps[i] = [2]float64{rng.NormFloat64(), rng.NormFloat64()}
		}
		samples := runELBO(c, "ELBO of the imperfect encoder at one point, for 4000 draws of ε", imperfectEncoder, points, eps)
		avg := mean(samples)
		expected := imperfectEncoder.expectedELBO(x)
		c.Logf("at x = %v: mean ELBO over 4000 ε %.4f (closed form %.4f) < log p(x) = %.4f: the gap is KL(q(z|x) ‖ p(z|x))",
			x, avg, expected, logMarginal(x))
		variance := 0.0
		for _, v := range samples {
			variance += (v - avg) * (v - avg) / (n - 1)
		}
		// Five standard errors of the mean, as Close's tolerance (relative to max(1, |expected|)).
		tol := 5 * math.Sqrt(variance/n) / math.Max(1, math.Abs(expected))
		c.Close("the mean of 4000 single-sample ELBOs at one point against E_q[log p(x,z) - log q(z|x)] in closed form",
			avg, expected, tol, "the single-sample ELBO must be an unbiased estimate of the ELBO")
		if !(avg < logMarginal(x)) {
			c.Errorf("%s", grading.Explain("the mean ELBO is below the exact log p(x)", fmt.Sprintf("< %.4f", logMarginal(x)),
				fmt.Sprintf("%.4f", avg), "the ELBO is a lower bound: check the terms"))
		}
	})
}

// iwaeMistakes returns the values plausible mistakes give for the IWAE bound
// of logWeights [K][batch].
func iwaeMistakes(lw [][]float64) []grading.VecDiagnosis {
	k, batch := len(lw), len(lw[0])
	col := func(b int) []float64 {
		v := make([]float64, k)
		for i := range k {
			v[i] = lw[i][b]
		}
		return v
	}
	variants := []struct {
		hint string
		f    func(v []float64) float64
	}{
		{"the - log K is missing: IWAE is the log of the MEAN of the weights, logsumexp_k(log w_k) - log K",
			func(v []float64) float64 { return logSumExp(v) }},
		{"that is the mean of the log-weights (the average ELBO): IWAE is the log of the mean of the weights, logsumexp - log K",
			func(v []float64) float64 { return mean(v) }},
		{"that is the largest log-weight only: add back log Σ_k exp(log w_k - m) after factoring out the max m",
			func(v []float64) float64 { return slices.Max(v) }},
		{"subtract log K, not K: log((1/K) Σ w_k) = logsumexp - log K",
			func(v []float64) float64 { return logSumExp(v) - float64(len(v)) }},
	}
	var out []grading.VecDiagnosis
	for _, m := range variants {
		values := make([]float64, batch)
		for b := range batch {
			values[b] = m.f(col(b))
		}
		out = append(out, grading.VecMistake(values, m.hint))
	}
	return out
}

// iwaeGlobalMax is the IWAE bound of each column of lw computed with the
// max of the whole batch factored out, a plausible mistake: a column far
// below that max underflows to −Inf.
func iwaeGlobalMax(lw [][]float64) []float64 {
	m := math.Inf(-1)
	for _, row := range lw {
		m = max(m, slices.Max(row))
	}
	out := make([]float64, len(lw[0]))
	for b := range out {
		s := 0.0
		for i := range lw {
			s += math.Exp(lw[i][b] - m)
		}
		out[b] = m + math.Log(s) - math.Log(float64(len(lw)))
	}
	return out
}

// runIWAE runs the learner's IWAEBound on lw [K][batch].
func runIWAE(c *grading.C, what string, lw [][]float64) []float64 {
	k, batch := len(lw), len(lw[0])
	var flat []float64
	for _, row := range lw {
		flat = append(flat, row...)
	}
	outs := grading.Exec(c, what, func(lw *Node) *Node { return IWAEBound(lw) }, grading.Tensor(flat, k, batch))
	if dims := outs[0].Shape().Dimensions; !slices.Equal(dims, []int{batch}) {
		hint := "one value per example: reduce over axis 0 (the K samples), keep axis 1 (the batch)"
		if slices.Equal(dims, []int{k}) {
			hint = "the reduction ran over the batch (axis 1): reduce over axis 0, the K samples"
		} else if len(dims) == 0 {
			hint = "the result was reduced over the batch too: reduce over axis 0 only, the K samples"
		}
		c.Fatalf("%s", grading.Explain(what+": the shape of the result", fmt.Sprintf("[%d]", batch), fmt.Sprint(dims), hint))
	}
	return grading.Values(outs[0])
}

// iwaeRef is the IWAE bound of each column of lw, in float64.
func iwaeRef(lw [][]float64) []float64 {
	out := make([]float64, len(lw[0]))
	for b := range out {
		v := make([]float64, len(lw))
		for i := range lw {
			v[i] = lw[i][b]
		}
		out[b] = logSumExp(v) - math.Log(float64(len(v)))
	}
	return out
}

func TestVAEIWAE(t *testing.T) {
	grading.Run(t, func(c *grading.C) {
		// 1. Moderate log-weights, K = 5 samples of 4 examples.
		lw := [][]float64{
			{-2.1, 0.3, -5.0, -1.2},
			{-1.4, -0.8, -4.2, -1.3},
			{-3.3, 1.1, -6.1, -1.1},
			{-0.9, 0.2, -3.9, -1.25},
			{-2.7, -0.4, -5.5, -1.15},
		}
		what := "IWAEBound of log-weights [K=5, batch=4]"
		if !c.CloseVec(what, runIWAE(c, what, lw), iwaeRef(lw), 1e-9,
			"IWAE = log((1/K) Σ_k exp(log w_k)) for each example", iwaeMistakes(lw)...) {
			return
		}

		// 2. Extreme log-weights: exp underflows or overflows unless the max is factored out.
		lw = [][]float64{{-1000, 1000, -1.5}, {-1001, 999, -0.5}, {-1002.5, 1003, -2}}
		what = "IWAEBound of log-weights near -1000 and +1000 (K=3, batch=3)"
		got := runIWAE(c, what, lw)
		if want := iwaeRef(lw); maxRelDiff(got, want) > 1e-9 {
			hint := "exp(-1000) underflows to 0 (log 0 = -Inf) and exp(1000) overflows to +Inf: subtract the largest " +
				"log-weight m before exp and add it back after the log (the log-sum-exp trick)"
			mistakes := append(iwaeMistakes(lw), grading.VecMistake(iwaeGlobalMax(lw),
				"the max was taken over the whole batch: each example needs its own largest log-weight (ReduceMax over axis 0, the K samples, "+
					"kept as [1, batchSize]); here one example's log-weights are near −1000 and another's near +1000, so a shared max still underflows"))
			for _, m := range mistakes {
				if grading.AllNear(got, m.Values, 1e-9) {
					hint = m.Hint
					break
				}
			}
			wantText, gotText := grading.ShortPair(want, got)
			c.Errorf("%s", grading.Explain(what, wantText, gotText, hint))
			return
		}

		// 3. On the linear-Gaussian VAE, IWAE_K rises towards log p(x) as K grows.
		const reps = 200
		x := vaePoints[0]
		logPx := logMarginal(x)
		rng := rand.New(rand.NewPCG(9, 10))
		var means []float64
		for _, k := range []int{1, 10, 100, 1000} {
			lw := make([][]float64, k)
			for i := range lw {
				lw[i] = make([]float64, reps)
				for r := range reps {
					t := imperfectEncoder.elboSample(x, [2]float64{rng.NormFloat64(), rng.NormFloat64()})
					lw[i][r] = t.elbo()
				}
			}
			means = append(means, mean(runIWAE(c, fmt.Sprintf("IWAEBound with K = %d, %d repetitions", k, reps), lw)))
		}
		c.Logf("at x = %v: mean IWAE for K = 1, 10, 100, 1000: %.4f %.4f %.4f %.4f; exact log p(x) = %.4f",
			x, means[0], means[1], means[2], means[3], logPx)
		if !(means[0] < means[1] && means[1] < means[2] && means[2] < means[3] && means[3] <= logPx+0.01 && logPx-means[3] < 0.05) {
			c.Errorf("%s", grading.Explain("the IWAE bound of the linear-Gaussian VAE, averaged over 200 repetitions, for K = 1, 10, 100, 1000",
				fmt.Sprintf("rising towards log p(x) = %.4f, within 0.05 at K = 1000", logPx), grading.Short(means),
				"IWAE = logsumexp_k(log w_k) - log K: it is the ELBO for K = 1 and tends to log p(x) as K grows"))
		}
	})
}
