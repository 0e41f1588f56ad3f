package residual

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"

	"github.com/flowbook/flowbook/exercises/internal/grading"
)

// This file holds the graders' own helpers, not tasks; the ones the chapters
// share are in the grading package. Their names start with "ref" or
// "grader" so that they do not clash with an answer's own helpers.

// graderMatrix returns a rows × cols matrix of standard normal entries from seed.
func graderMatrix(rows, cols int, seed uint64) [][]float64 {
	rng := rand.New(rand.NewPCG(seed, 909))
	m := make([][]float64, rows)
	for i := range m {
		m[i] = make([]float64, cols)
		for j := range m[i] {
			m[i][j] = rng.NormFloat64()
		}
	}
	return m
}

// graderVector returns n standard normal values from seed.
func graderVector(n int, seed uint64) []float64 {
	rng := rand.New(rand.NewPCG(seed, 919))
	v := make([]float64, n)
	for i := range v {
		v[i] = rng.NormFloat64()
	}
	return v
}

// graderClone returns a deep copy of m.
func graderClone(m [][]float64) [][]float64 {
	out := make([][]float64, len(m))
	for i, row := range m {
		out[i] = slices.Clone(row)
	}
	return out
}

// graderSame reports whether two matrices hold exactly the same values.
func graderSame(a, b [][]float64) bool {
	return slices.EqualFunc(a, b, slices.Equal[[]float64])
}

// graderShape describes a matrix's shape, "4×6".
func graderShape(m [][]float64) string {
	if len(m) == 0 {
		return "0×0"
	}
	return fmt.Sprintf("%d×%d", len(m), len(m[0]))
}

// refScale returns s·m.
func refScale(s float64, m [][]float64) [][]float64 {
	out := graderClone(m)
	for _, row := range out {
		for j := range row {
			row[j] *= s
		}
	}
	return out
}

// refMatMul returns a·b.
func refMatMul(a, b [][]float64) [][]float64 {
	out := make([][]float64, len(a))
	for i := range a {
		out[i] = make([]float64, len(b[0]))
		for k := range b {
			for j := range b[0] {
				out[i][j] += a[i][k] * b[k][j]
			}
		}
	}
	return out
}

// refMatVec returns m·v.
func refMatVec(m [][]float64, v []float64) []float64 {
	out := make([]float64, len(m))
	for i, row := range m {
		for j, x := range row {
			out[i] += x * v[j]
		}
	}
	return out
}

// refIdentity is the n × n identity.
func refIdentity(n int) [][]float64 {
	m := make([][]float64, n)
	for i := range m {
		m[i] = make([]float64, n)
		m[i][i] = 1
	}
	return m
}

// refTrace is tr(m).
func refTrace(m [][]float64) float64 {
	t := 0.0
	for i := range m {
		t += m[i][i]
	}
	return t
}

// refNorm2 is the Euclidean norm of v.
func refNorm2(v []float64) float64 {
	s := 0.0
	for _, x := range v {
		s += x * x
	}
	return math.Sqrt(s)
}

// refFrobenius is the Frobenius norm of m.
func refFrobenius(m [][]float64) float64 { return refNorm2(grading.Flatten(m)) }

// refSymmetricEigenvalues returns the eigenvalues of the symmetric matrix s
// by the cyclic Jacobi method: rotations that zero the off-diagonal entries
// until they are negligible. No power iteration in it.
func refSymmetricEigenvalues(s [][]float64) []float64 {
	a := graderClone(s)
	n := len(a)
	for sweep := 0; sweep < 100; sweep++ {
		off := 0.0
		for i := range n {
			for j := range n {
				if i != j {
					off += a[i][j] * a[i][j]
				}
			}
		}
		if off < 1e-30*math.Max(1, refFrobenius(a)*refFrobenius(a)) {
			break
		}
		for p := 0; p < n; p++ {
			for q := p + 1; q < n; q++ {
				if a[p][q] == 0 {
					continue
				}
				theta := (a[q][q] - a[p][p]) / (2 * a[p][q])
				t := math.Copysign(1, theta) / (math.Abs(theta) + math.Sqrt(theta*theta+1))
				c := 1 / math.Sqrt(t*t+1)
				sn := t * c
				for k := range n { // columns p and q
					akp, akq := a[k][p], a[k][q]
					a[k][p], a[k][q] = c*akp-sn*akq, sn*akp+c*akq
				}
				for k := range n { // rows p and q
					apk, aqk := a[p][k], a[q][k]
					a[p][k], a[q][k] = c*apk-sn*aqk, sn*apk+c*aqk
				}
			}
		}
	}
	eig := make([]float64, n)
	for i := range n {
		eig[i] = a[i][i]
	}
	return eig
}

// refSpectralNorm is σ(m), the square root of the largest eigenvalue of
// mᵀm (Jacobi's method).
func refSpectralNorm(m [][]float64) float64 {
	return math.Sqrt(math.Max(0, slices.Max(refSymmetricEigenvalues(refMatMul(grading.Transpose(m), m)))))
}

// refWithNorm returns m scaled to spectral norm sigma.
func refWithNorm(m [][]float64, sigma float64) [][]float64 {
	return refScale(sigma/refSpectralNorm(m), m)
}

// refLogAbsDet is log|det m| by Gaussian elimination with partial pivoting.
func refLogAbsDet(m [][]float64) float64 {
	a := graderClone(m)
	n := len(a)
	total := 0.0
	for k := range n {
		p := k
		for i := k + 1; i < n; i++ {
			if math.Abs(a[i][k]) > math.Abs(a[p][k]) {
				p = i
			}
		}
		a[k], a[p] = a[p], a[k]
		total += math.Log(math.Abs(a[k][k]))
		for i := k + 1; i < n; i++ {
			f := a[i][k] / a[k][k]
			for j := k; j < n; j++ {
				a[i][j] -= f * a[k][j]
			}
		}
	}
	return total
}

// refExpm is the matrix exponential e^m, by scaling and squaring with a
// Taylor series: e^m = (e^{m/2^s})^{2^s}.
func refExpm(m [][]float64) [][]float64 {
	s := 0
	for norm := refFrobenius(m); norm > 0.25; norm /= 2 {
		s++
	}
	a := refScale(math.Pow(2, -float64(s)), m)
	n := len(m)
	sum, term := refIdentity(n), refIdentity(n)
	for k := 1; k <= 25; k++ {
		term = refScale(1/float64(k), refMatMul(term, a))
		for i := range n {
			for j := range n {
				sum[i][j] += term[i][j]
			}
		}
	}
	for range s {
		sum = refMatMul(sum, sum)
	}
	return sum
}

// refLogNormal is log N(z; 0, I).
func refLogNormal(z []float64) float64 {
	total := -0.5 * float64(len(z)) * math.Log(2*math.Pi)
	for _, v := range z {
		total -= 0.5 * v * v
	}
	return total
}

// refAxpy returns y + a·k.
func refAxpy(y []float64, a float64, k []float64) []float64 {
	return grading.Map(y, func(i int, v float64) float64 { return v + a*k[i] })
}

// refRK4StepVariant is one classic RK4 step ("") or what a plausible
// mistake computes: "euler", "midpoint", "equal-weights" (1,1,1,1)/4,
// "times-t" (k2 and k3 at t, k4 at t + h), "k4-half" (k4 at t + h/2),
// "k4-from-k2" (k4 at y + h·k2), "no-h6" (y + (k1 + 2k2 + 2k3 + k4)/6).
func refRK4StepVariant(f VectorField, t float64, y []float64, h float64, variant string) []float64 {
	k1 := f(t, y)
	if variant == "euler" {
		return refAxpy(y, h, k1)
	}
	tm := t + h/2
	if variant == "times-t" {
		tm = t
	}
	k2 := f(tm, refAxpy(y, h/2, k1))
	if variant == "midpoint" {
		return refAxpy(y, h, k2)
	}
	k3 := f(tm, refAxpy(y, h/2, k2))
	t4, y4 := t+h, refAxpy(y, h, k3)
	switch variant {
	case "k4-half":
		t4 = t + h/2
	case "k4-from-k2":
		y4 = refAxpy(y, h, k2)
	}
	k4 := f(t4, y4)
	return grading.Map(y, func(i int, v float64) float64 {
		switch variant {
		case "equal-weights":
			return v + h/4*(k1[i]+k2[i]+k3[i]+k4[i])
		case "no-h6":
			return v + (k1[i]+2*k2[i]+2*k3[i]+k4[i])/6
		}
		return v + h/6*(k1[i]+2*k2[i]+2*k3[i]+k4[i])
	})
}

// refRK4Step is one classic RK4 step.
func refRK4Step(f VectorField, t float64, y []float64, h float64) []float64 {
	return refRK4StepVariant(f, t, y, h, "")
}
