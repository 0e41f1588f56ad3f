package realnvp

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/gomlx/compute/dtypes"
	. "github.com/gomlx/gomlx/core/graph" //nolint:revive
	"github.com/gomlx/gomlx/ml/model"

	"github.com/flowbook/flowbook/exercises/internal/grading"
	"github.com/flowbook/flowbook/flowlib"
	"github.com/flowbook/flowbook/flowlib/data"
	"github.com/flowbook/flowbook/flowlib/flowcheck"
	"github.com/flowbook/flowbook/flowlib/inference"
	"github.com/flowbook/flowbook/flowlib/training"
)

// checkRealNVPStructure checks the layers of NewRealNVP2D(couplings, ...):
// a standard normal base, and blocks of ActNorm + affine coupling whose masks
// alternate. It records failures and returns whether the structure is right.
func checkRealNVPStructure(c *grading.C, flow *flowlib.Flow, couplings int) bool {
	call := fmt.Sprintf("NewRealNVP2D(%d, ...)", couplings)
	if flow == nil {
		c.Fatalf("%s", grading.Explain(call, "a *flowlib.Flow", "nil",
			"NewRealNVP2D still returns nil: is it still the stub? Write its body (see its doc comment)"))
	}
	if base, ok := flow.Base.(*flowlib.StandardNormal); !ok || !slices.Equal(base.Event, []int{2}) {
		c.Errorf("%s", grading.Explain(call+": the base distribution", "flowlib.NewStandardNormal(2)",
			fmt.Sprintf("%T %v", flow.Base, flow.Base), "the base is a standard normal on 2D points: flowlib.NewStandardNormal(2)"))
		return false
	}
	chain, ok := flow.Bijector.(*flowlib.Chain)
	if !ok {
		c.Errorf("%s", grading.Explain(call+": the bijector", "a *flowlib.Chain", fmt.Sprintf("%T", flow.Bijector),
			"flowlib.NewFlow(base, layers...) puts the layers in a Chain"))
		return false
	}
	var got, want []string
	mask := flowlib.HalfMask(2)
	for range couplings {
		want = append(want, "actnorm", "coupling "+mask.String())
		mask = mask.Flip()
	}
	couplingsOnly := true
	for _, layer := range chain.Layers {
		switch l := layer.(type) {
		case *flowlib.ActNorm:
			got = append(got, "actnorm")
			couplingsOnly = false
		case *flowlib.AffineCoupling:
			got = append(got, "coupling "+l.Mask.String())
		default:
			got = append(got, fmt.Sprintf("%T", layer))
			couplingsOnly = false
		}
	}
	if slices.Equal(got, want) {
		return true
	}
	hint := "each block is flowlib.NewActNorm(2) then flowlib.NewAffineCoupling(mask, conditioner), the mask starting " +
		"at HalfMask(2) and flipped after every coupling"
	var masks []string
	for _, g := range got {
		if len(g) > 9 && g[:9] == "coupling " {
			masks = append(masks, g[9:])
		}
	}
	switch {
	case couplingsOnly && len(got) == couplings:
		hint = "the ActNorm layers are missing: put flowlib.NewActNorm(2) before each coupling (it standardises what the coupling sees)"
	case len(masks) > 1 && masks[0] == masks[1]:
		hint = fmt.Sprintf("the couplings all use the mask %s, so x%s is never transformed: flip the mask after each coupling (mask = mask.Flip())",
			masks[0], map[bool]string{true: "₁", false: "₂"}[masks[0] == "10"])
	case len(got) != len(want):
		hint = fmt.Sprintf("%d couplings make %d layers: an ActNorm and a coupling per block", couplings, 2*couplings)
	}
	c.Errorf("%s", grading.Explain(call+": the layers, in order", fmt.Sprint(want), fmt.Sprint(got), hint))
	return false
}

// mlpParameters returns the number of weights and biases of flowlib.MLP(hidden...)
// with 2 inputs and 4 outputs (the log-scale and shift of 2 coordinates).
func mlpParameters(hidden []int) int {
	sizes := append(append([]int{2}, hidden...), 4)
	total := 0
	for i := 1; i < len(sizes); i++ {
		total += sizes[i-1]*sizes[i] + sizes[i]
	}
	return total
}

func TestRealNVP2DLayers(t *testing.T) {
	grading.Run(t, func(c *grading.C) {
		const couplings = 3
		hidden := []int{16, 8}
		flow := NewRealNVP2D(couplings, hidden...)
		if !checkRealNVPStructure(c, flow, couplings) {
			return
		}
		// Random weights: a freshly built flow is the identity.
		store := model.NewStore()
		store.SetParam(model.ParamInitialSeed, int64(4))
		x := flowcheck.RandomInput(grading.Float64, 2, 3, 16, 2)
		c.NoError(flowcheck.RandomizeVariables(c.Backend(), store, flow.Bijector, x, 0.2, 8),
			"running your flow on 16 random points", "the layers must work on [batchSize, 2] points")
		params := 0
		for v := range store.IterVariables() {
			if v.Trainable {
				params += v.Shape().Size()
			}
		}
		want := couplings * (mlpParameters(hidden) + 4)
		c.Close(fmt.Sprintf("NewRealNVP2D(%d, 16, 8): the number of trainable parameters", couplings), float64(params), float64(want), 0,
			fmt.Sprintf("each coupling's conditioner is flowlib.MLP(hidden...).Done() (here %d parameters: 2→16→8→4), "+
				"each ActNorm has 4 parameters", mlpParameters(hidden)))
		roundTrip, logDetSum, err := flowcheck.Invertibility(c.Backend(), store, flow.Bijector, x)
		c.NoError(err, "the round trip through your flow", "the layers must work on [batchSize, 2] points")
		c.Close("max |f⁻¹(f(x)) − x| over 16 points, with random weights", roundTrip, 0, 1e-9, "a flow built from flowlib's layers inverts exactly: check the layers")
		c.Close("max |log-det f + log-det f⁻¹|", logDetSum, 0, 1e-9, "a flow built from flowlib's layers inverts exactly: check the layers")
		worst, err := flowcheck.LogDetError(c.Backend(), store, flow.Bijector, x)
		c.NoError(err, "the brute-force Jacobian of your flow", "the layers must work on [batchSize, 2] points")
		c.Close("max |log-det − log|det J|| against the brute-force Jacobian", worst, 0, 1e-9, "check the layers")
	})
}

// moonsTarget is the held-out NLL, in nats, the trained flow must beat. The
// reference solution reaches 1.24 to 1.31 (three seeds); an untrained flow
// scores 2.9, and the same model with the same mask in every layer 1.97.
const moonsTarget = 1.55

func TestRealNVP2DMoons(t *testing.T) {
	grading.Run(t, func(c *grading.C) {
		const couplings, steps = 6, 1000
		flow := NewRealNVP2D(couplings, 32, 32)
		if !checkRealNVPStructure(c, flow, couplings) {
			return
		}
		checkHiddenWidths(c, flow, []int{32, 32})
		all, err := data.Toy("moons", 6000, 1)
		c.NoError(err, "the moons data", "a grader problem: report it")
		trainSet, testSet := all.Split(1.0/6, 2)
		store := model.NewStore()
		store.SetParam(model.ParamInitialSeed, int64(1))
		before, err := inference.MeanLogProb(c.Backend(), store, flow, testSet)
		c.NoError(err, "the held-out log-likelihood of your untrained flow", "the flow must work on [batchSize, 2] float32 points")
		start := time.Now()
		result, err := training.New(c.Backend(), store, flow, trainSet).
			Steps(steps).BatchSize(256).LearningRate(5e-3).Seed(1).Eval(testSet, 0).Log(nil).Run()
		c.NoError(err, "training NewRealNVP2D(6, 32, 32) on moons", "the loss must stay finite: check the layers")
		nll := result.Evals[len(result.Evals)-1].NLL
		c.Logf("held-out NLL of NewRealNVP2D(6, 32, 32) on moons: %.3f nats untrained, %.3f after %d steps (%s)",
			-before, nll, steps, time.Since(start).Round(100*time.Millisecond))
		if !(nll < moonsTarget) {
			c.Errorf("%s", grading.Explain(
				fmt.Sprintf("the held-out NLL on moons after %d training steps (%d training, %d held-out points)", steps, trainSet.N, testSet.N),
				fmt.Sprintf("below %.2f nats", moonsTarget), fmt.Sprintf("%.3f nats (untrained: %.3f)", nll, -before),
				"the flow did not learn the moons well: check that the masks alternate and that every coupling uses the MLP conditioner"))
		}
	})
}

// checkHiddenWidths ends the check unless every coupling of flow (whose
// structure checkRealNVPStructure has checked) has a flowlib.MLP conditioner
// with the hidden widths want, read from the variables one Forward run creates.
func checkHiddenWidths(c *grading.C, flow *flowlib.Flow, want []int) {
	store := model.NewStore()
	grading.ExecModel(c, fmt.Sprintf("NewRealNVP2D(6, %v...).Forward on 4 points", want), store, func(scope *model.Scope, x *Node) []*Node {
		z, ld := flow.Forward(scope, x)
		return []*Node{z, ld}
	}, flowcheck.RandomInput(dtypes.Float32, 1, 2, 4, 2))
	widths := grading.HiddenWidths(store)
	chain := flow.Bijector.(*flowlib.Chain)
	var got [][]int
	ok := true
	for i, layer := range chain.Layers {
		if _, coupling := layer.(*flowlib.AffineCoupling); coupling {
			w := widths["/bijector/"+chain.LayerScopeName(i)]
			got = append(got, w)
			ok = ok && slices.Equal(w, want)
		}
	}
	if ok {
		return
	}
	c.Fatalf("%s", grading.Explain(fmt.Sprintf("NewRealNVP2D(6, %d, %d): the layers' hidden widths, coupling by coupling (from the shapes of their weights)", want[0], want[1]),
		fmt.Sprint(slices.Repeat([][]int{want}, len(got))), fmt.Sprint(got),
		"every coupling's conditioner is flowlib.MLP(hidden...).Done() with the hidden sizes NewRealNVP2D is given: one hidden layer per entry of hidden, that many units each"))
}
