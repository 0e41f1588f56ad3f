package autoregressive

import (
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/flowbook/flowbook/exercises/internal/grading"
)

// This file holds the graders' own helpers, not tasks; the ones the chapters
// share are in the grading package. Their names start with "ref" or
// "grader" so that they do not clash with an answer's own helpers.

// refConditioner returns an autoregressive conditioner in the given order,
// nonlinear like a MADE: for the value that comes r-th, with
// a_r = Σ_{q<r} W[r][q]·u[order[q]] and b_r = Σ_{q<r} V[r][q]·u[order[q]],
//
//	μ = m_r + 1.3·tanh(a_r + e_r) + 0.4·a_r,   α = 0.8·tanh(b_r + f_r)
//
// calls counts its calls. It panics, with a message, on a vector of the
// wrong length.
func refConditioner(order []int, seed uint64, calls *int) Conditioner {
	d := len(order)
	rng := rand.New(rand.NewPCG(seed, 81))
	w, v := make([][]float64, d), make([][]float64, d)
	m, e, f := make([]float64, d), make([]float64, d), make([]float64, d)
	for r := range d {
		w[r], v[r] = make([]float64, r), make([]float64, r)
		for q := range r {
			w[r][q], v[r][q] = 1.2*rng.NormFloat64(), 0.9*rng.NormFloat64()
		}
		m[r], e[r], f[r] = rng.NormFloat64(), 0.5*rng.NormFloat64(), 0.5*rng.NormFloat64()
	}
	return func(u []float64) (mu, alpha []float64) {
		if calls != nil {
			*calls++
		}
		if len(u) != d {
			panic(fmt.Sprintf("the conditioner takes the %d values of the layer, got %d", d, len(u)))
		}
		mu, alpha = make([]float64, d), make([]float64, d)
		for r, i := range order {
			a, b := 0.0, 0.0
			for q := range r {
				a += w[r][q] * u[order[q]]
				b += v[r][q] * u[order[q]]
			}
			mu[i] = m[r] + 1.3*math.Tanh(a+e[r]) + 0.4*a
			alpha[i] = 0.8 * math.Tanh(b+f[r])
		}
		return mu, alpha
	}
}

// refMAFForward is the MAF layer's density direction: z = (x − μ(x))·exp(−α(x)).
func refMAFForward(x []float64, cond Conditioner) []float64 {
	mu, alpha := cond(x)
	return grading.Map(x, func(i int, v float64) float64 { return (v - mu[i]) * math.Exp(-alpha[i]) })
}

// refSequential finds x one coordinate at a time in visit (which is the
// layer's order when right), each from the parameters of the x found so
// far: set(z_i, μ_i, α_i) gives x_i.
func refSequential(z []float64, visit []int, cond Conditioner, set func(z, mu, alpha float64) float64) []float64 {
	x := make([]float64, len(z))
	for _, i := range visit {
		mu, alpha := cond(x)
		x[i] = set(z[i], mu[i], alpha[i])
	}
	return x
}

// refFixedPoint is passes passes of x ← μ(u) + z·exp(α(u)) from u = 0, where
// u is x (MAF, condition = nil) or the given vector.
func refFixedPoint(z []float64, passes int, cond Conditioner) []float64 {
	x := make([]float64, len(z))
	for range passes {
		mu, alpha := cond(x)
		x = grading.Map(z, func(i int, v float64) float64 { return mu[i] + v*math.Exp(alpha[i]) })
	}
	return x
}

// refAffine is x = μ + z·exp(α) entry by entry.
func refAffine(z, mu, alpha []float64) []float64 {
	return grading.Map(z, func(i int, v float64) float64 { return mu[i] + v*math.Exp(alpha[i]) })
}

// refLogNormal is log N(z; 0, I).
func refLogNormal(z []float64) float64 {
	total := -0.5 * float64(len(z)) * math.Log(2*math.Pi)
	for _, v := range z {
		total -= 0.5 * v * v
	}
	return total
}

// graderNatural is 0, 1, …, n−1.
func graderNatural(n int) []int {
	out := make([]int, n)
	for i := range out {
		out[i] = i
	}
	return out
}

// refBin is the bin of v among the knots: knots[k] ≤ v < knots[k+1], the
// last bin for the last knot.
func refBin(knots []float64, v float64) int {
	k := 0
	for k < len(knots)-2 && v >= knots[k+1] {
		k++
	}
	return k
}

// refBinParts is what the formulas need of bin k.
type refBinParts struct{ x0, y0, w, h, s, d0, d1 float64 }

func refParts(sp Spline, k int) refBinParts {
	w, h := sp.Xs[k+1]-sp.Xs[k], sp.Ys[k+1]-sp.Ys[k]
	return refBinParts{sp.Xs[k], sp.Ys[k], w, h, h / w, sp.Ds[k], sp.Ds[k+1]}
}

// refInside reports whether v is in [knots[0], knots[K]], where the spline applies.
func refInside(knots []float64, v float64) bool {
	return v >= knots[0] && v <= knots[len(knots)-1]
}

// refSplineForward is g(x).
func refSplineForward(sp Spline, x float64) float64 {
	if !refInside(sp.Xs, x) {
		return x
	}
	p := refParts(sp, refBin(sp.Xs, x))
	xi := (x - p.x0) / p.w
	xi1 := xi * (1 - xi)
	return p.y0 + p.h*(p.s*xi*xi+p.d0*xi1)/(p.s+(p.d0+p.d1-2*p.s)*xi1)
}

// refSplineLogDet is log g'(x).
func refSplineLogDet(sp Spline, x float64) float64 {
	if !refInside(sp.Xs, x) {
		return 0
	}
	p := refParts(sp, refBin(sp.Xs, x))
	xi := (x - p.x0) / p.w
	xi1 := xi * (1 - xi)
	num := p.d1*xi*xi + 2*p.s*xi1 + p.d0*(1-xi)*(1-xi)
	den := p.s + (p.d0+p.d1-2*p.s)*xi1
	return 2*math.Log(p.s) + math.Log(num) - 2*math.Log(den)
}

// refSplineInverse is g⁻¹(y) by bisection on refSplineForward (g is
// increasing), down to adjacent float64 values: brute force, with no
// formula of the inverse in it.
func refSplineInverse(sp Spline, y float64) float64 {
	if !refInside(sp.Ys, y) {
		return y
	}
	k := refBin(sp.Ys, y)
	lo, hi := sp.Xs[k], sp.Xs[k+1]
	if y == sp.Ys[k] {
		return lo
	}
	if y == sp.Ys[k+1] {
		return hi
	}
	for range 2000 {
		mid := lo + (hi-lo)/2
		if mid == lo || mid == hi {
			break
		}
		if refSplineForward(sp, mid) < y {
			lo = mid
		} else {
			hi = mid
		}
	}
	if math.Abs(refSplineForward(sp, lo)-y) < math.Abs(refSplineForward(sp, hi)-y) {
		return lo
	}
	return hi
}

// graderSplinePoints returns points to test a spline at, for knots ks:
// every knot, the values just below and above each, −B and B, a few points
// in every bin, and tails (beyond ±B) when tails is true. Each has a label
// that says where it is.
func graderSplinePoints(ks []float64, tails bool) (points []float64, labels []string) {
	add := func(v float64, label string) {
		points = append(points, v)
		labels = append(labels, label)
	}
	k := len(ks) - 1
	b := ks[k]
	for i, v := range ks {
		switch i {
		case 0:
			add(v, "exactly at −B, the first knot")
		case k:
			add(v, "exactly at B, the last knot")
		default:
			add(v, fmt.Sprintf("exactly at the interior knot %d", i))
		}
		if i > 0 {
			add(math.Nextafter(v, math.Inf(-1)), fmt.Sprintf("just below knot %d", i))
		}
		if i < k {
			add(math.Nextafter(v, math.Inf(1)), fmt.Sprintf("just above knot %d", i))
		}
	}
	for i := range k {
		for _, f := range []float64{0.13, 0.5, 0.91} {
			add(ks[i]+f*(ks[i+1]-ks[i]), fmt.Sprintf("inside bin %d", i))
		}
	}
	if tails {
		for _, v := range []float64{b + 1e-9, b + 0.7, 3 * b, 1e6, -b - 1e-9, -b - 0.7, -3 * b, -1e6} {
			add(v, "in a tail, outside [−B, B]")
		}
	}
	return points, labels
}

// graderSplines are the splines the spline tasks are graded on, with a
// description each.
var graderSplines = []struct {
	name string
	sp   Spline
}{
	{"K = 4, B = 3", Spline{
		Xs: []float64{-3, -1.2, 0.3, 1, 3},
		Ys: []float64{-3, -2, -0.5, 1.6, 3},
		Ds: []float64{1, 0.4, 2.5, 0.8, 1}}},
	{"K = 8, B = 5, bins of width 0.01 and derivatives from 10⁻³ to 10³", Spline{
		Xs: []float64{-5, -4.99, -2, -1.99, 0, 0.01, 3, 4.99, 5},
		Ys: []float64{-5, -3, -2.99, -0.5, -0.49, 1.5, 1.51, 4.99, 5},
		Ds: []float64{1, 1e3, 1e-3, 50, 1e-3, 1e3, 1e-3, 2, 1}}},
	{"K = 1, B = 2, derivatives 0.3 and 4 at the ends", Spline{
		Xs: []float64{-2, 2},
		Ys: []float64{-2, 2},
		Ds: []float64{0.3, 4}}},
}

// graderCall calls f(v) and turns a panic into a failure that says at which
// value it happened (and ends the check), with a hint for the usual causes.
func graderCall(c *grading.C, what string, v float64, label string, f func(float64) float64) (out float64) {
	defer func() {
		if r := recover(); r != nil {
			hint := "your code panicked at this value: look at the bin search and at the indices k and k+1"
			switch {
			case label == "exactly at B, the last knot":
				hint = "at v = B, the last knot, the bin is K−1, the last one, not K (there are K bins for K+1 knots): stop the search at K−1"
			case label == "in a tail, outside [−B, B]":
				hint = "outside [−B, B] there is no bin: the spline is the identity in the tails, so test |v| > B before searching for a bin"
			case label == "exactly at −B, the first knot":
				hint = "v = −B, the first knot, is in bin 0"
			}
			c.Fatalf("%s", grading.Explain(fmt.Sprintf("%s at %v (%s)", what, v, label), "a value",
				"panic: "+grading.FirstLines(fmt.Sprint(r), 3), hint))
		}
	}()
	return f(v)
}

// graderEach evaluates f at every point with graderCall.
func graderEach(c *grading.C, what string, points []float64, labels []string, f func(float64) float64) []float64 {
	out := make([]float64, len(points))
	for i, v := range points {
		out[i] = graderCall(c, what, v, labels[i], f)
	}
	return out
}

// graderCompare checks got against want at the labelled points (tolerance
// relative to max(1, |want|)); on a miss the failure names the first point
// that differs and where it is, with the hint of the first mistake that got
// matches at every point, else byLabel's hint for that point (when byLabel
// is not nil and returns one), else hint. It returns whether the check
// passed.
func graderCompare(c *grading.C, what string, points []float64, labels []string, got, want []float64, tol float64,
	hint string, byLabel func(label string) string, mistakes ...grading.VecDiagnosis) bool {
	bad := -1
	for i := range want {
		if !grading.Near(got[i], want[i], tol) {
			bad = i
			break
		}
	}
	if bad < 0 {
		return true
	}
	chosen := ""
	for _, m := range mistakes {
		if graderMatches(got, m.Values, tol) {
			chosen = m.Hint
			break
		}
	}
	matched := chosen != ""
	allZero := true
	for _, g := range got {
		allZero = allZero && g == 0
	}
	if allZero {
		chosen = "exactly 0 everywhere: is the method still the stub? Write its body (its doc comment says what to compute)"
	}
	if chosen == "" && byLabel != nil {
		chosen = byLabel(labels[bad])
	}
	if chosen == "" {
		chosen = hint
	}
	if !matched && (math.IsNaN(got[bad]) || math.IsInf(got[bad], 0)) {
		chosen = grading.Diagnose(got[bad], tol, chosen)
	}
	wantText, gotText := grading.Distinct(want[bad], got[bad])
	c.Errorf("%s", grading.Explain(fmt.Sprintf("%s at %v (%s)", what, points[bad], labels[bad]), wantText, gotText, chosen))
	return false
}

// graderMatches reports whether got is what a mistake computes at every
// point: [grading.Near] entry by entry, where a NaN matches a NaN and an
// infinity the same infinity (a formula that divides 0 by 0 somewhere gives
// NaN there, in the learner's code as in the grader's copy of the mistake).
func graderMatches(got, mistake []float64, tol float64) bool {
	if len(got) != len(mistake) {
		return false
	}
	for i, g := range got {
		m := mistake[i]
		if !(grading.Near(g, m, tol) || (math.IsNaN(g) && math.IsNaN(m)) || (math.IsInf(g, 0) && g == m)) {
			return false
		}
	}
	return true
}
