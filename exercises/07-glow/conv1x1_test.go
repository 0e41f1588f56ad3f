package glow

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	. "github.com/gomlx/gomlx/core/graph" //nolint:revive
	"github.com/gomlx/gomlx/ml/model"

	"github.com/flowbook/flowbook/exercises/internal/grading"
	"github.com/flowbook/flowbook/flowlib"
	"github.com/flowbook/flowbook/flowlib/flowcheck"
)

// conv1x1Layer is Conv1x1 as a flowlib.Bijector, for flowcheck (which only
// needs Forward).
type conv1x1Layer struct{ w [][]float64 }

func (l conv1x1Layer) Forward(_ *model.Scope, x *Node) (*Node, *Node) { return Conv1x1(x, l.w) }
func (l conv1x1Layer) Inverse(_ *model.Scope, _ *Node) (*Node, *Node) {
	panic("the exercise's Conv1x1 has no inverse")
}

func TestConv1x1(t *testing.T) {
	grading.Run(t, func(c *grading.C) {
		const batch, h, w, ch = 2, 3, 2, 3
		const pixels = h * w
		// det W < 0, and log|det W| is far from 0.
		wm := [][]float64{{0.1, 0.8, 0.4}, {1.2, 0.3, -0.5}, {-0.7, 0.2, 1.5}}
		logAbsDetW := flowcheck.LogAbsDet(wm)
		det := 0.1*(0.3*1.5+0.5*0.2) - 0.8*(1.2*1.5-0.5*0.7) + 0.4*(1.2*0.2+0.3*0.7)
		x := grading.UniformValues(batch*h*w*ch, -2, 2, 21)
		xT := grading.Tensor(x, batch, h, w, ch)

		conv, err := flowlib.NewInvertible1x1Conv(ch, 1).WithInitialMatrix(wm)
		c.NoError(err, "flowlib's 1×1 convolution with the grader's W", "the grader's matrix is singular (a grader bug)")
		ref := model.MustCallOnceN(c.Backend(), model.NewStore(), func(scope *model.Scope, x *Node) []*Node {
			y, ld := conv.Forward(scope, x)
			return []*Node{y, ld}
		}, xT)

		what := "Conv1x1(x, W) on x of shape [2, 3, 2, 3], W = [[0.1 0.8 0.4] [1.2 0.3 −0.5] [−0.7 0.2 1.5]]"
		outs := grading.Exec(c, what, func(x *Node) (*Node, *Node) { return Conv1x1(x, wm) }, xT)
		c.CheckShape("the shape of y", outs[0], []int{batch, h, w, ch}, "y has the shape of x")
		c.CheckShape("the shape of the log-det", outs[1], []int{batch}, "the log-det has one value per example, [batchSize]")
		mix := func(m [][]float64) []float64 {
			out := make([]float64, len(x))
			for p := 0; p < len(x); p += ch {
				for i := range ch {
					for k := range ch {
						out[p+i] += m[i][k] * x[p+k]
					}
				}
			}
			return out
		}
		c.CloseEach("y compared with flowlib.Invertible1x1Conv's Forward for the same W", grading.Values(outs[0]), grading.Values(ref[0]), 1e-12,
			"y[b, i, j, c] = Σ_k W[c][k]·x[b, i, j, k]: W times each pixel's channel vector",
			grading.VecMistake(mix(grading.Transpose(wm)), "that multiplies by Wᵀ (x·W): y_c = Σ_k W[c][k]·x_k, so contract x's channels with W's second index (\"bhwk,ck->bhwc\")"))
		want := pixels * logAbsDetW
		ld := grading.Values(outs[1])
		if math.IsNaN(ld[0]) {
			c.Fatalf("%s", grading.Explain("the log-det for a W with det W < 0", "6·log|det W|", "NaN",
				"log of a negative determinant: the log-det uses log|det W|, with the absolute value"))
		}
		c.CloseEach("the log-det H·W_img·log|det W| (H·W_img = 6)", ld, grading.Fill(batch, want), 1e-10,
			"the Jacobian is block diagonal with one W per pixel: log|det| = H·W_img·log|det W|",
			grading.VecMistake(grading.Fill(batch, logAbsDetW), "the pixel count is missing: each of the H·W_img pixels is multiplied by W, so the log-det is H·W_img·log|det W|"),
			grading.VecMistake(grading.Fill(batch, ch*want), "count the pixels H·W_img, not the values H·W_img·C: log|det W| already covers the channels"),
			grading.VecMistake(grading.Fill(batch, -want), "the sign is flipped: Forward multiplies by W, log-det +H·W_img·log|det W|"),
			grading.VecMistake(grading.Fill(batch, batch*want), "the log-det is per example: do not multiply by the batch size"),
			grading.VecMistake(grading.Fill(batch, pixels*det), "take the log: H·W_img·log|det W|, not the determinant itself"),
			grading.VecMistake(grading.Fill(batch, pixels*math.Abs(det)), "take the log: H·W_img·log|det W|, not |det W|"))
		if c.Failed() {
			return
		}
		ldErr, err := flowcheck.LogDetError(c.Backend(), model.NewStore(), conv1x1Layer{wm}, xT)
		c.NoError(err, "flowcheck.LogDetError on Conv1x1", "the graph failed under flowcheck: read the error")
		if !c.Close("|log-det − log|det J|| with J the brute-force Jacobian (flowcheck.LogDetError)", ldErr, 0, 1e-9,
			"the log-det does not match the Jacobian: H·W_img·log|det W|") {
			return
		}

		// More channels than 3, and a nearly singular W (det ≈ 7·10⁻⁸).
		rng := rand.New(rand.NewPCG(31, 32))
		w12 := make([][]float64, 12)
		for i := range w12 {
			w12[i] = make([]float64, 12)
			for j := range w12[i] {
				w12[i][j] = rng.NormFloat64() / math.Sqrt(12)
			}
		}
		nearlySingular := [][]float64{{1, 1, 0, 0}, {1, 1 + 1e-8, 0, 0}, {0, 0, 2, 1}, {0, 0, -1, 3}}
		for _, tc := range []struct {
			name string
			w    [][]float64
		}{{"a random 12×12 W", w12}, {"a nearly singular 4×4 W (det ≈ 7·10⁻⁸)", nearlySingular}} {
			const b2, h2, w2 = 2, 2, 3
			c2 := len(tc.w)
			x := grading.UniformValues(b2*h2*w2*c2, -2, 2, uint64(40+c2))
			xT := grading.Tensor(x, b2, h2, w2, c2)
			conv, err := flowlib.NewInvertible1x1Conv(c2, 1).WithInitialMatrix(tc.w)
			c.NoError(err, "flowlib's 1×1 convolution with "+tc.name, "the grader's matrix is singular (a grader bug)")
			ref := model.MustCallOnceN(c.Backend(), model.NewStore(), func(scope *model.Scope, x *Node) []*Node {
				y, _ := conv.Forward(scope, x)
				return []*Node{y}
			}, xT)
			what := fmt.Sprintf("Conv1x1(x, W) on x [%d, %d, %d, %d] with %s", b2, h2, w2, c2, tc.name)
			outs := grading.Exec(c, what, func(x *Node) (*Node, *Node) { return Conv1x1(x, tc.w) }, xT)
			c.CheckShape(what+": the shape of y", outs[0], []int{b2, h2, w2, c2}, "y has the shape of x")
			c.CheckShape(what+": the shape of the log-det", outs[1], []int{b2}, "the log-det has one value per example, [batchSize]")
			want := float64(h2*w2) * flowcheck.LogAbsDet(tc.w)
			if !c.CloseEach(what+": y compared with flowlib.Invertible1x1Conv's Forward", grading.Values(outs[0]), grading.Values(ref[0]), 1e-12,
				"y[b, i, j, c] = Σ_k W[c][k]·x[b, i, j, k], for any number of channels C") ||
				!c.CloseEach(what+": the log-det H·W_img·log|det W|", grading.Values(outs[1]), grading.Fill(b2, want), 1e-10,
					"log|det W| of the whole C×C matrix (flowcheck.LogAbsDet(w)), times the H·W_img pixels, for any C") {
				return
			}
		}
	})
}
