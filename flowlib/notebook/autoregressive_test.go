package notebook

import (
	"regexp"
	"strings"
	"testing"

	"github.com/flowbook/flowbook/flowlib"
)

// segments matches one straight segment of a path: a move, then a relative line.
var segments = regexp.MustCompile(`M-?[0-9.]+ -?[0-9.]+l`)

func TestMADEDiagram(t *testing.T) {
	for _, tc := range []struct {
		name string
		net  *flowlib.MADENet
		dim  int
	}{
		{"natural order", flowlib.MADE(6, 6).Done(), 3},
		{"given order", flowlib.MADE(8).Order(2, 0, 3, 1).Done(), 4},
		{"no hidden layer", flowlib.MADE().Done(), 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			connections := 0
			for _, mask := range tc.net.Masks(tc.dim, 0, 1) {
				for _, row := range mask {
					for _, on := range row {
						if on {
							connections++
						}
					}
				}
			}
			svg := MADEDiagram(tc.name, tc.net, tc.dim).SVG()
			// One segment per connection (plot merges the segments of
			// consecutive lines of one style into one path; it draws no
			// grid without axes).
			if got := segments.FindAllStringIndex(svg, -1); len(got) != connections {
				t.Errorf("%d lines drawn, want one per connection: %d", len(got), connections)
			}
			units := 2 * tc.dim
			for _, size := range tc.net.Masks(tc.dim, 0, 1)[1:] {
				units += len(size)
			}
			if got := strings.Count(svg, "<circle"); got != units {
				t.Errorf("%d units drawn, want %d", got, units)
			}
		})
	}
}

func TestJacobianPattern(t *testing.T) {
	jac := [][]float64{{2, 0, 0}, {0.5, 1, 0}, {0, -3, 0.1}}
	for _, tc := range []struct {
		name  string
		order []int
	}{{"natural", nil}, {"reversed", []int{2, 1, 0}}} {
		t.Run(tc.name, func(t *testing.T) {
			svg := JacobianPattern("J", jac, tc.order).SVG()
			// The three zeros above the diagonal and the one below are marked.
			if got := strings.Count(svg, `fill="#999" fill-opacity="1">0</text>`); got != 4 {
				t.Errorf("%d cells marked 0, want 4", got)
			}
			for _, label := range []string{">x1<", ">x3<", ">z2<"} {
				if !strings.Contains(svg, label) {
					t.Errorf("no label %s", label)
				}
			}
		})
	}
	defer func() {
		if recover() == nil {
			t.Error("an order of the wrong length did not panic")
		}
	}()
	JacobianPattern("J", jac, []int{0, 1})
}
