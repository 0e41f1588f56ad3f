package quality

import (
	"slices"
	"testing"

	"github.com/gomlx/compute/dtypes"
	"github.com/gomlx/compute/shapes"
	. "github.com/gomlx/gomlx/core/graph" //nolint:revive
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/model"

	"github.com/flowbook/flowbook/flowlib/backend"
)

// expectedWeights, which LoadClassifier checks checkpoints against, lists
// exactly the weights that the network creates, with their shapes, for the
// defaults and for other sizes; and the logits have the promised shape.
func TestExpectedWeightsAreTheNetworks(t *testing.T) {
	b, err := backend.Shared()
	if err != nil {
		t.Fatal(err)
	}
	for _, sizes := range []map[string]any{nil, {ParamChannels: []int{3, 5}, ParamHidden: 7}} {
		store := model.NewStore()
		store.RootScope().SetParams(sizes)
		c := &Classifier{Store: store}
		out := model.MustExecOnce(b, store, func(scope *model.Scope, x *Node) *Node {
			return c.Logits(scope, x)
		}, tensors.FromShape(shapes.Make(dtypes.Float32, 2, Side, Side, 1)))
		if dims := out.Shape().Dimensions; !slices.Equal(dims, []int{2, NumOutputs}) {
			t.Errorf("sizes %v: logits %v, want [2 11]", sizes, dims)
		}
		built := map[string][]int{}
		for v := range store.IterVariables() {
			if v.Trainable {
				built[v.Path()] = v.Shape().Dimensions
			}
		}
		want := expectedWeights(store.RootScope().At(networkScope))
		if len(built) != len(want) {
			t.Errorf("sizes %v: the network made %d weights %v, expectedWeights lists %d: %v", sizes, len(built), built, len(want), want)
		}
		for path, dims := range want {
			if !slices.Equal(built[path], dims) {
				t.Errorf("sizes %v: %s is %v in the network, %v in expectedWeights", sizes, path, built[path], dims)
			}
		}
		if err := c.checkWeights(); err != nil {
			t.Errorf("sizes %v: checkWeights of a freshly built network: %v", sizes, err)
		}
	}
}
