package coupling

import (
	"fmt"
	"math"
	"slices"
	"testing"

	. "github.com/gomlx/gomlx/core/graph" //nolint:revive
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/model"

	"github.com/flowbook/flowbook/exercises/internal/grading"
	"github.com/flowbook/flowbook/flowlib"
	"github.com/flowbook/flowbook/flowlib/flowcheck"
)

// The graders' coupling: 8 points of dimension 6, a mask that is neither a
// half nor an alternating one, and a small random conditioner.
const testBatch, testDim = 8, 6

var testMask = flowlib.Mask{true, false, true, true, false, false}

// couplingSetup returns the learner's layer, a store holding its conditioner's
// variables (random, so that the layer is far from the identity) and x.
func couplingSetup(c *grading.C) (*AffineCoupling, *model.Store, *tensors.Tensor) {
	conditioner := flowlib.MLP(16).Activation("tanh").Done()
	layer := &AffineCoupling{Mask: testMask, Conditioner: conditioner}
	store := model.NewStore()
	store.SetParam(model.ParamInitialSeed, int64(3))
	x := flowcheck.RandomInput(grading.Float64, 2, 7, testBatch, testDim)
	// flowlib's coupling keeps its conditioner's variables in the same scope
	// ("conditioner"): create and randomise them through it, without running
	// any of the learner's code.
	ref := flowlib.NewAffineCoupling(testMask, conditioner)
	c.NoError(flowcheck.RandomizeVariables(c.Backend(), store, ref, x, 0.3, 5),
		"creating the conditioner's variables", "this is a grader problem, not yours: report it")
	return layer, store, x
}

// couplingReference holds the values the graders compare with, computed in
// float64 from x and the conditioner's raw outputs s and t.
type couplingReference struct {
	x, s, t      []float64 // s and t as the conditioner gives them (unmasked)
	sm, tm       []float64 // masked: 0 on the kept coordinates
	y            []float64 // x·exp(sm) + tm
	logDet       []float64 // Σ_j sm per example
	logDetNoMask []float64 // Σ_j s per example, kept coordinates included
}

func newCouplingReference(x, s, t []float64) *couplingReference {
	r := &couplingReference{x: x, s: s, t: t}
	transformed := func(i int) bool { return !testMask[i%testDim] }
	r.sm = grading.Map(s, func(i int, v float64) float64 {
		if transformed(i) {
			return v
		}
		return 0
	})
	r.tm = grading.Map(t, func(i int, v float64) float64 {
		if transformed(i) {
			return v
		}
		return 0
	})
	r.y = grading.Map(x, func(i int, v float64) float64 { return v*math.Exp(r.sm[i]) + r.tm[i] })
	r.logDet = perExampleSum(r.sm)
	r.logDetNoMask = perExampleSum(s)
	return r
}

// perExampleSum sums [testBatch, testDim] values over the coordinates.
func perExampleSum(v []float64) []float64 {
	out := make([]float64, testBatch)
	for i, x := range v {
		out[i/testDim] += x
	}
	return out
}

// keptValues returns the values of the kept coordinates of a [testBatch, testDim] slice.
func keptValues(v []float64) []float64 {
	var out []float64
	for i, x := range v {
		if testMask[i%testDim] {
			out = append(out, x)
		}
	}
	return out
}

// checkKeptExactly checks that out equals in, bit for bit, on the kept coordinates.
func checkKeptExactly(c *grading.C, direction string, in, out []float64) {
	inKept, outKept := keptValues(in), keptValues(out)
	if slices.Equal(inKept, outKept) {
		return
	}
	hint := "the kept coordinates must pass through untouched: multiply s and t by (1 - keep) (OneMinus(keep)) " +
		"before using them, so that there the layer computes x·exp(0) + 0 = x"
	if grading.AllNear(outKept, inKept, 1e-6) {
		hint = "the kept coordinates changed by a rounding error only: is something computed in float32? Compute in x's dtype (float64 here), " +
			"where x·exp(0) + 0 is x bit for bit"
	}
	wantText, gotText := grading.ShortPair(inKept, outKept)
	c.Errorf("%s", grading.Explain(
		fmt.Sprintf("%s: the kept coordinates (mask %s: 0, 2 and 3) come out exactly unchanged", direction, testMask),
		wantText, gotText, hint))
}

// checkLogDetShape ends the check unless logDet has shape [testBatch].
func checkLogDetShape(c *grading.C, direction string, logDet *tensors.Tensor, want []float64) {
	dims := logDet.Shape().Dimensions
	if len(dims) == 1 && dims[0] == testBatch {
		return
	}
	hint := "the log-det has one value per example: shape [batchSize]"
	values := grading.Values(logDet)
	total := 0.0
	for _, v := range want {
		total += v
	}
	switch {
	case len(values) == 1 && grading.Near(values[0], total, 1e-9):
		hint = "the log-det was summed over the batch: keep one value per example, ReduceSum(s, 1) gives [batchSize]"
	case len(values) == 1:
		hint = "the log-det is a single number: sum s over the coordinates only (axis 1), one value per example"
	case len(dims) == 2:
		hint = "the log-det still has one value per coordinate: sum s over axis 1 (ReduceSum(s, 1)) to get [batchSize]"
	}
	c.Fatalf("%s", grading.Explain(direction+": shape of the log-det for a batch of 8",
		fmt.Sprintf("[%d]", testBatch), fmt.Sprint(dims), hint))
}

func TestAffineCouplingForward(t *testing.T) {
	grading.Run(t, func(c *grading.C) {
		layer, store, x := couplingSetup(c)
		outs := grading.ExecModelCalling(c, "Forward of your AffineCoupling on 8 random points of dimension 6", "Forward", store,
			func(scope *model.Scope, x *Node) []*Node {
				y, logDet := layer.Forward(scope, x)
				_, s, t := layer.conditioner(scope, x)
				return []*Node{y, logDet, s, t}
			}, x)
		ref := newCouplingReference(grading.Values(x), grading.Values(outs[2]), grading.Values(outs[3]))
		if dims := outs[0].Shape().Dimensions; !slices.Equal(dims, []int{testBatch, testDim}) {
			c.Fatalf("%s", grading.Explain("Forward: shape of y", "[8 6] (the shape of x)", fmt.Sprint(dims),
				"y has the shape of x: y = x·exp(s) + t, elementwise"))
		}
		y := grading.Values(outs[0])
		checkKeptExactly(c, "Forward", ref.x, y)
		c.CloseVec("Forward: y = x·exp(s) + t, with s = t = 0 on the kept coordinates", y, ref.y, 1e-10,
			"y = x·exp(s) + t on the transformed coordinates, y = x on the kept ones",
			grading.VecMistake(grading.Map(ref.x, func(i int, v float64) float64 { return v*math.Exp(-ref.sm[i]) + ref.tm[i] }),
				"Forward multiplies by exp(s), not exp(-s): exp(-s) undoes it, in Inverse"),
			grading.VecMistake(grading.Map(ref.x, func(i int, v float64) float64 { return (v + ref.tm[i]) * math.Exp(ref.sm[i]) }),
				"the shift comes after the scale: y = x·exp(s) + t, not (x + t)·exp(s)"),
			grading.VecMistake(grading.Map(ref.x, func(i int, v float64) float64 { return v*math.Exp(ref.s[i]) + ref.t[i] }),
				"s and t were not masked: multiply both by (1 - keep), so that the kept coordinates pass through"),
			grading.VecMistake(grading.Map(ref.x, func(i int, v float64) float64 { return v*math.Exp(ref.s[i]) + ref.tm[i] }),
				"s was not masked: multiply it by (1 - keep) too, so that the kept coordinates are not scaled"),
		)

		checkLogDetShape(c, "Forward", outs[1], ref.logDet)
		c.CloseVec("Forward: log|det ∂y/∂x| = Σ_j s_j over the transformed coordinates, per example",
			grading.Values(outs[1]), ref.logDet, 1e-10,
			"the log-det of y = x·exp(s) + t is the sum of the masked s over the coordinates",
			grading.VecMistake(grading.Map(ref.logDet, func(_ int, v float64) float64 { return -v }),
				"the sign of the log-det is flipped: Forward stretches by exp(s), so its log-det is +Σ s"),
			grading.VecMistake(ref.logDetNoMask,
				"the log-det counts the kept coordinates too: sum the masked s, s·(1 - keep), whose kept entries are 0"),
			grading.VecMistake(grading.Map(ref.logDet, func(_ int, v float64) float64 { return v / testDim }),
				"the log-det is the sum of s over the coordinates, not the mean"),
			grading.VecMistake(perExampleSum(grading.Map(ref.sm, func(_ int, v float64) float64 { return math.Exp(v) })),
				"the log-det is Σ s, not Σ exp(s): log|det| of diag(exp(s)) is the sum of the logs of exp(s)"),
		)
		if c.Failed() {
			return
		}
		worst, err := flowcheck.LogDetError(c.Backend(), store, layer, x)
		c.NoError(err, "the brute-force Jacobian of your Forward", "Forward must work on any batch of shape [batchSize, dim]")
		c.Close("Forward: the log-det against log|det J| of the brute-force Jacobian (flowcheck.LogDetError), max |difference|",
			worst, 0, 1e-9, "the returned log-det is not log|det ∂y/∂x|: does y depend on x only as the formula says?")
	})
}

func TestAffineCouplingInverse(t *testing.T) {
	grading.Run(t, func(c *grading.C) {
		layer, store, x := couplingSetup(c)
		// y = f(x) computed by the grader, so that Inverse is graded on its own.
		outs := grading.ExecModelCalling(c, "the conditioner's s and t at x", "conditioner", store, func(scope *model.Scope, x *Node) []*Node {
			_, s, t := layer.conditioner(scope, x)
			return []*Node{s, t}
		}, x)
		ref := newCouplingReference(grading.Values(x), grading.Values(outs[0]), grading.Values(outs[1]))
		y := grading.Tensor(ref.y, testBatch, testDim)

		outs = grading.ExecModelCalling(c, "Inverse of your AffineCoupling on y = f(x) for 8 random points x of dimension 6", "Inverse", store,
			func(scope *model.Scope, y *Node) []*Node {
				x, logDet := layer.Inverse(scope, y)
				return []*Node{x, logDet}
			}, y)
		if dims := outs[0].Shape().Dimensions; !slices.Equal(dims, []int{testBatch, testDim}) {
			c.Fatalf("%s", grading.Explain("Inverse: shape of x", "[8 6] (the shape of y)", fmt.Sprint(dims),
				"x has the shape of y: x = (y - t)·exp(-s), elementwise"))
		}
		back := grading.Values(outs[0])
		checkKeptExactly(c, "Inverse", ref.y, back)
		c.CloseVec("Inverse: round trip, f⁻¹(f(x)) = x", back, ref.x, 1e-10,
			"x = (y - t)·exp(-s) on the transformed coordinates, x = y on the kept ones",
			grading.VecMistake(grading.Map(ref.y, func(i int, v float64) float64 { return (v - ref.tm[i]) * math.Exp(ref.sm[i]) }),
				"Inverse must undo the scale: multiply by exp(-s), not exp(s)"),
			grading.VecMistake(grading.Map(ref.y, func(i int, v float64) float64 { return v*math.Exp(-ref.sm[i]) - ref.tm[i] }),
				"the steps are undone in the wrong order: Forward scaled then shifted, so subtract t first, then multiply by exp(-s): x = (y - t)·exp(-s)"),
			grading.VecMistake(grading.Map(ref.y, func(i int, v float64) float64 { return (v + ref.tm[i]) * math.Exp(-ref.sm[i]) }),
				"Inverse must subtract the shift: x = (y - t)·exp(-s)"),
			grading.VecMistake(grading.Map(ref.y, func(i int, v float64) float64 { return (v - ref.t[i]) * math.Exp(-ref.s[i]) }),
				"s and t were not masked: multiply both by (1 - keep), so that the kept coordinates pass through"),
		)

		want := grading.Map(ref.logDet, func(_ int, v float64) float64 { return -v })
		checkLogDetShape(c, "Inverse", outs[1], want)
		c.CloseVec("Inverse: log|det ∂x/∂y| = -Σ_j s_j over the transformed coordinates, per example",
			grading.Values(outs[1]), want, 1e-10,
			"the inverse's log-det is minus the forward one: -Σ of the masked s",
			grading.VecMistake(ref.logDet,
				"the sign of the log-det is flipped: Inverse shrinks by exp(-s), so its log-det is -Σ s"),
			grading.VecMistake(grading.Map(ref.logDetNoMask, func(_ int, v float64) float64 { return -v }),
				"the log-det counts the kept coordinates too: sum the masked s, s·(1 - keep), whose kept entries are 0"),
			grading.VecMistake(grading.Map(want, func(_ int, v float64) float64 { return v / testDim }),
				"the log-det is the sum of s over the coordinates, not the mean"),
		)
	})
}
