package realnvp

import (
	"fmt"
	"testing"

	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/model"

	"github.com/flowbook/flowbook/exercises/internal/grading"
	"github.com/flowbook/flowbook/flowlib/data"
)

// requireELBOAndIWAE ends the check unless ELBO and IWAEBound give the right
// values on small inputs: CompareFlowAndVAE builds on them.
func requireELBOAndIWAE(c *grading.C) {
	const hint = "CompareFlowAndVAE builds on ELBO and IWAEBound: make TestVAEELBO and TestVAEIWAE pass first"
	want := make([]float64, len(vaePoints))
	for i := range vaePoints {
		want[i] = imperfectEncoder.elboSample(vaePoints[i], vaeNoise[i]).elbo()
	}
	if maxRelDiff(runELBO(c, "ELBO, which CompareFlowAndVAE uses", imperfectEncoder, vaePoints, vaeNoise), want) > 1e-9 {
		c.Fatalf("%s", grading.Explain("ELBO, which CompareFlowAndVAE uses", "the values TestVAEELBO checks", "other values", hint))
	}
	lw := [][]float64{{-2.1, 0.3}, {-1.4, -0.8}, {-3.3, 1.1}}
	if maxRelDiff(runIWAE(c, "IWAEBound, which CompareFlowAndVAE uses", lw), iwaeRef(lw)) > 1e-9 {
		c.Fatalf("%s", grading.Explain("IWAEBound, which CompareFlowAndVAE uses", "the values TestVAEIWAE checks", "other values", hint))
	}
}

func TestFlowVsVAE(t *testing.T) {
	grading.Run(t, func(c *grading.C) {
		requireELBOAndIWAE(c)
		all, err := data.Toy("moons", 2400, 3)
		c.NoError(err, "the moons data", "a grader problem: report it")
		_, points := all.Split(1.0/6, 4)
		// The flow z = L⁻¹(x − b) has exactly the VAE's marginal density N(b, W Wᵀ + σ²I).
		const k, seed = 16, 7
		got, err := CompareFlowAndVAE(c.Backend(), model.NewStore(), vaeMarginalFlow().flow(),
			model.NewStore(), imperfectEncoder.vae(), points, k, seed)
		c.NoError(err, fmt.Sprintf("CompareFlowAndVAE on %d moons points with k = %d", points.N, k),
			"read the error: the flow takes points as [N, 2] float32, the VAE's graph x [N, 2] and eps [k, N, 2]")
		if got == (Comparison{}) {
			c.Fatalf("%s", grading.Explain("CompareFlowAndVAE", "three mean log-likelihoods", "all 0",
				"CompareFlowAndVAE still returns a zero Comparison: is it still the stub? Write its body (see its doc comment)"))
		}

		// The reference, in float64 from the same float32 points and noise.
		eps := tensors.MustCopyFlatData[float32](NormalNoise(seed, k, points.N, 2))
		flowLL := 0.0
		logWeights := make([][]float64, k)
		for i := range logWeights {
			logWeights[i] = make([]float64, points.N)
		}
		for n := range points.N {
			row := points.Row(n)
			x := [2]float64{float64(row[0]), float64(row[1])}
			flowLL += logMarginal(x) / float64(points.N)
			for i := range k {
				e := [2]float64{float64(eps[(i*points.N+n)*2]), float64(eps[(i*points.N+n)*2+1])}
				logWeights[i][n] = imperfectEncoder.elboSample(x, e).elbo()
			}
		}
		elbo, iwae := mean(logWeights[0]), mean(iwaeRef(logWeights))
		allSamples := 0.0
		for i := range k {
			allSamples += mean(logWeights[i]) / k
		}

		what := fmt.Sprintf("on %d moons points, a flow and a VAE with the same density N(b, W Wᵀ + σ²I)", points.N)
		c.Close(what+": FlowLogLikelihood, the flow's exact mean log p(x)", got.FlowLogLikelihood, flowLL, 1e-4,
			"the mean over the points of the flow's log p(x) (inference.MeanLogProb)",
			grading.Mistake(-flowLL, "FlowLogLikelihood is the mean log-likelihood, not the negative log-likelihood"),
			grading.Mistake(flowLL*float64(points.N), "the mean over the points, not the sum"))
		c.Close(what+": ELBO, the mean single-sample ELBO with ε_0 = eps[0]", got.ELBO, elbo, 1e-4,
			"eps := NormalNoise(seed, k, points.N, vae.Latent); the ELBO column is the mean over the points of ELBO with eps[0]",
			grading.Mistake(iwae, "ELBO and IWAE are swapped: ELBO is the mean of the first log-weights, IWAE the mean of IWAEBound"),
			grading.Mistake(allSamples, "the ELBO column uses one sample per point, eps[0]; the k samples together are for the IWAE bound"),
			grading.Mistake(elbo*float64(points.N), "the mean over the points, not the sum"))
		c.Close(what+fmt.Sprintf(": IWAE, the mean IWAE bound with k = %d", k), got.IWAE, iwae, 1e-4,
			"stack the k log-weights ELBO(scope, vae, x, eps[i]) into [k, N], then the mean of IWAEBound",
			grading.Mistake(elbo, "IWAE uses all k samples: IWAEBound of the stacked [k, N] log-weights"),
			grading.Mistake(allSamples, "that is the mean of the k log-weights (the average ELBO): IWAE is the mean of IWAEBound of them"),
			grading.Mistake(iwae*float64(points.N), "the mean over the points, not the sum"))
		c.Logf("mean over %d moons points: flow log p(x) = %.4f (exact) ≥ VAE IWAE(k=%d) = %.4f ≥ VAE ELBO = %.4f nats",
			points.N, got.FlowLogLikelihood, k, got.IWAE, got.ELBO)
	})
}
