package flowlib

import (
	"fmt"
	"math/rand/v2"
	"slices"

	"github.com/gomlx/compute/shapes"
	. "github.com/gomlx/gomlx/core/graph" //nolint:revive
	"github.com/gomlx/gomlx/ml/layers/activation"
	"github.com/gomlx/gomlx/ml/model"
	"github.com/gomlx/gomlx/ml/model/initializer"
	"github.com/gomlx/gomlx/support/exceptions"
)

// AutoregressiveConditioner is the conditioner of an autoregressive layer
// ([Autoregressive]): it maps x [batchSize, dim] (and an optional context
// [batchSize, c], nil for none) to the parameters of a [Transform] for every
// value, [batchSize, paramsPerValue·dim], laid out like a coupling's: block
// j (columns j·dim … (j+1)·dim − 1) is θ's j-th entry for every value. The
// parameters of value i may depend only on the values that come before i in
// the conditioner's order, and on all of the context: the Jacobian of the
// parameters with respect to x is strictly triangular in that order.
type AutoregressiveConditioner interface {
	Params(scope *model.Scope, x, context *Node, paramsPerValue int) *Node
}

// MADEConfig configures a MADE conditioner; create it with [MADE] and
// finish with Done.
type MADEConfig struct {
	hidden     []int
	activation string
	order      []int
	seed       uint64
	random     bool
}

// MADE starts a masked autoencoder for distribution estimation (Germain et
// al. 2015, https://arxiv.org/abs/1502.03509) with the given hidden layer
// sizes, e.g. MADE(64, 64): a multi-layer perceptron whose weight matrices
// are multiplied by fixed 0/1 masks so that each output sees only the
// inputs before it in an order. The defaults: the natural order 0, 1, …,
// dim−1 and ReLU activations.
//
// Every unit gets a degree. Input i has degree 1 + (its position in the
// order); context inputs have degree 0. Hidden units cycle through the
// degrees 1 … dim−1 (0 … dim−1 with a context, so that the first value in
// the order, which sees no data, sees the context), so every degree is
// present in every layer when the layers are wide enough. A hidden unit of degree
// d is connected to the units below it of degree ≤ d, and an output for
// value i to the last hidden units of degree < degree(i): by induction,
// output i depends only on the inputs of smaller degree, the values before
// i in the order, and on the whole context (degree 0).
//
// The output layer starts at zero, like [MLP]'s, so a layer that uses it
// starts as the identity map.
func MADE(hidden ...int) *MADEConfig {
	return &MADEConfig{hidden: slices.Clone(hidden), activation: "relu"}
}

// Activation sets the activation by name ("relu", "tanh", "silu", "gelu", ...).
func (c *MADEConfig) Activation(name string) *MADEConfig { c.activation = name; return c }

// Order sets the autoregressive order: order[r] is the coordinate that comes
// r-th, so MADE(...).Order(2, 0, 1) lets coordinate 0 depend on 2, and 1 on
// 2 and 0. It must be a permutation of 0 … dim−1 for the data's dim.
func (c *MADEConfig) Order(order ...int) *MADEConfig {
	c.order, c.random = slices.Clone(order), false
	return c
}

// RandomOrder sets a random order of the coordinates, the same for the same
// seed and dimension (so a model rebuilt from its description gets the same).
func (c *MADEConfig) RandomOrder(seed uint64) *MADEConfig {
	c.order, c.random, c.seed = nil, true, seed
	return c
}

// Done returns the conditioner. It panics on an unknown activation or a
// hidden size below 1.
func (c *MADEConfig) Done() *MADENet {
	if err := checkActivation("activation", c.activation); err != nil {
		exceptions.Panicf("flowlib: MADE: %v", err)
	}
	for _, h := range c.hidden {
		if h < 1 {
			exceptions.Panicf("flowlib: MADE: hidden sizes must be positive, got %v", c.hidden)
		}
	}
	return &MADENet{hidden: c.hidden, activation: activation.FromName(c.activation),
		order: c.order, random: c.random, seed: c.seed}
}

// MADENet is a MADE conditioner, an [AutoregressiveConditioner]; build it
// with [MADE]. Its variables are, for each hidden layer l, "hidden_l/weights"
// and "hidden_l/biases", and "output/weights" and "output/biases": dense
// weights [inputs, units] that the masks multiply before every use.
type MADENet struct {
	hidden     []int
	activation activation.Type
	order      []int
	random     bool
	seed       uint64
}

// Order returns the autoregressive order for data of dimension dim:
// Order(dim)[r] is the coordinate that comes r-th. It panics if an order
// given with [MADEConfig.Order] is not a permutation of 0 … dim−1.
func (m *MADENet) Order(dim int) []int {
	switch {
	case m.random:
		return rand.New(rand.NewPCG(m.seed, 0x3ade)).Perm(dim)
	case m.order == nil:
		order := make([]int, dim)
		for i := range order {
			order[i] = i
		}
		return order
	}
	if err := checkPermutation(m.order, dim); err != nil {
		exceptions.Panicf("flowlib: MADE: the order %v %v", m.order, err)
	}
	return slices.Clone(m.order)
}

// checkPermutation returns an error unless perm holds each of 0 … dim−1 once.
func checkPermutation(perm []int, dim int) error {
	if len(perm) != dim {
		return fmt.Errorf("has %d entries for data of dimension %d", len(perm), dim)
	}
	seen := make([]bool, dim)
	for _, p := range perm {
		if p < 0 || p >= dim || seen[p] {
			return fmt.Errorf("is not a permutation of 0 … %d", dim-1)
		}
		seen[p] = true
	}
	return nil
}

// Degrees returns the degrees of the units for data of dimension dim and
// contextDim context features: input[i] for the dim data inputs (1 + the
// position of coordinate i in the order) followed by the context inputs
// (0), and hidden[l][j] for unit j of hidden layer l.
func (m *MADENet) Degrees(dim, contextDim int) (input []int, hidden [][]int) {
	input = make([]int, dim+contextDim) // Context inputs keep degree 0.
	for r, coord := range m.Order(dim) {
		input[coord] = r + 1
	}
	// Degree-0 units see only the context: with a context they carry it to
	// the first value in the order, which sees no data.
	lowest := min(1, dim-1)
	if contextDim > 0 {
		lowest = 0
	}
	span := max(dim-lowest, 1)
	for _, size := range m.hidden {
		layer := make([]int, size)
		for j := range layer {
			layer[j] = lowest + j%span
		}
		hidden = append(hidden, layer)
	}
	return input, hidden
}

// Masks returns the connectivity of every layer for data of dimension dim,
// contextDim context features and paramsPerValue outputs per value: masks[l]
// is [inputs of layer l][units of layer l], true where the weight is used;
// the last one is the output layer, whose unit j·dim + i is parameter j of
// value i. The notebooks draw them.
func (m *MADENet) Masks(dim, contextDim, paramsPerValue int) [][][]bool {
	input, hidden := m.Degrees(dim, contextDim)
	output := make([]int, paramsPerValue*dim)
	for j := range output {
		output[j] = input[j%dim]
	}
	below := input
	var masks [][][]bool
	for _, layer := range hidden {
		masks = append(masks, connect(below, layer, false))
		below = layer
	}
	return append(masks, connect(below, output, true))
}

// connect is the mask between units of degrees from and to: connected where
// from ≤ to (hidden layers) or from < to (the output layer, strict).
func connect(from, to []int, strict bool) [][]bool {
	mask := make([][]bool, len(from))
	for i, d := range from {
		mask[i] = make([]bool, len(to))
		for j, e := range to {
			mask[i][j] = d < e || (d == e && !strict)
		}
	}
	return mask
}

// Params implements [AutoregressiveConditioner].
func (m *MADENet) Params(scope *model.Scope, x, context *Node, paramsPerValue int) *Node {
	requireVectors("MADE", x, 0)
	dim := x.Shape().Dimensions[1]
	contextDim := 0
	h := x
	if context != nil {
		if context.Rank() != 2 {
			exceptions.Panicf("flowlib: MADE takes a context [batchSize, features], got shape %s", context.Shape())
		}
		h = withContext("MADE", x, context)
		contextDim = context.Shape().Dimensions[1]
	}
	if paramsPerValue < 1 {
		exceptions.Panicf("flowlib: MADE needs at least 1 parameter per value, got %d", paramsPerValue)
	}
	masks := m.Masks(dim, contextDim, paramsPerValue)
	for l, mask := range masks {
		layerScope := scope.At("hidden_%d", l)
		if l == len(masks)-1 {
			// Zero output weights: the layer starts as the identity, as with MLP.
			layerScope = scope.At("output").WithInitializer(initializer.Zero)
		}
		h = maskedDense(layerScope, h, mask)
		if l < len(masks)-1 {
			h = activation.Apply(m.activation, h)
		}
	}
	return h
}

// maskedDense is h·(W ⊙ mask) + b for h [batchSize, inputs], mask
// [inputs][units]. Biases start at zero.
func maskedDense(scope *model.Scope, h *Node, mask [][]bool) *Node {
	inputs, units := len(mask), len(mask[0])
	values := make([]float64, 0, inputs*units)
	for _, row := range mask {
		for _, on := range row {
			if on {
				values = append(values, 1)
			} else {
				values = append(values, 0)
			}
		}
	}
	g, dtype := h.Graph(), h.DType()
	maskNode := Reshape(ConvertDType(Const(g, values), dtype), inputs, units)
	w := scope.VariableWithShape("weights", shapes.Make(dtype, inputs, units)).NodeValue(g)
	b := scope.WithInitializer(initializer.Zero).VariableWithShape("biases", shapes.Make(dtype, units)).NodeValue(g)
	return Add(MatMul(h, Mul(w, maskNode)), Reshape(b, 1, units))
}
