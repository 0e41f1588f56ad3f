package glow

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	. "github.com/gomlx/gomlx/core/graph" //nolint:revive
	"github.com/gomlx/gomlx/ml/model"

	"github.com/flowbook/flowbook/exercises/internal/grading"
	"github.com/flowbook/flowbook/flowlib/flowcheck"
)

// channelStats returns the mean and the population and sample standard
// deviations of each channel of v ([..., ch], row-major).
func channelStats(v []float64, ch int) (mean, std, sampleStd []float64) {
	n := float64(len(v) / ch)
	mean, std, sampleStd = make([]float64, ch), make([]float64, ch), make([]float64, ch)
	for i, x := range v {
		mean[i%ch] += x / n
	}
	for i, x := range v {
		d := x - mean[i%ch]
		std[i%ch] += d * d
	}
	for c := range ch {
		sampleStd[c] = math.Sqrt(std[c] / (n - 1))
		std[c] = math.Sqrt(std[c] / n)
	}
	return mean, std, sampleStd
}

func TestActNormInit(t *testing.T) {
	grading.Run(t, func(c *grading.C) {
		for _, tc := range []struct {
			batch, h, w    int
			chMean, chStd  []float64
			nearlyConstant int // the channel whose spread is tiny next to its mean, or −1
		}{
			{4, 3, 3, []float64{2, -1}, []float64{3, 0.5}, -1},
			// Three channels of [8, 5, 7, 3]; channel 2 is nearly constant (250 ± 0.005), where
			// E[x²] − E[x]² cancels to noise.
			{8, 5, 7, []float64{-3, 0.5, 250}, []float64{1.5, 4, 0.005}, 2},
		} {
			if !checkActNormInit(c, tc.batch, tc.h, tc.w, tc.chMean, tc.chStd, tc.nearlyConstant) {
				return
			}
		}
	})
}

// checkActNormInit checks ActNormInit on a batch [batch, h, w, C] whose
// channel c is N(chMean[c], chStd[c]²), and reports whether it passed.
func checkActNormInit(c *grading.C, batch, h, w int, chMean, chStd []float64, nearlyConstant int) bool {
	ch := len(chMean)
	rng := rand.New(rand.NewPCG(7, uint64(6+ch))) // (7, 8) for the first batch
	x := make([]float64, batch*h*w*ch)
	for i := range x {
		x[i] = chMean[i%ch] + chStd[i%ch]*rng.NormFloat64()
	}
	mean, std, sampleStd := channelStats(x, ch)
	_, allStd, _ := channelStats(x, 1)

	outs := grading.Exec(c, fmt.Sprintf("ActNormInit on a batch of shape [%d, %d, %d, %d]", batch, h, w, ch),
		func(x *Node) (*Node, *Node) { return ActNormInit(x) }, grading.Tensor(x, batch, h, w, ch))
	shapeHint := "one value per channel, shape [C]: reduce over every axis but the last (0, 1 and 2 for images)"
	c.CheckShape("the shape of scale", outs[0], []int{ch}, shapeHint)
	c.CheckShape("the shape of bias", outs[1], []int{ch}, shapeHint)
	scaleV, biasV := grading.Values(outs[0]), grading.Values(outs[1])

	inv := func(v []float64) []float64 { return grading.Map(v, func(_ int, s float64) float64 { return 1 / s }) }
	wantScale := inv(std)
	wantBias := grading.Map(mean, func(c int, m float64) float64 { return -m / std[c] })
	const tol = 1e-6      // for recognising a mistake
	const checkTol = 1e-9 // the checks: float64 statistics are good to 10⁻¹²
	hint := "scale_c = 1/std_c and bias_c = −mean_c/std_c, with the statistics of channel c over the batch and every pixel"
	switch {
	case grading.AllNear(scaleV, std, tol):
		hint = "the scale is the standard deviation: it must be 1/std_c, which divides the spread away"
	case grading.AllNear(scaleV, inv(grading.Map(std, func(_ int, s float64) float64 { return s * s })), tol):
		hint = "the scale is 1/variance: take the square root, scale_c = 1/std_c"
	case grading.AllNear(scaleV, inv(sampleStd), tol):
		hint = "that is the sample standard deviation (divided by N − 1): use the population one, divided by N, so the output has std exactly 1"
	case grading.AllNear(scaleV, grading.Scale(-1, wantScale), tol):
		hint = "the scale is negative: scale_c = +1/std_c"
	case grading.AllNear(scaleV, grading.Fill(ch, 1/allStd[0]), tol):
		hint = "the statistics are over all channels together: compute them per channel (reduce every axis but the last)"
	case grading.AllNear(scaleV, wantScale, tol) && grading.AllNear(biasV, grading.Scale(-1, mean), tol):
		hint = "bias = −mean: the bias is added after scaling, so it must be −mean_c·scale_c = −mean_c/std_c"
	case grading.AllNear(scaleV, wantScale, tol) && grading.AllNear(biasV, grading.Scale(-1, wantBias), tol):
		hint = "the bias has the wrong sign: bias_c = −mean_c/std_c"
	case grading.AllNear(scaleV, wantScale, tol) && grading.AllNear(biasV, mean, tol):
		hint = "the bias is the mean: it must be −mean_c/std_c, so that scale·x + bias = (x − mean)/std"
	case nearlyConstant >= 0 && !grading.Near(scaleV[nearlyConstant], wantScale[nearlyConstant], checkTol) &&
		grading.AllNear(slices.Delete(slices.Clone(scaleV), nearlyConstant, nearlyConstant+1),
			slices.Delete(slices.Clone(wantScale), nearlyConstant, nearlyConstant+1), checkTol):
		hint = fmt.Sprintf("only channel %d is off, whose values are %g ± %g: E[x²] − (E[x])² subtracts two numbers near %g and keeps only noise. "+
			"Take the mean of (x − mean)², two passes (ReduceVariance does)", nearlyConstant, chMean[nearlyConstant], chStd[nearlyConstant], chMean[nearlyConstant]*chMean[nearlyConstant])
	}

	// The property the initialisation is for: on this batch, y = scale·x + bias is normalised per channel.
	y := grading.Map(x, func(i int, v float64) float64 { return scaleV[i%ch]*v + biasV[i%ch] })
	yMean, yStd, _ := channelStats(y, ch)
	return c.CloseEach("the per-channel mean of y = scale·x + bias on the batch", yMean, grading.Fill(ch, 0), checkTol, hint) &&
		c.CloseEach("the per-channel standard deviation of y = scale·x + bias on the batch", yStd, grading.Fill(ch, 1), checkTol, hint) &&
		c.CloseEach("scale = 1/std per channel", scaleV, wantScale, checkTol, hint) &&
		c.CloseEach("bias = −mean/std per channel", biasV, wantBias, checkTol, hint)
}

func TestActNormLayer(t *testing.T) {
	grading.Run(t, func(c *grading.C) {
		const batch, h, w, ch = 2, 3, 2, 3
		const pixels = h * w
		layer := ActNorm{Channels: ch}
		scaleV := []float64{1.5, -0.7, 0.4}
		biasV := []float64{0.3, -1.2, 0.5}
		store := model.NewStore()
		for name, v := range map[string][]float64{"scale": scaleV, "bias": biasV} {
			_, err := store.CreateVariable("/"+name, grading.Tensor(v, ch))
			c.NoError(err, "setting ActNorm's variables", "the grader could not create the variables")
		}
		x := grading.UniformValues(batch*h*w*ch, -2, 2, 9)
		xT := grading.Tensor(x, batch, h, w, ch)
		sumLog := 0.0
		for _, s := range scaleV {
			sumLog += math.Log(math.Abs(s))
		}
		wantLD := pixels * sumLog

		outs := grading.ExecModel(c, "ActNorm.Forward on x of shape [2, 3, 2, 3], scale = [1.5, −0.7, 0.4], bias = [0.3, −1.2, 0.5]", store,
			func(scope *model.Scope, x *Node) []*Node { y, ld := layer.Forward(scope, x); return []*Node{y, ld} }, xT)
		c.CheckShape("the shape of y", outs[0], []int{batch, h, w, ch}, "y has the shape of x")
		c.CheckShape("the shape of the forward log-det", outs[1], []int{batch}, "the log-det has one value per example, [batchSize]")
		per := func(f func(v, s, b float64) float64, v []float64) []float64 {
			return grading.Map(v, func(i int, v float64) float64 { return f(v, scaleV[i%ch], biasV[i%ch]) })
		}
		c.CloseEach("y = scale_c·x + bias_c", grading.Values(outs[0]), per(func(v, s, b float64) float64 { return s*v + b }, x), 1e-12,
			"y = scale_c·x + bias_c for channel c (the last axis)",
			grading.VecMistake(per(func(v, s, b float64) float64 { return s * (v + b) }, x), "the bias is added after scaling: y = scale·x + bias, not scale·(x + bias)"),
			grading.VecMistake(per(func(v, s, b float64) float64 { return (v - b) / s }, x), "that is the inverse map: Forward is y = scale·x + bias"),
			grading.VecMistake(per(func(v, s, b float64) float64 { return s * v }, x), "the bias is missing: y = scale·x + bias"))
		ld := grading.Values(outs[1])
		if math.IsNaN(ld[0]) {
			c.Fatalf("%s", grading.Explain("the forward log-det with a negative scale (−0.7)", fmt.Sprintf("%.6g", wantLD), "NaN",
				"log of a negative scale: the log-det is H·W·Σ_c log|scale_c|, with the absolute value"))
		}
		c.CloseEach("the forward log-det H·W·Σ_c log|scale_c| (H·W = 6)", ld, grading.Fill(batch, wantLD), 1e-10,
			"log|det| = H·W·Σ_c log|scale_c|: every pixel scales its C channels",
			grading.VecMistake(grading.Fill(batch, sumLog), "the H·W factor is missing: every one of the H·W pixels scales its channels, so the log-det is H·W·Σ_c log|scale_c|"),
			grading.VecMistake(grading.Fill(batch, -wantLD), "the sign is flipped: Forward multiplies by scale, log-det +H·W·Σ log|scale|"),
			grading.VecMistake(grading.Fill(batch, batch*wantLD), "the log-det is per example: do not multiply by the batch size"),
			grading.VecMistake(grading.Fill(batch, ch*wantLD), "count the pixels, H·W, not the values H·W·C: Σ_c already covers the channels"),
			grading.VecMistake(grading.Fill(batch, pixels*grading.Sum(scaleV)), "take the log: H·W·Σ_c log|scale_c|, not the sum of the scales"))
		if c.Failed() {
			return
		}

		ldErr, err := flowcheck.LogDetError(c.Backend(), store, layer, xT)
		c.NoError(err, "flowcheck.LogDetError on ActNorm", "the Forward graph failed under flowcheck: read the error")
		c.Close("|forward log-det − log|det J|| with J the brute-force Jacobian (flowcheck.LogDetError)", ldErr, 0, 1e-9,
			"the log-det does not match the Jacobian: H·W·Σ_c log|scale_c|")

		yRef := per(func(v, s, b float64) float64 { return s*v + b }, x)
		outs = grading.ExecModel(c, "ActNorm.Inverse on y = Forward(x)", store,
			func(scope *model.Scope, y *Node) []*Node { x, ld := layer.Inverse(scope, y); return []*Node{x, ld} },
			grading.Tensor(yRef, batch, h, w, ch))
		c.CheckShape("the shape of Inverse's x", outs[0], []int{batch, h, w, ch}, "x has the shape of y")
		c.CheckShape("the shape of the inverse log-det", outs[1], []int{batch}, "the log-det has one value per example, [batchSize]")
		c.CloseEach("Inverse(Forward(x)) = x", grading.Values(outs[0]), x, 1e-10,
			"x = (y − bias_c)/scale_c",
			grading.VecMistake(per(func(v, s, b float64) float64 { return v/s - b }, yRef), "subtract the bias before dividing: x = (y − bias)/scale"),
			grading.VecMistake(per(func(v, s, b float64) float64 { return (v - b) * s }, yRef), "divide by the scale: x = (y − bias)/scale"),
			grading.VecMistake(yRef, "Inverse returns y unchanged: undo Forward, x = (y − bias)/scale"))
		c.CloseEach("the inverse log-det = −(forward log-det)", grading.Values(outs[1]), grading.Fill(batch, -wantLD), 1e-10,
			"the inverse divides by scale: its log-det is −H·W·Σ_c log|scale_c|",
			grading.VecMistake(grading.Fill(batch, wantLD), "the inverse's log-det is minus the forward's: −H·W·Σ_c log|scale_c|"),
			grading.VecMistake(grading.Fill(batch, -sumLog), "the H·W factor is missing in the inverse log-det"))
		if c.Failed() {
			return
		}
		roundTrip, ldSum, err := flowcheck.Invertibility(c.Backend(), store, layer, xT)
		c.NoError(err, "flowcheck.Invertibility on ActNorm", "the graph failed under flowcheck: read the error")
		c.Close("max |Inverse(Forward(x)) − x| (flowcheck.Invertibility)", roundTrip, 0, 1e-10, "Inverse must undo Forward")
		c.Close("max |forward log-det + inverse log-det|", ldSum, 0, 1e-10, "the inverse log-det must be minus the forward one")
	})
}
