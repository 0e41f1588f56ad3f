package flowlib

import (
	"fmt"

	"github.com/gomlx/gomlx/ml/model"
)

// Hyperparameters read by [ImageFlowConfig.FromScope], with their defaults
// (Glow's; RealNVPImage's differ where noted).
const (
	// ParamImageFlowLevels (int, default 2) is the number of scales L.
	ParamImageFlowLevels = "image_flow_levels"
	// ParamImageFlowSteps (int, default 4; RealNVP 3) is the number of steps per level.
	ParamImageFlowSteps = "image_flow_steps"
	// ParamImageFlowHidden ([]int, default [64, 64]) are the conditioners' hidden channels.
	ParamImageFlowHidden = "image_flow_hidden"
	// ParamImageFlowLearnedPrior (bool, default true; RealNVP false) uses
	// FactorOut's learned conditional prior.
	ParamImageFlowLearnedPrior = "image_flow_learned_prior"
	// ParamImageFlowInvConv (string, default "lu") is the 1×1 convolution's
	// parametrisation, an [InvConvKind]: "lu" or "exp" (Glow only).
	ParamImageFlowInvConv = "image_flow_invconv"
	// ParamImageFlowDequantization (string, default "uniform") is the
	// [Dequantization]: "uniform" or "variational".
	ParamImageFlowDequantization = "image_flow_dequantization"
	// ParamImageFlowLogitAlpha (float64, default 0.05) is the logit preprocessing's α.
	ParamImageFlowLogitAlpha = "image_flow_logit_alpha"
	// ParamImageFlowActNorm (bool, default true) puts an ActNorm before every
	// coupling (always on in Glow, whose step starts with one).
	ParamImageFlowActNorm = "image_flow_actnorm"
	// ParamImageFlowScaleBound (float64, default 3) bounds the couplings' log-scales.
	ParamImageFlowScaleBound = "image_flow_scale_bound"
	// ParamImageFlowCouplingScale (string, default "contracting") is the
	// couplings' [CouplingScale]: "contracting" (Glow's sigmoid) or "tanh"
	// (symmetric bound); see [AffineCoupling]. Checkpoints older than this
	// key have the default.
	ParamImageFlowCouplingScale = "image_flow_coupling_scale"
	// ParamImageFlowMinScale (float64, default [DefaultMinScale]) floors the
	// contracting scale, so that no coupling's Inverse stretches by more than
	// its inverse (see [Affine]); 0 is Glow's own, unbounded, scale.
	// Checkpoints older than this key have 0.
	ParamImageFlowMinScale = "image_flow_min_scale"
	// ParamImageFlowSeed (int, default 1) draws the 1×1 convolutions' initial rotations.
	ParamImageFlowSeed = "image_flow_seed"
)

// InvConvKind names a parametrisation of Glow's invertible 1×1 convolutions
// (see [Invertible1x1Conv]); stored as a plain string under [ParamImageFlowInvConv].
type InvConvKind string

// The 1×1 convolutions of [ImageFlowConfig.InvConv].
const (
	// InvConvLU is the LU decomposition W = P·L·(U + diag(s)).
	InvConvLU InvConvKind = "lu"
	// InvConvExp is W = exp(A), the matrix exponential.
	InvConvExp InvConvKind = "exp"
)

// Dequantization names how 8-bit pixel values become continuous; stored as
// a plain string under [ParamImageFlowDequantization].
type Dequantization string

// The dequantizations of [ImageFlowConfig.Dequantization].
const (
	// DequantizeUniform adds uniform noise in [0, 1) ([NewUniformDequantization]).
	DequantizeUniform Dequantization = "uniform"
	// DequantizeVariational adds learned noise ([NewVariationalDequantization]).
	DequantizeVariational Dequantization = "variational"
)

// CouplingScale names the scale function of the image couplings (see
// [AffineCoupling]); stored as a plain string under [ParamImageFlowCouplingScale].
type CouplingScale string

// The coupling scales of [ImageFlowConfig.CouplingScale].
const (
	// ScaleContracting is Glow's sigmoid scale, at most 1 (AffineCoupling.Contracting).
	ScaleContracting CouplingScale = "contracting"
	// ScaleTanh bounds the log-scale symmetrically by the scale bound.
	ScaleTanh CouplingScale = "tanh"
)

// ImageFlowConfig configures a multi-scale flow for images of 8-bit values;
// create it with [Glow] or [RealNVPImage] and finish with Done.
type ImageFlowConfig struct {
	glow                    bool
	height, width, channels int
	levels, steps           int
	hidden                  []int
	learnedPrior            bool
	invConv                 InvConvKind
	dequantization          Dequantization
	alpha                   float64
	actNorm                 bool
	scaleBound              float64
	couplingScale           CouplingScale
	minScale                float64
	seed                    int
}

// DefaultMinScale is image flows' floor of the contracting scale: a coupling
// shrinks a value by at most 4× and its Inverse stretches by at most 4×.
// docs/concepts.md ("Coupling layers") has the measurements behind it.
const DefaultMinScale = 0.25

// Glow starts a Glow model (Kingma & Dhariwal 2018,
// https://arxiv.org/abs/1807.03039) for images of height×width×channels 8-bit
// values (0…255). The flow, in the Forward (data → latent) direction:
//
//	dequantization → logit → L levels, each:
//	    Squeeze2x2 → K × (ActNorm → invertible 1×1 conv → affine coupling)
//	    → FactorOut half of the channels (all levels but the last)
//
// with a channel mask and a [ConvNet] conditioner in every coupling (with
// Glow's contracting scale, see [AffineCoupling]), and a standard normal base
// over the image-shaped latent. Defaults: L = 2, K = 4,
// ConvNet(64, 64), LU 1×1 convolutions, learned prior, uniform dequantization,
// logit α = 0.05.
func Glow(height, width, channels int) *ImageFlowConfig {
	return &ImageFlowConfig{glow: true, height: height, width: width, channels: channels,
		levels: 2, steps: 4, hidden: []int{64, 64}, learnedPrior: true, invConv: InvConvLU,
		dequantization: DequantizeUniform, alpha: 0.05, actNorm: true, scaleBound: DefaultScaleBound,
		couplingScale: ScaleContracting, minScale: DefaultMinScale, seed: 1}
}

// RealNVPImage starts the multi-scale RealNVP of Dinh et al. 2016 (section
// 3.6) for images of height×width×channels 8-bit values (0…255):
//
//	dequantization → logit → L scales; each but the last:
//	    K checkerboard couplings → Squeeze2x2 → K channel couplings
//	    → FactorOut half of the channels
//	and the last: K+1 checkerboard couplings
//
// Masks alternate with their flips, every coupling is an [AffineCoupling] with a
// [ConvNet] conditioner and the contracting scale (see [AffineCoupling]; the
// paper's tanh scale can be chosen with CouplingScale), optionally preceded by
// an [ActNorm] (in place of the paper's batch normalisation). Defaults: L = 2, K = 3, ConvNet(64, 64),
// ActNorm on, no learned prior, uniform dequantization, logit α = 0.05.
func RealNVPImage(height, width, channels int) *ImageFlowConfig {
	c := Glow(height, width, channels)
	c.glow, c.steps, c.learnedPrior = false, 3, false
	return c
}

// FromScope reads the ParamImageFlow* hyperparameters from the scope (and its
// parents), keeping the current values for those not set.
func (c *ImageFlowConfig) FromScope(scope *model.Scope) *ImageFlowConfig {
	c.levels = model.GetParamOr(scope, ParamImageFlowLevels, c.levels)
	c.steps = model.GetParamOr(scope, ParamImageFlowSteps, c.steps)
	c.hidden = model.GetParamOr(scope, ParamImageFlowHidden, c.hidden)
	c.learnedPrior = model.GetParamOr(scope, ParamImageFlowLearnedPrior, c.learnedPrior)
	c.invConv = InvConvKind(model.GetParamOr(scope, ParamImageFlowInvConv, string(c.invConv)))
	c.dequantization = Dequantization(model.GetParamOr(scope, ParamImageFlowDequantization, string(c.dequantization)))
	c.alpha = model.GetParamOr(scope, ParamImageFlowLogitAlpha, c.alpha)
	c.actNorm = model.GetParamOr(scope, ParamImageFlowActNorm, c.actNorm)
	c.scaleBound = model.GetParamOr(scope, ParamImageFlowScaleBound, c.scaleBound)
	c.couplingScale = CouplingScale(model.GetParamOr(scope, ParamImageFlowCouplingScale, string(c.couplingScale)))
	c.minScale = model.GetParamOr(scope, ParamImageFlowMinScale, c.minScale)
	c.seed = model.GetParamOr(scope, ParamImageFlowSeed, c.seed)
	return c
}

// Levels sets the number of scales L.
func (c *ImageFlowConfig) Levels(n int) *ImageFlowConfig { c.levels = n; return c }

// Steps sets K, the number of flow steps (Glow) or couplings per group (RealNVP) per level.
func (c *ImageFlowConfig) Steps(k int) *ImageFlowConfig { c.steps = k; return c }

// Hidden sets the conditioners' hidden channel counts (see [ConvNet]).
func (c *ImageFlowConfig) Hidden(channels ...int) *ImageFlowConfig { c.hidden = channels; return c }

// LearnedPrior turns FactorOut's learned conditional prior on or off.
func (c *ImageFlowConfig) LearnedPrior(on bool) *ImageFlowConfig { c.learnedPrior = on; return c }

// InvConv sets the 1×1 convolutions' parametrisation: [InvConvLU] or [InvConvExp].
func (c *ImageFlowConfig) InvConv(kind InvConvKind) *ImageFlowConfig { c.invConv = kind; return c }

// Dequantization sets the dequantization: [DequantizeUniform] or [DequantizeVariational].
func (c *ImageFlowConfig) Dequantization(kind Dequantization) *ImageFlowConfig {
	c.dequantization = kind
	return c
}

// LogitAlpha sets the α of the [Logit] preprocessing.
func (c *ImageFlowConfig) LogitAlpha(alpha float64) *ImageFlowConfig { c.alpha = alpha; return c }

// ActNorm puts an ActNorm before every coupling of a RealNVP model (Glow always has them).
func (c *ImageFlowConfig) ActNorm(on bool) *ImageFlowConfig { c.actNorm = on; return c }

// ScaleBound sets the couplings' log-scale bound (see [AffineCoupling]).
func (c *ImageFlowConfig) ScaleBound(b float64) *ImageFlowConfig { c.scaleBound = b; return c }

// CouplingScale sets the couplings' scale function: [ScaleContracting] (the
// default, Glow's) or [ScaleTanh] (the symmetric bound of [AffineCoupling]).
func (c *ImageFlowConfig) CouplingScale(kind CouplingScale) *ImageFlowConfig {
	c.couplingScale = kind
	return c
}

// MinScale sets the floor m of the contracting scale, in [0, 1): each
// coupling's Inverse stretches by at most 1/m (see [Affine]); 0 is Glow's
// unbounded scale.
func (c *ImageFlowConfig) MinScale(m float64) *ImageFlowConfig { c.minScale = m; return c }

// Seed sets the seed of the 1×1 convolutions' initial rotations.
func (c *ImageFlowConfig) Seed(seed int) *ImageFlowConfig { c.seed = seed; return c }

// ModelName is "glow" or "realnvp".
func (c *ImageFlowConfig) ModelName() string { return string(c.kind()) }

// kind is [ModelGlow] or [ModelRealNVP].
func (c *ImageFlowConfig) kind() ModelKind {
	if c.glow {
		return ModelGlow
	}
	return ModelRealNVP
}

// squeezes is the number of Squeeze2x2 the model applies in a row.
func (c *ImageFlowConfig) squeezes() int {
	if c.glow {
		return c.levels
	}
	return c.levels - 1
}

// Validate returns an error describing the first invalid setting; an error
// about one hyperparameter is a [*ParamError] naming its key.
func (c *ImageFlowConfig) Validate() error {
	name := c.ModelName()
	param := func(key string, value any, reason string, args ...any) error {
		return &ParamError{Key: key, Value: value, Reason: fmt.Sprintf(reason, args...)}
	}
	switch {
	case c.height < 1 || c.width < 1 || c.channels < 1:
		return fmt.Errorf("flowlib: %s needs a positive image size, got %s", name, describeImage(c.height, c.width, c.channels))
	case c.levels < 1:
		return param(ParamImageFlowLevels, c.levels, "%s needs at least 1 level", name)
	case c.steps < 1:
		return param(ParamImageFlowSteps, c.steps, "%s needs at least 1 step per level", name)
	case len(c.hidden) == 0:
		return param(ParamImageFlowHidden, c.hidden, "%s needs at least one hidden conditioner size, like [64, 64]", name)
	case c.invConv != InvConvLU && c.invConv != InvConvExp:
		return param(ParamImageFlowInvConv, string(c.invConv), "unknown 1×1 convolution; valid: %s, %s", InvConvLU, InvConvExp)
	case c.dequantization != DequantizeUniform && c.dequantization != DequantizeVariational:
		return param(ParamImageFlowDequantization, string(c.dequantization), "unknown dequantization; valid: %s, %s",
			DequantizeUniform, DequantizeVariational)
	case !(c.alpha >= 0 && c.alpha < 0.5):
		return param(ParamImageFlowLogitAlpha, c.alpha, "the logit alpha must be in [0, 0.5)")
	case c.couplingScale != ScaleContracting && c.couplingScale != ScaleTanh:
		return param(ParamImageFlowCouplingScale, string(c.couplingScale), "unknown coupling scale; valid: %s, %s",
			ScaleContracting, ScaleTanh)
	case !(c.scaleBound > 0):
		return param(ParamImageFlowScaleBound, c.scaleBound, "the scale bound must be positive")
	case !(c.minScale >= 0 && c.minScale < 1):
		return param(ParamImageFlowMinScale, c.minScale, "the minimum scale must be in [0, 1), like 0.05 (0: Glow's unbounded scale)")
	}
	for _, h := range c.hidden {
		if h < 1 {
			return param(ParamImageFlowHidden, c.hidden, "hidden channel counts must be positive")
		}
	}
	if div := 1 << c.squeezes(); c.height%div != 0 || c.width%div != 0 {
		return param(ParamImageFlowLevels, c.levels, "%s with %d levels squeezes the image %d times, so its height and width must be "+
			"divisible by %d, but the image is %d×%d; use fewer levels, or crop or pad the images",
			name, c.levels, c.squeezes(), div, c.height, c.width)
	}
	if !c.glow && c.height*c.width < 2 {
		return fmt.Errorf("flowlib: realnvp needs images of at least 2 pixels for its checkerboard masks")
	}
	return nil
}

// Done returns the flow: dequantization, logit and the multi-scale bijector
// over a standard normal base of the image's shape. It panics if the
// configuration is invalid; call Validate first to get an error instead.
func (c *ImageFlowConfig) Done() *Flow {
	if err := c.Validate(); err != nil {
		panic(err)
	}
	var dequantize Bijector = NewUniformDequantization(256)
	if c.dequantization == DequantizeVariational {
		dequantize = NewVariationalDequantization(256)
	}
	var body Bijector
	if c.glow {
		body = c.glowLevel(0, c.height, c.width, c.channels)
	} else {
		body = c.realNVPScale(0, c.height, c.width, c.channels)
	}
	return NewFlow(NewStandardNormal(c.height, c.width, c.channels), dequantize, NewLogit(c.alpha), body)
}

func (c *ImageFlowConfig) coupling(mask CouplingMask) *AffineCoupling {
	coupling := NewAffineCoupling(mask, ConvNet(c.hidden...).Done())
	coupling.ScaleBound = c.scaleBound
	coupling.Contracting = c.couplingScale == ScaleContracting
	if coupling.Contracting {
		coupling.MinScale = c.minScale
	}
	return coupling
}

// glowLevel builds level l for images height×width×channels: it squeezes,
// runs K steps, factors out half (but at the last level) and unsqueezes, so
// that it keeps its input's shape.
func (c *ImageFlowConfig) glowLevel(l, height, width, channels int) *Chain {
	ch := 4 * channels
	layers := []Bijector{NewSqueeze2x2()}
	mask := ChannelMask(ch)
	for k := range c.steps {
		conv := NewInvertible1x1Conv(ch, uint64(c.seed)+uint64(1000*l+k))
		conv.Exp = c.invConv == InvConvExp
		layers = append(layers, NewActNorm(ch), conv, c.coupling(mask))
		mask = mask.Flip()
	}
	if l+1 < c.levels {
		split := NewFactorOut(ch, c.glowLevel(l+1, height/2, width/2, ch/2))
		split.LearnedPrior = c.learnedPrior
		layers = append(layers, split)
	}
	return NewChain(append(layers, NewUnsqueeze2x2())...)
}

// realNVPScale builds scale l of RealNVP for images height×width×channels,
// keeping its input's shape.
func (c *ImageFlowConfig) realNVPScale(l, height, width, channels int) *Chain {
	var layers []Bijector
	add := func(mask CouplingMask, features int) {
		if c.actNorm {
			layers = append(layers, NewActNorm(features))
		}
		layers = append(layers, c.coupling(mask))
	}
	checkerboard := CheckerboardMask(height, width)
	last := l+1 == c.levels
	n := c.steps
	if last {
		n++
	}
	for range n {
		add(checkerboard, channels)
		checkerboard = checkerboard.Flip()
	}
	if last {
		return NewChain(layers...)
	}
	layers = append(layers, NewSqueeze2x2())
	ch := 4 * channels
	channelMask := ChannelMask(ch)
	for range c.steps {
		add(channelMask, ch)
		channelMask = channelMask.Flip()
	}
	split := NewFactorOut(ch, c.realNVPScale(l+1, height/2, width/2, ch/2))
	split.LearnedPrior = c.learnedPrior
	layers = append(layers, split, NewUnsqueeze2x2())
	return NewChain(layers...)
}
