package flowlib

import (
	"fmt"

	"github.com/gomlx/gomlx/ml/model"
	"github.com/gomlx/gomlx/support/exceptions"
)

// Hyperparameters read by [RealNVPConfig.FromScope], with their defaults.
const (
	// ParamRealNVPCouplings (int, default 8) is the number of affine coupling layers.
	ParamRealNVPCouplings = "realnvp_couplings"
	// ParamRealNVPHidden ([]int, default [64, 64]) are the hidden sizes of each conditioner MLP.
	ParamRealNVPHidden = "realnvp_hidden"
	// ParamRealNVPMask (string, default "half") is the mask pattern: "half" or "alternating".
	ParamRealNVPMask = "realnvp_mask"
	// ParamRealNVPActNorm (bool, default true) puts an ActNorm before every coupling layer.
	ParamRealNVPActNorm = "realnvp_actnorm"
	// ParamRealNVPActivation (string, default "relu") is the conditioners' activation.
	ParamRealNVPActivation = "realnvp_activation"
	// ParamRealNVPScaleBound (float64, default 3) bounds each coupling's log-scale.
	ParamRealNVPScaleBound = "realnvp_scale_bound"
)

// RealNVPConfig configures a RealNVP bijector for vector data; create it with
// [RealNVP] and finish with Done.
type RealNVPConfig struct {
	dim        int
	base       Distribution
	couplings  int
	hidden     []int
	mask       string
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
	return &RealNVPConfig{dim: dim, couplings: 8, hidden: []int{64, 64}, mask: "half",
		actNorm: true, activation: "relu", scaleBound: DefaultScaleBound}
}

// Base sets the base distribution (default [NewStandardNormal](dim)).
func (c *RealNVPConfig) Base(d Distribution) *RealNVPConfig { c.base = d; return c }

// FromScope reads the Param* hyperparameters from the scope (and its
// parents), keeping the current values for those not set.
func (c *RealNVPConfig) FromScope(scope *model.Scope) *RealNVPConfig {
	c.couplings = model.GetParamOr(scope, ParamRealNVPCouplings, c.couplings)
	c.hidden = model.GetParamOr(scope, ParamRealNVPHidden, c.hidden)
	c.mask = model.GetParamOr(scope, ParamRealNVPMask, c.mask)
	c.actNorm = model.GetParamOr(scope, ParamRealNVPActNorm, c.actNorm)
	c.activation = model.GetParamOr(scope, ParamRealNVPActivation, c.activation)
	c.scaleBound = model.GetParamOr(scope, ParamRealNVPScaleBound, c.scaleBound)
	return c
}

// NumCouplings sets the number of coupling layers.
func (c *RealNVPConfig) NumCouplings(n int) *RealNVPConfig { c.couplings = n; return c }

// Hidden sets the hidden layer sizes of every conditioner MLP.
func (c *RealNVPConfig) Hidden(sizes ...int) *RealNVPConfig { c.hidden = sizes; return c }

// Mask sets the mask pattern: "half" ([HalfMask]) or "alternating" ([AlternatingMask]).
func (c *RealNVPConfig) Mask(pattern string) *RealNVPConfig { c.mask = pattern; return c }

// ActNorm turns the ActNorm layers before each coupling on or off.
func (c *RealNVPConfig) ActNorm(on bool) *RealNVPConfig { c.actNorm = on; return c }

// Activation sets the conditioners' activation ("relu", "tanh", "silu", ...).
func (c *RealNVPConfig) Activation(name string) *RealNVPConfig { c.activation = name; return c }

// ScaleBound sets the bound on each coupling's log-scale (see [AffineCoupling]).
func (c *RealNVPConfig) ScaleBound(b float64) *RealNVPConfig { c.scaleBound = b; return c }

// Validate reports a configuration that cannot be built.
func (c *RealNVPConfig) Validate() error {
	switch {
	case c.dim < 2:
		return fmt.Errorf("RealNVP needs data of dimension at least 2 (a coupling layer splits the coordinates), got %d", c.dim)
	case c.couplings < 1:
		return fmt.Errorf("RealNVP needs at least 1 coupling layer, got %d", c.couplings)
	case c.mask != "half" && c.mask != "alternating":
		return fmt.Errorf("RealNVP mask pattern %q unknown: use \"half\" or \"alternating\"", c.mask)
	}
	for _, h := range c.hidden {
		if h < 1 {
			return fmt.Errorf("RealNVP hidden sizes must be positive, got %v", c.hidden)
		}
	}
	return nil
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
	if c.mask == "alternating" {
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
