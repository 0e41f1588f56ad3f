package flowlib

import (
	"fmt"
	"testing"

	"github.com/gomlx/compute/dtypes"
	"github.com/gomlx/compute/shapes"
	. "github.com/gomlx/gomlx/core/graph" //nolint:revive
	"github.com/gomlx/gomlx/core/tensors"

	"github.com/flowbook/flowbook/flowlib/backend"
)

// BenchmarkConv2D times a 3×3 convolution's forward and backward pass (the
// gradients with respect to input and kernel) in Conv2D's two formulations
// and in GoMLX's built-in convolution, on the shapes of Glow's conditioners
// on MNIST (batch 64; 14×14 after one squeeze, 7×7 after two). Conv2D picks
// im2col to widen the channels and products-first to narrow them:
//
//	GOMLX_BACKEND=go go test -run NONE -bench Conv2D ./flowlib/
func BenchmarkConv2D(b *testing.B) {
	be, err := backend.New()
	if err != nil {
		b.Fatal(err)
	}
	formulations := []struct {
		name string
		conv func(x, w *Node) *Node
	}{
		{"im2col", func(x, w *Node) *Node { return convPatchesFirst(x, w, 3) }},
		{"products-first", func(x, w *Node) *Node { return convProductsFirst(x, w, 3) }},
		{"built-in", func(x, w *Node) *Node { return Convolve(x, w).NoPadding().PadSame().Done() }},
	}
	for _, size := range []struct{ hw, in, out int }{{14, 2, 64}, {14, 64, 4}, {7, 4, 64}, {7, 64, 8}} {
		for _, f := range formulations {
			b.Run(fmt.Sprintf("%dx%dx%d_to_%d/%s", size.hw, size.hw, size.in, size.out, f.name), func(b *testing.B) {
				exec, err := NewExec(be, func(x, w *Node) []*Node {
					y := f.conv(x, w)
					loss := ReduceAllSum(Mul(y, y))
					return append([]*Node{loss}, Gradient(loss, x, w)...)
				})
				if err != nil {
					b.Fatal(err)
				}
				x := tensors.FromShape(shapes.Make(dtypes.Float32, 64, size.hw, size.hw, size.in))
				w := tensors.FromShape(shapes.Make(dtypes.Float32, 3, 3, size.in, size.out))
				for b.Loop() {
					outs, err := exec.Exec(x, w)
					if err != nil {
						b.Fatal(err)
					}
					for _, o := range outs {
						o.FinalizeAll()
					}
				}
			})
		}
	}
}
