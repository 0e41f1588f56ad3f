package notebook

import (
	"fmt"
	"strings"

	"github.com/gomlx/compute"
	. "github.com/gomlx/gomlx/core/graph" //nolint:revive
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/model"

	"github.com/flowbook/flowbook/flowlib"
)

// ShapeOf writes the shape of one example of a batch x [batchSize, ...],
// e.g. "14×14×4" for x of shape [8, 14, 14, 4].
func ShapeOf(x *Node) string {
	parts := []string{}
	for _, d := range x.Shape().Dimensions[1:] {
		parts = append(parts, fmt.Sprint(d))
	}
	return strings.Join(parts, "×")
}

// LayerShapes lists the layers of a flow's bijector in Forward order (data →
// latent), one line each with the shape of one example after it: the
// architecture as the data sees it. It descends into Chains and into the
// inner bijector of each multi-scale split (FactorOut), indenting what runs
// on the kept half, e.g.
//
//	uniform_dequantization          → 28×28×1
//	...
//	factor out 14×14×2; the other 14×14×2 go on:
//	    act_norm                    → 14×14×2
//	concatenate                     → 14×14×4
//
// It builds and runs one graph on the batch x, with the flow's variables in
// store (variables that do not exist yet are created).
func LayerShapes(backend compute.Backend, store *model.Store, flow *flowlib.Flow, x *tensors.Tensor) (string, error) {
	var b strings.Builder
	_, err := model.CallOnce(backend, store, func(scope *model.Scope, x *Node) *Node {
		b.Reset() // only the last build counts, should the graph be built twice
		// Flow keeps its layers in the scope "bijector", as Flow.Forward does.
		return ReduceAllSum(writeShapes(&b, scope.At("bijector"), flow.Bijector, x, 0))
	}, x)
	if err != nil {
		return "", err
	}
	return b.String(), nil
}

// writeShapes runs layer forward on x in scope, writing a line per layer to
// b, and returns the layer's output.
func writeShapes(b *strings.Builder, scope *model.Scope, layer flowlib.Bijector, x *Node, depth int) *Node {
	indent := strings.Repeat("    ", depth)
	width := max(36-len(indent), 12)
	switch layer := layer.(type) {
	case *flowlib.Chain:
		for i, l := range layer.Layers {
			x = writeShapes(b, scope.At("%s", layer.LayerScopeName(i)), l, x, depth)
		}
		return x
	case *flowlib.FactorOut:
		half := x.Shape().Dimensions[x.Rank()-1] / 2
		kept := SliceAxis(x, -1, AxisRange(0, half))
		prior := ""
		if layer.LearnedPrior {
			prior = " (learned prior: ε = (x_out − μ)/σ)"
		}
		fmt.Fprintf(b, "%sfactor out %s%s; the other %s go on:\n", indent, ShapeOf(kept), prior, ShapeOf(kept))
		if layer.Inner != nil {
			writeShapes(b, scope.At("inner"), layer.Inner, kept, depth+1) // for the lines; Forward below gives y
		}
		y, _ := layer.Forward(scope, x)
		fmt.Fprintf(b, "%s%-*s → %s\n", indent, width, "concatenate", ShapeOf(y))
		return y
	}
	y, _ := layer.Forward(scope, x)
	fmt.Fprintf(b, "%s%-*s → %s\n", indent, width, flowlib.NameOf(layer), ShapeOf(y))
	return y
}
