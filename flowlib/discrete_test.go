package flowlib_test

import (
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/gomlx/compute"
	"github.com/gomlx/compute/dtypes"
	. "github.com/gomlx/gomlx/core/graph" //nolint:revive
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/model"

	"github.com/flowbook/flowbook/flowlib"
	"github.com/flowbook/flowbook/flowlib/backend"
	"github.com/flowbook/flowbook/flowlib/data"
	"github.com/flowbook/flowbook/flowlib/flowcheck"
	"github.com/flowbook/flowbook/flowlib/inference"
	"github.com/flowbook/flowbook/flowlib/internal/graphpanic"
	"github.com/flowbook/flowbook/flowlib/training"
)

// The tests of this file build few graphs, each checking several cases at
// once in its own scopes: XLA compiles every graph (and every store's
// variable initialisation) anew, which dominates their run time there.

// discreteRun runs fn once on the inputs with a fresh executor (on GoMLX
// v0.28.16's pure-Go backend an executor does not see variables changed
// after its first call) and returns its outputs as float64.
func discreteRun(t *testing.T, be compute.Backend, store *model.Store, fn func(scope *model.Scope, in []*Node) []*Node, inputs ...any) [][]float64 {
	t.Helper()
	exec, err := model.NewExec(be, store, func(scope *model.Scope, in []*Node) []*Node {
		defer graphpanic.AsError()
		return fn(scope, in)
	})
	if err != nil {
		t.Fatal(err)
	}
	defer exec.Finalize()
	outs, err := exec.Call(inputs...)
	if err != nil {
		t.Fatal(err)
	}
	res := make([][]float64, len(outs))
	for i, o := range outs {
		res[i] = flowcheck.ToFloat64(o)
	}
	return res
}

// createVariables runs fn once on the pure-Go backend, only to create the
// variables it uses in store (with their initial values): XLA would compile
// both fn and the variables' initialisation for that, ~1–2 s on a loaded
// CPU. The values are then moved to the host, where the test's backend can
// read them in the graphs that are checked.
func createVariables(t *testing.T, store *model.Store, fn func(scope *model.Scope, in []*Node) []*Node, inputs ...any) {
	t.Helper()
	goBackend, err := backend.NewWithConfig(backend.Go)
	if err != nil {
		t.Fatal(err)
	}
	local := make([]any, len(inputs)) // copies: a tensor is tied to the first backend that reads it
	for i, in := range inputs {
		local[i] = in
		if x, ok := in.(*tensors.Tensor); ok {
			clone, err := x.LocalClone()
			if err != nil {
				t.Fatal(err)
			}
			local[i] = clone
		}
	}
	discreteRun(t, goBackend, store, fn, local...)
	for v := range store.IterVariables() { // the values too, the random generator's state among them
		value, err := v.Value()
		if err == nil {
			err = value.ToLocal()
		}
		if err != nil {
			t.Fatalf("variable %s: %v", v.Path(), err)
		}
	}
}

// perturbVariables adds Gaussian noise of standard deviation scale to every
// trainable float variable of the store, as flowcheck.RandomizeVariables
// does after creating them: the layers that start as the identity become
// general maps. The variables must exist already.
func perturbVariables(t *testing.T, store *model.Store, scale float64, seed uint64) {
	t.Helper()
	rng := rand.New(rand.NewPCG(seed, seed+1))
	n := 0
	for v := range store.IterVariables() {
		if !v.Trainable || !v.DType().IsFloat() {
			continue
		}
		value, err := v.Value()
		if err != nil {
			t.Fatal(err)
		}
		noisy := flowcheck.ToFloat64(value)
		for i := range noisy {
			noisy[i] += scale * rng.NormFloat64()
		}
		if err := v.SetValue(flowcheck.FromFloat64(noisy, value.DType(), value.Shape().Dimensions...)); err != nil {
			t.Fatal(err)
		}
		n++
	}
	if n == 0 {
		t.Fatal("no trainable variables to perturb")
	}
}

// logisticParams are a DiscretizedLogistic's variables on the host, [K][D].
type logisticParams struct {
	logits, means, logScales [][]float64
}

func (p logisticParams) k() int   { return len(p.means) }
func (p logisticParams) dim() int { return len(p.means[0]) }

// distribution returns the DiscretizedLogistic these parameters are for.
func (p logisticParams) distribution() *flowlib.DiscretizedLogistic {
	return flowlib.NewDiscretizedLogisticMixture(p.k(), p.dim())
}

// create stores the parameters as the variables of a DiscretizedLogistic
// used in the scope at path (such as "/case_0"), without running a graph.
func (p logisticParams) create(t *testing.T, store *model.Store, path string, dtype dtypes.DType) {
	t.Helper()
	values := map[string][][]float64{"means": p.means, "log_scales": p.logScales}
	if p.k() > 1 {
		values["logits"] = p.logits
	}
	for name, rows := range values {
		var flat []float64
		for _, r := range rows {
			flat = append(flat, r...)
		}
		if _, err := store.CreateVariable(path+"/"+name, flowcheck.FromFloat64(flat, dtype, p.k(), p.dim())); err != nil {
			t.Fatal(err)
		}
	}
}

// logSigmoid is log σ(x), computed on the host without overflow.
func logSigmoid(x float64) float64 {
	if x >= 0 {
		return -math.Log1p(math.Exp(-x))
	}
	return x - math.Log1p(math.Exp(x))
}

func sigmoid(x float64) float64 { return 1 / (1 + math.Exp(-x)) }

// pmf is P(z_i = k) on the host by the plain difference of sigmoids, at
// temperature T (scales multiplied by T), taken in the tail k is in, where
// both sigmoids are small, σ(b) − σ(a) on the left of the mean and
// σ(−a) − σ(−b) on its right: so that the difference does not cancel 1 − 1
// (float64 keeps its relative accuracy down to about 1e-300).
func (p logisticParams) pmf(k float64, i int, temperature float64) float64 {
	weights := p.weights(i)
	total := 0.0
	for j := range p.k() {
		s := temperature * math.Exp(p.logScales[j][i])
		a, b := (k-0.5-p.means[j][i])/s, (k+0.5-p.means[j][i])/s
		if k > p.means[j][i] {
			a, b = -b, -a
		}
		total += weights[j] * (sigmoid(b) - sigmoid(a))
	}
	return total
}

// weights are the softmax of the logits of coordinate i (1 for one component).
func (p logisticParams) weights(i int) []float64 {
	w := make([]float64, p.k())
	if p.k() == 1 {
		w[0] = 1
		return w
	}
	sum := 0.0
	for j := range w {
		w[j] = math.Exp(p.logits[j][i])
		sum += w[j]
	}
	for j := range w {
		w[j] /= sum
	}
	return w
}

// tailLogPMF is log P(z = k) of a single component by the product identity
// (see DiscretizedLogistic), in float64 on the host: the reference far in
// the tails, where the plain difference is 0.
func tailLogPMF(k, mu, s float64) float64 {
	a, b := (k-0.5-mu)/s, (k+0.5-mu)/s
	return logSigmoid(b) + logSigmoid(-a) + math.Log(-math.Expm1(-1/s))
}

// discreteCases are the discretized logistics the distribution tests check.
var discreteCases = []struct {
	name   string
	params logisticParams
}{
	{"standard", logisticParams{means: [][]float64{{0}}, logScales: [][]float64{{0}}}},
	{"narrow/shifted/wide", logisticParams{
		means:     [][]float64{{0.3, -7.6, 120.25}},
		logScales: [][]float64{{math.Log(0.2), math.Log(3), math.Log(40)}}}},
	{"mixture of 3", logisticParams{
		logits:    [][]float64{{0, 1}, {-1, 0.5}, {0.7, -2}},
		means:     [][]float64{{-6, 0.4}, {2.5, 9}, {11, -3.3}},
		logScales: [][]float64{{0, math.Log(0.4)}, {math.Log(2), 0.3}, {-0.5, math.Log(6)}}}},
}

// pmfRange is the integers −pmfRange…pmfRange over which the pmfs are summed.
const pmfRange = 3000

// tailOffsets are the distances, in scales of the first component, from its
// mean at which the float32 log-mass is checked.
var tailOffsets = []float64{0, 1, -1, 3, -3, 30, -30, 1e3, -1e3, 1e5, -1e5, 1e6, -1e6}

// TestDiscretizedLogisticPMF checks the log-mass of DiscretizedLogistic
// against the plain difference of sigmoids in float64 (relative error below
// 1e-9), that it sums to 1 (within 1e-5, in float64) over the integers
// −3000…3000, which hold all the mass but e^{−70}, and that in float32 it
// stays finite and accurate far in the tails (up to 10⁶ scales from the
// mean, where the plain difference is 0 in float32), symmetric about a zero
// mean bit for bit. All cases share one graph per dtype.
func TestDiscretizedLogisticPMF(t *testing.T) {
	be := testBackend(t)
	const rows = 2*pmfRange + 1
	// tails[c] are case c's tail points, [len(tailOffsets), dim] row-major.
	tails := make([][]float64, len(discreteCases))
	in64, in32 := make([]any, len(discreteCases)), make([]any, len(discreteCases))
	store64, store32 := model.NewStore(), model.NewStore()
	for c, tc := range discreteCases {
		p, dim := tc.params, tc.params.dim()
		path := fmt.Sprintf("/case_%d", c)
		p.create(t, store64, path, dtypes.Float64)
		p.create(t, store32, path, dtypes.Float32)
		var ks []float64
		for k := -pmfRange; k <= pmfRange; k++ {
			for range dim {
				ks = append(ks, float64(k))
			}
		}
		for _, off := range tailOffsets {
			for i := range dim {
				tails[c] = append(tails[c], math.Round(p.means[0][i]+off*math.Exp(p.logScales[0][i])))
			}
		}
		in64[c] = flowcheck.FromFloat64(append(ks, tails[c]...), dtypes.Float64, rows+len(tailOffsets), dim)
		in32[c] = flowcheck.FromFloat64(tails[c], dtypes.Float32, len(tailOffsets), dim)
	}
	logPMFs := func(scope *model.Scope, in []*Node) []*Node {
		var outs []*Node
		for c, tc := range discreteCases {
			d, caseScope := tc.params.distribution(), scope.At("case_%d", c)
			outs = append(outs, d.LogPMF(caseScope, in[c]), d.LogProb(caseScope, in[c]))
		}
		return outs
	}
	out64 := discreteRun(t, be, store64, logPMFs, in64...)
	out32 := discreteRun(t, be, store32, logPMFs, in32...)

	for c, tc := range discreteCases {
		t.Run(tc.name, func(t *testing.T) {
			p, dim := tc.params, tc.params.dim()
			logPMF, logProb := out64[2*c], out64[2*c+1]
			for i := range dim {
				sum, worstRel := 0.0, 0.0
				for n := range rows {
					lp := logPMF[n*dim+i]
					if math.IsNaN(lp) || lp > 0 {
						t.Fatalf("coordinate %d, k = %d: log P = %v", i, n-pmfRange, lp)
					}
					sum += math.Exp(lp)
					if want := p.pmf(float64(n-pmfRange), i, 1); want > 1e-300 {
						worstRel = math.Max(worstRel, math.Abs(math.Exp(lp)-want)/want)
					}
				}
				t.Logf("coordinate %d: |Σ_k P(k) − 1| = %.2e, max relative error against σ(b) − σ(a) = %.2e", i, math.Abs(sum-1), worstRel)
				if math.Abs(sum-1) > 1e-5 {
					t.Errorf("coordinate %d: the pmf sums to %.12f over −%d…%d, want 1 within 1e-5", i, sum, pmfRange, pmfRange)
				}
				if worstRel > 1e-9 {
					t.Errorf("coordinate %d: relative error %.2e against the difference of sigmoids, want ≤ 1e-9", i, worstRel)
				}
			}
			for n := range logProb { // LogProb is the sum over the coordinates.
				want := 0.0
				for i := range dim {
					want += logPMF[n*dim+i]
				}
				if math.Abs(logProb[n]-want) > 1e-9*math.Max(1, math.Abs(want)) {
					t.Fatalf("row %d: LogProb %v, want the sum of LogPMF %v", n, logProb[n], want)
				}
			}

			got, want := out32[2*c], logPMF[rows*dim:] // float32 and float64 at the tail points
			worst := 0.0
			for n, off := range tailOffsets {
				for i := range dim {
					idx := n*dim + i
					k := tails[c][idx]
					if math.IsInf(got[idx], 0) || math.IsNaN(got[idx]) {
						t.Fatalf("float32 log P(z_%d = %v) (%g scales from the mean) = %v, want finite", i, k, off, got[idx])
					}
					if p.k() == 1 { // An independent host reference in the tails.
						ref := tailLogPMF(k, p.means[0][i], math.Exp(p.logScales[0][i]))
						if math.Abs(want[idx]-ref) > 1e-9*math.Max(1, math.Abs(ref)) {
							t.Errorf("float64 log P(z_%d = %v) = %v, host reference %v", i, k, want[idx], ref)
						}
					}
					rel := math.Abs(got[idx]-want[idx]) / math.Max(1, math.Abs(want[idx]))
					worst = math.Max(worst, rel)
					if rel > 1e-5 {
						t.Errorf("float32 log P(z_%d = %v) = %v, float64 %v: error %.2e relative to max(1, |log P|)", i, k, got[idx], want[idx], rel)
					}
				}
			}
			t.Logf("float32 tails: finite, worst error %.2e relative to max(1, |log P|); log P at 10⁶ scales = %.6g", worst, got[len(got)-1])
			if tc.name == "standard" { // μ = 0: P(k) = P(−k), by the same operations in another order.
				for n := 1; n < len(tailOffsets); n += 2 {
					if got[n] != got[n+1] {
						t.Errorf("float32 log P(%v) = %v but log P(%v) = %v; the standard logistic is symmetric", tails[c][n], got[n], tails[c][n+1], got[n+1])
					}
				}
			}
		})
	}
}

// chiSquare compares the counts of the integers in samples with the pmf,
// pooling the values whose expected count is below 5 into one bin; it
// returns the statistic and its degrees of freedom.
func chiSquare(samples []float64, pmf func(k float64) float64) (chi2 float64, df int) {
	counts := map[float64]int{}
	for _, s := range samples {
		counts[s]++
	}
	n := float64(len(samples))
	pooledObserved, pooledExpected, bins := float64(len(samples)), n, 0
	for k := -200.0; k <= 200; k++ {
		expected := n * pmf(k)
		if expected < 5 {
			continue
		}
		observed := float64(counts[k])
		chi2 += (observed - expected) * (observed - expected) / expected
		pooledObserved -= observed
		pooledExpected -= expected
		bins++
	}
	if pooledExpected > 1e-9 {
		chi2 += (pooledObserved - pooledExpected) * (pooledObserved - pooledExpected) / pooledExpected
		bins++
	}
	return chi2, bins - 1
}

// TestDiscretizedLogisticSampleFrequencies draws 20000 samples of each
// discretized logistic (and one at temperature 0.5, which scales s) and
// compares each coordinate's counts with the pmf by a chi-square statistic:
// it must stay below df + 6·√(2·df), about six standard deviations above
// its mean, while the same counts against a pmf whose means are shifted by
// half a unit must exceed that bound (the check can tell a wrong pmf from
// the right one). The samples must be integers.
func TestDiscretizedLogisticSampleFrequencies(t *testing.T) {
	be := testBackend(t)
	const n = 20000
	twoDims := logisticParams{means: [][]float64{{0.3, -7.6}}, logScales: [][]float64{{math.Log(0.5), math.Log(3)}}}
	cases := []struct {
		name        string
		params      logisticParams
		temperature float64
	}{
		{"narrow/shifted/wide", twoDims, 1},
		{"temperature 0.5", twoDims, 0.5},
		{"mixture of 3", discreteCases[2].params, 1},
	}
	store := model.NewStore()
	store.SetParam(model.ParamInitialSeed, int64(7))
	for c, tc := range cases {
		tc.params.create(t, store, fmt.Sprintf("/case_%d", c), dtypes.Float32)
	}
	outs := discreteRun(t, be, store, func(scope *model.Scope, in []*Node) []*Node {
		var samples []*Node
		for c, tc := range cases {
			samples = append(samples, tc.params.distribution().Sample(scope.At("case_%d", c), in[0].Graph(), dtypes.Float32, n, tc.temperature))
		}
		return samples
	}, flowcheck.FromFloat64([]float64{0}, dtypes.Float32, 1))
	for c, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p, dim, out := tc.params, tc.params.dim(), outs[c]
			if len(out) != n*dim {
				t.Fatalf("%d sampled values, want %d", len(out), n*dim)
			}
			for i := range dim {
				column := make([]float64, n)
				for s := range n {
					column[s] = out[s*dim+i]
					if column[s] != math.Round(column[s]) {
						t.Fatalf("sample %d, coordinate %d is %v, not an integer", s, i, column[s])
					}
				}
				chi2, df := chiSquare(column, func(k float64) float64 { return p.pmf(k, i, tc.temperature) })
				bound := float64(df) + 6*math.Sqrt(2*float64(df))
				shifted := p
				shifted.means = make([][]float64, p.k())
				for j := range shifted.means {
					shifted.means[j] = append([]float64(nil), p.means[j]...)
					shifted.means[j][i] += 0.5
				}
				wrong, _ := chiSquare(column, func(k float64) float64 { return shifted.pmf(k, i, tc.temperature) })
				t.Logf("coordinate %d: χ² = %.1f on %d degrees of freedom (bound %.1f); against means shifted by ½: χ² = %.0f", i, chi2, df, bound, wrong)
				if chi2 > bound {
					t.Errorf("coordinate %d: χ² = %.1f on %d degrees of freedom exceeds %.1f: the samples do not follow the pmf", i, chi2, df, bound)
				}
				if wrong <= bound {
					t.Errorf("coordinate %d: the counts also fit a pmf with shifted means (χ² = %.1f ≤ %.1f): the check has no power", i, wrong, bound)
				}
			}
		})
	}
}

// TestRoundStraightThrough checks that RoundStraightThrough's value is
// Round(x) exactly (halves to even) and that its gradient is 1: the
// gradient of Σ c_i·RoundST(x_i) is c.
func TestRoundStraightThrough(t *testing.T) {
	be := testBackend(t)
	xs := []float64{-2.5, -1.5, -0.5000001, -0.5, -0.2, 0, 0.3, 0.5, 0.7, 1.5, 2.5, 2.49, 1e6 + 0.5, -1234.75}
	cs := make([]float64, len(xs))
	for i := range cs {
		cs[i] = float64(i) - 3.5
	}
	for _, dtype := range []dtypes.DType{dtypes.Float32, dtypes.Float64} {
		t.Run(dtype.String(), func(t *testing.T) {
			x := flowcheck.FromFloat64(xs, dtype, len(xs))
			c := flowcheck.FromFloat64(cs, dtype, len(xs))
			out := discreteRun(t, be, model.NewStore(), func(_ *model.Scope, in []*Node) []*Node {
				y := flowlib.RoundStraightThrough(in[0])
				return []*Node{y, Gradient(ReduceAllSum(Mul(y, in[1])), in[0])[0]}
			}, x, c)
			in := flowcheck.ToFloat64(x) // the inputs as the dtype holds them
			for i := range xs {
				if want := math.RoundToEven(in[i]); out[0][i] != want {
					t.Errorf("RoundStraightThrough(%v) = %v, want %v", in[i], out[0][i], want)
				}
				if out[1][i] != cs[i] {
					t.Errorf("gradient at %v: %v, want %v (the straight-through gradient is 1)", in[i], out[1][i], cs[i])
				}
			}
		})
	}
}

// randomIntegers returns a [batch, dim] tensor of integers uniform in
// [−maxAbs, maxAbs], and its values.
func randomIntegers(dtype dtypes.DType, maxAbs int, seed uint64, batch, dim int) ([]float64, *tensors.Tensor) {
	rng := rand.New(rand.NewPCG(seed, 99))
	values := make([]float64, batch*dim)
	for i := range values {
		values[i] = float64(rng.IntN(2*maxAbs+1) - maxAbs)
	}
	return values, flowcheck.FromFloat64(values, dtype, batch, dim)
}

// TestIntegerCouplingRoundTrip checks integer couplings alone and stacked by
// IDF, with randomised variables, in float32 and float64: on random integer
// inputs the outputs of Forward and Inverse are integers,
// Inverse(Forward(x)) == x exactly, both log-dets are exactly 0, a single
// coupling leaves the kept coordinates unchanged, and the layers do move
// values (the check is not of the identity).
func TestIntegerCouplingRoundTrip(t *testing.T) {
	be := testBackend(t)
	cases := []struct {
		name string
		dim  int
		b    flowlib.Bijector
		mask flowlib.Mask // for a single coupling: the kept coordinates
	}{
		{"coupling/half", 5, flowlib.NewIntegerCoupling(flowlib.HalfMask(5), flowlib.MLP(16).Done()), flowlib.HalfMask(5)},
		{"coupling/alternating-flipped", 4, flowlib.NewIntegerCoupling(flowlib.AlternatingMask(4).Flip(), flowlib.MLP(8, 8).Done()),
			flowlib.AlternatingMask(4).Flip()},
		{"IDF/half", 3, flowlib.IDF(3).NumCouplings(4).Hidden(16).Bijector(), nil},
		{"IDF/alternating-tanh", 6, flowlib.IDF(6).NumCouplings(3).Hidden(16, 16).Mask(flowlib.MaskAlternating).Activation("tanh").Bijector(), nil},
	}
	const batch = 64
	for _, dtype := range []dtypes.DType{dtypes.Float32, dtypes.Float64} {
		xs := make([][]float64, len(cases))
		var inputs []any
		for c, tc := range cases {
			var x *tensors.Tensor
			xs[c], x = randomIntegers(dtype, 40, uint64(c), batch, tc.dim)
			inputs = append(inputs, x)
		}
		store := model.NewStore()
		createVariables(t, store, func(scope *model.Scope, in []*Node) []*Node {
			var outs []*Node
			for c, tc := range cases {
				y, _ := tc.b.Forward(scope.At("case_%d", c), in[c])
				outs = append(outs, y) // creates the variables
			}
			return outs
		}, inputs...)
		perturbVariables(t, store, 0.5, 1)
		outs := discreteRun(t, be, store, func(scope *model.Scope, in []*Node) []*Node {
			var outs []*Node
			for c, tc := range cases {
				s := scope.At("case_%d", c)
				y, ldF := tc.b.Forward(s, in[c])
				back, ldI := tc.b.Inverse(s, y)
				outs = append(outs, y, back, Concatenate([]*Node{ldF, ldI}, 0))
			}
			return outs
		}, inputs...)
		for c, tc := range cases {
			t.Run(tc.name+"/"+dtype.String(), func(t *testing.T) {
				y, back, logDets := outs[3*c], outs[3*c+1], outs[3*c+2]
				moved := 0
				for i, x := range xs[c] {
					if y[i] != math.Round(y[i]) {
						t.Fatalf("value %d: Forward gave %v, want an integer", i, y[i])
					}
					if back[i] != x {
						t.Fatalf("value %d: Inverse(Forward(x)) = %v, want x = %v exactly", i, back[i], x)
					}
					if tc.mask != nil && tc.mask[i%tc.dim] && y[i] != x {
						t.Fatalf("value %d: kept coordinate %d changed from %v to %v", i, i%tc.dim, x, y[i])
					}
					if y[i] != x {
						moved++
					}
				}
				for i, ld := range logDets {
					if ld != 0 {
						t.Fatalf("log-det %d of %d is %v, want exactly 0", i, len(logDets), ld)
					}
				}
				t.Logf("%d of %d values moved by Forward", moved, len(xs[c]))
				if moved < len(xs[c])/4 {
					t.Errorf("only %d of %d values moved: the randomised layers are too close to the identity for the check to mean much", moved, len(xs[c]))
				}
			})
		}
	}
}

// lattice returns the points of the box [−r, r]², row-major.
func lattice(r int) []float64 {
	var pts []float64
	for a := -r; a <= r; a++ {
		for b := -r; b <= r; b++ {
			pts = append(pts, float64(a), float64(b))
		}
	}
	return pts
}

// TestIDFPMFSumsToOne checks that a 2D IDF with randomised variables (the
// conditioners and the base) is a pmf over ℤ²: its mass over the box
// B = [−60, 60]² is S ≈ 1. The tolerance is derived, not guessed. The
// latent box Z = [−25, 25]² is mapped back by Inverse; the test checks that
// those points are distinct and all inside B, so S ≥ P_base(Z), computed
// from the base; and S ≤ 1 holds for any pmf. So S must lie in
// [P_base(Z), 1] up to the sum's rounding (1e-9 in float64, 1e-5 in
// float32), and P_base(Z) must be within 1e-4 of 1, which makes the box hold
// almost all the mass. The map must move most points of Z (it is not the
// identity).
func TestIDFPMFSumsToOne(t *testing.T) {
	be := testBackend(t)
	const boxR, innerR = 60, 25
	box, inner := lattice(boxR), lattice(innerR)
	mixture := flowlib.NewDiscretizedLogisticMixture(2, 2)
	mixture.InitSpread = 3
	// tanh conditioners: bounded shifts, so that a box around the latent box holds its preimage.
	cases := []struct {
		name string
		flow *flowlib.Flow
	}{
		{"logistic", flowlib.IDF(2).NumCouplings(4).Hidden(16).Activation("tanh").Done()},
		{"mixture of 2", flowlib.IDF(2).NumCouplings(4).Hidden(16).Activation("tanh").Base(mixture).Done()},
	}
	for _, dtype := range []dtypes.DType{dtypes.Float64, dtypes.Float32} {
		store := model.NewStore()
		store.SetParam(model.ParamInitialSeed, int64(1))
		createVariables(t, store, func(scope *model.Scope, in []*Node) []*Node {
			var outs []*Node
			for c, tc := range cases {
				outs = append(outs, tc.flow.LogProb(scope.At("case_%d", c), in[0])) // creates every variable, the bases' too
			}
			return outs
		}, flowcheck.FromFloat64([]float64{0, 0, 3, -2}, dtype, 2, 2))
		perturbVariables(t, store, 0.3, 5)
		outs := discreteRun(t, be, store, func(scope *model.Scope, in []*Node) []*Node {
			var outs []*Node
			for c, tc := range cases {
				s := scope.At("case_%d", c)
				x, _ := tc.flow.Inverse(s, in[1])
				outs = append(outs, tc.flow.LogProb(s, in[0]), x, tc.flow.Base.LogProb(s.At("base"), in[1]))
			}
			return outs
		}, flowcheck.FromFloat64(box, dtype, len(box)/2, 2), flowcheck.FromFloat64(inner, dtype, len(inner)/2, 2))
		for c, tc := range cases {
			t.Run(tc.name+"/"+dtype.String(), func(t *testing.T) {
				logP, preimage, baseLogP := outs[3*c], outs[3*c+1], outs[3*c+2]
				sum := 0.0
				for _, lp := range logP {
					sum += math.Exp(lp)
				}
				moved := 0
				seen := map[[2]float64]bool{}
				for i := 0; i < len(preimage); i += 2 {
					p := [2]float64{preimage[i], preimage[i+1]}
					if p[0] != inner[i] || p[1] != inner[i+1] {
						moved++
					}
					if math.Abs(p[0]) > boxR || math.Abs(p[1]) > boxR {
						t.Fatalf("latent (%v, %v) comes from x = %v, outside the box [−%d, %d]²: the box is too small for this check",
							inner[i], inner[i+1], p, boxR, boxR)
					}
					if seen[p] {
						t.Fatalf("two latents come from the same x = %v: Inverse is not injective", p)
					}
					seen[p] = true
				}
				innerMass := 0.0
				for _, lp := range baseLogP {
					innerMass += math.Exp(lp)
				}
				tol := 1e-9
				if dtype == dtypes.Float32 {
					tol = 1e-5
				}
				t.Logf("Σ_B P(x) − 1 = %.2e; 1 − P_base(Z) = %.2e; Inverse moved %d of %d points of Z", sum-1, 1-innerMass, moved, len(baseLogP))
				if 1-innerMass > 1e-4 {
					t.Fatalf("the base has mass %.2e outside [−%d, %d]², so the box does not hold almost all the mass", 1-innerMass, innerR, innerR)
				}
				if sum > 1+tol || sum < innerMass-tol {
					t.Errorf("Σ_B P(x) = %.12f, want it in [P_base(Z), 1] = [%.12f, 1] within %g", sum, innerMass, tol)
				}
				if moved < len(baseLogP)/2 {
					t.Errorf("only %d of %d points moved: the randomised flow is too close to the identity", moved, len(baseLogP))
				}
			})
		}
	}
}

// TestIDFSampleWithLogProb checks that an IDF's samples are integers and
// that the log-probability returned with them is Flow.LogProb at the
// samples (the latent of a sample is the base sample, exactly).
func TestIDFSampleWithLogProb(t *testing.T) {
	be := testBackend(t)
	flow := flowlib.IDF(3).NumCouplings(3).Hidden(16).Base(flowlib.NewDiscretizedLogisticMixture(3, 3)).Done()
	store := model.NewStore()
	probe := flowcheck.FromFloat64([]float64{0, 1, 2, -3, 4, 5}, dtypes.Float64, 2, 3)
	createVariables(t, store, func(scope *model.Scope, in []*Node) []*Node { return []*Node{flow.LogProb(scope, in[0])} }, probe)
	perturbVariables(t, store, 0.3, 3)
	const n = 500
	out := discreteRun(t, be, store, func(scope *model.Scope, in []*Node) []*Node {
		x, lp := flow.SampleWithLogProb(scope, in[0].Graph(), dtypes.Float64, n, 1)
		return []*Node{x, lp, flow.LogProb(scope, x)}
	}, probe)
	x, lp, again := out[0], out[1], out[2]
	for i, v := range x {
		if v != math.Round(v) {
			t.Fatalf("sampled value %d is %v, not an integer", i, v)
		}
	}
	worst := 0.0
	for i := range n {
		worst = math.Max(worst, math.Abs(lp[i]-again[i]))
		if lp[i] > 0 || math.IsNaN(lp[i]) {
			t.Fatalf("sample %d: log P = %v, want ≤ 0", i, lp[i])
		}
	}
	if worst > 1e-9 {
		t.Errorf("SampleWithLogProb and LogProb differ by up to %.2e", worst)
	}
}

// TestIDFRejectsNonIntegerData checks that Flow.CheckData (and through it
// the inference and training packages) rejects what an IDF cannot model,
// naming the example and coordinate, and that the builder refuses bad
// configurations.
func TestIDFRejectsNonIntegerData(t *testing.T) {
	be := testBackend(t)
	flow := flowlib.IDF(2).NumCouplings(2).Hidden(8).Done()
	for _, tc := range []struct {
		name   string
		values []float32
		want   string // "" for no error
	}{
		{"integers", []float32{0, -3, 7, 12}, ""},
		{"a half", []float32{0, -3, 7, 2.5}, "example 1 (coordinate 1) is not an integer"},
		{"beyond 2^24", []float32{1 << 25, 0}, "magnitude at most"},
		{"NaN", []float32{float32(math.NaN()), 0}, "non-finite"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := flow.CheckData(tc.values, 2)
			if tc.want == "" {
				if err != nil {
					t.Fatalf("CheckData(%v): %v, want no error", tc.values, err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("CheckData(%v) = %v, want an error containing %q", tc.values, err, tc.want)
			}
		})
	}
	if err := flow.CheckData64([]float64{3, 1 + 1e-12}, 2); err == nil || !strings.Contains(err.Error(), "not an integer") {
		t.Errorf("CheckData64(1 + 1e-12) = %v, want a not-an-integer error", err)
	}
	bad := &data.Samples{Values: []float32{1, 2, 0.5, 3}, N: 2, Dim: 2}
	store := model.NewStore()
	if _, err := inference.LogProbs(be, store, flow, bad); err == nil || !strings.Contains(err.Error(), "not an integer") {
		t.Errorf("inference.LogProbs on 0.5: %v, want a not-an-integer error", err)
	}
	if _, err := training.New(be, store, flow, bad).Steps(1).Log(io.Discard).Run(); err == nil || !strings.Contains(err.Error(), "not an integer") {
		t.Errorf("training on 0.5: %v, want a not-an-integer error", err)
	}

	for _, tc := range []struct {
		name string
		cfg  *flowlib.IDFConfig
		want string
	}{
		{"dim 1", flowlib.IDF(1), flowlib.ParamDim},
		{"no couplings", flowlib.IDF(2).NumCouplings(0), flowlib.ParamIDFCouplings},
		{"hidden 0", flowlib.IDF(2).Hidden(8, 0), flowlib.ParamIDFHidden},
		{"mask", flowlib.IDF(2).Mask("diagonal"), flowlib.ParamIDFMask},
		{"activation", flowlib.IDF(2).Activation("nope"), flowlib.ParamIDFActivation},
		{"base shape", flowlib.IDF(2).Base(flowlib.NewDiscretizedLogistic(3)), "event shape [2]"},
	} {
		t.Run("config/"+tc.name, func(t *testing.T) {
			err := tc.cfg.Validate()
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Validate() = %v, want an error containing %q", err, tc.want)
			}
			defer func() {
				if r := recover(); r == nil || !strings.Contains(fmt.Sprint(r), tc.want) {
					t.Errorf("Done() panicked with %v, want a panic containing %q", r, tc.want)
				}
			}()
			tc.cfg.Done()
		})
	}
	if err := flowlib.IDF(2).Validate(); err != nil {
		t.Errorf("the default IDF(2) does not validate: %v", err)
	}
}

// TestIDFTrainsToEntropy trains an IDF for 400 steps on exact samples of
// a known pmf on the 16×16 grid {0…15}², a discretised mixture of two
// Gaussians, and compares the model with it exactly: the cross-entropy
// H(P, Q) = −Σ_x P(x) log Q(x) over the 256 points (computed with
// inference.LogProbs, no sampling error) must be at least the entropy
// H(P) = −Σ P log P (Gibbs' inequality, which holds because Q is a pmf),
// and the gap H(P, Q) − H(P) = KL(P‖Q) must be below half the mutual
// information I = H(X₁) + H(X₂) − H(P) ≈ 0.53 nats, the gap that any
// factorised model (the base alone, say) leaves at best: the couplings must
// capture most of the dependence between the coordinates. Measured with
// this seed: a gap of 0.08 nats on the pure-Go backend and 0.13 on XLA
// CPU, down from 7.4 untrained; seeds 1–8 gave 0.08–0.24. Longer runs (1500 steps) stay
// near 0.08–0.12: discretized logistics are not discretised Gaussians, Q
// leaks ~1% of its mass off the grid, and an additive shift of x₂ given x₁
// cannot make the weights of x₂'s two bumps depend on x₁. Skipped with
// -short.
func TestIDFTrainsToEntropy(t *testing.T) {
	if testing.Short() {
		t.Skip("trains for a few hundred steps")
	}
	be := testBackend(t)
	const side = 16
	type bump struct{ w, m0, m1, s0, s1 float64 }
	bumps := []bump{{0.55, 4, 4.5, 1.5, 1.5}, {0.45, 11, 10, 1.3, 2.0}}
	pmf := make([]float64, side*side)
	total := 0.0
	for a := range side {
		for b := range side {
			for _, c := range bumps {
				d0, d1 := (float64(a)-c.m0)/c.s0, (float64(b)-c.m1)/c.s1
				pmf[a*side+b] += c.w / (c.s0 * c.s1) * math.Exp(-(d0*d0+d1*d1)/2)
			}
			total += pmf[a*side+b]
		}
	}
	entropy := 0.0
	grid := make([]float32, 0, 2*side*side)
	marginals := [2][side]float64{}
	for i := range pmf {
		pmf[i] /= total
		entropy -= pmf[i] * math.Log(pmf[i])
		grid = append(grid, float32(i/side), float32(i%side))
		marginals[0][i/side] += pmf[i]
		marginals[1][i%side] += pmf[i]
	}
	mutualInformation := -entropy
	for _, m := range marginals {
		for _, p := range m {
			mutualInformation -= p * math.Log(p)
		}
	}
	gridSamples := &data.Samples{Values: grid, N: side * side, Dim: 2}
	crossEntropy := func(store *model.Store, flow *flowlib.Flow) (ce, mass float64) {
		logQ, err := inference.LogProbs(be, store, flow, gridSamples)
		if err != nil {
			t.Fatal(err)
		}
		for i, lq := range logQ {
			ce -= pmf[i] * lq
			mass += math.Exp(lq)
		}
		return ce, mass
	}

	// Exact samples: inverse CDF of the pmf.
	rng := rand.New(rand.NewPCG(2019, 5))
	cdf := make([]float64, len(pmf))
	acc := 0.0
	for i, p := range pmf {
		acc += p
		cdf[i] = acc
	}
	const n = 8000
	values := make([]float32, 0, 2*n)
	for range n {
		u := rng.Float64() * acc
		i := 0
		for i < len(cdf)-1 && cdf[i] < u {
			i++
		}
		values = append(values, float32(i/side), float32(i%side))
	}
	trainSet := &data.Samples{Values: values, N: n, Dim: 2}

	store := model.NewStore()
	store.SetParam(model.ParamInitialSeed, int64(1))
	base := flowlib.NewDiscretizedLogisticMixture(2, 2)
	base.InitSpread = 4
	flow := flowlib.IDF(2).NumCouplings(4).Hidden(32, 32).Base(base).Done()
	before, _ := crossEntropy(store, flow)
	const steps = 400
	start := time.Now()
	res, err := training.New(be, store, flow, trainSet).Steps(steps).BatchSize(256).LearningRate(5e-2).Log(io.Discard).Run()
	if err != nil {
		t.Fatal(err)
	}
	after, mass := crossEntropy(store, flow)
	t.Logf("entropy H(P) = %.4f nats, mutual information %.4f; cross-entropy H(P, Q) untrained %.4f, after %d steps %.4f "+
		"(gap %.4f nats); final training NLL %.4f; Q's mass on the grid %.4f; %.1f s",
		entropy, mutualInformation, before, steps, after, after-entropy, res.TrainNLL, mass, time.Since(start).Seconds())
	if after < entropy-1e-6 {
		t.Errorf("H(P, Q) = %.6f is below the entropy %.6f: Q is not a pmf", after, entropy)
	}
	if gap := after - entropy; gap > mutualInformation/2 {
		t.Errorf("H(P, Q) − H(P) = %.4f nats after %d steps, want below half the mutual information (%.4f), "+
			"which a factorised model cannot close", gap, steps, mutualInformation/2)
	}
	if mass > 1+1e-6 {
		t.Errorf("Q has mass %.6f on the grid alone, more than 1", mass)
	}
}
