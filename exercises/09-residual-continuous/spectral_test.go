package residual

import (
	"fmt"
	"math"
	"slices"
	"testing"

	"github.com/flowbook/flowbook/exercises/internal/grading"
)

// refPowerIteration is SpectralNorm ("") or what a plausible mistake
// computes: "no-normalize" (u and v never normalised), "squared" (returns
// σ̂²), "frobenius" (the Frobenius norm), "norm-wtu" (σ̂ = ‖Wᵀu‖ of the last
// u, one half-step behind).
func refPowerIteration(w [][]float64, u0 []float64, iterations int, variant string) (float64, []float64) {
	if variant == "frobenius" {
		return refFrobenius(w), nil
	}
	wt := grading.Transpose(w)
	u := slices.Clone(u0)
	var v []float64
	normalize := func(x []float64) []float64 {
		if variant == "no-normalize" {
			return x
		}
		return grading.Scale(1/refNorm2(x), x)
	}
	for range iterations {
		v = normalize(refMatVec(wt, u))
		u = normalize(refMatVec(w, v))
	}
	sigma := 0.0
	wv := refMatVec(w, v)
	for i := range u {
		sigma += u[i] * wv[i]
	}
	switch variant {
	case "squared":
		sigma *= sigma
	case "norm-wtu":
		sigma = refNorm2(refMatVec(wt, u))
	}
	return sigma, u
}

// graderSpectralMatrices are the matrices TestSpectralNorm uses, with names.
func graderSpectralMatrices() []struct {
	name string
	w    [][]float64
} {
	return []struct {
		name string
		w    [][]float64
	}{
		{"a random 4×6 matrix", graderMatrix(4, 6, 1)},
		{"a random 5×3 matrix", graderMatrix(5, 3, 2)},
		{"a random 3×3 matrix", graderMatrix(3, 3, 3)},
		{"a random 1×4 matrix (one row: σ is its length)", graderMatrix(1, 4, 4)},
		{"a random 6×1 matrix (one column)", graderMatrix(6, 1, 5)},
		{"diag(3, −2, 0.5) (σ = 3)", [][]float64{{3, 0, 0}, {0, -2, 0}, {0, 0, 0.5}}},
		{"a random 8×8 matrix times 0.1", refScale(0.1, graderMatrix(8, 8, 6))},
	}
}

func TestSpectralNorm(t *testing.T) {
	grading.Run(t, func(c *grading.C) {
		for n, tc := range graderSpectralMatrices() {
			w := tc.w
			rows := len(w)
			u0 := graderVector(rows, uint64(100+n))
			exact := refSpectralNorm(w)
			what := fmt.Sprintf("SpectralNorm(W, u, k) for %s (exact σ(W) = %.6g, from the eigenvalues of WᵀW)", tc.name, exact)
			for _, k := range []int{2, 1, 5} {
				wGiven, uGiven := graderClone(w), slices.Clone(u0)
				sigma, u := SpectralNorm(wGiven, uGiven, k)
				step := fmt.Sprintf("%s, k = %d", what, k)
				if u == nil {
					c.Fatalf("%s", grading.Explain(step+": the returned u", fmt.Sprintf("%d values", rows), "nil",
						"SpectralNorm returns nil: is it still the stub? Write its body (see its doc comment)"))
				}
				if !graderSame(wGiven, w) || !slices.Equal(uGiven, u0) {
					c.Fatalf("%s", grading.Explain(step+": W and u after the call", "unchanged", "changed",
						"SpectralNorm changed its inputs: work on a copy of u (training keeps the old one until you return the new one)"))
				}
				if len(u) != rows {
					c.Fatalf("%s", grading.Explain(step+": the length of the returned u", fmt.Sprint(rows), fmt.Sprint(len(u)),
						"u has one value per row of W (v one per column): u ← W v/‖W v‖"))
				}
				want, wantU := refPowerIteration(w, u0, k, "")
				mistakes := []grading.Diagnosis{
					grading.Mistake(refFrobenius(w), "that is the Frobenius norm √(Σ w_ij²), which is ≥ σ(W) (equal only for rank 1): the spectral norm is the largest singular value, max ‖W v‖ over unit v, which power iteration finds"),
				}
				for _, m := range []struct{ variant, hint string }{
					{"squared", "that is σ̂² = ‖W v‖², the largest eigenvalue of WᵀW: return σ̂ = uᵀ W v itself, with u = W v/‖W v‖ of unit length (uᵀ W v with an unnormalised u = W v is ‖W v‖² = σ̂²)"},
					{"no-normalize", "u and v must be divided by their norms at every step, v ← Wᵀu/‖Wᵀu‖ and u ← W v/‖W v‖: without it they grow (or shrink) like σ^k, and uᵀ W v is not σ̂"},
					{"norm-wtu", "σ̂ = uᵀ W v, from the last u and the last v (which is ‖W v‖): ‖Wᵀu‖ belongs to the next half-step"},
				} {
					if s, _ := refPowerIteration(w, u0, k, m.variant); math.Abs(s-want) > 1e-9*math.Max(1, want) {
						mistakes = append(mistakes, grading.Mistake(s, m.hint))
					}
				}
				for _, other := range []int{k - 1, k + 1} {
					if other < 1 {
						continue
					}
					if s, _ := refPowerIteration(w, u0, other, ""); math.Abs(s-want) > 1e-9*math.Max(1, want) {
						mistakes = append(mistakes, grading.Mistake(s, fmt.Sprintf("that is σ̂ after %d iterations, not %d: each iteration is one v ← Wᵀu/‖Wᵀu‖ and one u ← W v/‖W v‖", other, k)))
					}
				}
				if !c.Close(step+": σ̂, against the same power iteration", sigma, want, 1e-10,
					"σ̂ = uᵀ W v after k iterations of v ← Wᵀu/‖Wᵀu‖, u ← W v/‖W v‖", mistakes...) {
					return
				}
				if !c.Close(step+": ‖u‖ of the returned u", refNorm2(u), 1, 1e-10,
					"the returned u is the last W v/‖W v‖, of unit length") {
					return
				}
				if !c.CloseEach(step+": the returned u", u, wantU, 1e-9,
					"return the last u, W v/‖W v‖, which the next call starts from") {
					return
				}
				if sigma > exact*(1+1e-12)+1e-12 {
					c.Fatalf("%s", grading.Explain(step+": σ̂ ≤ σ(W)", fmt.Sprintf("at most %.10g", exact), fmt.Sprintf("%.10g", sigma),
						"uᵀ W v with unit u and v is never above σ(W): check the normalisation of u and v"))
				}
				// A warm start: k more iterations from the returned u are 2k iterations from u0.
				more, _ := SpectralNorm(graderClone(w), u, k)
				twice, _ := refPowerIteration(w, u0, 2*k, "")
				if !c.Close(step+": SpectralNorm(W, u_k, k) from the returned u_k equals 2k iterations from u", more, twice, 1e-9,
					"the returned u must be the state to continue from (as training does, one iteration per step)") {
					return
				}
			}
			// Convergence to σ(W), from below and never falling.
			prev := 0.0
			for _, k := range []int{1, 3, 10, 30} {
				s, _ := SpectralNorm(graderClone(w), slices.Clone(u0), k)
				if s < prev-1e-12*math.Max(1, exact) {
					c.Fatalf("%s", grading.Explain(fmt.Sprintf("%s: σ̂ after %d iterations is at least σ̂ after fewer", what, k), fmt.Sprintf("≥ %.10g", prev), fmt.Sprintf("%.10g", s),
						"σ̂ rises with the iterations (it is ‖W v‖ with v ∝ (WᵀW)^k v₀): check the order of the two updates"))
				}
				prev = s
			}
			s, _ := SpectralNorm(graderClone(w), slices.Clone(u0), 400)
			if !c.Close(what+", k = 400: σ̂ converges to the exact σ(W)", s, exact, 1e-8,
				"with many iterations, power iteration finds the largest singular value",
				grading.Mistake(exact*exact, "that is σ², the largest eigenvalue of WᵀW: return σ̂ = uᵀ W v"),
				grading.Mistake(refFrobenius(w), "that is the Frobenius norm, not the spectral norm")) {
				return
			}
		}

		// SpectralNormalize.
		for n, tc := range []struct {
			name  string
			w     [][]float64
			c     float64
			above bool
		}{
			{"a random 4×5 matrix of σ = 2.5, c = 0.9", refWithNorm(graderMatrix(4, 5, 11), 2.5), 0.9, true},
			{"a random 3×3 matrix of σ = 1.3, c = 0.97", refWithNorm(graderMatrix(3, 3, 12), 1.3), 0.97, true},
			{"a random 3×6 matrix of σ = 0.4, c = 0.9 (already below c)", refWithNorm(graderMatrix(3, 6, 13), 0.4), 0.9, false},
			{"a random 5×2 matrix of σ = 0.8, c = 0.5", refWithNorm(graderMatrix(5, 2, 14), 0.8), 0.5, true},
			{"a random 2×4 matrix of σ = 0.3, c = 0.5 (already below c)", refWithNorm(graderMatrix(2, 4, 15), 0.3), 0.5, false},
		} {
			sigma := refSpectralNorm(tc.w)
			what := fmt.Sprintf("SpectralNormalize(W, σ = %.4g, c = %g) for %s", sigma, tc.c, tc.name)
			given := graderClone(tc.w)
			out := SpectralNormalize(given, sigma, tc.c)
			if out == nil {
				c.Fatalf("%s", grading.Explain(what, "a "+graderShape(tc.w)+" matrix", "nil",
					"SpectralNormalize returns nil: is it still the stub? Write its body (see its doc comment)"))
			}
			if !graderSame(given, tc.w) {
				c.Fatalf("%s", grading.Explain(what+": W after the call", "unchanged", "changed", "SpectralNormalize changed w: return a new matrix"))
			}
			if len(out) != len(tc.w) || slices.ContainsFunc(out, func(r []float64) bool { return len(r) != len(tc.w[0]) }) {
				c.Fatalf("%s", grading.Explain(what+": the shape of the result", graderShape(tc.w), graderShape(out), "the result has W's shape"))
			}
			if &out[0][0] == &given[0][0] {
				c.Fatalf("%s", grading.Explain(what+": the result is a new matrix", "new rows", "the rows of w itself",
					"return a new matrix: the caller keeps w (the parameter training updates) and uses the normalised copy"))
			}
			want := refScale(1/math.Max(1, sigma/tc.c), tc.w)
			hint := "W/max(1, σ/c): divide by σ/c when σ > c, leave W as it is when σ ≤ c"
			if !tc.above {
				hint = "σ ≤ c here: W is already within the bound and stays as it is (max(1, σ/c) = 1); spectral normalisation never scales a matrix up"
			}
			if !c.CloseVec(what, grading.Flatten(out), grading.Flatten(want), 1e-12, hint,
				grading.VecMistake(grading.Flatten(refScale(tc.c/sigma, tc.w)), "W·c/σ always scales the matrix to norm c, up as well as down: use max(1, σ/c), so that a matrix with σ ≤ c is left as it is"),
				grading.VecMistake(grading.Flatten(refScale(1/sigma, tc.w)), "W/σ has spectral norm 1, not c: divide by σ/c"),
				grading.VecMistake(grading.Flatten(refScale(1/math.Max(1, tc.c/sigma), tc.w)), "the ratio is σ/c (how far above the bound W is), not c/σ")) {
				return
			}
			got := refSpectralNorm(out)
			c.Close(fmt.Sprintf("%s: the spectral norm of the result (%d)", what, n), got, math.Min(sigma, tc.c), 1e-10, hint)
			if c.Failed() {
				return
			}
		}
	})
}
