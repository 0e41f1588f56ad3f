package training

import (
	"math"
	"testing"

	. "github.com/gomlx/gomlx/core/graph" //nolint:revive
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/model"
	"github.com/gomlx/gomlx/ml/train"
	"github.com/gomlx/gomlx/ml/train/optimizer"

	"github.com/flowbook/flowbook/flowlib/backend"
)

// TestNonFiniteStepChangesNoVariable takes a few finite steps, so that Adam
// has momentum, then one whose loss is infinite: that step must leave the
// trainable variable as it was (momentum alone would move it) and keep
// Adam's moments finite, so that later finite steps train normally.
func TestNonFiniteStepChangesNoVariable(t *testing.T) {
	be, err := backend.Shared()
	if err != nil {
		t.Fatal(err)
	}
	store := model.NewStore()
	modelFn := func(scope *model.Scope, x *Node) *Node {
		w := scope.VariableWithValue("w", float32(1)).NodeValue(x.Graph())
		return Mul(Square(w), x) // The loss is w²·x: infinite for x = Inf.
	}
	meanLoss := func(_, predictions []*Node) *Node { return ReduceAllMean(predictions[0]) }
	for _, clip := range []float64{10, 0} {
		opt := &clippedAdam{inner: optimizer.Adam().LearningRate(0.1).Done(), maxNorm: clip}
		trainer := train.NewTrainer(be, store, modelFn, meanLoss, opt, nil, nil)
		w := func() float32 { return tensors.ToScalar[float32](store.GetVariable("/w").MustValue()) }
		step := func(x float32) {
			t.Helper()
			batch := train.Batch{Inputs: []*tensors.Tensor{tensors.FromValue([]float32{x})}}
			if _, err := trainer.TrainStep(batch); err != nil {
				t.Fatal(err)
			}
		}
		for range 3 {
			step(1)
		}
		before := w()
		step(float32(math.Inf(1)))
		if got := w(); got != before {
			t.Errorf("clip %g: w went from %v to %v in the step with an infinite loss, want unchanged", clip, before, got)
		}
		step(1)
		if got := w(); !(got < before) || math.IsNaN(float64(got)) {
			t.Errorf("clip %g: w = %v after a finite step that follows, want finite and below %v", clip, got, before)
		}
	}
}
