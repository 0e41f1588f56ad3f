package quality

import (
	"fmt"
	"slices"

	. "github.com/gomlx/gomlx/core/graph" //nolint:revive
	"github.com/gomlx/gomlx/ml/layers"
	"github.com/gomlx/gomlx/ml/layers/activation"
	"github.com/gomlx/gomlx/ml/model"
	"github.com/gomlx/gomlx/support/exceptions"

	"github.com/flowbook/flowbook/flowlib"
)

// Hyperparameters of the classifier network, read by [New] from the scope
// (or its parents) and written into a trained classifier's store, so that
// [LoadClassifier] rebuilds the network its checkpoint was trained as.
const (
	// ParamChannels ([]int, default [16, 32]) is the number of channels of
	// the two 3×3 convolutions.
	ParamChannels = "quality_channels"
	// ParamHidden (int, default 64) is the width of the dense hidden layer.
	ParamHidden = "quality_hidden"
	// ParamDropout (float64, default 0.25) is the dropout rate on the dense
	// hidden layer while training; evaluation never drops anything.
	ParamDropout = "quality_dropout"
)

// The network's defaults: about 106 thousand weights, 0.4 MB in float32.
var (
	defaultChannels = []int{16, 32}
	defaultHidden   = 64
	defaultDropout  = 0.25
)

// NumClasses is the number of digits the classifier tells apart, 0…9.
const NumClasses = 10

// NotDigit is the classifier's eleventh class, after the digits 0…9: images
// that are no digit at all (noise, blank or grey images, blocks, blobs),
// which training draws at random. Without it a digit classifier calls
// uniform noise an 8 with 99.99% confidence: a softmax over digits alone has
// no way to say "none of these".
const NotDigit = NumClasses

// NumOutputs is the number of the classifier's logits: the digits and NotDigit.
const NumOutputs = NumClasses + 1

// Side is the height and width of the images the classifier takes, MNIST's.
const Side = 28

// pixelMean and pixelStd are the mean and standard deviation of MNIST's grey
// levels rescaled to [0, 1]. Standardising the input with them puts it on the
// scale the default initialisers expect, which makes Adam's first steps useful.
const (
	pixelMean = 0.13
	pixelStd  = 0.31
)

// NetworkConfig configures the classifier network; create it with [New] and
// finish with Done.
type NetworkConfig struct {
	scope    *model.Scope
	images   *Node
	channels []int
	hidden   int
	dropout  float64
}

// New starts the digit classifier network on images [batchSize, 28, 28, 1]
// of raw grey levels 0…255, with variables in scope:
//
//	standardise  x ↦ (x/255 − 0.13) / 0.31
//	conv_0       3×3 convolution to Channels[0], ReLU, 2×2 max pooling → [b, 14, 14, c₀]
//	conv_1       3×3 convolution to Channels[1], ReLU, 2×2 max pooling → [b, 7, 7, c₁]
//	hidden       dense to Hidden units, ReLU, dropout while training
//	logits       dense to 11 logits, the digits and NotDigit               → [b, 11]
//
// The sizes come from the scope's [ParamChannels], [ParamHidden] and
// [ParamDropout], or the defaults 16 and 32 channels, 64 hidden units and a
// dropout of 0.25; the setters override them. It is LeNet's pattern (LeCun et
// al. 1998, "Gradient-based learning applied to document recognition"), with
// ReLUs and max pooling.
func New(scope *model.Scope, images *Node) *NetworkConfig {
	return &NetworkConfig{
		scope:    scope,
		images:   images,
		channels: slices.Clone(model.GetParamOr(scope, ParamChannels, defaultChannels)),
		hidden:   model.GetParamOr(scope, ParamHidden, defaultHidden),
		dropout:  model.GetParamOr(scope, ParamDropout, defaultDropout),
	}
}

// Channels sets the channels of the two convolutions.
func (c *NetworkConfig) Channels(first, second int) *NetworkConfig {
	c.channels = []int{first, second}
	return c
}

// Hidden sets the width of the dense hidden layer.
func (c *NetworkConfig) Hidden(units int) *NetworkConfig {
	c.hidden = units
	return c
}

// Dropout sets the dropout rate of the hidden layer while training (0: none).
func (c *NetworkConfig) Dropout(rate float64) *NetworkConfig {
	c.dropout = rate
	return c
}

// Done builds the network and returns its logits [batchSize, 11]. It panics
// with a "quality:" message on images of another shape or on sizes that are
// not positive.
func (c *NetworkConfig) Done() *Node {
	x := c.images
	if d := x.Shape().Dimensions; x.Rank() != 4 || d[1] != Side || d[2] != Side || d[3] != 1 {
		exceptions.Panicf("quality: the classifier takes images [batchSize, 28, 28, 1], got %s", x.Shape())
	}
	if len(c.channels) != 2 || c.channels[0] < 1 || c.channels[1] < 1 || c.hidden < 1 {
		exceptions.Panicf("quality: the classifier needs 2 positive channel counts and a positive hidden size, got channels %v, hidden %d",
			c.channels, c.hidden)
	}
	if !(c.dropout >= 0 && c.dropout < 1) {
		exceptions.Panicf("quality: dropout must be in [0, 1), got %g", c.dropout)
	}
	h := DivScalar(AddScalar(DivScalar(x, 255), -pixelMean), pixelStd)
	for i, channels := range c.channels {
		// flowlib's Conv2D is the convolution that is fast on both CPU backends.
		h = maxPool2x2(activation.Relu(flowlib.Conv2D(c.scope.At("conv_%d", i), h, channels, 3)))
	}
	d := h.Shape().Dimensions
	h = Reshape(h, d[0], d[1]*d[2]*d[3])
	h = activation.Relu(layers.DenseWithBias(c.scope.At("hidden"), h, c.hidden))
	h = layers.DropoutStatic(c.scope, h, c.dropout)
	return layers.DenseWithBias(c.scope.At("logits"), h, NumOutputs)
}

// maxPool2x2 takes the maximum of each 2×2 block of x [b, h, w, c] (h and w
// even): [b, h/2, w/2, c]. Written as a reshape and a reduction, whose
// gradients every backend has.
func maxPool2x2(x *Node) *Node {
	d := x.Shape().Dimensions
	if d[1]%2 != 0 || d[2]%2 != 0 {
		panic(fmt.Errorf("quality: 2×2 pooling needs an even height and width, got %s", x.Shape()))
	}
	blocks := Reshape(x, d[0], d[1]/2, 2, d[2]/2, 2, d[3])
	return ReduceMax(blocks, 2, 4)
}
