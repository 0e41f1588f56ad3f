package coupling

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	. "github.com/gomlx/gomlx/core/graph" //nolint:revive

	"github.com/flowbook/flowbook/exercises/internal/grading"
	"github.com/flowbook/flowbook/flowlib"
)

// flowlibCheckerboard returns flowlib's checkerboard mask for height×width
// images, as height·width values row-major.
func flowlibCheckerboard(c *grading.C, height, width int, flipped bool) []float64 {
	m := flowlib.CheckerboardMask(height, width)
	if flipped {
		m = m.Flip()
	}
	outs := grading.Exec(c, "flowlib.CheckerboardMask as a tensor", func(x *Node) *Node { return m.Tensor("grader", x) },
		grading.Tensor(make([]float64, height*width), 1, height, width, 1))
	return grading.Values(outs[0])
}

// drawMask writes a mask as rows of 1s and 0s separated by "/".
func drawMask(values []float64, width int) string {
	var rows []string
	for start := 0; start < len(values); start += width {
		var b strings.Builder
		for _, v := range values[start:min(start+width, len(values))] {
			fmt.Fprintf(&b, "%g", v)
		}
		rows = append(rows, b.String())
	}
	return strings.Join(rows, "/")
}

// patternMask returns the height·width values of keep(i, j), 1 or 0.
func patternMask(height, width int, keep func(i, j int) bool) []float64 {
	out := make([]float64, 0, height*width)
	for i := range height {
		for j := range width {
			if keep(i, j) {
				out = append(out, 1)
			} else {
				out = append(out, 0)
			}
		}
	}
	return out
}

func TestCheckerboard2D(t *testing.T) {
	grading.Run(t, func(c *grading.C) {
		for _, size := range [][2]int{{4, 4}, {3, 6}, {5, 3}, {2, 7}, {1, 2}, {1, 8}, {9, 2}, {16, 16}, {13, 11}} {
			h, w := size[0], size[1]
			for _, flipped := range []bool{false, true} {
				what := fmt.Sprintf("CheckerboardMask(%d, %d, %v) against flowlib.CheckerboardMask(%d, %d)", h, w, flipped, h, w)
				if flipped {
					what += ".Flip()"
				}
				got := CheckerboardMask(h, w, flipped)
				if got == nil {
					c.Fatalf("%s", grading.Explain(what, fmt.Sprintf("%d rows of %d values", h, w), "nil",
						"CheckerboardMask still returns nil: is it still the stub? Write its body (see its doc comment)"))
				}
				if len(got) != h || slices.ContainsFunc(got, func(row []float64) bool { return len(row) != w }) {
					hint := fmt.Sprintf("the mask has height rows (%d) of width values (%d) each", h, w)
					if len(got) == w && len(got[0]) == h {
						hint = "height and width are swapped: mask[i][j] is row i (of height), column j (of width)"
					}
					c.Fatalf("%s", grading.Explain(what+": the shape", fmt.Sprintf("%d rows of %d values", h, w),
						fmt.Sprintf("%d rows, the first of %d values", len(got), len(got[0])), hint))
				}
				flat := slices.Concat(got...)
				want := flowlibCheckerboard(c, h, w, flipped)
				if slices.Equal(flat, want) {
					continue
				}
				hint := "pixel (i, j) is kept (1) when i+j is even; flipped swaps 1s and 0s"
				complement := patternMask(h, w, func(i, j int) bool { return (i+j)%2 == 1 != flipped })
				switch {
				case slices.Equal(flat, complement) && !flipped:
					hint = "off by one: pixel (0, 0) is kept, mask[0][0] = 1: the kept pixels are those with i+j even"
				case slices.Equal(flat, complement):
					hint = "with flipped, the 1s and 0s swap: then pixel (0, 0) is transformed, mask[0][0] = 0"
				case slices.Equal(flat, patternMask(h, w, func(i, j int) bool { return (i*w+j)%2 == 0 != flipped })):
					hint = "the parity of the flat index i·width + j gives stripes when the width is even: use the parity of i+j"
				case slices.Equal(flat, patternMask(h, w, func(i, j int) bool { return j%2 == 0 != flipped })),
					slices.Equal(flat, patternMask(h, w, func(i, j int) bool { return i%2 == 0 != flipped })):
					hint = "these are stripes, not a checkerboard: the parity must change along rows and along columns, (i+j) % 2"
				}
				c.Errorf("%s", grading.Explain(what+" (rows separated by /)", drawMask(want, w), drawMask(flat, w), hint))
				return
			}
		}
	})
}
