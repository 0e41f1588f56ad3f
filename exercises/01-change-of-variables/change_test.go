package changeofvariables

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	. "github.com/gomlx/gomlx/core/graph" //nolint:revive // GoMLX's idiom.

	"github.com/flowbook/flowbook/exercises/internal/grading"
)

var logSqrt2Pi = 0.5 * math.Log(2*math.Pi)

func logStdNormal(z float64) float64 { return -z*z/2 - logSqrt2Pi }

func TestAffineGaussianLogProb(t *testing.T) {
	grading.Run(t, func(c *grading.C) {
		type affineCase struct {
			x, mu, sigma float64
			tail         bool // far in a tail, where exp(−z²/2) underflows to 0
		}
		cases := []affineCase{
			{0.3, 0, 1.5, false}, {2.5, 1, 2, false}, {-1, 0.5, 0.3, false}, {1.7, 1, -2, false}, {-0.2, 0, -0.5, false},
		}
		// Random cases: σ of either sign from 10⁻³ to 10³, z up to a few units.
		rng := rand.New(rand.NewPCG(11, 12))
		for range 200 {
			mu := 10*rng.Float64() - 5
			sigma := math.Pow(10, 6*rng.Float64()-3)
			if rng.IntN(2) == 0 {
				sigma = -sigma
			}
			cases = append(cases, affineCase{mu + sigma*3*rng.NormFloat64(), mu, sigma, false})
		}
		// Far in the tails: z = ±40, where the density itself underflows but its log is about −800.
		cases = append(cases, affineCase{0.5 + 40*0.25, 0.5, 0.25, true}, affineCase{-1 - 45*3, -1, -3, true})
		for _, tc := range cases {
			got := AffineGaussianLogProb(tc.x, tc.mu, tc.sigma)
			z := (tc.x - tc.mu) / tc.sigma
			logAbsSigma := math.Log(math.Abs(tc.sigma))
			want := logStdNormal(z) - logAbsSigma // the density of N(μ, σ²)
			what := fmt.Sprintf("AffineGaussianLogProb(x=%g, μ=%g, σ=%g) against log N(x; μ, σ²)", tc.x, tc.mu, tc.sigma)
			hint := "log p_X(x) = log N(z) + log|f'(x)| with z = (x − μ)/σ and f'(x) = 1/σ"
			if math.IsNaN(got) && tc.sigma < 0 {
				hint = "NaN for σ < 0: the log-det is log|f'(x)| = −log|σ|, with the absolute value (math.Abs)"
			} else if tc.tail && math.IsInf(got, -1) {
				hint = fmt.Sprintf("−Inf in the tail (z = %g): exp(−z²/2) underflows to 0 there, and log 0 = −Inf. "+
					"Work in logs: −z²/2 − ½ log 2π − log|σ|, never the log of the density", z)
			}
			if !c.Close(what, got, want, 1e-9, hint,
				grading.Mistake(logStdNormal(z), "the log-det term is missing: add log|f'(x)| = −log|σ| (a wider Gaussian has a lower peak)"),
				grading.Mistake(logStdNormal(z)+logAbsSigma, "the sign of the log-det is flipped: f'(x) = 1/σ, so log|f'(x)| = −log|σ|, not +log|σ|"),
				grading.Mistake(logStdNormal(tc.x-tc.mu)-logAbsSigma, "z must be standardised: z = f(x) = (x − μ)/σ, not x − μ"),
				grading.Mistake(logStdNormal(tc.mu+tc.sigma*tc.x)-logAbsSigma, "that is the forward map g(x) = μ + σx: the density needs the inverse, z = (x − μ)/σ"),
			) {
				return
			}
		}
	})
}

func TestSquareOfUniformDensity(t *testing.T) {
	grading.Run(t, func(c *grading.C) {
		for _, x := range []float64{0.01, 0.25, 0.5, 0.81, 0.99} {
			got := SquareOfUniformDensity(x)
			want := 1 / (2 * math.Sqrt(x))
			if !c.Close(fmt.Sprintf("SquareOfUniformDensity(%g)", x), got, want, 1e-9,
				"p_X(x) = p_U(√x)·|d√x/dx| with p_U = 1 on (0, 1)",
				grading.Mistake(2*math.Sqrt(x), "that is |g'(u)| = 2u at u = √x: the change of variables uses the derivative of the inverse map f(x) = √x, which is 1/(2√x)"),
				grading.Mistake(1/math.Sqrt(x), "off by a factor 2: d√x/dx = 1/(2√x)"),
				grading.Mistake(math.Sqrt(x), "that is f(x) = √x itself; the density is p_U(f(x))·|f'(x)|"),
				grading.Mistake(-math.Log(2*math.Sqrt(x)), "that is the log-density; this function returns the density itself"),
			) {
				return
			}
		}
		// Random points of (0, 1), down to 10⁻¹², where the density is 5·10⁵.
		rng := rand.New(rand.NewPCG(3, 4))
		for range 100 {
			x := math.Pow(10, -12*rng.Float64())
			if !c.Close(fmt.Sprintf("SquareOfUniformDensity(%g)", x), SquareOfUniformDensity(x), 1/(2*math.Sqrt(x)), 1e-9,
				"p_X(x) = p_U(√x)·|d√x/dx| = 1/(2√x) on (0, 1)") {
				return
			}
		}
		for _, x := range []float64{-0.5, 1.5, 4} {
			if got := SquareOfUniformDensity(x); got != 0 {
				c.Fatalf("%s", grading.Explain(fmt.Sprintf("SquareOfUniformDensity(%g), outside (0, 1)", x), "0", fmt.Sprint(got),
					"u² never leaves (0, 1), so the density there is 0 (p_U(√x) = 0 for √x ≥ 1; √x is not even real for x < 0)"))
			}
		}
		// The edges of the open interval (0, 1): outside it, so 0 (and never +Inf).
		for _, x := range []float64{0, 1} {
			if got := SquareOfUniformDensity(x); got != 0 {
				c.Fatalf("%s", grading.Explain(fmt.Sprintf("SquareOfUniformDensity(%g), at an edge of (0, 1)", x), "0", fmt.Sprint(got),
					"(0, 1) is open: x = 0 and x = 1 are outside it, where the doc comment says the density is 0 "+
						"(at x = 0, 1/(2√x) would be +Inf, which breaks any sum of densities): return 0 for x ≤ 0 and for x ≥ 1"))
			}
		}
		// Against a histogram of samples: each bin's probability is the integral
		// of the density over the bin.
		const n, bins = 200_000, 20
		rng = rand.New(rand.NewPCG(1, 2))
		counts := make([]int, bins)
		for range n {
			u := rng.Float64()
			counts[min(int(u*u*bins), bins-1)]++
		}
		for b := range bins {
			lo, hi := float64(b)/bins, float64(b+1)/bins
			mass := 0.0
			for k := range 200 {
				mass += SquareOfUniformDensity(lo+(float64(k)+0.5)*(hi-lo)/200) * (hi - lo) / 200
			}
			frequency := float64(counts[b]) / n
			if math.Abs(mass-frequency) > 0.01 {
				c.Fatalf("%s", grading.Explain(fmt.Sprintf("the probability of the bin [%.2f, %.2f) against a histogram of %d samples of u²", lo, hi, n),
					fmt.Sprintf("%.4f (the samples' frequency)", frequency), fmt.Sprintf("%.4f (the integral of your density)", mass),
					"the density must match where the samples fall: most of them are near 0, where p_X is large"))
			}
		}
	})
}

func TestSinhNormalLogProb(t *testing.T) {
	grading.Run(t, func(c *grading.C) {
		points := []float64{-50, -3, -0.5, 0, 0.7, 2, 10, 50}
		outs := grading.Exec(c, "SinhNormalLogProb on a [2, 4] tensor of points", func(x *Node) *Node {
			return SinhNormalLogProb(x)
		}, grading.Tensor(points, 2, 4))
		if dims := outs[0].Shape().Dimensions; len(dims) != 2 || dims[0] != 2 || dims[1] != 4 {
			c.Fatalf("%s", grading.Explain("the shape of SinhNormalLogProb's result for x of shape [2, 4]", "[2, 4] (one log-density per element)",
				fmt.Sprint(dims), "the log-density is elementwise: do not reduce over any axis (the Gradient trick sums only inside Gradient)"))
		}
		got := grading.Values(outs[0])
		for i, x := range points {
			z := math.Asinh(x)
			logDet := -0.5 * math.Log1p(x*x)
			if !c.Close(fmt.Sprintf("log p_X(%g) for x = sinh(z)", x), got[i], logStdNormal(z)+logDet, 1e-6,
				"log p_X(x) = log N(arsinh x) + log|f'(x)| with f'(x) = 1/√(1 + x²)",
				grading.Mistake(logStdNormal(z), "the log-det term log|f'(x)| is missing (Gradient gives f'(x); add its log)"),
				grading.Mistake(logStdNormal(z)-logDet, "the sign of the log-det is flipped: add log|f'(x)| of the inverse map f = arsinh, which is −½ log(1 + x²)"),
				grading.Mistake(logStdNormal(x)+logDet, "the Gaussian must be evaluated at z = arsinh(x), not at x"),
				grading.Mistake(logStdNormal(math.Sinh(x))-logDet, "that uses the forward map sinh; the density needs the inverse f = arsinh"),
			) {
				return
			}
		}
	})
}

func TestPolarLogProb(t *testing.T) {
	grading.Run(t, func(c *grading.C) {
		rayleigh := func(r float64) float64 { return math.Log(r) - r*r/2 }
		points := [][2]float64{{0.5, 0.2}, {-1.2, 0.7}, {0.1, -2}, {2.5, 1.5},
			{1e-10, 0}, {-3e-9, 4e-9}, {0, -2e-12}} // r > 0 but near 0, where log r is large and must cancel exactly
		rng := rand.New(rand.NewPCG(7, 8))
		for range 50 {
			points = append(points, [2]float64{4*rng.Float64() - 2, 4*rng.Float64() - 2})
		}
		for _, p := range points {
			x, y := p[0], p[1]
			r := math.Hypot(x, y)
			want := -(x*x+y*y)/2 - math.Log(2*math.Pi) // the standard normal in the plane
			got := PolarLogProb(x, y, rayleigh)
			hint := "log p(x, y) = log p_R(r) + log p_Θ(θ) − log r"
			if r < 1e-6 {
				hint = fmt.Sprintf("near r = 0 (here r = %g) the log-det −log r must be exact: use r = math.Hypot(x, y) as it is, with no ε added to r or inside the log", r)
			}
			if !c.Close(fmt.Sprintf("PolarLogProb(%g, %g) with r ~ Rayleigh, against the standard normal in the plane", x, y), got, want, 1e-9, hint,
				grading.Mistake(want+math.Log(r), "the log-det −log r is missing: the area element is dx dy = r dr dθ, so the density in (x, y) divides by r"),
				grading.Mistake(want+2*math.Log(r), "the sign of the log-det is flipped: going from (x, y) to (r, θ), |det J| = 1/r, so add −log r"),
				grading.Mistake(want+math.Log(2*math.Pi), "θ's density is missing: uniform on [0, 2π) means p_Θ = 1/(2π), which adds −log 2π"),
				grading.Mistake(want+math.Log(2), "θ is uniform on [0, 2π): p_Θ = 1/(2π), not 1/π"),
			) {
				return
			}
		}
		// A second radial density, r uniform on (1, 2): a formula written for the
		// Gaussian alone fails here. The density must integrate to 1 over the plane.
		uniformR := func(r float64) float64 {
			if r > 1 && r < 2 {
				return 0
			}
			return math.Inf(-1)
		}
		const n = 800
		h := 4.0 / n
		total := 0.0
		for i := range n {
			for j := range n {
				total += math.Exp(PolarLogProb(-2+(float64(i)+0.5)*h, -2+(float64(j)+0.5)*h, uniformR)) * h * h
			}
		}
		c.Close("∫∫ p(x, y) dx dy over the plane with r uniform on (1, 2) (an 800×800 grid)", total, 1, 0.02,
			"the density must use logPR, the radial log-density it is given (it is not always the Rayleigh one)",
			grading.Mistake(1.5*2*math.Pi/(2*math.Pi), "the log-det −log r is missing: the area element is dx dy = r dr dθ"),
		)
		if got := PolarLogProb(1.2, 0.9, uniformR); !c.Close("PolarLogProb(1.2, 0.9) with r uniform on (1, 2)", got, -math.Log(2*math.Pi)-math.Log(1.5), 1e-9,
			"log p = log p_R(r) − log 2π − log r") {
			return
		}
	})
}

func TestFindTheBug(t *testing.T) {
	grading.Run(t, func(c *grading.C) {
		// The integrator first, on integrals with known values.
		linear := func(x float64) float64 { return math.Log(x) } // ∫₀¹ x dx = ½; the midpoint rule is exact
		if !c.Close("IntegrateDensity(log x, 0, 1, 4): the midpoint rule is exact for a linear density", IntegrateDensity(linear, 0, 1, 4), 0.5, 1e-12,
			"width = (hi − lo)/n; sum exp(logProb) at the centres lo + (i + ½)·width; multiply by width",
			grading.Mistake(0.375, "those are the left edges of the cells: evaluate at the centres, lo + (i + ½)·width"),
			grading.Mistake(0.625, "those are the right edges of the cells: evaluate at the centres, lo + (i + ½)·width"),
			grading.Mistake(2, "the sum is not multiplied by the cell width (hi − lo)/n"),
		) {
			return
		}
		// 10⁵ cells: the midpoint rule is still exact for x on [0, 1], so all the error is rounding.
		if !c.Close("IntegrateDensity(log x, 0, 1, 100000): the midpoint rule is exact for a linear density, so only rounding can move it", IntegrateDensity(linear, 0, 1, 100_000), 0.5, 1e-9,
			"accumulate the sum in float64: a float32 sum of 100,000 terms keeps 6 or 7 digits at best") {
			return
		}
		if !c.Close("IntegrateDensity of a standard normal over [−10, 10], 2000 cells", IntegrateDensity(logStdNormal, -10, 10, 2000), 1, 1e-6,
			"exp(logProb) is the density: sum it at the cell centres, times the width") {
			return
		}
		buggy := IntegrateDensity(BuggyTanhNormalLogProb, -1, 1, 20000)
		if math.Abs(buggy-1) < 0.05 {
			c.Fatalf("%s", grading.Explain("your IntegrateDensity on the buggy log-density over (−1, 1)", "far from 1 (the bug makes it wrong)",
				fmt.Sprintf("%.4f", buggy), "the integrator must integrate the function it is given, over [lo, hi]"))
		}
		c.Logf("the buggy density integrates to %.4f over (−1, 1): not a density", buggy)

		for _, x := range []float64{-0.95, -0.3, 0, 0.5, 0.9} {
			z := math.Atanh(x)
			want := logStdNormal(z) - math.Log(1-x*x)
			if !c.Close(fmt.Sprintf("TanhNormalLogProb(%g)", x), TanhNormalLogProb(x), want, 1e-9,
				"log p_X(x) = log N(artanh x) + log|f'(x)|, f'(x) = 1/(1 − x²)",
				grading.Mistake(logStdNormal(z), "this is still the buggy version: add the log-det log|f'(x)| = −log(1 − x²)"),
				grading.Mistake(logStdNormal(z)+math.Log(1-x*x), "the sign of the log-det is flipped: log|f'(x)| = log(1/(1 − x²)) = −log(1 − x²)"),
			) {
				return
			}
		}
		fixed := 0.0
		const n = 20000
		for i := range n {
			fixed += math.Exp(TanhNormalLogProb(-1+(float64(i)+0.5)*2/n)) * 2 / n
		}
		c.Close("∫ exp(TanhNormalLogProb) over (−1, 1)", fixed, 1, 1e-3, "a right log-density integrates to 1")
	})
}
