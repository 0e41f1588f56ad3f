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
// and in GoMLX's built-in convolution (ConvFormBuiltIn), on the shapes of Glow's conditioners
// on MNIST (batch 64; 14×14 after one squeeze, 7×7 after two). Conv2D picks
// im2col to widen the channels and products-first to narrow them:
//
//	FLOWBOOK_BACKEND=go scripts/go test -run NONE -bench Conv2D ./flowlib/
//	FLOWBOOK_BACKEND=xla:cpu scripts/go test -run NONE -bench Conv2D ./flowlib/
func BenchmarkConv2D(b *testing.B) {
	be, err := backend.Shared()
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

// TestConvFormAutoOnCPU checks that the automatic form is the matrix product
// on the CPU backends the tests run on (pure Go, XLA's CPU plugin), where it
// was measured fastest.
func TestConvFormAutoOnCPU(t *testing.T) {
	be, err := backend.Shared()
	if err != nil {
		t.Fatal(err)
	}
	if !onCPU(be) {
		t.Errorf("backend %s (%s) is not recognised as computing on the CPU", be, be.Description())
	}
}
