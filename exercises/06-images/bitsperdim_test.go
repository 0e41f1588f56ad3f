package imageflows

import (
	"fmt"
	"math"
	"testing"

	"github.com/gomlx/compute/dtypes"
	. "github.com/gomlx/gomlx/core/graph" //nolint:revive

	"github.com/flowbook/flowbook/exercises/internal/grading"
	"github.com/flowbook/flowbook/flowlib/flowcheck"
)

var log256 = math.Log(256)

func TestBitsPerDimByHand(t *testing.T) {
	grading.Run(t, func(c *grading.C) {
		const d = 784
		const perBatch = "bits/dim is per example: average the negative log-likelihood over the examples, do not sum it over the batch"
		const nats = "that is nats per value: bits/dim divides by D · ln 2 (log₂ y = ln y / ln 2)"
		const sign = "the sign is flipped: bits/dim is the NEGATIVE log-likelihood, −log P(x), positive for a probability below 1"
		const perD = "divide by D, the number of values per example: bits/dim is per dimension"
		uniform := []float64{-d * log256, -d * log256, -d * log256}
		c.Close("bits/dim of the uniform model: log P(x) = −D·log 256 for each of 3 examples, D = 784",
			BitsPerDim(uniform, d), 8, 1e-12,
			"the uniform model gives every image probability 256^−D: −log₂ of that, divided by D, is 8",
			grading.Mistake(8*math.Ln2, nats),
			grading.Mistake(-8, sign),
			grading.Mistake(24, perBatch),
			grading.Mistake(8*d, perD),
			grading.Mistake(8*math.Ln2/math.Ln10, "that is decimal digits per value: use log₂, i.e. divide the nats by ln 2"))

		logProb := []float64{-1000, -1300, -1150, -900}
		nll := -(logProb[0] + logProb[1] + logProb[2] + logProb[3]) / 4
		want := nll / (d * math.Ln2)
		c.Close(fmt.Sprintf("bits/dim of log P(x) = %v nats, D = %d", logProb, d),
			BitsPerDim(logProb, d), want, 1e-12,
			"bits/dim = mean over the examples of −logProb / (D · ln 2)",
			grading.Mistake(want*math.Ln2, nats),
			grading.Mistake(-want, sign),
			grading.Mistake(4*want, perBatch),
			grading.Mistake(want*d, perD),
			grading.Mistake(want/4, "divided by the number of examples twice, or by the batch size as well as by D: average once"),
			grading.Mistake(want*math.Ln2/math.Ln10, "that is decimal digits per value: use log₂, i.e. divide the nats by ln 2"))

		// One example of one value: log P = −ln 2 is exactly 1 bit.
		c.Close("bits/dim of a single example with one value, log P(x) = −ln 2", BitsPerDim([]float64{-math.Ln2}, 1), 1, 1e-12,
			"bits/dim = mean over the examples of −logProb / (D · ln 2): one example, D = 1, gives 1 bit")

		// A whole test set: 100,000 CIFAR-sized examples (D = 3072), in float64 throughout.
		const n, cifar = 100_000, 3072
		many := grading.UniformValues(n, -9000, -5000, 7)
		sum := 0.0
		for _, lp := range many {
			sum -= lp
		}
		want = sum / n / (cifar * math.Ln2)
		c.Close(fmt.Sprintf("bits/dim of %d examples with log P(x) from −9000 to −5000 nats, D = %d", n, cifar), BitsPerDim(many, cifar), want, 1e-12,
			"sum the negative log-likelihoods in a float64: a float32 sum of 100,000 values of thousands keeps about 6 digits")
	})
}

func TestDiscreteLogLikelihood(t *testing.T) {
	grading.Run(t, func(c *grading.C) {
		const batch, h, w, ch = 3, 4, 4, 1
		const d = h * w * ch
		run := func(what string, latent, y []float64, alpha float64) []float64 {
			outs := grading.Exec(c, what, func(latent, y *Node) *Node {
				return DiscreteLogLikelihood(latent, y, alpha)
			}, grading.Tensor(latent, batch), grading.Tensor(y, batch, h, w, ch))
			c.CheckShape(what+": the shape of the result", outs[0], []int{batch},
				"one log-likelihood per example, [batchSize]: sum the logit's log-det over every axis but the first")
			return grading.Values(outs[0])
		}
		// logitTerms returns log(1 − 2α) − log p − log(1 − p) per value, and its per-example sums.
		logitTerms := func(y []float64, alpha float64, withAlpha bool) []float64 {
			return grading.PerExample(grading.Map(y, func(_ int, v float64) float64 {
				p := v
				if withAlpha {
					p = alpha + (1-2*alpha)*v
				}
				return math.Log(1-2*alpha) - math.Log(p) - math.Log(1-p)
			}), batch)
		}
		const forgot256 = "the −D·log 256 of the rescaling y = (x + u)/256 is missing, the term everyone forgets: " +
			"without it the uniform model would claim 0 bits/dim"
		const forgotLogit = "the logit's log-det is missing: add Σ_i [log(1 − 2α) − log p_i − log(1 − p_i)] per example"
		const logitSign = "the logit's log-det has the wrong sign: log|dz/dy| = log(1 − 2α) − log p − log(1 − p), " +
			"which is positive (the logit stretches [0, 1] onto the real line)"
		const once256 = "−log 256 counts once per value: subtract D·log 256, D = the number of values per example"
		const sign256 = "the rescaling by 1/256 shrinks volume: its log-det is −D·log 256, not +D·log 256"
		const batchD = "D is the number of values of one example (H·W·C), not of the whole batch"
		const batchSum = "each example gets its own logit log-det: sum over the example's values, not over the whole batch"

		// The uniform model: α = 0 and the standard logistic density of z = logit(y), log y(1 − y).
		y := grading.UniformValues(batch*d, 0.02, 0.98, 1)
		latent := grading.PerExample(grading.Map(y, func(_ int, v float64) float64 { return math.Log(v * (1 - v)) }), batch)
		logit := logitTerms(y, 0, true)
		got := run("log P(x) of the uniform model (α = 0, a standard logistic latent)", latent, y, 0)
		want := grading.Fill(batch, -d*log256)
		if c.CloseEach("log P(x) of the uniform model, α = 0, D = 16: −D·log 256 for every image", got, want, 1e-9,
			"log P(x) = latentLogProb + (the logit's log-det) − D·log 256",
			grading.VecMistake(grading.Fill(batch, 0), forgot256),
			grading.VecMistake(grading.Add(latent, grading.Fill(batch, -d*log256)), forgotLogit),
			grading.VecMistake(grading.Add(latent, grading.Scale(-1, logit), grading.Fill(batch, -d*log256)), logitSign),
			grading.VecMistake(grading.Fill(batch, -log256), once256),
			grading.VecMistake(grading.Fill(batch, d*log256), sign256),
			grading.VecMistake(grading.Fill(batch, -batch*d*log256), batchD),
			grading.VecMistake(grading.Add(latent, grading.Fill(batch, grading.Sum(logit)-d*log256)), batchSum),
		) {
			c.Logf("uniform model: %.6f bits/dim (8 exactly)", -grading.Sum(got)/batch/(d*math.Ln2))
		}
		if c.Failed() {
			return
		}

		// A general latent density and α = 0.05.
		const alpha = 0.05
		y = grading.UniformValues(batch*d, 0, 0.999, 2)
		latent = grading.UniformValues(batch, -30, -10, 3)
		logit = logitTerms(y, alpha, true)
		got = run("log P(x) with α = 0.05", latent, y, alpha)
		want = grading.Add(latent, logit, grading.Fill(batch, -d*log256))
		noAlphaTerm := grading.Add(want, grading.Fill(batch, -d*math.Log(1-2*alpha)))
		c.CloseEach("log P(x) with α = 0.05 and latent log-densities "+fmt.Sprintf("%.3g", latent), got, want, 1e-9,
			"log P(x) = latentLogProb + Σ_i [log(1 − 2α) − log p_i − log(1 − p_i)] − D·log 256, p_i = α + (1 − 2α)·y_i",
			grading.VecMistake(noAlphaTerm, "the log(1 − 2α) term is missing: p = α + (1 − 2α)·y scales every value by 1 − 2α, once per value"),
			grading.VecMistake(grading.Add(want, grading.Fill(batch, -(d-1)*math.Log(1-2*alpha))), "log(1 − 2α) counts once per value (D times per example), not once per example"),
			grading.VecMistake(grading.Add(latent, logitTerms(y, alpha, false), grading.Fill(batch, -d*log256)), "p must include the squeeze: p = α + (1 − 2α)·y, not p = y"),
			grading.VecMistake(grading.Add(latent, logitTerms(y, 0, false), grading.Fill(batch, -d*log256)), "α is ignored: p = α + (1 − 2α)·y, and add log(1 − 2α) per value"),
			grading.VecMistake(grading.Add(latent, logit), forgot256),
			grading.VecMistake(grading.Add(latent, grading.Fill(batch, -d*log256)), forgotLogit),
			grading.VecMistake(grading.Add(latent, grading.Scale(-1, logit), grading.Fill(batch, -d*log256)), logitSign),
			grading.VecMistake(grading.Add(logit, grading.Fill(batch, -d*log256)), "latentLogProb is missing: the fixed layers' log-dets are added to it"),
			grading.VecMistake(grading.Add(latent, logit, grading.Fill(batch, -log256)), once256),
			grading.VecMistake(grading.Add(latent, logit, grading.Fill(batch, d*log256)), sign256),
			grading.VecMistake(grading.Add(latent, grading.Fill(batch, grading.Sum(logit)-d*log256)), batchSum),
		)
		if c.Failed() {
			return
		}

		// Colour images, H ≠ W, in float32 too ("any dtype of y"), with y at the edges 0 and 1⁻.
		const b2, h2, w2, ch2 = 2, 3, 5, 3
		const d2 = h2 * w2 * ch2
		y = grading.UniformValues(b2*d2, 0, 0.999, 4)
		y[0], y[1] = 0, 1-1e-9
		latent = grading.UniformValues(b2, -60, -20, 5)
		perValue := grading.Map(y, func(_ int, v float64) float64 {
			p := alpha + (1-2*alpha)*v
			return math.Log(1-2*alpha) - math.Log(p) - math.Log(1-p)
		})
		logit = grading.PerExample(perValue, b2)
		want = grading.Add(latent, logit, grading.Fill(b2, -d2*log256))
		for _, dtype := range []dtypes.DType{dtypes.Float64, dtypes.Float32} {
			what := fmt.Sprintf("log P(x) with α = 0.05 for %s images of shape [%d, %d, %d, %d] (D = %d)", dtype, b2, h2, w2, ch2, d2)
			outs, err := grading.TryExec(c, func(latent, y *Node) *Node { return DiscreteLogLikelihood(latent, y, alpha) },
				flowcheck.FromFloat64(latent, dtype, b2), flowcheck.FromFloat64(y, dtype, b2, h2, w2, ch2))
			if err != nil && dtype == dtypes.Float32 {
				c.Fatalf("%s", grading.Explain(what, fmt.Sprintf("[%d] log-likelihoods", b2), "error: "+grading.FirstLines(err.Error(), 3),
					"it works for float64 y but not for float32: build constants in y's dtype (AddScalar, MulScalar and ConstAs do), not with Const(g, value) of a Go float64"))
			}
			c.NoError(err, what, "read the error: y is [batchSize, H, W, C], latentLogProb [batchSize]")
			c.CheckShape(what+": the shape of the result", outs[0], []int{b2}, "one log-likelihood per example, [batchSize]")
			tol := 1e-9
			if dtype == dtypes.Float32 {
				tol = 1e-5
			}
			if !c.CloseEach(what, grading.Values(outs[0]), want, tol,
				"log P(x) = latentLogProb + Σ_i [log(1 − 2α) − log p_i − log(1 − p_i)] − D·log 256, with D = H·W·C",
				grading.VecMistake(grading.Add(latent, logit, grading.Fill(b2, -h2*w2*log256)), "D counts the channels too: D = H·W·C, every value of the example (here 3·5·3 = 45)"),
				grading.VecMistake(grading.Add(latent, logit, grading.Fill(b2, -log256)), once256),
				grading.VecMistake(grading.Add(latent, grading.Fill(b2, grading.Sum(logit)-d2*log256)), batchSum),
			) {
				return
			}
		}
	})
}
