package imageflows

import (
	"math"
	"testing"

	"github.com/gomlx/compute/dtypes"
	. "github.com/gomlx/gomlx/core/graph" //nolint:revive
	"github.com/gomlx/gomlx/ml/model"

	"github.com/flowbook/flowbook/exercises/internal/grading"
	"github.com/flowbook/flowbook/flowlib/flowcheck"
)

func TestUniformDequantize(t *testing.T) {
	grading.Run(t, func(c *grading.C) {
		const batch, h, w, ch = 2, 3, 3, 2
		const d = h * w * ch
		x := grading.Map(grading.UniformValues(batch*d, 0, 256, 4), func(_ int, v float64) float64 { return math.Floor(v) })
		x[0], x[1] = 0, 255
		u := grading.UniformValues(batch*d, 0, 1, 5)
		u[0], u[1] = 0, 1-1e-9 // the corners of [0, 256): y = 0 and y just below 1
		what := "Dequantize(x, u) on [2, 3, 3, 2] integer pixels"
		outs := grading.Exec(c, what, func(x, u *Node) (*Node, *Node) { return Dequantize(x, u) },
			grading.Tensor(x, batch, h, w, ch), grading.Tensor(u, batch, h, w, ch))
		c.CheckShape("the shape of y", outs[0], []int{batch, h, w, ch}, "y has the shape of x")
		c.CheckShape("the shape of the log-det", outs[1], []int{batch}, "the log-det has one value per example, [batchSize]")

		xu := grading.Add(x, u)
		c.CloseEach("y = (x + u)/256", grading.Values(outs[0]), grading.Scale(1.0/256, xu), 1e-12,
			"y = (x + u) / 256, element by element",
			grading.VecMistake(grading.Scale(1.0/256, x), "the noise is missing: add u before rescaling, y = (x + u)/256"),
			grading.VecMistake(grading.Scale(1.0/255, xu), "divide by 256, the number of levels, not 255: y must stay below 1 for x = 255, u → 1"),
			grading.VecMistake(xu, "rescale: y = (x + u)/256 lies in [0, 1)"),
			grading.VecMistake(grading.Add(grading.Scale(1.0/256, x), u), "divide the sum: y = (x + u)/256, not x/256 + u"))

		const once = "every one of the D values is scaled by 1/256: the log-det is −D·log 256, D = the values per example"
		want := -d * log256
		c.CloseEach("log|det ∂y/∂(x + u)| for D = 18 values per example", grading.Values(outs[1]), grading.Fill(batch, want), 1e-12,
			"log|det| of y = v/256 is Σ_i log(1/256) = −D·log 256",
			grading.VecMistake(grading.Fill(batch, -want), "the sign is flipped: dividing by 256 shrinks volume, so the log-det is negative, −D·log 256"),
			grading.VecMistake(grading.Fill(batch, -log256), once),
			grading.VecMistake(grading.Fill(batch, 0), "the log-det is not 0: rescaling by 1/256 shrinks every value, log-det −D·log 256"),
			grading.VecMistake(grading.Fill(batch, batch*want), "D counts the values of one example (H·W·C), not of the whole batch"),
			grading.VecMistake(grading.Fill(batch, want/ch), "D counts the channels too: D = H·W·C"),
			grading.VecMistake(grading.Fill(batch, -d*math.Log(255)), "the scale is 1/256, so the log-det is −D·log 256, not −D·log 255"),
			grading.VecMistake(grading.Fill(batch, -d*8), "use the natural log: −D·ln 256 (log-likelihoods are in nats), not −D·log₂ 256 = −8·D"))
		if c.Failed() {
			return
		}

		// float32 pixels: y and the log-det come in x's dtype, as every flowlib layer's do.
		what = "Dequantize(x, u) on float32 pixels [2, 3, 3, 2]"
		outs = grading.Exec(c, what, func(x, u *Node) (*Node, *Node) { return Dequantize(x, u) },
			flowcheck.FromFloat64(x, dtypes.Float32, batch, h, w, ch), flowcheck.FromFloat64(u, dtypes.Float32, batch, h, w, ch))
		for i, name := range []string{"y", "the log-det"} {
			if got := outs[i].DType(); got != dtypes.Float32 {
				c.Fatalf("%s", grading.Explain(what+": the dtype of "+name, "Float32 (x's dtype)", got.String(),
					"build the constant log-det in x's dtype (ConstAs(x, value) or Scalar(g, x.DType(), value)): a flow adds its layers' log-dets, which must share one dtype"))
			}
		}
		c.CloseEach("the log-det for float32 pixels", grading.Values(outs[1]), grading.Fill(batch, want), 1e-6,
			"log|det| of y = v/256 is −D·log 256 in any dtype")
	})
}

func TestLogitPreprocessing(t *testing.T) {
	grading.Run(t, func(c *grading.C) {
		const batch, h, w, ch = 2, 3, 3, 1
		const d = h * w * ch
		const alpha = 0.1
		layer := Logit{Alpha: alpha}
		y := grading.UniformValues(batch*d, 0.01, 0.99, 6)
		y[0], y[1] = 0, 1 // the edges, which the squeeze keeps finite
		p := grading.Map(y, func(_ int, v float64) float64 { return alpha + (1-2*alpha)*v })
		logit := func(v float64) float64 { return math.Log(v) - math.Log1p(-v) }
		z := grading.Map(p, func(_ int, v float64) float64 { return logit(v) })
		perValue := func(p []float64, withAlpha bool) []float64 {
			return grading.Map(p, func(_ int, v float64) float64 {
				t := -math.Log(v) - math.Log1p(-v)
				if withAlpha {
					t += math.Log(1 - 2*alpha)
				}
				return t
			})
		}
		wantLD := grading.PerExample(perValue(p, true), batch)

		what := "Logit{Alpha: 0.1}.Forward on y of shape [2, 3, 3, 1]"
		outs := grading.Exec(c, what, func(y *Node) (*Node, *Node) { return layer.Forward(nil, y) }, grading.Tensor(y, batch, h, w, ch))
		c.CheckShape("the shape of z", outs[0], []int{batch, h, w, ch}, "z has the shape of y")
		c.CheckShape("the shape of the forward log-det", outs[1], []int{batch}, "the log-det has one value per example, [batchSize]")
		c.CloseEach("z = log p − log(1 − p), p = α + (1 − 2α)·y", grading.Values(outs[0]), z, 1e-10,
			"z = logit(p) = log p − log(1 − p) with p = α + (1 − 2α)·y",
			grading.VecMistake(grading.Scale(-1, z), "the logit is log p − log(1 − p), not log(1 − p) − log p"),
			grading.VecMistake(grading.Map(y, func(_ int, v float64) float64 { return logit(v) }), "squeeze first: p = α + (1 − 2α)·y, then take the logit of p"),
			grading.VecMistake(grading.Map(p, func(_ int, v float64) float64 { return math.Log(v) }), "z = log p − log(1 − p): the − log(1 − p) is missing"))
		yNoAlpha := grading.Map(y, func(_ int, v float64) float64 { return v })
		c.CloseEach("the forward log-det Σ_i [log(1 − 2α) − log p_i − log(1 − p_i)]", grading.Values(outs[1]), wantLD, 1e-10,
			"per value dz/dy = (1 − 2α)/(p(1 − p)); sum its log over each example's values",
			grading.VecMistake(grading.Scale(-1, wantLD), "the sign is flipped: the logit stretches [0, 1] onto the real line, log|dz/dy| = log(1 − 2α) − log p − log(1 − p) > 0"),
			grading.VecMistake(grading.PerExample(perValue(p, false), batch), "the log(1 − 2α) term is missing: the squeeze p = α + (1 − 2α)·y scales each value by 1 − 2α"),
			grading.VecMistake(grading.Add(wantLD, grading.Fill(batch, -(d-1)*math.Log(1-2*alpha))), "log(1 − 2α) counts once per value, not once per example"),
			grading.VecMistake(grading.PerExample(perValue(yNoAlpha, true), batch), "the log-det uses p = α + (1 − 2α)·y, not y"),
			grading.VecMistake(grading.Fill(batch, grading.Sum(wantLD)), "each example gets its own log-det: sum over its values, not over the batch"))
		if c.Failed() {
			return
		}

		ldErr, err := flowcheck.LogDetError(c.Backend(), model.NewStore(), layer, grading.Tensor(y, batch, h, w, ch))
		c.NoError(err, "flowcheck.LogDetError on Logit", "the Forward graph failed under flowcheck: read the error")
		c.Close("|forward log-det − log|det J|| with J the brute-force Jacobian (flowcheck.LogDetError)", ldErr, 0, 1e-8,
			"the log-det does not match the Jacobian: check log(1 − 2α) − log p − log(1 − p) per value")

		what = "Logit{Alpha: 0.1}.Inverse on z = Forward(y)"
		outs = grading.Exec(c, what, func(z *Node) (*Node, *Node) { return layer.Inverse(nil, z) }, grading.Tensor(z, batch, h, w, ch))
		c.CheckShape("the shape of Inverse's y", outs[0], []int{batch, h, w, ch}, "y has the shape of z")
		c.CheckShape("the shape of the inverse log-det", outs[1], []int{batch}, "the log-det has one value per example, [batchSize]")
		c.CloseEach("Inverse(Forward(y)) = y", grading.Values(outs[0]), y, 1e-9,
			"y = (sigmoid(z) − α)/(1 − 2α)",
			grading.VecMistake(p, "sigmoid(z) gives p: undo the squeeze too, y = (sigmoid(z) − α)/(1 − 2α)"),
			grading.VecMistake(grading.Map(p, func(_ int, v float64) float64 { return (v - alpha) * (1 - 2*alpha) }), "divide by 1 − 2α, do not multiply: y = (sigmoid(z) − α)/(1 − 2α)"),
			grading.VecMistake(grading.Map(p, func(_ int, v float64) float64 { return v/(1-2*alpha) - alpha }), "subtract α first, then divide: y = (sigmoid(z) − α)/(1 − 2α)"))
		c.CloseEach("the inverse log-det = −(forward log-det)", grading.Values(outs[1]), grading.Scale(-1, wantLD), 1e-9,
			"the inverse's Jacobian is the inverse matrix: log|dy/dz| = log p + log(1 − p) − log(1 − 2α), p = sigmoid(z)",
			grading.VecMistake(wantLD, "the inverse's log-det is minus the forward's: log p + log(1 − p) − log(1 − 2α)"),
			grading.VecMistake(grading.Scale(-1, grading.PerExample(perValue(p, false), batch)), "the inverse log-det misses −log(1 − 2α) per value (undoing the squeeze stretches by 1/(1 − 2α))"))
		if c.Failed() {
			return
		}
		roundTrip, ldSum, err := flowcheck.Invertibility(c.Backend(), model.NewStore(), layer, grading.Tensor(y, batch, h, w, ch))
		c.NoError(err, "flowcheck.Invertibility on Logit", "the graph failed under flowcheck: read the error")
		c.Close("max |Inverse(Forward(y)) − y| (flowcheck.Invertibility)", roundTrip, 0, 1e-9, "Inverse must undo Forward")
		c.Close("max |forward log-det + inverse log-det|", ldSum, 0, 1e-9, "the inverse log-det must be minus the forward one")
	})
}
