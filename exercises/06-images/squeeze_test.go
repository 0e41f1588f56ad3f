package imageflows

import (
	"fmt"
	"testing"

	. "github.com/gomlx/gomlx/core/graph" //nolint:revive
	"github.com/gomlx/gomlx/ml/model"

	"github.com/flowbook/flowbook/exercises/internal/grading"
	"github.com/flowbook/flowbook/flowlib"
	"github.com/flowbook/flowbook/flowlib/flowcheck"
)

// squeezeLayout maps each input position (b, row, col, c) of a [b, h, w, c]
// image to its flat index in the [b, h/2, w/2, 4c] output, for one way of
// squeezing (right or wrong).
type squeezeLayout struct {
	name   string // what the layout does, as a hint
	output func(b, row, col, c, h, w, ch int) int
}

// flat returns the row-major index of (b, i, j, k) in [_, h2, w2, c4].
func flat(b, i, j, k, h2, w2, c4 int) int { return ((b*h2+i)*w2+j)*c4 + k }

var squeezeLayouts = []squeezeLayout{
	{"dy and dx are swapped: output channel (2·dy + dx)·C + c, so after Reshape to [b, H/2, 2, W/2, 2, C] " +
		"transpose to [b, H/2, W/2, dy, dx, C] (axes 0, 1, 3, 2, 4, 5)",
		func(b, row, col, c, h, w, ch int) int {
			return flat(b, row/2, col/2, (2*(col%2)+row%2)*ch+c, h/2, w/2, 4*ch)
		}},
	{"the channel order is wrong: the input channel c must vary fastest, channel (2·dy + dx)·C + c, " +
		"so dy and dx go before C: transpose to [b, H/2, W/2, dy, dx, C]",
		func(b, row, col, c, h, w, ch int) int {
			return flat(b, row/2, col/2, 4*c+2*(row%2)+col%2, h/2, w/2, 4*ch)
		}},
	{"the blocks are wrong: output pixel (i, j) takes the 2×2 block at rows 2i, 2i+1 and columns 2j, 2j+1; " +
		"reshape to [b, H/2, 2, W/2, 2, C] (block index, then offset), not [b, 2, H/2, 2, W/2, C]",
		func(b, row, col, c, h, w, ch int) int {
			dy, i := row/(h/2), row%(h/2)
			dx, j := col/(w/2), col%(w/2)
			return flat(b, i, j, (2*dy+dx)*ch+c, h/2, w/2, 4*ch)
		}},
	{"a Reshape alone does not gather 2×2 blocks: reshape to [b, H/2, 2, W/2, 2, C], transpose, then reshape",
		func(b, row, col, c, h, w, ch int) int { return ((b*h+row)*w+col)*ch + c }},
	{"rows and columns are swapped: keep the order [b, H/2, W/2, ...] of the output pixels",
		func(b, row, col, c, h, w, ch int) int {
			return flat(b, col/2, row/2, (2*(row%2)+col%2)*ch+c, w/2, h/2, 4*ch)
		}},
}

// applyLayout returns the squeeze of x ([b, h, w, c], row-major) under layout,
// or, with inverse, the unsqueeze of y ([b, h/2, w/2, 4c]) that undoes it.
func applyLayout(layout squeezeLayout, v []float64, b, h, w, ch int, inverse bool) []float64 {
	out := make([]float64, len(v))
	for bi := range b {
		for row := range h {
			for col := range w {
				for c := range ch {
					in := ((bi*h+row)*w+col)*ch + c
					sq := layout.output(bi, row, col, c, h, w, ch)
					if inverse {
						out[in] = v[sq]
					} else {
						out[sq] = v[in]
					}
				}
			}
		}
	}
	return out
}

func TestSqueeze2x2(t *testing.T) {
	grading.Run(t, func(c *grading.C) {
		const ch = 3
		for _, dims := range [][]int{{2, 4, 4, ch}, {2, 4, 6, ch}, {1, 8, 2, ch}, {3, 6, 10, ch}} {
			b, h, w := dims[0], dims[1], dims[2]
			size := b * h * w * ch
			x := make([]float64, size)
			for i := range x {
				x[i] = float64(i)
			}
			xT := grading.Tensor(x, dims...)
			what := fmt.Sprintf("Squeeze2x2.Forward on images of shape %v", dims)
			outs, err := grading.TryExec(c, func(x *Node) (*Node, *Node) { return Squeeze2x2{}.Forward(nil, x) }, xT)
			if err != nil && h != w && !c.Failed() {
				c.Fatalf("%s", grading.Explain(what, fmt.Sprint([]int{b, h / 2, w / 2, 4 * ch}), "error: "+firstLine(err.Error()),
					"it works on square images but not on H×W = "+fmt.Sprintf("%d×%d", h, w)+": height and width are mixed up (take h and w from x's shape and use each in its place)"))
			}
			if err != nil {
				outs = grading.Exec(c, what, func(x *Node) (*Node, *Node) { return Squeeze2x2{}.Forward(nil, x) }, xT)
			}
			want := model.MustExecOnceN(c.Backend(), model.NewStore(), func(scope *model.Scope, x *Node) []*Node {
				y, _ := flowlib.NewSqueeze2x2().Forward(scope, x)
				return []*Node{y}
			}, xT)[0]
			c.CheckShape(what+": the shape of y", outs[0], want.Shape().Dimensions,
				"squeezing [b, H, W, C] gives [b, H/2, W/2, 4C]")
			c.CheckShape(what+": the shape of the log-det", outs[1], []int{b},
				"the log-det is zeros of shape [batchSize], one per example")
			var wrongs []grading.VecDiagnosis
			for _, layout := range squeezeLayouts {
				wrongs = append(wrongs, grading.VecMistake(applyLayout(layout, x, b, h, w, ch, false), layout.name))
			}
			if h != w {
				// H and W swapped in the first Reshape: the same size, right on square images only.
				swapped := model.MustExecOnceN(c.Backend(), model.NewStore(), func(_ *model.Scope, x *Node) []*Node {
					return []*Node{Reshape(TransposeAllDims(Reshape(x, b, w/2, 2, h/2, 2, ch), 0, 1, 3, 2, 4, 5), b, h/2, w/2, 4*ch)}
				}, xT)[0]
				wrongs = append(wrongs, grading.VecMistake(grading.Values(swapped), fmt.Sprintf("right on square images only: H and W are swapped in a Reshape "+
					"(for %d×%d images, reshape to [b, H/2, 2, W/2, 2, C] = [b, %d, 2, %d, 2, C], H from axis 1 and W from axis 2)", h, w, h/2, w/2)))
			}
			c.CloseEach(what+": y compared with flowlib.Squeeze2x2 (x holds 0, 1, 2, … in row-major order)",
				grading.Values(outs[0]), grading.Values(want), 0,
				"output pixel (i, j), channel (2·dy + dx)·C + c must hold channel c of input pixel (2i + dy, 2j + dx)", wrongs...)
			c.CloseEach(what+": the log-det", grading.Values(outs[1]), grading.Fill(b, 0), 0,
				"a squeeze only moves values: its log-det is 0 for every example")
			if c.Failed() {
				return
			}

			// The inverse, on its own and after Forward.
			y := grading.Values(want)
			sq := want.Shape().Dimensions
			what = fmt.Sprintf("Squeeze2x2.Inverse on latents of shape %v", sq)
			outs, err = grading.TryExec(c, func(y *Node) (*Node, *Node) { return Squeeze2x2{}.Inverse(nil, y) }, grading.Tensor(y, sq...))
			if err != nil && h != w {
				c.Fatalf("%s", grading.Explain(what, fmt.Sprint(dims), "error: "+firstLine(err.Error()),
					"it works on square images but not on "+fmt.Sprintf("%d×%d", h, w)+" ones: height and width are mixed up (take them from y's shape and use each in its place)"))
			}
			if err != nil {
				outs = grading.Exec(c, what, func(y *Node) (*Node, *Node) { return Squeeze2x2{}.Inverse(nil, y) }, grading.Tensor(y, sq...))
			}
			c.CheckShape(what+": the shape of x", outs[0], dims, "unsqueezing [b, H, W, 4C] gives [b, 2H, 2W, C]")
			c.CheckShape(what+": the shape of the log-det", outs[1], []int{b},
				"the log-det is zeros of shape [batchSize], one per example")
			wrongs = wrongs[:0]
			for _, layout := range squeezeLayouts {
				wrongs = append(wrongs, grading.VecMistake(applyLayout(layout, y, b, h, w, ch, true), "Inverse: "+layout.name))
			}
			c.CloseEach(what+": Inverse(flowlib's squeeze of x) = x", grading.Values(outs[0]), x, 0,
				"Inverse must put channel (2·dy + dx)·C + c of pixel (i, j) back at channel c of pixel (2i + dy, 2j + dx)", wrongs...)
			c.CloseEach(what+": the log-det", grading.Values(outs[1]), grading.Fill(b, 0), 0,
				"a squeeze only moves values: its log-det is 0 for every example")
			if c.Failed() {
				return
			}
			roundTrip, _, err := flowcheck.Invertibility(c.Backend(), model.NewStore(), Squeeze2x2{}, xT)
			c.NoError(err, "flowcheck.Invertibility on Squeeze2x2", "the graph failed under flowcheck: read the error")
			c.Close(fmt.Sprintf("max |Inverse(Forward(x)) − x| on %v", dims), roundTrip, 0, 0, "Inverse must undo Forward exactly")
		}
	})
}

func firstLine(s string) string {
	for i, r := range s {
		if r == '\n' {
			return s[:i]
		}
	}
	return s
}
