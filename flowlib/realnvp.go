package flowlib

import (
	"fmt"
	"strings"

	"github.com/gomlx/gomlx/ml/layers/activation"
	"github.com/gomlx/gomlx/ml/model"
	"github.com/gomlx/gomlx/support/exceptions"
)

// Hyperparameters read by [RealNVPConfig.FromScope], with their defaults.
const (
	// ParamRealNVPCouplings (int, default 8) is the number of affine coupling layers.
	ParamRealNVPCouplings = "realnvp_couplings"
	// ParamRealNVPHidden ([]int, default [64, 64]) are the hidden sizes of each conditioner MLP.
	ParamRealNVPHidden = "realnvp_hidden"
	// ParamRealNVPMask (string, default "half") is the [MaskPattern]: "half" or "alternating".
	ParamRealNVPMask = "realnvp_mask"
	// ParamRealNVPActNorm (bool, default true) puts an ActNorm before every coupling layer.
	ParamRealNVPActNorm = "realnvp_actnorm"
	// ParamRealNVPActivation (string, default "relu") is the conditioners' activation.
	ParamRealNVPActivation = "realnvp_activation"
	// ParamRealNVPScaleBound (float64, default 3) bounds each coupling's log-scale.
	ParamRealNVPScaleBound = "realnvp_scale_bound"
)

// MaskPattern names the coupling masks of a vector RealNVP; stored as a
// plain string under [ParamRealNVPMask].
type MaskPattern string

// The mask patterns of [RealNVPConfig.Mask].
const (
	// MaskHalf transforms the second half of the coordinates given the first ([HalfMask]).
	MaskHalf MaskPattern = "half"
	// MaskAlternating transforms the odd coordinates given the even ones ([AlternatingMask]).
	MaskAlternating MaskPattern = "alternating"
)

// RealNVPConfig configures a RealNVP bijector for vector data; create it with
// [RealNVP] and finish with Done.
type RealNVPConfig struct {
	dim        int
	base       Distribution
	couplings  int
	hidden     []int
	mask       MaskPattern
	actNorm    bool
	activation string
	scaleBound float64
}

// RealNVP starts a RealNVP model (Dinh et al. 2016,
// https://arxiv.org/abs/1605.08803) for vectors of size dim: a stack of
// [AffineCoupling] layers whose masks alternate between a pattern and its
// flip, so that what one layer keeps the next one transforms, each optionally
// preceded by an [ActNorm]. The defaults: 8 couplings, conditioners MLP(64,
// 64) with ReLU, "half" masks, ActNorm on, log-scales bounded by 3, and a
// standard normal base.
func RealNVP(dim int) *RealNVPConfig {
	return &RealNVPConfig{dim: dim, couplings: 8, hidden: []int{64, 64}, mask: MaskHalf,
		actNorm: true, activation: "relu", scaleBound: DefaultScaleBound}
}

// Base sets the base distribution (default [NewStandardNormal](dim)).
func (c *RealNVPConfig) Base(d Distribution) *RealNVPConfig { c.base = d; return c }

// FromScope reads the ParamRealNVP* hyperparameters from the scope (and its
// parents), keeping the current values for those not set. (The base
// distribution is not among them: [ReadSpec] reads a whole description,
// base included, and checks it.)
func (c *RealNVPConfig) FromScope(scope *model.Scope) *RealNVPConfig {
	c.couplings = model.GetParamOr(scope, ParamRealNVPCouplings, c.couplings)
	c.hidden = model.GetParamOr(scope, ParamRealNVPHidden, c.hidden)
	c.mask = MaskPattern(model.GetParamOr(scope, ParamRealNVPMask, string(c.mask)))
	c.actNorm = model.GetParamOr(scope, ParamRealNVPActNorm, c.actNorm)
	c.activation = model.GetParamOr(scope, ParamRealNVPActivation, c.activation)
	c.scaleBound = model.GetParamOr(scope, ParamRealNVPScaleBound, c.scaleBound)
	return c
}

// NumCouplings sets the number of coupling layers.
func (c *RealNVPConfig) NumCouplings(n int) *RealNVPConfig { c.couplings = n; return c }

// Hidden sets the hidden layer sizes of every conditioner MLP.
func (c *RealNVPConfig) Hidden(sizes ...int) *RealNVPConfig { c.hidden = sizes; return c }

// Mask sets the mask pattern: [MaskHalf] or [MaskAlternating].
func (c *RealNVPConfig) Mask(pattern MaskPattern) *RealNVPConfig { c.mask = pattern; return c }

// ActNorm turns the ActNorm layers before each coupling on or off.
func (c *RealNVPConfig) ActNorm(on bool) *RealNVPConfig { c.actNorm = on; return c }

// Activation sets the conditioners' activation ("relu", "tanh", "silu", ...).
func (c *RealNVPConfig) Activation(name string) *RealNVPConfig { c.activation = name; return c }

// ScaleBound sets the bound on each coupling's log-scale (see [AffineCoupling]).
func (c *RealNVPConfig) ScaleBound(b float64) *RealNVPConfig { c.scaleBound = b; return c }

// Validate reports a configuration that cannot be built; an error about
// one hyperparameter is a [*ParamError] naming its key.
func (c *RealNVPConfig) Validate() error {
	switch {
	case c.dim < 2:
		return &ParamError{Key: ParamDim, Value: c.dim,
			Reason: "RealNVP needs data of dimension at least 2 (a coupling layer splits the coordinates)"}
	case c.couplings < 1:
		return &ParamError{Key: ParamRealNVPCouplings, Value: c.couplings, Reason: "must be at least 1"}
	case c.mask != MaskHalf && c.mask != MaskAlternating:
		return &ParamError{Key: ParamRealNVPMask, Value: string(c.mask),
			Reason: fmt.Sprintf("unknown mask; valid: %s, %s", MaskHalf, MaskAlternating)}
	case !(c.scaleBound > 0):
		return &ParamError{Key: ParamRealNVPScaleBound, Value: c.scaleBound, Reason: "must be positive"}
	}
	for _, h := range c.hidden {
		if h < 1 {
			return &ParamError{Key: ParamRealNVPHidden, Value: c.hidden, Reason: "hidden sizes must be positive"}
		}
	}
	return checkActivation(ParamRealNVPActivation, c.activation)
}

// checkActivation reports an activation name GoMLX does not know, which
// activation.FromName would panic on.
func checkActivation(key, name string) error {
	if _, alias := activation.Aliases[name]; alias {
		return nil
	}
	if _, err := activation.TypeString(name); err == nil {
		return nil
	}
	var names []string
	for _, n := range activation.TypeStrings() {
		names = append(names, strings.ToLower(n)) // GoMLX accepts its names in lower case too.
	}
	return &ParamError{Key: key, Value: name, Reason: "unknown activation; valid: " + strings.Join(names, ", ")}
}

// Done returns the RealNVP flow: the base distribution and the [Chain] of
// [RealNVPConfig.Bijector]. It panics on an invalid configuration; call
// Validate first to get an error instead.
func (c *RealNVPConfig) Done() *Flow {
	chain := c.Bijector()
	base := c.base
	if base == nil {
		base = NewStandardNormal(c.dim)
	}
	return &Flow{Base: base, Bijector: chain}
}

// Bijector returns the RealNVP bijector alone, a [Chain], to compose into
// another flow. It panics on an invalid configuration, like Done.
func (c *RealNVPConfig) Bijector() *Chain {
	if err := c.Validate(); err != nil {
		exceptions.Panicf("flowlib: %v", err)
	}
	mask := HalfMask(c.dim)
	if c.mask == MaskAlternating {
		mask = AlternatingMask(c.dim)
	}
	conditioner := MLP(c.hidden...).Activation(c.activation).Done()
	var layers []Bijector
	for range c.couplings {
		if c.actNorm {
			layers = append(layers, NewActNorm(c.dim))
		}
		coupling := NewAffineCoupling(mask, conditioner)
		coupling.ScaleBound = c.scaleBound
		layers = append(layers, coupling)
		mask = mask.Flip() // Swap the halves: the next layer transforms what this one kept.
	}
	return NewChain(layers...)
}
