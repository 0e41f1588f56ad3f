package jacobians

import (
	"math"
	"testing"

	. "github.com/gomlx/gomlx/core/graph" //nolint:revive
	"github.com/gomlx/gomlx/ml/model"

	"github.com/flowbook/flowbook/exercises/internal/grading"
	"github.com/flowbook/flowbook/flowlib"
	"github.com/flowbook/flowbook/flowlib/flowcheck"
)

func TestComposedLogProb(t *testing.T) {
	grading.Run(t, func(c *grading.C) {
		const batch, dim = 8, 4
		// Four layers whose log-dets are all nonzero, with random variables.
		chain := flowlib.NewChain(
			flowlib.NewElementwiseAffine(dim),
			flowlib.NewAffineCoupling(flowlib.HalfMask(dim), flowlib.MLP(16).Done()),
			flowlib.NewPlanar(dim),
			flowlib.NewAffineCoupling(flowlib.HalfMask(dim).Flip(), flowlib.MLP(16).Done()),
		)
		store := model.NewStore()
		store.SetParam(model.ParamInitialSeed, int64(1))
		x := flowcheck.RandomInput(grading.Float64, 2, 3, batch, dim)
		c.NoError(flowcheck.RandomizeVariables(c.Backend(), store, chain, x, 0.5, 5), "building the test chain", "this is the grader's own chain: report it")
		n := len(chain.Layers)
		outs := grading.ExecModel(c, "ComposedLogProb on the output of a 4-layer chain's ForwardTrace", store, func(scope *model.Scope, x *Node) []*Node {
			trace, logDets := chain.ForwardTrace(scope, x)
			logDet, logProb := ComposedLogProb(trace[n], logDets)
			return append([]*Node{trace[n], logDet, logProb}, logDets...)
		}, x)
		z := grading.Values(outs[0])
		layers := make([][]float64, n)
		for k := range n {
			layers[k] = grading.Values(outs[3+k])
		}
		jac, _, err := flowcheck.Jacobian(c.Backend(), store, chain, x)
		c.NoError(err, "the brute-force Jacobian of the test chain", "this is the grader's own chain: report it")

		// What the right answer and the plausible mistakes give, per example.
		bruteForce := make([]float64, batch)
		sum, product, last, summedOverBatch := make([]float64, batch), make([]float64, batch), make([]float64, batch), make([]float64, batch)
		logBase, want, subtracted, noConst, noHalf, baseOnly := make([]float64, batch), make([]float64, batch), make([]float64, batch),
			make([]float64, batch), make([]float64, batch), make([]float64, batch)
		total := 0.0
		for e := range batch {
			bruteForce[e] = flowcheck.LogAbsDet(jac[e])
			product[e] = 1
			for k := range n {
				sum[e] += layers[k][e]
				product[e] *= layers[k][e]
			}
			last[e] = layers[n-1][e]
			total += sum[e]
			sq := 0.0
			for i := range dim {
				sq += z[e*dim+i] * z[e*dim+i]
			}
			logBase[e] = -0.5 * (sq + dim*math.Log(2*math.Pi))
			want[e] = logBase[e] + bruteForce[e]
			subtracted[e] = logBase[e] - bruteForce[e]
			noConst[e] = -0.5*sq + bruteForce[e]
			noHalf[e] = -(sq + dim*math.Log(2*math.Pi)) + bruteForce[e]
			baseOnly[e] = logBase[e]
		}
		for e := range batch {
			summedOverBatch[e] = total
		}
		if !grading.AllNear(sum, bruteForce, 1e-8) {
			c.Fatalf("checking: the grader's chain\ngot:      its layers' log-dets do not add up to its brute-force log-det\nhint:     this is a bug in the grader or in flowlib: report it")
		}

		c.CheckDims("logDet", outs[1], grading.LogDetShapeHint, batch)
		if !c.CloseVec("logDet against log|det J| of the whole chain's brute-force Jacobian (flowcheck)", grading.Values(outs[1]), bruteForce, 1e-8,
			"the log-det of a composition is the sum of the layers' log-dets: Add them, each [batchSize]",
			grading.VecMistake(product, "you multiplied the log-dets: the determinants multiply, det(AB) = det A · det B, so their logs add. Sum the log-dets"),
			grading.VecMistake(last, "that is only the last layer's log-det: add all the layers'"),
			grading.VecMistake(layers[0], "that is only the first layer's log-det: add all the layers'"),
			grading.VecMistake(summedOverBatch, "every entry is the sum over the whole batch: add the layers' log-dets example by example (Add), do not reduce over the batch"),
			grading.VecMistake(grading.Scale(-1, bruteForce), "the sign is flipped: logDet = +Σ_k log-det_k"),
		) {
			return
		}
		c.CheckDims("logProb", outs[2], "log p(x) has one value per example, shape [batchSize]: sum over the coordinates (axis 1) only", batch)
		c.CloseVec("logProb = log p_Z(z) + logDet, with p_Z = N(0, I) and log|det J| from the brute-force Jacobian", grading.Values(outs[2]), want, 1e-8,
			"log p(x) = −½ Σ_i (z_i² + log 2π) + logDet, the sum over the D coordinates of each example",
			grading.VecMistake(subtracted, "you subtracted the log-det: in flowlib's direction, data → latent (Forward), log p(x) = log p_Z(f(x)) + log|det J_f(x)| — add it (it is subtracted only for the Inverse's log-det)"),
			grading.VecMistake(baseOnly, "that is log p_Z(z) alone: add the log-det, log p(x) = log p_Z(z) + logDet"),
			grading.VecMistake(noConst, "the normalising constant is missing: log p_Z(z) = −½ Σ_i (z_i² + log 2π), that is −½‖z‖² − (D/2)·log(2π)"),
			grading.VecMistake(noHalf, "the ½ is missing: log p_Z(z) = −½ Σ_i (z_i² + log 2π)"),
		)
	})
}
