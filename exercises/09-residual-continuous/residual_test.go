package residual

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/flowbook/flowbook/exercises/internal/grading"
)

// refContraction returns g(x) = lip·tanh(W(x − shift) + b) with ‖W‖ = 1
// (so Lip(g) ≤ lip) for dimension d, and counts its calls.
func refContraction(d int, lip float64, shift []float64, seed uint64, calls *int) func(x []float64) []float64 {
	w := refWithNorm(graderMatrix(d, d, seed), 1)
	b := graderVector(d, seed+1)
	if shift != nil {
		b = make([]float64, d)
	}
	return func(x []float64) []float64 {
		if calls != nil {
			*calls++
		}
		if len(x) != d {
			panic(fmt.Sprintf("g takes %d values, got %d", d, len(x)))
		}
		u := slices.Clone(x)
		if shift != nil {
			u = grading.Map(x, func(i int, v float64) float64 { return v - shift[i] })
		}
		return grading.Map(refMatVec(w, u), func(i int, v float64) float64 { return lip * math.Tanh(v+b[i]) })
	}
}

// refAffineContraction returns g(x) = lip·Q·x + b with Q orthogonal (a
// random rotation or reflection, from the QR of a random matrix by
// Gram–Schmidt), so that Lip(g) = lip exactly, and counts its calls.
func refAffineContraction(d int, lip float64, seed uint64, calls *int) func(x []float64) []float64 {
	m := graderMatrix(d, d, seed)
	q := make([][]float64, d) // the rows of Q, orthonormal
	for i := range d {
		v := slices.Clone(m[i])
		for _, prev := range q[:i] {
			dot := 0.0
			for k := range v {
				dot += v[k] * prev[k]
			}
			v = grading.Map(v, func(k int, x float64) float64 { return x - dot*prev[k] })
		}
		q[i] = grading.Scale(1/refNorm2(v), v)
	}
	b := graderVector(d, seed+1)
	return func(x []float64) []float64 {
		if calls != nil {
			*calls++
		}
		if len(x) != d {
			panic(fmt.Sprintf("g takes %d values, got %d", d, len(x)))
		}
		return grading.Map(refMatVec(q, x), func(i int, v float64) float64 { return lip*v + b[i] })
	}
}

// refResidualMax is max_i |x_i + g(x)_i − y_i| (NaN if any is NaN).
func refResidualMax(g func([]float64) []float64, x, y []float64) float64 {
	gx := g(x)
	worst := 0.0
	for i := range x {
		r := math.Abs(x[i] + gx[i] - y[i])
		if math.IsNaN(r) || r > worst {
			worst = r
		}
	}
	return worst
}

// refFixedPoint runs the iteration of FixedPointInverse and returns x and
// the number of updates (-1 if it does not converge within maxIter).
func refFixedPoint(y []float64, g func([]float64) []float64, tol float64, maxIter int) ([]float64, int) {
	x := slices.Clone(y)
	for k := 0; ; k++ {
		if refResidualMax(g, x, y) <= tol {
			return x, k
		}
		if k == maxIter {
			return x, -1
		}
		gx := g(x)
		x = grading.Map(y, func(i int, v float64) float64 { return v - gx[i] })
	}
}

func TestFixedPointInverse(t *testing.T) {
	grading.Run(t, func(c *grading.C) {
		const tol, maxIter = 1e-10, 2000
		for n, tc := range []struct {
			d      int
			lip    float64
			linear bool
		}{{3, 0.5, false}, {5, 0.9, false}, {2, 0.97, false}, {4, 0.7, false}, {1, 0.8, false}, {3, 0.9, true}, {2, 0.6, true}} {
			calls := 0
			g := refContraction(tc.d, tc.lip, nil, uint64(10+n), &calls)
			if tc.linear {
				g = refAffineContraction(tc.d, tc.lip, uint64(10+n), &calls)
			}
			y := grading.Scale(0.6, graderVector(tc.d, uint64(20+n)))
			what := fmt.Sprintf("FixedPointInverse(y, g, tol %g, maxIter %d) for a g of Lip(g) ≤ %g in D = %d", tol, maxIter, tc.lip, tc.d)
			if tc.linear {
				what = fmt.Sprintf("FixedPointInverse(y, g, tol %g, maxIter %d) for g(x) = %g·Qx + b in D = %d (Q orthogonal: the residual shrinks by exactly %g per update)", tol, maxIter, tc.lip, tc.d, tc.lip)
			}
			given := slices.Clone(y)
			calls = 0
			x, iters, err := FixedPointInverse(given, g, tol, maxIter)
			used := calls
			if x == nil && err == nil {
				c.Fatalf("%s", grading.Explain(what, fmt.Sprintf("%d values", tc.d), "nil (and no error)",
					"FixedPointInverse returns nil: is it still the stub? Write its body (see its doc comment)"))
			}
			if !slices.Equal(given, y) {
				c.Fatalf("%s", grading.Explain(what+": y after the call", grading.Short(y), grading.Short(given),
					"FixedPointInverse changed y: start from a copy, x = y, and write the updates into x"))
			}
			ref, refIters := refFixedPoint(y, g, tol, maxIter)
			_, plus := refFixedPoint(y, func(x []float64) []float64 { return grading.Scale(-1, g(x)) }, tol, maxIter)
			if err != nil {
				hint := "g is a contraction here (Lip(g) < 1), so the iteration x ← y − g(x) converges: check the update and the stopping test (max_i |x_i + g(x)_i − y_i| ≤ tol)"
				if errors.Is(err, ErrNotConverged) && plus >= 0 && refIters >= 0 {
					hint += "; is the update x ← y + g(x)? With the plus sign the iterates go to the solution of x − g(x) = y, whose residual x + g(x) − y is not 0"
				}
				c.Fatalf("%s", grading.Explain(what, "x with x + g(x) = y, and no error", "error: "+grading.FirstLines(err.Error(), 2), hint))
			}
			if len(x) != tc.d {
				c.Fatalf("%s", grading.Explain(what+": the number of values of x", fmt.Sprint(tc.d), fmt.Sprint(len(x)), "x has one value per value of y"))
			}
			res := refResidualMax(g, x, y)
			if !(res <= tol*(1+1e-9)) {
				hint := "the returned x must solve x + g(x) = y to the tolerance: max_i |x_i + g(x)_i − y_i| ≤ tol"
				gy := g(y)
				switch {
				case grading.AllNear(x, grading.Map(y, func(i int, v float64) float64 { return v - gy[i] }), 1e-12):
					hint = "that is one update from x = y, y − g(y): repeat x ← y − g(x) until the residual is below tol"
				case grading.AllNear(x, grading.Map(y, func(i int, v float64) float64 { return v - g(make([]float64, len(y)))[i] }), 1e-12):
					hint = "that is one update from x = 0, y − g(0): start from x = y and repeat x ← y − g(x) until the residual is below tol"
				case grading.AllNear(x, y, 1e-12):
					hint = "x is y itself: no update was made; iterate x ← y − g(x) until the residual is below tol"
				case grading.AllNear(grading.Add(x, grading.Scale(-1, g(x))), y, 1e-8):
					hint = "x − g(x) = y: the update has the wrong sign; the inverse of y = x + g(x) is the fixed point of x ← y − g(x)"
				case res < math.Sqrt(tol)*10:
					hint = "close, but not to the tolerance: stop when max_i |x_i + g(x)_i − y_i| ≤ tol, the residual itself (not its square, nor a relative change)"
				}
				wt, gt := grading.Distinct(tol, res)
				c.Fatalf("%s", grading.Explain(what+": the residual max_i |x_i + g(x)_i − y_i| of the returned x", "≤ "+wt, gt, hint))
			}
			c.CloseEach(what+": x, against the grader's own iteration", x, ref, 10*tol/(1-tc.lip), "x is the solution of x + g(x) = y")
			if iters != refIters && iters != refIters+1 {
				hint := "iterations is the number of updates x ← y − g(x) made: stop at the first x whose residual is ≤ tol"
				switch {
				case iters == maxIter:
					hint = "you return maxIter: stop as soon as the residual is ≤ tol, and return how many updates were made"
				case iters < refIters:
					hint = "fewer updates than the iteration needs to reach tol: count every update, and test the residual max_i |x_i + g(x)_i − y_i| itself against tol"
				}
				c.Fatalf("%s", grading.Explain(what+": the number of iterations", fmt.Sprintf("%d (or %d, stopping on the step after it)", refIters, refIters+1), fmt.Sprint(iters), hint))
			}
			// Banach: the residual r_k = x_k − x_{k+1} shrinks at least by L per update.
			r0 := refNorm2(g(y)) // r_0 = x_0 + g(x_0) − y with x_0 = y
			bound := int(math.Ceil(math.Log(tol/r0)/math.Log(tc.lip))) + 1
			if iters > bound {
				c.Fatalf("%s", grading.Explain(what+": the number of iterations against Banach's bound ‖r_k‖ ≤ L^k·‖r_0‖", fmt.Sprintf("at most %d", bound), fmt.Sprint(iters),
					"a contraction with Lip(g) = L reaches the tolerance within about log(tol/‖r_0‖)/log L updates"))
			}
			if tc.linear {
				// ‖r_k‖₂ = L^k·‖r_0‖₂ exactly, and ‖r‖∞ ≥ ‖r‖₂/√D: no fewer updates than this reach tol.
				lower := int(math.Floor(math.Log(tol*math.Sqrt(float64(tc.d))/r0) / math.Log(tc.lip)))
				if iters < lower {
					c.Fatalf("%s", grading.Explain(what+": the number of iterations against the contraction rate (‖r_k‖ = L^k·‖r_0‖)", fmt.Sprintf("at least %d", lower), fmt.Sprint(iters),
						"the residual shrinks by L per update, so reaching tol takes at least log(tol·√D/‖r_0‖)/log L updates: stopping earlier means the stopping test is on the wrong quantity"))
				}
			}
			if used > iters+2 {
				c.Fatalf("%s", grading.Explain(what+": the calls of g", fmt.Sprintf("at most %d (one per update, and one to check the last x)", iters+2), fmt.Sprint(used),
					"each round needs g(x) once: the same g(x) gives the residual x + g(x) − y and the update y − g(x)"))
			}
			c.Logf("Lip(g) ≤ %g, D = %d: %d iterations to a residual of %.2g (Banach's bound: %d)", tc.lip, tc.d, iters, res, bound)
		}

		// y = x + g(x) with g(y) = 0 is solved by x = y, with no update.
		{
			y := graderVector(3, 31)
			g := refContraction(3, 0.6, y, 32, nil)
			x, iters, err := FixedPointInverse(slices.Clone(y), g, 1e-12, 50)
			what := "FixedPointInverse(y, g, 1e-12, 50) for a g with g(y) = 0 (so x = y)"
			if err != nil || x == nil || iters > 1 || !grading.AllNear(x, y, 1e-15) {
				c.Fatalf("%s", grading.Explain(what, "x = y, 0 iterations (1 when stopping on the step after it), no error", fmt.Sprintf("x = %s, %d iterations, error %v", grading.Short(x), iters, err),
					"test the residual before updating: when y already solves it, return y with 0 iterations"))
			}
		}

		// Not contractive, or not enough iterations: an error, never a hang or a silent value.
		for _, tc := range []struct {
			name    string
			g       func([]float64) []float64
			y       []float64
			maxIter int
			hint    string
		}{
			{"g(x) = 2·tanh(x), Lip(g) = 2 (y = x + 2·tanh(x) is invertible, but the iteration oscillates)",
				func(x []float64) []float64 {
					return grading.Map(x, func(_ int, v float64) float64 { return 2 * math.Tanh(v) })
				},
				[]float64{0.5, -0.3, 1.1}, 300, "the iterates oscillate and never reach the tolerance"},
			{"g(x) = −1.5·x, Lip(g) = 1.5 (the iterates grow until they overflow: the residual becomes NaN)",
				func(x []float64) []float64 { return grading.Scale(-1.5, x) },
				[]float64{1, -2}, 2500, "the iterates grow by 1.5 per update and overflow to ±Inf, where the residual is NaN: a NaN residual is not ≤ tol (test it so that NaN fails, e.g. !(r ≤ tol), or check math.IsNaN)"},
			{"a contraction with Lip(g) ≤ 0.97 and only maxIter = 5",
				refContraction(4, 0.97, nil, 41, nil), graderVector(4, 42), 5, "5 updates are far too few for Lip(g) = 0.97 and tol = 1e-10"},
		} {
			what := fmt.Sprintf("FixedPointInverse(y, g, 1e-10, %d) for %s", tc.maxIter, tc.name)
			x, iters, err := FixedPointInverse(slices.Clone(tc.y), tc.g, 1e-10, tc.maxIter)
			if err == nil {
				res := math.NaN()
				if len(x) == len(tc.y) {
					res = refResidualMax(tc.g, x, tc.y)
				}
				c.Fatalf("%s", grading.Explain(what, "an error wrapping ErrNotConverged", fmt.Sprintf("no error (x = %s, residual %.3g)", grading.Short(x), res),
					tc.hint+": after maxIter updates with the residual still above tol, return an error (fmt.Errorf(\"…: %w\", ErrNotConverged)); an x that does not solve x + g(x) = y must never look like an answer"))
			}
			if !errors.Is(err, ErrNotConverged) {
				c.Fatalf("%s", grading.Explain(what+": errors.Is(err, ErrNotConverged)", "true", "false (error: "+err.Error()+")",
					"wrap ErrNotConverged in the error, fmt.Errorf(\"…: %w\", ErrNotConverged), so that callers can tell non-convergence from other errors"))
			}
			if iters != tc.maxIter {
				c.Fatalf("%s", grading.Explain(what+": the number of iterations", fmt.Sprint(tc.maxIter), fmt.Sprint(iters),
					"when it does not converge, all maxIter updates were made: return maxIter"))
			}
			if !strings.Contains(err.Error(), ErrNotConverged.Error()) {
				c.Fatalf("%s", grading.Explain(what+": the error message", "it contains ErrNotConverged's text", err.Error(), "wrap ErrNotConverged with %w"))
			}
		}
	})
}

// refSeriesVariant is the power series of log det(I + J) to terms terms
// ("") or what a plausible mistake computes: "no-sign" (every term added),
// "factorial" (tr(J^k)/k!), "from-identity" (tr(J^{k−1})/k: the power
// updated after its trace, starting at J⁰ = I), "sign-flipped"
// ((−1)^k).
func refSeriesVariant(j [][]float64, terms int, variant string) float64 {
	power := graderClone(j)
	if variant == "from-identity" {
		power = refIdentity(len(j))
	}
	sum, fact := 0.0, 1.0
	for k := 1; k <= terms; k++ {
		fact *= float64(k)
		term := refTrace(power) / float64(k)
		if variant == "factorial" {
			term = refTrace(power) / fact
		}
		switch {
		case variant == "no-sign":
		case variant == "sign-flipped":
			if k%2 == 1 {
				term = -term
			}
		case k%2 == 0:
			term = -term
		}
		sum += term
		power = refMatMul(power, j)
	}
	return sum
}

func TestPowerSeriesLogDet(t *testing.T) {
	grading.Run(t, func(c *grading.C) {
		for n, tc := range []struct {
			d   int
			rho float64
		}{{3, 0.5}, {1, 0.7}, {5, 0.3}, {2, 0.6}, {8, 0.45}, {4, 0.9}} {
			j := refWithNorm(graderMatrix(tc.d, tc.d, uint64(50+n)), tc.rho)
			ipj := graderClone(j)
			for i := range ipj {
				ipj[i][i]++
			}
			exact := refLogAbsDet(ipj)
			what := fmt.Sprintf("PowerSeriesLogDet(J, terms) for a random %d×%d J of spectral norm %g (exact log det(I + J) = %.6g, by LU)", tc.d, tc.d, tc.rho, exact)
			for _, terms := range []int{2, 1, 3, 7, 20} {
				given := graderClone(j)
				got := PowerSeriesLogDet(given, terms)
				if !graderSame(given, j) {
					c.Fatalf("%s", grading.Explain(what+": J after the call", "unchanged", "changed", "PowerSeriesLogDet changed j: compute the powers in a new matrix"))
				}
				want := refSeriesVariant(j, terms, "")
				mistakes := []grading.Diagnosis{}
				for _, m := range []struct{ variant, hint string }{
					{"no-sign", "every term is added: the series alternates, (−1)^{k+1}·tr(J^k)/k, + for odd k and − for even k (log(1 + x) = x − x²/2 + x³/3 − …)"},
					{"sign-flipped", "the signs are flipped: the first term, +tr J, is positive, (−1)^{k+1} with k from 1"},
					{"factorial", "the terms are divided by k!: that is the series of exp; the logarithm's divides by k, tr(J^k)/k"},
					{"from-identity", "the first term is tr(I)/1 = D: the series starts at k = 1 with J¹ = J (compute J^k before taking its trace: tr J, tr J², …)"},
				} {
					if v := refSeriesVariant(j, terms, m.variant); math.Abs(v-want) > 1e-9 {
						mistakes = append(mistakes, grading.Mistake(v, m.hint))
					}
				}
				for _, other := range []int{terms - 1, terms + 1} {
					if other >= 1 {
						if v := refSeriesVariant(j, other, ""); math.Abs(v-want) > 1e-9 {
							mistakes = append(mistakes, grading.Mistake(v, fmt.Sprintf("that is the series to %d terms, not %d: k runs from 1 to terms, both included", other, terms)))
						}
					}
				}
				if math.Abs(exact-want) > 1e-9 {
					mistakes = append(mistakes, grading.Mistake(exact, fmt.Sprintf("that is the exact log det(I + J): return the series truncated after %d terms, which is what the estimator computes", terms)))
				}
				if !c.Close(fmt.Sprintf("%s, terms = %d: Σ_{k=1}^{%d} (−1)^{k+1} tr(J^k)/k", what, terms, terms), got, want, 1e-11,
					"Σ_{k=1}^{terms} (−1)^{k+1}·tr(J^k)/k, with J^k = J^{k−1}·J", mistakes...) {
					return
				}
				// The truncation error is within the tail bound ‖J‖^{n+1}/((n+1)(1 − ‖J‖)).
				bound := math.Pow(tc.rho, float64(terms+1)) / (float64(terms+1) * (1 - tc.rho))
				if math.Abs(got-exact) > bound*(1+1e-9)+1e-12 {
					c.Fatalf("%s", grading.Explain(fmt.Sprintf("%s, terms = %d: |series − exact log det(I + J)| against the tail bound", what, terms), fmt.Sprintf("≤ %.4g", bound), fmt.Sprintf("%.4g", math.Abs(got-exact)),
						"the series' error after n terms is at most ‖J‖^{n+1}/((n+1)(1 − ‖J‖))"))
				}
			}
			if tc.rho <= 0.6 {
				got := PowerSeriesLogDet(graderClone(j), 200)
				if !c.Close(what+", 200 terms: the series converges to the exact log det(I + J) (LU with pivoting)", got, exact, 1e-10,
					"with ‖J‖ < 1 the series converges to log det(I + J)") {
					return
				}
			}
		}
		// 1×1: log(1 + a) = a − a²/2 + a³/3 − …
		for _, a := range []float64{0.5, -0.5, 0.9} {
			got := PowerSeriesLogDet([][]float64{{a}}, 400)
			if !c.Close(fmt.Sprintf("PowerSeriesLogDet([[%g]], 400 terms) = log(1 + %g)", a, a), got, math.Log1p(a), 1e-12,
				"for a 1×1 J = [a] the series is log(1 + a) = a − a²/2 + a³/3 − …") {
				return
			}
		}
	})
}

// graderSigns returns every vector of d entries ±1 (2^d of them).
func graderSigns(d int) [][]float64 {
	var out [][]float64
	for mask := range 1 << d {
		v := make([]float64, d)
		for i := range v {
			v[i] = 1
			if mask&(1<<i) != 0 {
				v[i] = -1
			}
		}
		out = append(out, v)
	}
	return out
}

// refQuad is εᵀAε.
func refQuad(a [][]float64, e []float64) float64 {
	s := 0.0
	for i := range a {
		for j := range a {
			s += e[i] * a[i][j] * e[j]
		}
	}
	return s
}

// refHutchinsonVariant is Hutchinson's estimate ("") or a plausible
// mistake's: "diagonal" (Σ_i A_ii ε_i², the diagonal only), "one-eps"
// (Σ_j (εᵀA)_j, the second ε missing), "sum" (the probes summed, not
// averaged), "per-dim" (divided by the dimension).
func refHutchinsonVariant(a [][]float64, probes [][]float64, variant string) float64 {
	total := 0.0
	for _, e := range probes {
		switch variant {
		case "diagonal":
			for i := range a {
				total += a[i][i] * e[i] * e[i]
			}
		case "one-eps":
			for i := range a {
				for j := range a {
					total += e[i] * a[i][j]
				}
			}
		default:
			total += refQuad(a, e)
		}
	}
	switch variant {
	case "sum":
		return total
	case "per-dim":
		return total / float64(len(probes)) / float64(len(a))
	}
	return total / float64(len(probes))
}

// refVarianceVariant is Var(εᵀAε) for a Rademacher ε ("") or a plausible
// mistake: "unsymmetrised" (2·Σ_{i≠j} A_ij²), "gaussian" (2·Σ_ij S_ij²,
// the diagonal included), "half" (Σ_{i≠j} S_ij²).
func refVarianceVariant(a [][]float64, variant string) float64 {
	v := 0.0
	for i := range a {
		for j := range a {
			s := (a[i][j] + a[j][i]) / 2
			switch {
			case variant == "unsymmetrised" && i != j:
				v += 2 * a[i][j] * a[i][j]
			case variant == "gaussian":
				v += 2 * s * s
			case variant == "half" && i != j:
				v += s * s
			case variant == "" && i != j:
				v += 2 * s * s
			}
		}
	}
	return v
}

func TestHutchinsonTrace(t *testing.T) {
	grading.Run(t, func(c *grading.C) {
		for n, d := range []int{3, 2, 5, 7} {
			a := graderMatrix(d, d, uint64(60+n))
			tr := refTrace(a)
			name := fmt.Sprintf("a random %d×%d A (tr A = %.6g)", d, d, tr)
			rng := rand.New(rand.NewPCG(uint64(70+n), 3))
			rademacher := make([][]float64, 6)
			gaussian := make([][]float64, 6)
			for p := range rademacher {
				rademacher[p], gaussian[p] = make([]float64, d), make([]float64, d)
				for i := range d {
					rademacher[p][i] = float64(2*rng.IntN(2) - 1)
					gaussian[p][i] = rng.NormFloat64()
				}
			}
			for _, probes := range []struct {
				name   string
				probes [][]float64
			}{{"6 Rademacher probes", rademacher}, {"6 standard normal probes", gaussian}, {"1 standard normal probe", gaussian[:1]}} {
				what := fmt.Sprintf("HutchinsonTrace(A, probes) for %s and %s", name, probes.name)
				given, givenProbes := graderClone(a), graderClone(probes.probes)
				got := HutchinsonTrace(given, givenProbes)
				if !graderSame(given, a) || !graderSame(givenProbes, probes.probes) {
					c.Fatalf("%s", grading.Explain(what+": A and the probes after the call", "unchanged", "changed", "HutchinsonTrace changed its inputs"))
				}
				want := refHutchinsonVariant(a, probes.probes, "")
				if !c.Close(what+": the mean of εᵀAε over the probes", got, want, 1e-12,
					"the mean over the probes of εᵀAε = Σ_i Σ_j ε_i·A_ij·ε_j",
					grading.Mistake(refHutchinsonVariant(a, probes.probes, "diagonal"), "only the diagonal terms A_ii·ε_i² are summed (with Rademacher probes that is exactly tr A, read off the diagonal): the estimator is εᵀAε = Σ_ij ε_i A_ij ε_j, off-diagonal terms included (they average to 0), and needs only the product Aε, never the diagonal (which for a Jacobian costs D backward passes)"),
					grading.Mistake(tr, "that is tr(A) itself, read off the diagonal: the estimator's point is to use only products Aε (the diagonal of a Jacobian costs D backward passes): return the mean of εᵀAε"),
					grading.Mistake(refHutchinsonVariant(a, probes.probes, "one-eps"), "the second ε is missing: that is Σ_j (εᵀA)_j; take the dot product of εᵀA with ε again, εᵀAε"),
					grading.Mistake(refHutchinsonVariant(a, probes.probes, "sum"), "the estimates are summed over the probes: average them (divide by the number of probes)"),
					grading.Mistake(refHutchinsonVariant(a, probes.probes, "per-dim"), "divide by the number of probes, not by it times the dimension")) {
					return
				}
			}
			// Unbiased: over every sign vector (each equally likely for a Rademacher ε), the mean is tr(A) exactly.
			all := graderSigns(d)
			got := HutchinsonTrace(graderClone(a), all)
			if !c.Close(fmt.Sprintf("HutchinsonTrace(A, all %d sign vectors) for %s: E[εᵀAε] over every Rademacher ε is tr(A)", len(all), name), got, tr, 1e-12,
				"the mean of εᵀAε over the probes; over all 2^D sign vectors every off-diagonal term cancels",
				grading.Mistake(refHutchinsonVariant(a, all, "one-eps"), "the second ε is missing: εᵀAε, not Σ_j (εᵀA)_j")) {
				return
			}
			// The variance, against the population variance over every sign vector.
			mean, sq := 0.0, 0.0
			for _, e := range all {
				q := refQuad(a, e)
				mean += q / float64(len(all))
				sq += q * q / float64(len(all))
			}
			brute := sq - mean*mean
			given := graderClone(a)
			v := HutchinsonVariance(given)
			if !graderSame(given, a) {
				c.Fatalf("%s", grading.Explain("HutchinsonVariance(A): A after the call", "unchanged", "changed", "HutchinsonVariance changed a"))
			}
			if !c.Close(fmt.Sprintf("HutchinsonVariance(A) for %s, against the variance of εᵀAε over all %d sign vectors", name, len(all)), v, brute, 1e-10,
				"Var(εᵀAε) = Σ_{i<j} (A_ij + A_ji)² for a Rademacher ε",
				grading.Mistake(refVarianceVariant(a, "unsymmetrised"), "only the symmetric part of A counts: ε_iε_j multiplies A_ij + A_ji together, so Var = Σ_{i<j} (A_ij + A_ji)², not 2·Σ_{i≠j} A_ij²"),
				grading.Mistake(refVarianceVariant(a, "gaussian"), "the diagonal is included: that is the variance for standard normal probes; with Rademacher ε_i² = 1, so the diagonal terms are exact and add no variance"),
				grading.Mistake(refVarianceVariant(a, "half"), "a factor 2 is missing: Σ_{i<j} (A_ij + A_ji)² = 2·Σ_{i≠j} S_ij² with S = (A + Aᵀ)/2"),
				grading.Mistake(0, "the variance is 0 only when the symmetric part of A is diagonal")) {
				return
			}
			// A statistical check: many random probes, the mean within 4 standard errors of tr(A).
			many := make([][]float64, 4000)
			for p := range many {
				many[p] = make([]float64, d)
				for i := range d {
					many[p][i] = float64(2*rng.IntN(2) - 1)
				}
			}
			est := HutchinsonTrace(graderClone(a), many)
			se := math.Sqrt(refVarianceVariant(a, "") / float64(len(many)))
			if math.Abs(est-tr) > 4*se+1e-12 {
				c.Fatalf("%s", grading.Explain(fmt.Sprintf("HutchinsonTrace(A, 4000 Rademacher probes) for %s: within 4 standard errors (%.3g) of tr A", name, se), fmt.Sprintf("%.6g ± %.3g", tr, 4*se), fmt.Sprintf("%.6g", est),
					"the estimator is unbiased: with many probes its mean approaches tr A"))
			}
			c.Logf("%s: 4000 probes give %.4f, tr A = %.4f, standard error %.3g", name, est, tr, se)
		}
		// Symmetric parts with a zero off-diagonal: one probe is exact.
		for _, tc := range []struct {
			name string
			a    [][]float64
		}{
			{"diagonal diag(1, −2, 3)", [][]float64{{1, 0, 0}, {0, -2, 0}, {0, 0, 3}}},
			{"antisymmetric plus 2·I", [][]float64{{2, 1.5, -0.3}, {-1.5, 2, 0.7}, {0.3, -0.7, 2}}},
		} {
			v := HutchinsonVariance(graderClone(tc.a))
			if !c.Close("HutchinsonVariance(A) for A "+tc.name+" (the symmetric part is diagonal: every probe gives tr A)", v, 0, 1e-12,
				"only the symmetric part's off-diagonal entries add variance: (A_ij + A_ji)² is 0 for every i ≠ j here",
				grading.Mistake(refVarianceVariant(tc.a, "unsymmetrised"), "A_ij and A_ji multiply the same ε_iε_j: add them before squaring, Σ_{i<j} (A_ij + A_ji)²"),
				grading.Mistake(refVarianceVariant(tc.a, "gaussian"), "the diagonal adds no variance with Rademacher probes (ε_i² = 1)")) {
				return
			}
		}
	})
}
