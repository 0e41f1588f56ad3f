package nice

import (
	"testing"

	. "github.com/gomlx/gomlx/core/graph" //nolint:revive
	"github.com/gomlx/gomlx/ml/model"

	"github.com/flowbook/flowbook/exercises/internal/grading"
	"github.com/flowbook/flowbook/flowlib"
	"github.com/flowbook/flowbook/flowlib/flowcheck"
)

func TestChainLogDet(t *testing.T) {
	grading.Run(t, func(c *grading.C) {
		const batch, dim = 8, 3
		layers := []flowlib.Bijector{ // none of them commute, and most have a nonzero log-det
			flowlib.NewElementwiseAffine(dim),
			flowlib.NewAffineCoupling(flowlib.HalfMask(dim), flowlib.MLP(8).Done()),
			flowlib.RandomPermutation(dim, 7),
			flowlib.NewAffineCoupling(flowlib.HalfMask(dim), flowlib.MLP(8).Done()),
			halvingLeakyReLU{},
			flowlib.NewElementwiseAffine(dim),
		}
		n := len(layers)
		chain := &Chain{Layers: layers}
		x := flowcheck.RandomInput(grading.Float64, 2, 5, batch, dim)
		store := model.NewStore()
		store.SetParam(model.ParamInitialSeed, int64(2))
		grading.ExecModel(c, "Chain.Forward on x [8, 3] (6 layers)", store, func(scope *model.Scope, x *Node) []*Node {
			z, ld := chain.Forward(scope, x)
			return []*Node{z, ld}
		}, x)
		c.NoError(flowcheck.RandomizeVariables(c.Backend(), store, chain, x, 0.4, 6), "giving the layers random variables", "Forward must build a graph for any [batchSize, D] input")

		outs := grading.ExecModel(c, "Chain.Forward, then Chain.Inverse on its output", store, func(scope *model.Scope, x *Node) []*Node {
			z, ld := chain.Forward(scope, x)
			back, ldI := chain.Inverse(scope, z)
			// The layers one by one, right and wrong, with the scopes of LayerScope.
			h := x
			var lds []*Node
			for i, layer := range layers {
				var ldk *Node
				h, ldk = layer.Forward(LayerScope(scope, i), h)
				lds = append(lds, ldk)
			}
			reversedForward := x
			for i := n - 1; i >= 0; i-- {
				reversedForward, _ = layers[i].Forward(LayerScope(scope, i), reversedForward)
			}
			wrongOrder := h
			for i, layer := range layers {
				wrongOrder, _ = layer.Inverse(LayerScope(scope, i), wrongOrder)
			}
			return append([]*Node{z, ld, back, ldI, h, reversedForward, wrongOrder}, lds...)
		}, x)
		layerLogDets := make([][]float64, n)
		for k := range n {
			layerLogDets[k] = grading.Values(outs[7+k])
		}
		sum, product, total := make([]float64, batch), grading.Fill(batch, 1), 0.0
		for e := range batch {
			for k := range n {
				sum[e] += layerLogDets[k][e]
				product[e] *= layerLogDets[k][e]
			}
			total += sum[e]
		}

		c.CheckDims("Forward's z for x [8, 3]", outs[0], "a chain of bijectors keeps the shape", batch, dim)
		if !c.CloseVec("Forward's z: the layers applied one after the other, Layers[0] first (flattened)", grading.Values(outs[0]), grading.Values(outs[4]), 1e-9,
			"h = x; for each layer i in order: h, ld = Layers[i].Forward(LayerScope(scope, i), h)",
			grading.VecMistake(grading.Values(outs[5]), "the layers ran in reverse order: Forward applies Layers[0] first"),
			grading.VecMistake(grading.Values(x), "z = x: pass each layer's output on as the next layer's input"),
		) {
			return
		}
		c.CheckDims("Forward's log-det", outs[1], grading.LogDetShapeHint, batch)
		if !c.CloseVec("Forward's log-det: the sum of the layers' log-dets, per example", grading.Values(outs[1]), sum, 1e-9,
			"start from zeroLogDet(x) and Add each layer's log-det: the Jacobians multiply, so the log-dets add",
			grading.VecMistake(layerLogDets[n-1], "that is the last layer's log-det only: add every layer's"),
			grading.VecMistake(layerLogDets[0], "that is the first layer's log-det only: add every layer's"),
			grading.VecMistake(product, "you multiplied the log-dets: det(AB) = det A · det B, so the logs add"),
			grading.VecMistake(grading.Fill(batch, total), "each entry is the sum over the whole batch: add the layers' log-dets example by example"),
			grading.VecMistake(grading.Fill(batch, 0), "the log-det is 0: add each layer's log-det to it"),
		) {
			return
		}
		c.CheckDims("Inverse's x", outs[2], "a chain of bijectors keeps the shape", batch, dim)
		if !c.CloseVec("Inverse(Forward(x)) = x (flattened)", grading.Values(outs[2]), grading.Values(x), 1e-9,
			"Inverse undoes the last layer first: for i from len(Layers)−1 down to 0, Layers[i].Inverse(LayerScope(scope, i), ·)",
			grading.VecMistake(grading.Values(outs[6]), "Inverse undid the layers in the Forward order: (f₂ ∘ f₁)⁻¹ = f₁⁻¹ ∘ f₂⁻¹, so start from the last layer"),
		) {
			return
		}
		c.CheckDims("Inverse's log-det", outs[3], grading.LogDetShapeHint, batch)
		if !c.CloseVec("Inverse's log-det: minus Forward's, per example", grading.Values(outs[3]), grading.Scale(-1, sum), 1e-9,
			"add the layers' Inverse log-dets: each is already minus that layer's Forward log-det",
			grading.VecMistake(sum, "the inverse's log-det has the wrong sign: add the layers' Inverse log-dets as they are (each is already negative of the Forward one), do not negate the sum"),
			grading.VecMistake(grading.Scale(-1, layerLogDets[0]), "that is one layer's log-det only: add every layer's Inverse log-det"),
			grading.VecMistake(grading.Scale(-1, layerLogDets[n-1]), "that is one layer's log-det only: add every layer's Inverse log-det"),
		) {
			return
		}

		// Brute force, both directions.
		logDetErr, err := flowcheck.LogDetError(c.Backend(), store, chain, x)
		c.NoError(err, "flowcheck.LogDetError on the chain", "Forward must build a graph for any [batchSize, D] input")
		inverseErr, err := flowcheck.LogDetError(c.Backend(), store, flowlib.Invert(chain), outs[0])
		c.NoError(err, "flowcheck.LogDetError on the chain's Inverse", "Inverse must build a graph for any [batchSize, D] input")
		if !c.Close("flowcheck.LogDetError: Forward's log-det against the brute-force Jacobian of the chain", logDetErr, 0, 1e-8, "Forward's log-det must be log|det| of its Jacobian") ||
			!c.Close("flowcheck.LogDetError: Inverse's log-det against the brute-force Jacobian of the inverse chain", inverseErr, 0, 1e-8, "Inverse's log-det must be log|det| of its Jacobian") {
			return
		}
		c.Logf("brute force: Forward %.1e, Inverse %.1e", logDetErr, inverseErr)

		// The empty chain is the identity.
		empty := &Chain{}
		outs = grading.ExecModel(c, "Chain{} (no layers): Forward and Inverse", model.NewStore(), func(scope *model.Scope, x *Node) []*Node {
			z, ld := empty.Forward(scope, x)
			back, ldI := empty.Inverse(scope, x)
			return []*Node{z, ld, back, ldI}
		}, x)
		c.CheckDims("the empty chain's Forward log-det", outs[1], "an empty chain's log-det is zeroLogDet(x), shape [batchSize]", batch)
		c.CheckDims("the empty chain's Inverse log-det", outs[3], "an empty chain's log-det is zeroLogDet(y), shape [batchSize]", batch)
		if !c.CloseVec("the empty chain's Forward: z = x", grading.Values(outs[0]), grading.Values(x), 0, "no layers: the identity") ||
			!c.CloseVec("the empty chain's Forward log-det", grading.Values(outs[1]), grading.Fill(batch, 0), 0, "no layers: log-det 0") ||
			!c.CloseVec("the empty chain's Inverse: x = z", grading.Values(outs[2]), grading.Values(x), 0, "no layers: the identity") ||
			!c.CloseVec("the empty chain's Inverse log-det", grading.Values(outs[3]), grading.Fill(batch, 0), 0, "no layers: log-det 0") {
			return
		}
	})
}

// halvingLeakyReLU is the grader's own leaky ReLU (α = 0.5), so that this
// task does not depend on yours: x < 0 is halved, log-det −log 2 per negative
// coordinate.
type halvingLeakyReLU struct{}

// Forward implements flowlib.Bijector.
func (halvingLeakyReLU) Forward(_ *model.Scope, x *Node) (*Node, *Node) {
	negative := LessThan(x, ZerosLike(x))
	return Where(negative, MulScalar(x, 0.5), x), MulScalar(ReduceSum(ConvertDType(negative, x.DType()), 1), -0.6931471805599453)
}

// Inverse implements flowlib.Bijector.
func (halvingLeakyReLU) Inverse(_ *model.Scope, y *Node) (*Node, *Node) {
	negative := LessThan(y, ZerosLike(y))
	return Where(negative, MulScalar(y, 2), y), MulScalar(ReduceSum(ConvertDType(negative, y.DType()), 1), 0.6931471805599453)
}
