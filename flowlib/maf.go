package flowlib

import (
	"fmt"
	"slices"

	"github.com/gomlx/gomlx/ml/model"
	"github.com/gomlx/gomlx/support/exceptions"
)

// Hyperparameters read by [VectorFlowConfig.FromScope], with their
// defaults. The models MAF, IAF and NSF share them; a model's description
// holds only those its kind uses.
const (
	// ParamVectorFlowLayers (int, default 5) is the number of flow layers.
	ParamVectorFlowLayers = "vector_flow_layers"
	// ParamVectorFlowHidden ([]int, default [64, 64]) are the hidden sizes of each conditioner.
	ParamVectorFlowHidden = "vector_flow_hidden"
	// ParamVectorFlowActivation (string, default "relu") is the conditioners' activation.
	ParamVectorFlowActivation = "vector_flow_activation"
	// ParamVectorFlowPermutation (string, default "reverse") is the [PermutationKind] between layers.
	ParamVectorFlowPermutation = "vector_flow_permutation"
	// ParamVectorFlowSeed (int, default 0) seeds the random permutations (layer i uses seed + i).
	ParamVectorFlowSeed = "vector_flow_seed"
	// ParamVectorFlowActNorm (bool, default false) puts an ActNorm before every layer.
	ParamVectorFlowActNorm = "vector_flow_actnorm"
	// ParamVectorFlowScaleBound (float64, default 3) bounds the log-scale of MAF's and IAF's affine transforms.
	ParamVectorFlowScaleBound = "vector_flow_scale_bound"
	// ParamVectorFlowWrapper (string, default "autoregressive") is NSF's [WrapperKind].
	ParamVectorFlowWrapper = "vector_flow_wrapper"
	// ParamVectorFlowBins (int, default 8) is the number of bins of NSF's splines.
	ParamVectorFlowBins = "vector_flow_bins"
	// ParamVectorFlowBound (float64, default 5) is B: NSF's splines act on [−B, B].
	ParamVectorFlowBound = "vector_flow_bound"
)

// PermutationKind names the permutation between the layers of a vector
// flow; stored as a plain string under [ParamVectorFlowPermutation].
type PermutationKind string

// The permutations of [VectorFlowConfig.Permutation].
const (
	// PermuteReverse reverses the coordinates ([ReversePermutation]).
	PermuteReverse PermutationKind = "reverse"
	// PermuteRandom is a fixed random permutation per layer ([RandomPermutation]).
	PermuteRandom PermutationKind = "random"
)

// WrapperKind names what decides what conditions what in an NSF layer;
// stored as a plain string under [ParamVectorFlowWrapper].
type WrapperKind string

// The wrappers of [VectorFlowConfig.Wrapper].
const (
	// WrapAutoregressive is a MAF layer with a MADE conditioner (NSF-AR).
	WrapAutoregressive WrapperKind = "autoregressive"
	// WrapCoupling is a coupling layer with an MLP conditioner and a half mask (NSF-C).
	WrapCoupling WrapperKind = "coupling"
)

// VectorFlowConfig configures MAF, IAF and NSF for vector data; create it
// with [MAF], [IAF] or [NSF] and finish with Done. Every layer is a
// conditioner, a transform and a wrapper:
//
//	MAF:  MADE + Affine + autoregressive (one-pass density)
//	IAF:  MADE + Affine + inverse autoregressive (one-pass sampling)
//	NSF:  MADE + RationalQuadraticSpline + autoregressive (NSF-AR), or
//	      MLP + RationalQuadraticSpline + coupling (NSF-C)
//
// with a permutation between consecutive layers, so that each coordinate
// is conditioned on the others in some layer.
type VectorFlowConfig struct {
	kind        ModelKind
	dim         int
	base        Distribution
	layers      int
	hidden      []int
	activation  string
	permutation PermutationKind
	seed        int
	actNorm     bool
	scaleBound  float64
	wrapper     WrapperKind
	bins        int
	bound       float64
}

func newVectorFlow(kind ModelKind, dim int) *VectorFlowConfig {
	return &VectorFlowConfig{kind: kind, dim: dim, layers: 5, hidden: []int{64, 64}, activation: "relu",
		permutation: PermuteReverse, scaleBound: DefaultScaleBound, wrapper: WrapAutoregressive,
		bins: DefaultSplineBins, bound: DefaultSplineBound}
}

// MAF starts a masked autoregressive flow (Papamakarios et al. 2017,
// https://arxiv.org/abs/1705.07057) for vectors of size dim: layers of
// [NewMAFLayer] with a [MADE] conditioner and the [Affine] transform, whose
// density takes one pass per layer and sampling dim passes. The defaults:
// 5 layers, MADE(64, 64) with ReLU, reversing permutations between them,
// no ActNorm, log-scales bounded by 3, a standard normal base.
func MAF(dim int) *VectorFlowConfig { return newVectorFlow(ModelMAF, dim) }

// IAF starts an inverse autoregressive flow (Kingma et al. 2016,
// https://arxiv.org/abs/1606.04934): MAF's layers in the other direction
// ([NewIAFLayer]), so sampling takes one pass per layer and the density dim
// passes. The defaults are MAF's.
func IAF(dim int) *VectorFlowConfig { return newVectorFlow(ModelIAF, dim) }

// NSF starts a neural spline flow (Durkan et al. 2019,
// https://arxiv.org/abs/1906.04032): layers with the
// [RationalQuadraticSpline] transform, autoregressive (NSF-AR, the default)
// or coupling (NSF-C, see [VectorFlowConfig.Wrapper]). The defaults: 5
// layers, conditioners of hidden sizes 64, 64 with ReLU, 8 bins on [−5, 5],
// reversing permutations, no ActNorm, a standard normal base.
func NSF(dim int) *VectorFlowConfig { return newVectorFlow(ModelNSF, dim) }

// Base sets the base distribution (default [NewStandardNormal](dim)).
func (c *VectorFlowConfig) Base(d Distribution) *VectorFlowConfig { c.base = d; return c }

// NumLayers sets the number of flow layers.
func (c *VectorFlowConfig) NumLayers(n int) *VectorFlowConfig { c.layers = n; return c }

// Hidden sets the hidden layer sizes of every conditioner.
func (c *VectorFlowConfig) Hidden(sizes ...int) *VectorFlowConfig {
	c.hidden = slices.Clone(sizes)
	return c
}

// Activation sets the conditioners' activation ("relu", "tanh", "silu", ...).
func (c *VectorFlowConfig) Activation(name string) *VectorFlowConfig { c.activation = name; return c }

// Permutation sets the permutation between layers, [PermuteReverse] or
// [PermuteRandom] (seeded by seed + layer index).
func (c *VectorFlowConfig) Permutation(kind PermutationKind, seed int) *VectorFlowConfig {
	c.permutation, c.seed = kind, seed
	return c
}

// ActNorm turns an ActNorm before every layer on or off.
func (c *VectorFlowConfig) ActNorm(on bool) *VectorFlowConfig { c.actNorm = on; return c }

// ScaleBound sets the bound on the affine log-scale of MAF and IAF (see [Affine]).
func (c *VectorFlowConfig) ScaleBound(b float64) *VectorFlowConfig { c.scaleBound = b; return c }

// Wrapper sets NSF's wrapper: [WrapAutoregressive] or [WrapCoupling].
func (c *VectorFlowConfig) Wrapper(w WrapperKind) *VectorFlowConfig { c.wrapper = w; return c }

// Bins sets the number of bins K of NSF's splines.
func (c *VectorFlowConfig) Bins(k int) *VectorFlowConfig { c.bins = k; return c }

// Bound sets the interval [−B, B] of NSF's splines.
func (c *VectorFlowConfig) Bound(b float64) *VectorFlowConfig { c.bound = b; return c }

// FromScope reads the ParamVectorFlow* hyperparameters from the scope (and
// its parents), keeping the current values for those not set.
func (c *VectorFlowConfig) FromScope(scope *model.Scope) *VectorFlowConfig {
	c.layers = model.GetParamOr(scope, ParamVectorFlowLayers, c.layers)
	c.hidden = model.GetParamOr(scope, ParamVectorFlowHidden, c.hidden)
	c.activation = model.GetParamOr(scope, ParamVectorFlowActivation, c.activation)
	c.permutation = PermutationKind(model.GetParamOr(scope, ParamVectorFlowPermutation, string(c.permutation)))
	c.seed = model.GetParamOr(scope, ParamVectorFlowSeed, c.seed)
	c.actNorm = model.GetParamOr(scope, ParamVectorFlowActNorm, c.actNorm)
	c.scaleBound = model.GetParamOr(scope, ParamVectorFlowScaleBound, c.scaleBound)
	c.wrapper = WrapperKind(model.GetParamOr(scope, ParamVectorFlowWrapper, string(c.wrapper)))
	c.bins = model.GetParamOr(scope, ParamVectorFlowBins, c.bins)
	c.bound = model.GetParamOr(scope, ParamVectorFlowBound, c.bound)
	return c
}

// Kind is the model: [ModelMAF], [ModelIAF] or [ModelNSF].
func (c *VectorFlowConfig) Kind() ModelKind { return c.kind }

// coupling reports whether the layers are couplings (NSF-C).
func (c *VectorFlowConfig) coupling() bool { return c.kind == ModelNSF && c.wrapper == WrapCoupling }

// Validate reports a configuration that cannot be built; an error about
// one hyperparameter is a [*ParamError] naming its key.
func (c *VectorFlowConfig) Validate() error {
	switch {
	case c.kind != ModelMAF && c.kind != ModelIAF && c.kind != ModelNSF:
		return &ParamError{Key: ParamModel, Value: string(c.kind), Reason: "not a vector flow of MAF, IAF, NSF"}
	case c.dim < 1:
		return &ParamError{Key: ParamDim, Value: c.dim, Reason: "must be at least 1"}
	case c.layers < 1:
		return &ParamError{Key: ParamVectorFlowLayers, Value: c.layers, Reason: "must be at least 1"}
	case c.permutation != PermuteReverse && c.permutation != PermuteRandom:
		return &ParamError{Key: ParamVectorFlowPermutation, Value: string(c.permutation),
			Reason: fmt.Sprintf("unknown permutation; valid: %s, %s", PermuteReverse, PermuteRandom)}
	case c.seed < 0:
		return &ParamError{Key: ParamVectorFlowSeed, Value: c.seed, Reason: "must not be negative"}
	}
	for _, h := range c.hidden {
		if h < 1 {
			return &ParamError{Key: ParamVectorFlowHidden, Value: c.hidden, Reason: "hidden sizes must be positive"}
		}
	}
	if c.kind != ModelNSF {
		if !(c.scaleBound > 0) {
			return &ParamError{Key: ParamVectorFlowScaleBound, Value: c.scaleBound, Reason: "must be positive"}
		}
		return checkActivation(ParamVectorFlowActivation, c.activation)
	}
	switch {
	case c.wrapper != WrapAutoregressive && c.wrapper != WrapCoupling:
		return &ParamError{Key: ParamVectorFlowWrapper, Value: string(c.wrapper),
			Reason: fmt.Sprintf("unknown wrapper; valid: %s, %s", WrapAutoregressive, WrapCoupling)}
	case c.wrapper == WrapCoupling && c.dim < 2:
		return &ParamError{Key: ParamDim, Value: c.dim,
			Reason: "a coupling NSF needs data of dimension at least 2 (a coupling layer splits the coordinates); use the autoregressive wrapper"}
	case c.bins < 1:
		return &ParamError{Key: ParamVectorFlowBins, Value: c.bins, Reason: "must be at least 1"}
	case c.bins > 1/DefaultSplineMinBin-1:
		return &ParamError{Key: ParamVectorFlowBins, Value: c.bins, Reason: "too many bins for the minimum bin size 1e-3"}
	case !(c.bound > 0):
		return &ParamError{Key: ParamVectorFlowBound, Value: c.bound, Reason: "must be positive"}
	}
	return checkActivation(ParamVectorFlowActivation, c.activation)
}

// Done returns the flow: the base distribution and the [Chain] of
// [VectorFlowConfig.Bijector]. It panics on an invalid configuration; call
// Validate first to get an error instead.
func (c *VectorFlowConfig) Done() *Flow {
	chain := c.Bijector()
	base := c.base
	if base == nil {
		base = NewStandardNormal(c.dim)
	}
	return &Flow{Base: base, Bijector: chain}
}

// Bijector returns the flow's bijector alone, a [Chain], to compose into
// another flow. It panics on an invalid configuration, like Done.
func (c *VectorFlowConfig) Bijector() *Chain {
	if err := c.Validate(); err != nil {
		exceptions.Panicf("flowlib: %v", err)
	}
	var layers []Bijector
	for i := range c.layers {
		if i > 0 {
			if c.permutation == PermuteRandom {
				layers = append(layers, RandomPermutation(c.dim, uint64(c.seed+i)))
			} else {
				layers = append(layers, NewReversePermutation())
			}
		}
		if c.actNorm {
			layers = append(layers, NewActNorm(c.dim))
		}
		layers = append(layers, c.layer())
	}
	return NewChain(layers...)
}

// layer is one flow layer of the model.
func (c *VectorFlowConfig) layer() Bijector {
	if c.coupling() {
		mlp := MLP(c.hidden...).Activation(c.activation).Done()
		// The permutations between layers move kept and transformed values.
		return NewCoupling(HalfMask(c.dim), mlp, c.spline())
	}
	made := MADE(c.hidden...).Activation(c.activation).Done()
	switch c.kind {
	case ModelIAF:
		return NewIAFLayer(made, Affine{ScaleBound: c.scaleBound})
	case ModelNSF:
		return NewMAFLayer(made, c.spline())
	}
	return NewMAFLayer(made, Affine{ScaleBound: c.scaleBound})
}

func (c *VectorFlowConfig) spline() RationalQuadraticSpline {
	return RationalQuadraticSpline{Bins: c.bins, Bound: c.bound}
}

// SetParams writes the model's full description into scope's parameters
// (normally the root scope of the model's store): [ParamModel], [ParamDim],
// [ParamBase] (and [ParamComponents] for a mixture) and the
// ParamVectorFlow* keys its kind uses, so that checkpoints carry it and
// [Load] rebuilds the flow. The base must be one a [BaseKind] names. An
// invalid configuration writes nothing and returns the error of Validate.
func (c *VectorFlowConfig) SetParams(scope *model.Scope) error {
	params, err := c.params()
	return writeParams(scope, params, err)
}

func (c *VectorFlowConfig) params() ([]specParam, error) {
	if err := c.Validate(); err != nil {
		return nil, err
	}
	kind, components, err := baseKind(c.base)
	if err != nil {
		return nil, err
	}
	if event := c.base; event != nil && !slices.Equal(event.EventShape(), []int{c.dim}) {
		return nil, fmt.Errorf("flowlib: the base distribution's event shape %v is not the model's [%d]", event.EventShape(), c.dim)
	}
	params := []specParam{
		{ParamModel, string(c.kind)},
		{ParamDim, c.dim},
		{ParamBase, string(kind)},
	}
	if kind == BaseMixture {
		params = append(params, specParam{ParamComponents, components})
	}
	params = append(params,
		specParam{ParamVectorFlowLayers, c.layers},
		specParam{ParamVectorFlowHidden, slices.Clone(c.hidden)},
		specParam{ParamVectorFlowActivation, c.activation},
		specParam{ParamVectorFlowPermutation, string(c.permutation)},
		specParam{ParamVectorFlowSeed, c.seed},
		specParam{ParamVectorFlowActNorm, c.actNorm},
	)
	if c.kind == ModelNSF {
		return append(params,
			specParam{ParamVectorFlowWrapper, string(c.wrapper)},
			specParam{ParamVectorFlowBins, c.bins},
			specParam{ParamVectorFlowBound, c.bound},
		), nil
	}
	return append(params, specParam{ParamVectorFlowScaleBound, c.scaleBound}), nil
}

// readParams reads the keys that params writes.
func (c *VectorFlowConfig) readParams(r *paramReader) {
	c.base = readBase(r, c.dim)
	c.layers = readParam[int](r, ParamVectorFlowLayers)
	c.hidden = readParam[[]int](r, ParamVectorFlowHidden)
	c.activation = readParam[string](r, ParamVectorFlowActivation)
	c.permutation = PermutationKind(readParam[string](r, ParamVectorFlowPermutation))
	c.seed = readParam[int](r, ParamVectorFlowSeed)
	c.actNorm = readParam[bool](r, ParamVectorFlowActNorm)
	if c.kind == ModelNSF {
		c.wrapper = WrapperKind(readParam[string](r, ParamVectorFlowWrapper))
		c.bins = readParam[int](r, ParamVectorFlowBins)
		c.bound = readParam[float64](r, ParamVectorFlowBound)
	} else {
		c.scaleBound = readParam[float64](r, ParamVectorFlowScaleBound)
	}
}

// String describes the model in one line, e.g. "maf, dim 2, 5 layers,
// hidden 64,64, activation relu, reverse permutations, actnorm off, base normal".
func (c *VectorFlowConfig) String() string {
	kind, components, _ := baseKind(c.base)
	base := string(kind)
	if kind == BaseMixture {
		base = fmt.Sprintf("mixture of %d Gaussians", components)
	}
	actNorm := "off"
	if c.actNorm {
		actNorm = "on"
	}
	extra := ""
	if c.kind == ModelNSF {
		extra = fmt.Sprintf(", %s, %d bins on [-%g, %g]", c.wrapper, c.bins, c.bound, c.bound)
	}
	perm := string(c.permutation)
	if c.permutation == PermuteRandom {
		perm = fmt.Sprintf("random (seed %d)", c.seed)
	}
	return fmt.Sprintf("%s, dim %d, %s, hidden %s, activation %s%s, %s permutations, actnorm %s, base %s",
		c.kind, c.dim, plural(c.layers, "layer"), joinInts(c.hidden), c.activation, extra, perm, actNorm, base)
}
