package glow

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/flowbook/flowbook/exercises/internal/grading"
	"github.com/flowbook/flowbook/flowlib/flowcheck"
)

// luParts returns a permutation matrix, "lower" and "upper" matrices with
// values everywhere (only their strict triangles count) and a diagonal with
// negative entries, for C = len(s).
func luParts(s []float64, seed uint64) (p, lower, upper [][]float64) {
	n := len(s)
	perm := []int{2, 0, 3, 1, 4, 5, 6, 7}[:min(n, 8)]
	if n > 8 {
		perm = rand.New(rand.NewPCG(seed, 3)).Perm(n)
	}
	p = make([][]float64, n)
	for i := range p {
		p[i] = make([]float64, n)
	}
	for i, src := range perm {
		p[src][i] = 1
	}
	return p, rows(grading.UniformValues(n*n, -1, 1, seed), n), rows(grading.UniformValues(n*n, -1, 1, seed+1), n)
}

// triangles returns the unit lower triangular L and the strictly upper
// triangular U of lower and upper, and diag(s).
func triangles(lower, upper [][]float64, s []float64) (l, u, d [][]float64) {
	n := len(s)
	l, u, d = identity(n), identity(n), identity(n)
	for i := range n {
		u[i][i], d[i][i] = 0, s[i]
		for j := range n {
			if j < i {
				l[i][j] = lower[i][j]
			} else if j > i {
				u[i][j] = upper[i][j]
			}
		}
	}
	return l, u, d
}

func TestLUMatrix(t *testing.T) {
	grading.Run(t, func(c *grading.C) {
		s := []float64{1.7, -0.4, 2.5, -3}
		p, lower, upper := luParts(s, 11)
		l, u, d := triangles(lower, upper, s)
		got := LUMatrix(p, lower, upper, s)
		what := "LUMatrix(P, lower, upper, s) for C = 4, s = [1.7, −0.4, 2.5, −3]"
		if got == nil {
			c.Fatalf("%s", grading.Explain(what, "a 4×4 matrix", "nil",
				"the function returns nil: is it still the stub? Write its body (see its doc comment)"))
		}
		for i, row := range got {
			if len(got) != 4 || len(row) != 4 {
				c.Fatalf("%s", grading.Explain(what, "4 rows of 4 values", fmt.Sprintf("%d rows, row %d has %d values", len(got), i, len(row)),
					"W is C×C, like P, L and U"))
			}
		}
		ud := addM(u, d)
		strictL := addM(l, scaleM(-1, identity(4)))
		fullU := addM(upper, d)
		for i := range fullU {
			fullU[i][i] = s[i]
		}
		want := mul(p, mul(l, ud))
		c.CloseEach(what+": W = P·L·(U + diag s)", grading.Flatten(got), grading.Flatten(want), 1e-12,
			"W = P·L·(U + diag s): L has ones on its diagonal and lower[i][j] below it, U has upper[i][j] above its diagonal",
			grading.VecMistake(grading.Flatten(mul(p, mul(lower, ud))), "L is unit lower triangular: take lower[i][j] only below the diagonal (j < i), put 1 on the diagonal and 0 above"),
			grading.VecMistake(grading.Flatten(mul(p, mul(strictL, ud))), "L has ones on its diagonal (unit lower triangular): L = I + (the strict lower part)"),
			grading.VecMistake(grading.Flatten(mul(p, mul(l, fullU))), "U is strictly upper triangular: take upper[i][j] only above the diagonal (j > i), 0 below"),
			grading.VecMistake(grading.Flatten(mul(p, mul(l, u))), "the diagonal s is missing: the last factor is U + diag(s)"),
			grading.VecMistake(grading.Flatten(mul(p, mul(l, addM(upper, d)))), "U is strictly upper triangular: ignore upper's entries on and below the diagonal"),
			grading.VecMistake(grading.Flatten(mul(l, ud)), "P is missing: W = P·L·(U + diag s)"),
			grading.VecMistake(grading.Flatten(mul(grading.Transpose(p), mul(l, ud))), "use P as given, W = P·L·(U + diag s), not its transpose"),
			grading.VecMistake(grading.Flatten(mul(p, mul(ud, l))), "the order of the factors matters: W = P·L·(U + diag s), L before U"),
			grading.VecMistake(grading.Flatten(mul(mul(l, ud), p)), "P multiplies from the left: W = P·L·(U + diag s)"))
		if c.Failed() {
			return
		}
		logDet := flowcheck.LogAbsDet(got)
		sumLog := 0.0
		for _, v := range s {
			sumLog += math.Log(math.Abs(v))
		}
		c.Close("log|det W| of your W by LU decomposition (flowcheck.LogAbsDet) = Σ_c log|s_c|", logDet, sumLog, 1e-10,
			"det P = ±1 and det L = 1, so log|det W| must be Σ_c log|s_c|")
		c.Logf("log|det W| = %.6f by flowcheck.LogAbsDet, Σ_c log|s_c| = %.6f", logDet, sumLog)

		// C = 12, a random permutation, s of both signs.
		s = grading.UniformValues(12, 0.5, 2, 17)
		for i := range s {
			if i%3 == 1 {
				s[i] = -s[i]
			}
		}
		p, lower, upper = luParts(s, 19)
		l, u, d = triangles(lower, upper, s)
		big := LUMatrix(p, lower, upper, s)
		if len(big) != 12 || slices.ContainsFunc(big, func(row []float64) bool { return len(row) != 12 }) {
			c.Fatalf("%s", grading.Explain("LUMatrix for C = 12", "12 rows of 12 values", fmt.Sprintf("%d rows", len(big)),
				"W is C×C for any C = len(s): size every matrix from len(s)"))
		}
		c.CloseEach("LUMatrix for C = 12, a random permutation: W = P·L·(U + diag s)", grading.Flatten(big), grading.Flatten(mul(p, mul(l, addM(u, d)))), 1e-12,
			"W = P·L·(U + diag s) for any C: loop over len(s), not over a fixed size")
	})
}

func TestLULogAbsDet(t *testing.T) {
	grading.Run(t, func(c *grading.C) {
		s := []float64{1.7, -0.4, 2.5, -3, 0.9}
		p, lower, upper := luParts(s, 13)
		l, u, d := triangles(lower, upper, s)
		w := mul(p, mul(l, addM(u, d)))
		want := flowcheck.LogAbsDet(w)
		got := LULogAbsDet(s)
		sumS, sumPos, absSum, prod := 0.0, 0.0, 0.0, 1.0
		for _, v := range s {
			sumS += v
			absSum += math.Abs(v)
			prod *= v
			if v > 0 {
				sumPos += math.Log(v)
			}
		}
		if math.IsNaN(got) {
			c.Fatalf("%s", grading.Explain("LULogAbsDet(s) for s = [1.7, −0.4, 2.5, −3, 0.9]", fmt.Sprintf("%.6g", want), "NaN",
				"log of a negative s_c: use log|s_c| (math.Abs before math.Log); a determinant's sign does not enter the log-likelihood"))
		}
		if !c.Close("LULogAbsDet(s) for s = [1.7, −0.4, 2.5, −3, 0.9] against flowcheck.LogAbsDet(P·L·(U + diag s))", got, want, 1e-10,
			"log|det W| = Σ_c log|s_c|",
			grading.Mistake(sumS, "that is the sum of s: the determinant of a triangular matrix is the product of its diagonal, so log|det| = Σ_c log|s_c|"),
			grading.Mistake(absSum, "that is the sum of the |s_c|: the determinant of a triangular matrix is the product of its diagonal, so log|det| = Σ_c log|s_c|"),
			grading.Mistake(sumPos, "every s_c counts, the negative ones too: add log|s_c|"),
			grading.Mistake(math.Log(absSum), "log|det| is the log of the product of the |s_c| (= Σ log|s_c|), not of their sum"),
			grading.Mistake(prod, "take the log: log|det W| = Σ_c log|s_c|, not the product of the s_c"),
			grading.Mistake(-want, "the sign is flipped: log|det W| = +Σ_c log|s_c|")) {
			return
		}

		// C = 2000, |s_c| from 0.3 to 4: the product of the s_c overflows float64 (about 10^±400).
		s = grading.UniformValues(2000, 0.3, 4, 23)
		want = 0.0
		for i := range s {
			if i%2 == 1 {
				s[i] = -s[i]
			}
			want += math.Log(math.Abs(s[i]))
		}
		got = LULogAbsDet(s)
		hint := "log|det W| = Σ_c log|s_c|, summed in float64"
		if math.IsInf(got, 0) || math.IsNaN(got) {
			hint = fmt.Sprintf("the product of 2000 values s_c is about 10^%.0f, beyond float64: never form it, add the logs, Σ_c log|s_c|", want/math.Ln10)
		}
		c.Close(fmt.Sprintf("LULogAbsDet(s) for C = 2000 (|det W| ≈ 10^%.0f)", want/math.Ln10), got, want, 1e-12, hint)
	})
}

// seriesInverse returns Σ_{k<terms} m^k.
func seriesInverse(m [][]float64, terms int) [][]float64 {
	n := len(m)
	sum, power := scaleM(0, identity(n)), identity(n)
	for range terms {
		sum = addM(sum, power)
		power = mul(power, m)
	}
	return sum
}

// productInverse returns (I + m)(I + m²)···, factors factors.
func productInverse(m [][]float64, factors int) [][]float64 {
	n := len(m)
	result, power := identity(n), m
	for range factors {
		result = mul(result, addM(identity(n), power))
		power = mul(power, power)
	}
	return result
}

func TestTriangularInverse(t *testing.T) {
	grading.Run(t, func(c *grading.C) {
		for _, n := range []int{3, 2, 4, 5, 8, 9, 1, 16, 17} {
			for _, side := range []string{"lower", "upper"} {
				strict := rows(grading.UniformValues(n*n, -1, 1, uint64(100*n+len(side))), n)
				for i := range n {
					for j := range n {
						if (side == "lower" && j >= i) || (side == "upper" && j <= i) {
							strict[i][j] = 0
						}
					}
				}
				what := fmt.Sprintf("TriangularInverse(N) for a strictly %s triangular %d×%d N", side, n, n)
				outs := grading.Exec(c, what, TriangularInverse, grading.Tensor(grading.Flatten(strict), n, n))
				c.CheckShape(what+": the shape of the result", outs[0], []int{n, n}, "(I + N)⁻¹ has N's shape")
				factors := 0
				for 1<<factors < n {
					factors++
				}
				minusN := scaleM(-1, strict)
				want := seriesInverse(minusN, n)
				var mistakes []grading.VecDiagnosis
				if factors > 0 {
					mistakes = append(mistakes, grading.VecMistake(grading.Flatten(productInverse(minusN, factors-1)),
						"the product stops one factor short: keep multiplying by (I + N^(2^j)) until 2^(j+1) ≥ C (⌈log₂ C⌉ factors)"))
				}
				mistakes = append(mistakes,
					grading.VecMistake(grading.Flatten(productInverse(strict, factors)), "that is (I − N)⁻¹: the factors use M = −N, (I − N)(I + N²)(I + N⁴)···"),
					grading.VecMistake(grading.Flatten(seriesInverse(minusN, n-1)), "the series stops one power short: it needs every power of −N up to N^(C−1)"))
				mistakes = append(mistakes, grading.VecMistake(grading.Flatten(identity(n)), "the result is the identity: (I + N)⁻¹ = (I − N)(I + N²)···"))
				if !c.CloseEach(what+": compared with Σ_k (−N)^k", grading.Values(outs[0]), grading.Flatten(want), 1e-10,
					"(I + N)⁻¹ = (I − N)(I + N²)(I + N⁴)···(I + N^(2^k)) with 2^(k+1) ≥ C: check the loop's bounds", mistakes...) {
					return
				}
			}
		}
	})
}
