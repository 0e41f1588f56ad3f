package autoregressive

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/flowbook/flowbook/exercises/internal/grading"
	"github.com/flowbook/flowbook/flowlib"
)

// refDegreesVariant is MADE's degrees (variant "") or those of a plausible
// mistake: "zero-based" input degrees r, "inverse" input[r] = order[r] + 1,
// hidden degrees "to-dim" (1 … D), "no-context-zero" (1 … D−1 even with a
// context), "always-zero" (0 … D−1 even without one), "short-cycle" (0 …
// D−2 with a context).
func refDegreesVariant(order []int, contextDim int, hidden []int, variant string) (input []int, hid [][]int) {
	dim := len(order)
	input = make([]int, dim+contextDim)
	for r, coord := range order {
		switch variant {
		case "zero-based":
			input[coord] = r
		case "inverse":
			input[r] = coord + 1
		default:
			input[coord] = r + 1
		}
	}
	lowest, span := 1, dim-1
	if contextDim > 0 {
		lowest, span = 0, dim
	}
	switch variant {
	case "to-dim":
		lowest, span = 1, dim
	case "no-context-zero":
		lowest, span = 1, dim-1
	case "always-zero":
		lowest, span = 0, dim
	case "short-cycle":
		span = dim - 1
	}
	for _, size := range hidden {
		layer := make([]int, size)
		for j := range layer {
			layer[j] = lowest + j%span
		}
		hid = append(hid, layer)
	}
	return input, hid
}

func TestMADEDegrees(t *testing.T) {
	grading.Run(t, func(c *grading.C) {
		cases := []struct {
			order      []int
			contextDim int
			hidden     []int
		}{
			{[]int{0, 1, 2}, 0, []int{5, 4}},
			{[]int{2, 0, 3, 1}, 0, []int{7}},
			{[]int{1, 0}, 0, []int{3}},
			{[]int{2, 0, 3, 1}, 2, []int{6, 9}},
			{rand.New(rand.NewPCG(8, 8)).Perm(6), 1, nil},
			{[]int{4, 1, 3, 0, 2}, 3, []int{4, 12}},
		}
		for _, tc := range cases {
			dim := len(tc.order)
			what := fmt.Sprintf("Degrees(order %v, contextDim %d, hidden %v)", tc.order, tc.contextDim, tc.hidden)
			input, hid := Degrees(slices.Clone(tc.order), tc.contextDim, slices.Clone(tc.hidden))
			wantIn, wantHid := refDegreesVariant(tc.order, tc.contextDim, tc.hidden, "")
			if input == nil {
				c.Fatalf("%s", grading.Explain(what+": the input degrees", fmt.Sprint(wantIn), "nil",
					"Degrees returns nil: is it still the stub? Write its body (see its doc comment)"))
			}
			if len(input) != dim+tc.contextDim {
				c.Fatalf("%s", grading.Explain(what+": the number of input degrees", fmt.Sprint(dim+tc.contextDim), fmt.Sprint(len(input)),
					"input has one degree per data value and one per context feature, dim + contextDim in all, the context's after the data"))
			}
			if !slices.Equal(input, wantIn) {
				hint := "data coordinate order[r] has degree r + 1, every context input degree 0"
				for _, v := range []struct{ variant, hint string }{
					{"zero-based", "the degrees of the data start at 1 (input[order[r]] = r + 1): degree 0 belongs to the context, which every output may see"},
					{"inverse", "input[order[r]] = r + 1: coordinate order[r] is the one that comes r-th; you set input[r] = order[r] + 1, the inverse permutation (the two agree only for orders that are their own inverse)"},
				} {
					if in, _ := refDegreesVariant(tc.order, tc.contextDim, tc.hidden, v.variant); slices.Equal(input, in) {
						hint = v.hint
					}
				}
				if tc.contextDim > 0 && slices.Equal(input[:dim], wantIn[:dim]) {
					hint = "the context inputs (after the data) have degree 0, below every data value, so that every output may see them"
				}
				c.Fatalf("%s", grading.Explain(what+": the input degrees", fmt.Sprint(wantIn), fmt.Sprint(input), hint))
			}
			if len(hid) != len(tc.hidden) {
				c.Fatalf("%s", grading.Explain(what+": the number of hidden layers", fmt.Sprint(len(tc.hidden)), fmt.Sprint(len(hid)),
					"one slice of degrees per hidden layer, len(hidden) in all (none for no hidden layers)"))
			}
			for l := range hid {
				if len(hid[l]) != tc.hidden[l] {
					c.Fatalf("%s", grading.Explain(fmt.Sprintf("%s: the number of degrees of hidden layer %d", what, l), fmt.Sprint(tc.hidden[l]), fmt.Sprint(len(hid[l])),
						"hidden layer l has hidden[l] units, one degree each"))
				}
				if slices.Equal(hid[l], wantHid[l]) {
					continue
				}
				hint := "unit j gets lowest + j mod (dim − lowest): lowest = 1 without a context, 0 with one"
				for _, v := range []struct{ variant, hint string }{
					{"to-dim", fmt.Sprintf("a hidden unit of degree D = %d feeds no output (an output connects to units of degree below its own, at most D): cycle through 1 … D−1", dim)},
					{"no-context-zero", "with a context the hidden degrees start at 0: the first value in the order sees no data, and only degree-0 units can carry the context to it; without them its parameters ignore the context, and so does the conditional density of that value"},
					{"always-zero", "without a context the hidden degrees start at 1: a degree-0 unit would see no input at all (the data have degrees 1 … D)"},
					{"short-cycle", "with a context the cycle is 0 … D−1, D degrees: lowest + j mod (dim − lowest) with lowest = 0"},
				} {
					if _, h := refDegreesVariant(tc.order, tc.contextDim, tc.hidden, v.variant); slices.Equal(hid[l], h[l]) {
						hint = v.hint
						break
					}
				}
				c.Fatalf("%s", grading.Explain(fmt.Sprintf("%s: the degrees of hidden layer %d", what, l), fmt.Sprint(wantHid[l]), fmt.Sprint(hid[l]), hint))
			}
			// The library's MADE, which the notebook draws, must agree.
			libIn, libHid := flowlib.MADE(tc.hidden...).Order(tc.order...).Done().Degrees(dim, tc.contextDim)
			if slices.Equal(libIn, input) && slices.EqualFunc(libHid, hid, slices.Equal[[]int]) {
				c.Logf("%s agrees with flowlib.MADENet.Degrees", what)
			}
		}
	})
}

// refMasksVariant is MADE's masks for the given degrees ("") or those of a
// plausible mistake: "output-ge" (the output mask with ≥), "hidden-gt" (the
// hidden masks with >), "interleaved" (output unit j = v·paramsPerValue + p).
func refMasksVariant(input []int, hid [][]int, dim, paramsPerValue int, variant string) [][][]bool {
	connect := func(from, to []int, strict bool) [][]bool {
		m := make([][]bool, len(from))
		for i, d := range from {
			m[i] = make([]bool, len(to))
			for j, e := range to {
				m[i][j] = e > d || (e == d && !strict)
			}
		}
		return m
	}
	output := make([]int, paramsPerValue*dim)
	for j := range output {
		if variant == "interleaved" {
			output[j] = input[j/paramsPerValue]
		} else {
			output[j] = input[j%dim]
		}
	}
	below := input
	var masks [][][]bool
	for _, layer := range hid {
		masks = append(masks, connect(below, layer, variant == "hidden-gt"))
		below = layer
	}
	return append(masks, connect(below, output, variant != "output-ge"))
}

// refMaskedJacobian returns the exact Jacobian [outputs][inputs] of a
// multi-layer perceptron whose weight matrices are multiplied by masks
// (random weights and biases from seed, tanh between layers, a linear output
// layer), at a random input: forward-mode differentiation, so an output
// that no path reaches has a derivative of exactly 0.
func refMaskedJacobian(masks [][][]bool, seed uint64) [][]float64 {
	rng := rand.New(rand.NewPCG(seed, 17))
	n := len(masks[0])
	h := make([]float64, n)
	jac := make([][]float64, n) // jac[u][k] = ∂h_u/∂input_k
	for u := range h {
		h[u] = rng.NormFloat64()
		jac[u] = make([]float64, n)
		jac[u][u] = 1
	}
	for l, mask := range masks {
		units := len(mask[0])
		pre := make([]float64, units)
		dpre := make([][]float64, units)
		for j := range units {
			pre[j] = 0.3 * rng.NormFloat64()
			dpre[j] = make([]float64, n)
			for i := range mask {
				if !mask[i][j] {
					continue
				}
				w := rng.NormFloat64() / math.Sqrt(float64(len(mask)))
				pre[j] += w * h[i]
				for k := range n {
					dpre[j][k] += w * jac[i][k]
				}
			}
		}
		if l < len(masks)-1 {
			for j := range units {
				pre[j] = math.Tanh(pre[j])
				for k := range n {
					dpre[j][k] *= 1 - pre[j]*pre[j]
				}
			}
		}
		h, jac = pre, dpre
	}
	return jac
}

// graderMasksEqual reports whether two sets of masks are the same.
func graderMasksEqual(a, b [][][]bool) bool {
	return slices.EqualFunc(a, b, func(x, y [][]bool) bool { return slices.EqualFunc(x, y, slices.Equal[[]bool]) })
}

func TestMADEMasks(t *testing.T) {
	grading.Run(t, func(c *grading.C) {
		cases := []struct {
			order                  []int
			contextDim             int
			hidden                 []int
			paramsPerValue, seed64 int
		}{
			{[]int{2, 0, 3, 1}, 0, []int{8, 8}, 2, 1},
			{[]int{0, 1, 2}, 2, []int{6}, 3, 2},
			{[]int{4, 2, 0, 1, 3}, 0, nil, 1, 3},
			{[]int{1, 2, 0}, 1, []int{5, 4, 6}, 2, 4},
		}
		for _, tc := range cases {
			dim := len(tc.order)
			input, hid := refDegreesVariant(tc.order, tc.contextDim, tc.hidden, "")
			what := fmt.Sprintf("Masks for order %v, contextDim %d, hidden %v, %d parameters per value (input degrees %v)",
				tc.order, tc.contextDim, tc.hidden, tc.paramsPerValue, input)
			masks := Masks(slices.Clone(input), hid, dim, tc.paramsPerValue)
			want := refMasksVariant(input, hid, dim, tc.paramsPerValue, "")
			if masks == nil {
				c.Fatalf("%s", grading.Explain(what, fmt.Sprintf("%d masks", len(want)), "nil",
					"Masks returns nil: is it still the stub? Write its body (see its doc comment)"))
			}
			if len(masks) != len(want) {
				c.Fatalf("%s", grading.Explain(what+": the number of masks", fmt.Sprint(len(want)), fmt.Sprint(len(masks)),
					"one mask per hidden layer and one for the output layer: len(hidden) + 1 masks (1 with no hidden layers)"))
			}
			for l := range want {
				below, units := len(want[l]), len(want[l][0])
				layer := fmt.Sprintf("mask %d (%d units below, %d in the layer)", l, below, units)
				if l == len(want)-1 {
					layer = fmt.Sprintf("mask %d, the output layer (%d units below, %d outputs)", l, below, units)
				}
				if len(masks[l]) == units && len(masks[l]) != below && len(masks[l][0]) == below {
					c.Fatalf("%s", grading.Explain(what+": the shape of "+layer, fmt.Sprintf("[%d][%d]", below, units), fmt.Sprintf("[%d][%d]", units, below),
						"the mask is transposed: masks[l][i][j] connects unit i of the layer below to unit j of layer l, [units below][units of the layer]"))
				}
				if len(masks[l]) != below || slices.ContainsFunc(masks[l], func(row []bool) bool { return len(row) != units }) {
					c.Fatalf("%s", grading.Explain(what+": the shape of "+layer, fmt.Sprintf("[%d][%d]", below, units), fmt.Sprintf("%d rows", len(masks[l])),
						"each mask is [units below][units of the layer]; the output layer has paramsPerValue·dim units"))
				}
			}
			variantHint := ""
			for _, v := range []struct{ variant, hint string }{
				{"output-ge", "the output mask uses ≥: an output of degree m must connect only to hidden units of degree < m (strictly), or the parameters of x_v see x_v itself"},
				{"hidden-gt", "the hidden masks use >: a hidden unit connects to the units below of degree ≤ its own (≥), and only the output layer is strict; with > every layer loses a degree and the outputs lose the values just before them"},
				{"interleaved", "the outputs are in blocks: output unit j = p·dim + v is parameter p of value v, so its degree is input[j mod dim] (not input[j / paramsPerValue])"},
			} {
				if graderMasksEqual(masks, refMasksVariant(input, hid, dim, tc.paramsPerValue, v.variant)) {
					variantHint = v.hint
				}
			}

			// The property the masks are for, on a network that uses them.
			jac := refMaskedJacobian(masks, uint64(tc.seed64))
			for j := range jac {
				p, v := j/dim, j%dim
				for k := range jac[j] {
					d := jac[j][k]
					entry := fmt.Sprintf("%s: the Jacobian of a MADE with your masks (random weights, tanh): ∂(parameter %d of x_%d)/∂", what, p, v)
					switch {
					case k >= dim && d == 0:
						hint := "every output may depend on the whole context: the context inputs have degree 0 and connect to every hidden unit (≥), and the degree-0 hidden units carry the context to the first value in the order"
						if variantHint != "" {
							hint = variantHint
						}
						c.Fatalf("%s", grading.Explain(fmt.Sprintf("%scontext_%d", entry, k-dim), "not 0 (the context reaches every output)", "exactly 0", hint))
					case k < dim && input[k] >= input[v] && d != 0:
						hint := fmt.Sprintf("x_%d comes at or after x_%d in the order, so the parameters of x_%d must not depend on it: the layer would not be autoregressive (its Jacobian not triangular)", k, v, v)
						if k == v {
							hint = fmt.Sprintf("the parameters of x_%d depend on x_%d itself: the output layer's mask must be strict (output degree > hidden degree)", v, v)
						}
						if variantHint != "" {
							hint = variantHint
						}
						c.Fatalf("%s", grading.Explain(fmt.Sprintf("%sx_%d", entry, k), "exactly 0", fmt.Sprintf("%.4g", d), hint))
					case k < dim && input[k] < input[v] && d == 0:
						hint := fmt.Sprintf("x_%d comes before x_%d in the order, so MADE connects them; your masks cut every path: hidden layers connect when the degree is ≥ the unit's below, only the output is strict (>)", k, v)
						if variantHint != "" {
							hint = variantHint
						}
						c.Fatalf("%s", grading.Explain(fmt.Sprintf("%sx_%d", entry, k), "not 0 (x_"+fmt.Sprint(k)+" comes before x_"+fmt.Sprint(v)+")", "exactly 0", hint))
					}
				}
			}
			for l := range want {
				for i := range want[l] {
					for j := range want[l][i] {
						if masks[l][i][j] != want[l][i][j] {
							hint := "hidden layer l: connected when the hidden unit's degree ≥ the degree below; the output layer: output p·dim + v has degree input[v] and connects when it is > the hidden unit's"
							if variantHint != "" {
								hint = variantHint
							}
							c.Fatalf("%s", grading.Explain(fmt.Sprintf("%s: masks[%d][%d][%d]", what, l, i, j), fmt.Sprint(want[l][i][j]), fmt.Sprint(masks[l][i][j]), hint))
						}
					}
				}
			}
		}
	})
}
