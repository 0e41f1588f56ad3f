package notebook

import (
	"strings"
	"testing"

	"github.com/gomlx/compute/dtypes"
	"github.com/gomlx/gomlx/ml/model"

	"github.com/flowbook/flowbook/flowlib"
	"github.com/flowbook/flowbook/flowlib/backend"
	"github.com/flowbook/flowbook/flowlib/flowcheck"
)

func TestLayerShapes(t *testing.T) {
	x := flowcheck.RandomInput(dtypes.Float32, 2, 1, 3, 8, 8, 1) // [3, 8, 8, 1]
	for _, tc := range []struct {
		name  string
		flow  *flowlib.Flow
		lines []string
	}{
		{"a chain with a multi-scale split",
			flowlib.NewFlow(flowlib.NewStandardNormal(8, 8, 1),
				flowlib.NewActNorm(1), flowlib.NewSqueeze2x2(),
				flowlib.NewFactorOut(4, flowlib.NewChain(flowlib.NewActNorm(2), flowlib.NewSqueeze2x2(), flowlib.NewUnsqueeze2x2())),
				flowlib.NewUnsqueeze2x2()),
			[]string{
				"actnorm                              → 8×8×1",
				"squeeze                              → 4×4×4",
				"factor out 4×4×2; the other 4×4×2 go on:",
				"    actnorm                          → 4×4×2",
				"    squeeze                          → 2×2×8",
				"    unsqueeze                        → 4×4×2",
				"concatenate                          → 4×4×4",
				"unsqueeze                            → 8×8×1",
			}},
		{"a learned prior is named",
			flowlib.NewFlow(flowlib.NewStandardNormal(8, 8, 1), flowlib.NewSqueeze2x2(),
				&flowlib.FactorOut{Channels: 4, LearnedPrior: true}, flowlib.NewUnsqueeze2x2()),
			[]string{
				"squeeze                              → 4×4×4",
				"factor out 4×4×2 (learned prior: ε = (x_out − μ)/σ); the other 4×4×2 go on:",
				"concatenate                          → 4×4×4",
				"unsqueeze                            → 8×8×1",
			}},
		{"a single layer", flowlib.NewFlow(flowlib.NewStandardNormal(8, 8, 1), flowlib.NewSqueeze2x2()),
			[]string{"squeeze                              → 4×4×4"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := LayerShapes(backend.MustShared(), model.NewStore(), tc.flow, x)
			if err != nil {
				t.Fatal(err)
			}
			if want := strings.Join(tc.lines, "\n") + "\n"; got != want {
				t.Errorf("LayerShapes =\n%s\nwant\n%s", got, want)
			}
		})
	}
}

func TestLayerShapesReportsABadFlow(t *testing.T) {
	flow := flowlib.NewFlow(flowlib.NewStandardNormal(8, 8, 1), flowlib.NewFactorOut(1, nil)) // odd channels
	x := flowcheck.RandomInput(dtypes.Float32, 2, 1, 3, 8, 8, 1)
	if _, err := LayerShapes(backend.MustShared(), model.NewStore(), flow, x); err == nil {
		t.Error("LayerShapes of a FactorOut on 1 channel: no error")
	}
}
