package flowlib

import (
	"path/filepath"
	"strings"

	"github.com/gomlx/compute"
	"github.com/gomlx/compute/gobackend"
	"github.com/gomlx/compute/shapes"
	. "github.com/gomlx/gomlx/core/graph" //nolint:revive
	"github.com/gomlx/gomlx/ml/layers/activation"
	"github.com/gomlx/gomlx/ml/model"
	"github.com/gomlx/gomlx/ml/model/initializer"
	"github.com/gomlx/gomlx/support/exceptions"
)

// ParamConvForm is the scope hyperparameter that chooses how Conv2D computes
// its convolution: ConvFormAuto (the default), ConvFormMatMul or ConvFormBuiltIn.
// Every form computes the same function; they differ only in speed.
const ParamConvForm = "conv_form"

// Conv2D's forms, the values of ParamConvForm.
const (
	// ConvFormAuto picks the form measured fastest on the graph's backend:
	// ConvFormMatMul on GoMLX's pure-Go backend and on XLA's CPU plugin,
	// ConvFormBuiltIn on XLA's other plugins (GPUs), where convolution
	// libraries are the usual fast path. docs/backends.md has the numbers.
	ConvFormAuto = "auto"
	// ConvFormMatMul computes the convolution with one large matrix product.
	ConvFormMatMul = "matmul"
	// ConvFormBuiltIn uses GoMLX's own convolution (graph.Convolve).
	ConvFormBuiltIn = "builtin"
)

// Conv2D is a 2D convolution with stride 1, "same" zero padding and a bias:
// images [batchSize, H, W, C] → [batchSize, H, W, outChannels], with a
// kernelSize×kernelSize kernel (an odd size). Its variables are "weights"
// [kernelSize, kernelSize, C, outChannels] and "biases" [outChannels], created
// with the scope's initializer.
//
// How it is computed depends on the backend (see ParamConvForm). On the CPU
// backends it is one large matrix product: im2col (shift, then multiply) when
// the convolution widens the channels, and multiply-then-shift when it
// narrows them, so that the shifted tensors are always the thinner side.
// GoMLX's built-in convolution is a direct loop on the pure-Go backend (about
// 10× slower here), and on XLA's CPU plugin it trains no faster.
func Conv2D(scope *model.Scope, x *Node, outChannels, kernelSize int) *Node {
	requireImages("Conv2D", x, 0, 0, 0)
	if kernelSize < 1 || kernelSize%2 == 0 {
		exceptions.Panicf("flowlib: Conv2D needs an odd kernel size, got %d", kernelSize)
	}
	d := x.Shape().Dimensions
	batch, height, width, channels := d[0], d[1], d[2], d[3]
	weights := scope.VariableWithShape("weights", shapes.Make(x.DType(), kernelSize, kernelSize, channels, outChannels)).NodeValue(x.Graph())
	biases := scope.WithInitializer(initializer.Zero).VariableWithShape("biases", shapes.Make(x.DType(), outChannels)).NodeValue(x.Graph())

	var out *Node
	switch form := convForm(scope, x.Graph()); {
	case kernelSize == 1:
		out = Reshape(MatMul(Reshape(x, batch*height*width, channels), Reshape(weights, channels, outChannels)), batch, height, width, outChannels)
	case form == ConvFormBuiltIn:
		out = Convolve(x, weights).PadSame().Done()
	case channels <= outChannels:
		out = convPatchesFirst(x, weights, kernelSize)
	default:
		out = convProductsFirst(x, weights, kernelSize)
	}
	return Add(out, ExpandLeftToRank(biases, 4))
}

// convForm resolves ParamConvForm for graph g's backend.
func convForm(scope *model.Scope, g *Graph) string {
	switch form := model.GetParamOr(scope, ParamConvForm, ConvFormAuto); form {
	case ConvFormMatMul, ConvFormBuiltIn:
		return form
	case ConvFormAuto:
		if onCPU(g.Backend()) {
			return ConvFormMatMul
		}
		return ConvFormBuiltIn
	default:
		exceptions.Panicf("flowlib: %s = %q: use %q, %q or %q", ParamConvForm, form, ConvFormAuto, ConvFormMatMul, ConvFormBuiltIn)
		return ""
	}
}

// onCPU reports whether b computes on the CPU: GoMLX's pure-Go backend, or
// XLA through its "cpu" PJRT plugin.
func onCPU(b compute.Backend) bool {
	if b.String() == gobackend.BackendName { // Its Name() is "Go Backend".
		return true
	}
	plugin, ok := b.(interface{ PluginName() string }) // XLA: "cpu", or the plugin's path.
	return ok && strings.Contains(filepath.Base(plugin.PluginName()), "cpu")
}

// padSpatial pads the height and width axes of x [b, h, w, ...] by r zeros on
// each side. Every axis is given to Pad: GoMLX v0.28's Pad gradient needs them all.
func padSpatial(x *Node, r int) *Node {
	axes := make([]compute.PadAxis, x.Rank())
	axes[1] = compute.PadAxis{Start: r, End: r}
	axes[2] = compute.PadAxis{Start: r, End: r}
	return Pad(x, ScalarZero(x.Graph(), x.DType()), axes...)
}

// convPatchesFirst is im2col: the k² shifted copies of the padded input are
// concatenated on the channel axis, [b, h, w, k²·C], and multiplied by the
// kernel reshaped to [k²·C, outChannels]. Its data movement grows with C.
func convPatchesFirst(x, weights *Node, k int) *Node {
	d := x.Shape().Dimensions
	batch, height, width, channels := d[0], d[1], d[2], d[3]
	outChannels := weights.Shape().Dimensions[3]
	padded := padSpatial(x, k/2)
	shifted := make([]*Node, 0, k*k)
	for dy := range k {
		for dx := range k {
			shifted = append(shifted, Slice(padded, AxisRange(), AxisRange(dy, dy+height), AxisRange(dx, dx+width), AxisRange()))
		}
	}
	// Channel (dy·k + dx)·C + c, the order of the reshaped kernel's rows.
	rows := Reshape(Concatenate(shifted, 3), batch*height*width, k*k*channels)
	out := MatMul(rows, Reshape(weights, k*k*channels, outChannels))
	return Reshape(out, batch, height, width, outChannels)
}

// convProductsFirst multiplies first and shifts after: every pixel's channels
// go through all k² taps of the kernel at once, [b, h, w, k², outChannels], and
// the output at (i, j) sums tap (dy, dx) of the product at (i+dy−r, j+dx−r).
// Its data movement grows with outChannels, so it suits convolutions that
// reduce the channel count, like a conditioner's output layer.
func convProductsFirst(x, weights *Node, k int) *Node {
	d := x.Shape().Dimensions
	batch, height, width, channels := d[0], d[1], d[2], d[3]
	outChannels := weights.Shape().Dimensions[3]
	kernel := Reshape(TransposeAllDims(weights, 2, 0, 1, 3), channels, k*k*outChannels) // [C, k²·O]
	products := MatMul(Reshape(x, batch*height*width, channels), kernel)
	padded := padSpatial(Reshape(products, batch, height, width, k*k*outChannels), k/2)
	var out *Node
	for dy := range k {
		for dx := range k {
			tap := (dy*k + dx) * outChannels
			term := Slice(padded, AxisRange(), AxisRange(dy, dy+height), AxisRange(dx, dx+width), AxisRange(tap, tap+outChannels))
			if out == nil {
				out = term
			} else {
				out = Add(out, term)
			}
		}
	}
	return out
}

// ConvNetConfig configures a convolutional conditioner; create it with
// [ConvNet] and finish with Done.
type ConvNetConfig struct {
	hidden     []int
	activation activation.Type
}

// ConvNet starts the convolutional conditioner of Glow's coupling layers
// (Kingma & Dhariwal 2018): a 3×3 convolution to hidden[0] channels, 1×1
// convolutions to the following hidden sizes, each followed by the activation
// (ReLU by default), and a 3×3 output convolution whose weights and biases start
// at zero, so that a coupling layer using it starts as the identity map.
// ConvNet(64, 64) is 3×3 → 64, 1×1 → 64, 3×3 → out.
func ConvNet(hidden ...int) *ConvNetConfig {
	return &ConvNetConfig{hidden: hidden, activation: activation.TypeRelu}
}

// Activation sets the activation by name ("relu", "silu", "gelu", "tanh", ...).
func (c *ConvNetConfig) Activation(name string) *ConvNetConfig {
	c.activation = activation.FromName(name)
	return c
}

// Done returns the conditioner.
func (c *ConvNetConfig) Done() Conditioner {
	hidden, act := c.hidden, c.activation
	if len(hidden) == 0 {
		exceptions.Panicf("flowlib: ConvNet needs at least one hidden layer size, e.g. ConvNet(64, 64)")
	}
	return func(scope *model.Scope, x *Node, outDim int) *Node {
		h := x
		for i, size := range hidden {
			kernel := 1
			if i == 0 {
				kernel = 3
			}
			h = activation.Apply(act, Conv2D(scope.At("conv_%d", i), h, size, kernel))
		}
		return Conv2D(scope.At("output").WithInitializer(initializer.Zero), h, outDim, 3)
	}
}
