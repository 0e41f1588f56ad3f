package autoregressive

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/flowbook/flowbook/exercises/internal/grading"
	"github.com/flowbook/flowbook/flowlib/flowcheck"
)

// graderLatent returns d standard normal values from seed.
func graderLatent(d int, seed uint64) []float64 {
	rng := rand.New(rand.NewPCG(seed, 5))
	z := make([]float64, d)
	for i := range z {
		z[i] = 1.3 * rng.NormFloat64()
	}
	return z
}

func TestMAFInverse(t *testing.T) {
	grading.Run(t, func(c *grading.C) {
		cases := [][]int{
			{2, 0, 3, 1},
			{0},
			{0, 1, 2},
			rand.New(rand.NewPCG(3, 4)).Perm(7),
		}
		for n, order := range cases {
			d := len(order)
			cond := refConditioner(order, uint64(10+n), nil)
			z := graderLatent(d, uint64(20+n))
			what := fmt.Sprintf("MAFInverse(z, order %v, cond) for D = %d", order, d)
			zGiven := slices.Clone(z)
			x, logDet := MAFInverse(zGiven, slices.Clone(order), cond)
			if x == nil {
				c.Fatalf("%s", grading.Explain(what, fmt.Sprintf("%d values", d), "nil",
					"MAFInverse returns nil: is it still the stub? Write its body (see its doc comment)"))
			}
			if !slices.Equal(zGiven, z) {
				c.Fatalf("%s", grading.Explain(what+": z after the call", grading.Short(z), grading.Short(zGiven),
					"MAFInverse changed its input z: write x into a new slice"))
			}
			if len(x) != d {
				c.Fatalf("%s", grading.Explain(what+": the number of values of x", fmt.Sprint(d), fmt.Sprint(len(x)), "x has one value per value of z"))
			}
			exp := func(z, mu, alpha float64) float64 { return mu + z*math.Exp(alpha) }
			want := refSequential(z, order, cond, exp)
			mistakes := []grading.VecDiagnosis{
				grading.VecMistake(refFixedPoint(z, 1, cond), "one pass is not enough: the parameters of x_i read the values before it, which you must find first; call cond once per coordinate, in the order, on the x found so far"),
				grading.VecMistake(refSequential(z, order, cond, func(z, mu, alpha float64) float64 { return (z - mu) * math.Exp(-alpha) }),
					"that is the forward formula applied to z: the inverse of z = (x − μ)·exp(−α) is x = μ + z·exp(α)"),
			}
			if d > 1 {
				mu, alpha := cond(z)
				mistakes = append(mistakes,
					grading.VecMistake(refFixedPoint(z, d-1, cond), "one pass short: after r passes only the first r values in the order are right, so it takes D passes"),
					grading.VecMistake(refAffine(z, mu, alpha), "the parameters were computed from z: that is IAF's sampling. MAF's conditioner reads the data, so the inverse must call cond on the x found so far, not on z"),
				)
				if !slices.Equal(order, graderNatural(d)) {
					mistakes = append(mistakes, grading.VecMistake(refSequential(z, graderNatural(d), cond, exp),
						fmt.Sprintf("the coordinates were found in the natural order 0, 1, …: follow the layer's order %v (order[r] comes r-th), or the parameters of a value read values not found yet", order)))
				}
				last := slices.Clone(want)
				last[order[d-1]] = 0
				mistakes = append(mistakes, grading.VecMistake(last, fmt.Sprintf("the last value in the order, x_%d, is never set: loop over all D positions of the order", order[d-1])))
			}
			if !c.CloseEach(what+": x", x, want, 1e-10, "x_i = μ_i(x) + z_i·exp(α_i(x)), one coordinate at a time in the order", mistakes...) {
				return
			}
			c.CloseEach(what+": the MAF forward of your x, (x − μ(x))·exp(−α(x)), gives back z", refMAFForward(x, cond), z, 1e-10, "the inverse must undo the forward map")

			_, alpha := cond(want)
			wantLD := grading.Sum(alpha)
			_, alpha0 := cond(make([]float64, d))
			expSum := 0.0
			for _, a := range alpha {
				expSum += math.Exp(a)
			}
			// An independent check of the log-det: the brute-force Jacobian ∂x/∂z of the inverse, by central differences.
			jac := make([][]float64, d)
			for i := range jac {
				jac[i] = make([]float64, d)
			}
			const eps = 1e-6
			for k := range d {
				up, down := slices.Clone(z), slices.Clone(z)
				up[k] += eps
				down[k] -= eps
				xu, xd := refSequential(up, order, cond, exp), refSequential(down, order, cond, exp)
				for i := range d {
					jac[i][k] = (xu[i] - xd[i]) / (2 * eps)
				}
			}
			bruteLD := flowcheck.LogAbsDet(jac)
			c.Close(what+": log|det ∂x/∂z| against the brute-force Jacobian (central differences, flowcheck.LogAbsDet)", logDet, bruteLD, 1e-6,
				"log|det ∂x/∂z| = Σ_i α_i(x), with α from the x you found",
				grading.Mistake(-wantLD, "the sign is flipped: x = μ + z·exp(α) stretches by exp(α_i), log|det ∂x/∂z| = +Σ_i α_i (the forward's is −Σ α_i)"),
				grading.Mistake(grading.Sum(alpha0), "the α are those of the first pass (from x = 0): use the α of the pass that set each value, or α(x) of the final x"),
				grading.Mistake(expSum, "take the α themselves: the log of ∏ exp(α_i) is Σ_i α_i"),
				grading.Mistake(0, "the log-det is missing: log|det ∂x/∂z| = Σ_i α_i(x)"))
			c.Close(what+": log|det ∂x/∂z| = Σ_i α_i(x)", logDet, wantLD, 1e-10, "log|det ∂x/∂z| = Σ_i α_i(x), with α from the x you found")
			if c.Failed() {
				return
			}
		}
	})
}

func TestIAFSample(t *testing.T) {
	grading.Run(t, func(c *grading.C) {
		for n, order := range [][]int{{3, 1, 4, 0, 2}, {0, 1}, rand.New(rand.NewPCG(6, 7)).Perm(6)} {
			d := len(order)
			calls := 0
			cond := refConditioner(order, uint64(30+n), &calls)
			z := graderLatent(d, uint64(40+n))
			what := fmt.Sprintf("IAFSample(z, cond) for D = %d, order %v", d, order)
			zGiven := slices.Clone(z)
			x, logProb := IAFSample(zGiven, cond)
			used := calls
			if x == nil {
				c.Fatalf("%s", grading.Explain(what, fmt.Sprintf("%d values", d), "nil",
					"IAFSample returns nil: is it still the stub? Write its body (see its doc comment)"))
			}
			if !slices.Equal(zGiven, z) {
				c.Fatalf("%s", grading.Explain(what+": z after the call", grading.Short(z), grading.Short(zGiven),
					"IAFSample changed its input z: write x into a new slice"))
			}
			if len(x) != d {
				c.Fatalf("%s", grading.Explain(what+": the number of values of x", fmt.Sprint(d), fmt.Sprint(len(x)), "x has one value per value of z"))
			}
			mu, alpha := cond(z)
			want := refAffine(z, mu, alpha)
			mu0, alpha0 := cond(make([]float64, d))
			exp := func(z, mu, alpha float64) float64 { return mu + z*math.Exp(alpha) }
			if !c.CloseEach(what+": x = μ(z) + z·exp(α(z))", x, want, 1e-12, "x_i = μ_i(z) + z_i·exp(α_i(z)), with μ and α from one call of cond on z",
				grading.VecMistake(refAffine(z, mu0, alpha0), "the parameters came from a vector of zeros (x before it was filled?): IAF's conditioner reads the latent z, cond(z)"),
				grading.VecMistake(refSequential(z, order, cond, exp), "that is MAF's sampling, with the parameters read from x: IAF conditions on the latent z, which is all known, so one call cond(z) gives every μ_i and α_i"),
				grading.VecMistake(grading.Map(z, func(i int, v float64) float64 { return (v - mu[i]) * math.Exp(-alpha[i]) }),
					"that is the other direction: sampling is x = μ + z·exp(α)")) {
				return
			}
			if used != 1 {
				c.Fatalf("%s", grading.Explain(what+": the calls of cond", "1 (one pass)", fmt.Sprint(used),
					"IAF samples in one pass: its conditioner reads z, which is all known before you start, so a single call cond(z) gives every μ_i and α_i; use them for x and for log p(x)"))
			}
			lpWant := refLogNormal(z) - grading.Sum(alpha)
			c.Close(what+": log p(x) = log N(z; 0, I) − Σ_i α_i(z)", logProb, lpWant, 1e-12,
				"log p(x) = log N(z; 0, I) − Σ_i α_i(z), with log N(z; 0, I) = −½ Σ z_i² − (D/2)·log 2π",
				grading.Mistake(refLogNormal(z)+grading.Sum(alpha), "the log-det is added: x = μ + z·exp(α) stretches by exp(α_i), so the density shrinks: log p(x) = log N(z) − Σ_i α_i"),
				grading.Mistake(refLogNormal(z), "the log-det term is missing: log p(x) = log N(z; 0, I) − Σ_i α_i(z)"),
				grading.Mistake(lpWant+0.5*float64(d)*math.Log(2*math.Pi), "the normalising constant −(D/2)·log 2π of the standard normal is missing"),
				grading.Mistake(refLogNormal(x)-grading.Sum(alpha), "the base density is evaluated at x: it is the density of the latent, log N(z; 0, I)"),
				grading.Mistake(-lpWant, "the sign is flipped: log p(x) is a log-density, log N(z) − Σ α"))
			if c.Failed() {
				return
			}
		}
	})
}
