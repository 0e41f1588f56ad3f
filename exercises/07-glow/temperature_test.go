package glow

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	. "github.com/gomlx/gomlx/core/graph" //nolint:revive
	"github.com/gomlx/gomlx/ml/model"

	"github.com/flowbook/flowbook/exercises/internal/grading"
	"github.com/flowbook/flowbook/flowlib"
	"github.com/flowbook/flowbook/flowlib/flowcheck"
)

func TestTemperatureSampling(t *testing.T) {
	grading.Run(t, func(c *grading.C) {
		const n, dim = 256, 4
		// A small RealNVP with random weights: its log-det depends on x.
		flow := flowlib.RealNVP(dim).NumCouplings(2).Hidden(8).Done()
		store := model.NewStore()
		c.NoError(flowcheck.RandomizeVariables(c.Backend(), store, flow, flowcheck.RandomInput(grading.Float64, 1, 3, 8, dim), 0.3, 4),
			"setting up the grader's flow", "the grader's flow failed (a grader bug)")
		rng := rand.New(rand.NewPCG(5, 6))
		epsV := make([]float64, n*dim)
		for i := range epsV {
			epsV[i] = rng.NormFloat64()
		}
		eps := grading.Tensor(epsV, n, dim)

		// reference returns x = f⁻¹(k·eps), log p_Z(k·eps), log p_Z(eps) and log|det ∂f⁻¹/∂z| at z = k·eps.
		reference := func(k float64) (x, logPz, logPeps, ldInv []float64) {
			outs := model.MustCallOnceN(c.Backend(), store, func(scope *model.Scope, eps *Node) []*Node {
				z := MulScalar(eps, k)
				x, ld := flow.Inverse(scope, z)
				base := scope.At("base")
				return []*Node{x, flow.Base.LogProb(base, z), flow.Base.LogProb(base, eps), ld}
			}, eps)
			return grading.Values(outs[0]), grading.Values(outs[1]), grading.Values(outs[2]), grading.Values(outs[3])
		}
		means := map[float64]float64{}
		for _, temp := range []float64{0.5, 0.7, 1} {
			what := fmt.Sprintf("SampleAtTemperature at T = %g, %d samples of a 4-dimensional RealNVP", temp, n)
			outs := grading.ExecModel(c, what, store, func(scope *model.Scope, eps *Node) []*Node {
				x, logProb := SampleAtTemperature(scope, flow, eps, temp)
				return []*Node{x, logProb}
			}, eps)
			c.CheckShape(what+": the shape of x", outs[0], []int{n, dim}, "x has the shape of eps, [n, event...]")
			c.CheckShape(what+": the shape of log p(x)", outs[1], []int{n}, "one log-likelihood per sample, [n]")
			x, logPz, logPeps, ldInv := reference(temp)
			xOne, _, _, _ := reference(1)
			xSq, _, _, _ := reference(temp * temp)
			xDiv, _, _, _ := reference(1 / temp)
			xHint := "z = T·eps, then x = f⁻¹(z) with flow.Inverse"
			var xWrongs []grading.VecDiagnosis
			if temp != 1 {
				xWrongs = []grading.VecDiagnosis{
					grading.VecMistake(xOne, "the temperature is ignored: scale the noise, z = T·eps"),
					grading.VecMistake(xSq, "T scales the standard deviation, not the variance: z = T·eps, not T²·eps"),
					grading.VecMistake(xDiv, "multiply the noise by T, do not divide: z = T·eps"),
				}
			}
			if !c.CloseEach(what+": the samples x = f⁻¹(T·eps)", grading.Values(outs[0]), x, 1e-9, xHint, xWrongs...) {
				return
			}
			d := float64(dim)
			want := grading.Add(logPz, grading.Scale(-1, ldInv))
			// log p_T(x) uses log N(z; 0, T²I) = log N(eps; 0, I) − D·log T.
			logPT := grading.Add(logPeps, grading.Fill(n, -d*math.Log(temp)), grading.Scale(-1, ldInv))
			lpWrongs := []grading.VecDiagnosis{
				grading.VecMistake(grading.Add(logPz, ldInv), "the inverse's log-det is subtracted: log p(x) = log p_Z(z) − log|det ∂f⁻¹/∂z| (it equals + log|det ∂f/∂x|)"),
				grading.VecMistake(logPz, "the log-det is missing: log p(x) = log p_Z(z) − log|det ∂f⁻¹/∂z|"),
			}
			if temp != 1 {
				lpWrongs = append(lpWrongs,
					grading.VecMistake(logPT, "that is log p_T(x), the density the samples come from: the task asks for the model's own log p(x), the base at T = 1"),
					grading.VecMistake(grading.Add(logPeps, grading.Scale(-1, ldInv)), "evaluate the base density at z = T·eps, not at eps"))
			}
			if !c.CloseEach(what+": log p(x) under the model", grading.Values(outs[1]), want, 1e-9,
				"log p(x) = log p_Z(z) − log|det ∂f⁻¹/∂z|, with z = T·eps and the log-det from flow.Inverse", lpWrongs...) {
				return
			}
			means[temp] = grading.Sum(want) / n
		}
		c.Logf("mean log p(x) of the samples: T = 0.5: %.3f, T = 0.7: %.3f, T = 1: %.3f nats (lower T, more likely samples)",
			means[0.5], means[0.7], means[1])
	})
}
