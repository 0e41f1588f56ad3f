package flowlib

import (
	"github.com/gomlx/compute"
	"github.com/gomlx/compute/shapes"
	. "github.com/gomlx/gomlx/core/graph" //nolint:revive
	"github.com/gomlx/gomlx/ml/layers/activation"
	"github.com/gomlx/gomlx/ml/model"
	"github.com/gomlx/gomlx/ml/model/initializer"
	"github.com/gomlx/gomlx/support/exceptions"
)

// Conv2D is a 2D convolution with stride 1, "same" zero padding and a bias:
// images [batchSize, H, W, C] → [batchSize, H, W, outChannels], with a
// kernelSize×kernelSize kernel (an odd size). Its variables are "weights"
// [kernelSize, kernelSize, C, outChannels] and "biases" [outChannels], created
// with the scope's initializer.
//
// It is computed as im2col followed by one matrix product: the k² shifted
// copies of the padded image are concatenated on the channel axis and
// multiplied by the kernel reshaped to [k²·C, outChannels]. On GoMLX's pure-Go
// backend that matrix product runs several times faster than the built-in
// convolution, which is a direct loop.
func Conv2D(scope *model.Scope, x *Node, outChannels, kernelSize int) *Node {
	requireImages("Conv2D", x, 0, 0, 0)
	if kernelSize < 1 || kernelSize%2 == 0 {
		exceptions.Panicf("flowlib: Conv2D needs an odd kernel size, got %d", kernelSize)
	}
	d := x.Shape().Dimensions
	batch, height, width, channels := d[0], d[1], d[2], d[3]
	weights := scope.VariableWithShape("weights", shapes.Make(x.DType(), kernelSize, kernelSize, channels, outChannels)).NodeValue(x.Graph())
	biases := scope.WithInitializer(initializer.Zero).VariableWithShape("biases", shapes.Make(x.DType(), outChannels)).NodeValue(x.Graph())

	patches := x
	if kernelSize > 1 {
		r := kernelSize / 2
		// Every axis is given to Pad: GoMLX v0.28's Pad gradient needs them all.
		padded := Pad(x, ScalarZero(x.Graph(), x.DType()),
			compute.PadAxis{}, compute.PadAxis{Start: r, End: r}, compute.PadAxis{Start: r, End: r}, compute.PadAxis{})
		shifted := make([]*Node, 0, kernelSize*kernelSize)
		for dy := range kernelSize {
			for dx := range kernelSize {
				shifted = append(shifted, Slice(padded, AxisRange(), AxisRange(dy, dy+height), AxisRange(dx, dx+width), AxisRange()))
			}
		}
		// Channel (dy·k + dx)·C + c, the order of the reshaped kernel's rows.
		patches = Concatenate(shifted, 3)
	}
	rows := Reshape(patches, batch*height*width, kernelSize*kernelSize*channels)
	kernel := Reshape(weights, kernelSize*kernelSize*channels, outChannels)
	out := Add(MatMul(rows, kernel), ExpandLeftToRank(biases, 2))
	return Reshape(out, batch, height, width, outChannels)
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
