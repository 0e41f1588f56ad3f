package flowlib

import (
	"cmp"
	"errors"
	"fmt"
	"math"
	"os"
	"slices"
	"strconv"
	"strings"

	"github.com/gomlx/gomlx/ml/model"
	"github.com/gomlx/gomlx/ml/model/checkpoint"
	"github.com/gomlx/gomlx/ml/train/optimizer"
	"github.com/gomlx/gomlx/support/exceptions"
)

// Keys of a model's description besides the builders' own hyperparameters
// (ParamRealNVP*, ParamImageFlow*). SetParams writes them into the root
// scope of a store; checkpoints save store parameters along with the
// weights, so a checkpoint carries what [Load] needs to rebuild its flow.
// The "flowbook_" prefix is the one flowbook's command line has always
// written: its older checkpoints load.
const (
	// ParamModel (string) is the [ModelKind]: "realnvp", "glow", "maf", "iaf", "nsf",
	// "resflow", "ffjord" or "flowmatch".
	ParamModel = "flowbook_model"
	// ParamDim (int) is the size of one example (height·width·channels for images).
	ParamDim = "flowbook_dim"
	// ParamShape ([]int) is [height, width, channels] of an image model;
	// absent for a vector model.
	ParamShape = "flowbook_shape"
	// ParamBase (string) is the [BaseKind] of a vector model.
	ParamBase = "flowbook_base"
	// ParamComponents (int) is the number of Gaussians of a mixture base;
	// absent or 0 for the other bases.
	ParamComponents = "flowbook_components"
)

// ModelKind names a model builder; stored as a plain string under [ParamModel].
type ModelKind string

// The models [NewSpec] and [Load] know.
const (
	// ModelRealNVP is [RealNVP] for vectors and [RealNVPImage] for images.
	ModelRealNVP ModelKind = "realnvp"
	// ModelGlow is [Glow], for images only.
	ModelGlow ModelKind = "glow"
	// ModelMAF is [MAF], for vectors only.
	ModelMAF ModelKind = "maf"
	// ModelIAF is [IAF], for vectors only.
	ModelIAF ModelKind = "iaf"
	// ModelNSF is [NSF] (autoregressive or coupling), for vectors only.
	ModelNSF ModelKind = "nsf"
	// ModelResFlow is [ResidualFlow], for vectors only.
	ModelResFlow ModelKind = "resflow"
	// ModelFFJORD is [FFJORD], a continuous flow trained by maximum likelihood, for vectors only.
	ModelFFJORD ModelKind = "ffjord"
	// ModelFlowMatch is [FlowMatching], a continuous flow trained by flow matching, for vectors only.
	ModelFlowMatch ModelKind = "flowmatch"
)

// ModelKinds lists the models, in the order messages show them.
var ModelKinds = []ModelKind{ModelRealNVP, ModelGlow, ModelMAF, ModelIAF, ModelNSF, ModelResFlow, ModelFFJORD, ModelFlowMatch}

// isVectorFlow reports whether kind is one of the [VectorFlowConfig] models.
func isVectorFlow(kind ModelKind) bool {
	return kind == ModelMAF || kind == ModelIAF || kind == ModelNSF
}

// isVectorOnly reports whether kind is a model of vectors only.
func isVectorOnly(kind ModelKind) bool { return isVectorFlow(kind) || newOtherModel(kind, 1) != nil }

// BaseKind names a base distribution of a vector RealNVP that a description
// can store; stored as a plain string under [ParamBase]. Image models always
// have a standard normal base.
type BaseKind string

// The base distributions of a stored vector model.
const (
	// BaseNormal is N(0, I) ([NewStandardNormal]).
	BaseNormal BaseKind = "normal"
	// BaseDiagonal is a learnable diagonal Gaussian ([NewDiagonalGaussian]).
	BaseDiagonal BaseKind = "diag"
	// BaseMixture is a learnable mixture of [ParamComponents] Gaussians ([NewGaussianMixture]).
	BaseMixture BaseKind = "mixture"
)

// BaseKinds lists the base distributions, in the order messages show them.
var BaseKinds = []BaseKind{BaseNormal, BaseDiagonal, BaseMixture}

// DefaultMixtureComponents is the number of Gaussians of a mixture base
// chosen with [Spec.WithBase] without a count.
const DefaultMixtureComponents = 8

// ParamError reports a model parameter that is missing, of the wrong type,
// or of a value the model cannot be built with. Key is the Param* key, so
// that a program that sets parameters from its own flags can name the flag.
type ParamError struct {
	Key     string
	Value   any    // the offending value; nil when Missing
	Missing bool   // the parameter is not there at all
	Reason  string // what is wrong and what would be right, e.g. "must be at least 1"
}

// Error implements error: `flowlib: parameter "KEY" is VALUE: REASON`.
func (e *ParamError) Error() string {
	if e.Missing {
		msg := fmt.Sprintf("flowlib: parameter %q is missing", e.Key)
		if e.Reason != "" {
			msg += ": " + e.Reason
		}
		return msg
	}
	return fmt.Sprintf("flowlib: parameter %q is %s: %s", e.Key, FormatParam(e.Value), e.Reason)
}

// FormatParam writes a parameter value the way messages show it: strings
// quoted, slices as [1 2].
func FormatParam(value any) string {
	if s, ok := value.(string); ok {
		return strconv.Quote(s)
	}
	return fmt.Sprint(value)
}

// Spec is a model's complete description, its architecture: which builder,
// the shape of the data, and every hyperparameter the builder reads. The
// weights are not part of it. Create one with [NewSpec] (a builder's
// defaults) or [ReadSpec] (from a scope's parameters, as a checkpoint
// restores them), and build its flow with Flow.
type Spec struct {
	kind    ModelKind
	realNVP *RealNVPConfig    // a vector RealNVP, or nil
	vector  *VectorFlowConfig // a MAF, IAF or NSF, or nil
	image   *ImageFlowConfig  // an image model, or nil
	other   otherModel        // a resflow, ffjord or flowmatch model, or nil
}

// NewSpec returns the description of a model with its builder's defaults:
// ModelRealNVP, ModelMAF, ModelIAF or ModelNSF on vectors (a shape of one
// dimension), or ModelRealNVP or ModelGlow on images (shape [height, width,
// channels]).
func NewSpec(kind ModelKind, shape ...int) (*Spec, error) {
	if !slices.Contains(ModelKinds, kind) {
		return nil, &ParamError{Key: ParamModel, Value: string(kind), Reason: "unknown model; valid: " + joinKinds(ModelKinds)}
	}
	switch {
	case len(shape) == 1 && kind == ModelGlow:
		return nil, &ParamError{Key: ParamModel, Value: string(kind),
			Reason: "glow is a model of images, not of vectors; use realnvp for vectors"}
	case len(shape) == 1 && isVectorFlow(kind):
		return &Spec{kind: kind, vector: newVectorFlow(kind, shape[0])}, nil
	case len(shape) == 1 && newOtherModel(kind, shape[0]) != nil:
		return &Spec{kind: kind, other: newOtherModel(kind, shape[0])}, nil
	case len(shape) == 1:
		return &Spec{kind: kind, realNVP: RealNVP(shape[0])}, nil
	case len(shape) == 3 && isVectorOnly(kind):
		return nil, &ParamError{Key: ParamModel, Value: string(kind),
			Reason: string(kind) + " is a model of vectors, not of images; use glow or realnvp for images"}
	case len(shape) == 3 && kind == ModelGlow:
		return &Spec{kind: kind, image: Glow(shape[0], shape[1], shape[2])}, nil
	case len(shape) == 3:
		return &Spec{kind: kind, image: RealNVPImage(shape[0], shape[1], shape[2])}, nil
	}
	return nil, &ParamError{Key: ParamShape, Value: shape,
		Reason: "want [dim] for vectors or [height, width, channels] for images"}
}

// Kind is the model's builder.
func (s *Spec) Kind() ModelKind { return s.kind }

// IsImage reports whether the model is one of images.
func (s *Spec) IsImage() bool { return s.image != nil }

// Dim is the size of one example.
func (s *Spec) Dim() int {
	if s.image != nil {
		return s.image.height * s.image.width * s.image.channels
	}
	if s.vector != nil {
		return s.vector.dim
	}
	if s.other != nil {
		return s.other.dimension()
	}
	return s.realNVP.dim
}

// ImageShape is [height, width, channels] of an image model, nil for a vector model.
func (s *Spec) ImageShape() []int {
	if s.image == nil {
		return nil
	}
	return []int{s.image.height, s.image.width, s.image.channels}
}

// Base is the base distribution of a vector model ([BaseNormal] for an image model).
func (s *Spec) Base() BaseKind {
	var base Distribution
	switch {
	case s.vector != nil:
		base = s.vector.base
	case s.other != nil:
		base = s.other.baseDistribution()
	case s.realNVP != nil:
		base = s.realNVP.base
	}
	kind, _, _ := baseKind(base)
	return kind
}

// Validate reports a description that cannot be built; an error about one
// parameter is a [*ParamError].
func (s *Spec) Validate() error {
	if s.image != nil {
		return s.image.Validate()
	}
	if s.vector != nil {
		if _, _, err := baseKind(s.vector.base); err != nil {
			return err
		}
		return s.vector.Validate()
	}
	if s.other != nil {
		if _, _, err := baseKind(s.other.baseDistribution()); err != nil {
			return err
		}
		return s.other.Validate()
	}
	if _, _, err := baseKind(s.realNVP.base); err != nil {
		return err
	}
	return s.realNVP.Validate()
}

// Flow builds the flow the spec describes, or returns the error of Validate.
// Building only declares the layers: their variables are created, or
// restored from a checkpoint, when a graph first uses them.
func (s *Spec) Flow() (*Flow, error) {
	if err := s.Validate(); err != nil {
		return nil, err
	}
	if s.image != nil {
		return s.image.Done(), nil
	}
	if s.vector != nil {
		return s.vector.Done(), nil
	}
	if s.other != nil {
		return s.other.Done(), nil
	}
	return s.realNVP.Done(), nil
}

// Params returns the description as parameters, keyed by their Param* keys:
// what SetParams writes.
func (s *Spec) Params() (map[string]any, error) {
	var params []specParam
	var err error
	if s.image != nil {
		params, err = s.image.params()
	} else if s.vector != nil {
		params, err = s.vector.params()
	} else if s.other != nil {
		params, err = s.other.params()
	} else {
		params, err = s.realNVP.params()
	}
	if err != nil {
		return nil, err
	}
	m := make(map[string]any, len(params))
	for _, p := range params {
		m[p.key] = p.value
	}
	return m, nil
}

// SetParams writes the description into scope's parameters (normally the
// root scope of the model's store), where checkpoints save it and
// [ReadSpec] finds it. An invalid description writes nothing and returns
// the error of Validate.
func (s *Spec) SetParams(scope *model.Scope) error {
	if s.image != nil {
		return s.image.SetParams(scope)
	}
	if s.vector != nil {
		return s.vector.SetParams(scope)
	}
	if s.other != nil {
		params, err := s.other.params()
		return writeParams(scope, params, err)
	}
	return s.realNVP.SetParams(scope)
}

// String describes the model in one line, for logs.
func (s *Spec) String() string {
	onOff := func(on bool) string {
		if on {
			return "on"
		}
		return "off"
	}
	if c := s.image; c != nil {
		layers := plural(c.steps, "step")
		extra := "1×1 conv " + string(c.invConv)
		if !c.glow {
			layers = plural(c.steps, "coupling")
			extra = "actnorm " + onOff(c.actNorm)
		}
		if c.couplingScale != ScaleContracting {
			extra += ", " + string(c.couplingScale) + " coupling scale"
		} else if c.minScale > 0 {
			extra += fmt.Sprintf(", min scale %g", c.minScale)
		}
		return fmt.Sprintf("%s, images %s, %s of %s, hidden %s, %s, learned prior %s, %s dequantization, logit alpha %g",
			s.kind, fmt.Sprintf("%d×%d×%d", c.height, c.width, c.channels), plural(c.levels, "level"), layers, joinInts(c.hidden),
			extra, onOff(c.learnedPrior), c.dequantization, c.alpha)
	}
	if s.vector != nil {
		return s.vector.String()
	}
	if s.other != nil {
		return s.other.String()
	}
	c := s.realNVP
	kind, components, _ := baseKind(c.base)
	base := string(kind)
	if kind == BaseMixture {
		base = fmt.Sprintf("mixture of %d Gaussians", components)
	}
	return fmt.Sprintf("%s, dim %d, %d couplings, hidden %s, mask %s, actnorm %s, activation %s, base %s",
		s.kind, c.dim, c.couplings, joinInts(c.hidden), c.mask, onOff(c.actNorm), c.activation, base)
}

// plural writes a count and a noun, like "1 level" or "2 levels".
func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}

// joinInts formats sizes as "64,64".
func joinInts(sizes []int) string {
	parts := make([]string, len(sizes))
	for i, v := range sizes {
		parts[i] = strconv.Itoa(v)
	}
	return strings.Join(parts, ",")
}

// joinKinds lists named kinds for a message: "realnvp, glow".
func joinKinds[K ~string](kinds []K) string {
	names := make([]string, len(kinds))
	for i, k := range kinds {
		names[i] = string(k)
	}
	return strings.Join(names, ", ")
}

// specParam is one parameter of a description.
type specParam struct {
	key   string
	value any
}

// writeParams validates, then writes params into scope.
func writeParams(scope *model.Scope, params []specParam, err error) error {
	if err != nil {
		return err
	}
	for _, p := range params {
		scope.SetParam(p.key, p.value)
	}
	return nil
}

// SetParams writes the model's full description into scope's parameters
// (normally the root scope of the model's store): [ParamModel], [ParamDim],
// [ParamBase] (and [ParamComponents] for a mixture) and every
// ParamRealNVP* key, so that checkpoints carry it and [Load] rebuilds the
// flow from them alone. The base must be one a [BaseKind] names:
// StandardNormal, DiagonalGaussian or GaussianMixture of the model's
// dimension (a mixture's InitSpread is not stored: it only shapes the
// initial weights). An invalid configuration writes nothing and returns
// the error of Validate.
func (c *RealNVPConfig) SetParams(scope *model.Scope) error {
	params, err := c.params()
	return writeParams(scope, params, err)
}

func (c *RealNVPConfig) params() ([]specParam, error) {
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
		{ParamModel, string(ModelRealNVP)},
		{ParamDim, c.dim},
		{ParamBase, string(kind)},
	}
	if kind == BaseMixture {
		params = append(params, specParam{ParamComponents, components})
	}
	return append(params,
		specParam{ParamRealNVPCouplings, c.couplings},
		specParam{ParamRealNVPHidden, slices.Clone(c.hidden)},
		specParam{ParamRealNVPMask, string(c.mask)},
		specParam{ParamRealNVPActNorm, c.actNorm},
		specParam{ParamRealNVPActivation, c.activation},
		specParam{ParamRealNVPScaleBound, c.scaleBound},
	), nil
}

// baseKind names a base distribution (nil is the default, N(0, I)), with
// its number of components for a mixture.
func baseKind(base Distribution) (kind BaseKind, components int, err error) {
	switch b := base.(type) {
	case nil, *StandardNormal:
		return BaseNormal, 0, nil
	case *DiagonalGaussian:
		return BaseDiagonal, 0, nil
	case *GaussianMixture:
		if b.Components < 1 {
			return BaseMixture, b.Components, &ParamError{Key: ParamComponents, Value: b.Components,
				Reason: "a mixture base needs at least 1 component"}
		}
		return BaseMixture, b.Components, nil
	}
	return "", 0, fmt.Errorf("flowlib: a base distribution %T cannot be stored in a model description: "+
		"use NewStandardNormal, NewDiagonalGaussian or NewGaussianMixture", base)
}

// newBase is the base distribution of a kind for vectors of size dim.
func newBase(kind BaseKind, components, dim int) Distribution {
	switch kind {
	case BaseDiagonal:
		return NewDiagonalGaussian(dim)
	case BaseMixture:
		return NewGaussianMixture(components, dim)
	}
	return NewStandardNormal(dim)
}

// WithBase sets the base distribution of a vector model: kind with, for a
// mixture, components Gaussians (0 for [DefaultMixtureComponents]). An
// image model's base is always a standard normal: WithBase returns an error
// for another kind.
func (s *Spec) WithBase(kind BaseKind, components int) error {
	if !slices.Contains(BaseKinds, kind) {
		return &ParamError{Key: ParamBase, Value: string(kind), Reason: "unknown base distribution; valid: " + joinKinds(BaseKinds)}
	}
	if s.image != nil {
		if kind != BaseNormal {
			return &ParamError{Key: ParamBase, Value: string(kind), Reason: "image models have a standard normal base"}
		}
		return nil
	}
	if kind == BaseMixture && components == 0 {
		components = DefaultMixtureComponents
	}
	if kind == BaseMixture && components < 1 {
		return &ParamError{Key: ParamComponents, Value: components, Reason: "a mixture base needs at least 1 component"}
	}
	if s.vector != nil {
		s.vector.base = newBase(kind, components, s.vector.dim)
		return nil
	}
	if s.other != nil {
		s.other.setBase(newBase(kind, components, s.other.dimension()))
		return nil
	}
	s.realNVP.base = newBase(kind, components, s.realNVP.dim)
	return nil
}

// SetParams writes the model's full description into scope's parameters
// (normally the root scope of the model's store): [ParamModel], [ParamDim],
// [ParamShape] and every ParamImageFlow* key, so that checkpoints carry it
// and [Load] rebuilds the flow from them alone. An invalid configuration
// writes nothing and returns the error of Validate.
func (c *ImageFlowConfig) SetParams(scope *model.Scope) error {
	params, err := c.params()
	return writeParams(scope, params, err)
}

func (c *ImageFlowConfig) params() ([]specParam, error) {
	if err := c.Validate(); err != nil {
		return nil, err
	}
	return []specParam{
		{ParamModel, string(c.kind())},
		{ParamDim, c.height * c.width * c.channels},
		{ParamShape, []int{c.height, c.width, c.channels}},
		{ParamImageFlowLevels, c.levels},
		{ParamImageFlowSteps, c.steps},
		{ParamImageFlowHidden, slices.Clone(c.hidden)},
		{ParamImageFlowLearnedPrior, c.learnedPrior},
		{ParamImageFlowInvConv, string(c.invConv)},
		{ParamImageFlowDequantization, string(c.dequantization)},
		{ParamImageFlowLogitAlpha, c.alpha},
		{ParamImageFlowActNorm, c.actNorm},
		{ParamImageFlowScaleBound, c.scaleBound},
		{ParamImageFlowMinScale, c.minScale},
		{ParamImageFlowCouplingScale, string(c.couplingScale)},
		{ParamImageFlowSeed, c.seed},
	}, nil
}

// ReadSpec reads the description that SetParams wrote into scope (or that a
// checkpoint restored there) and validates it. Unlike the builders'
// FromScope, which keeps defaults for what is missing, it wants every
// parameter, of the type SetParams writes: a checkpoint edited by hand, or
// written by another program, gets a [*ParamError] naming the culprit rather
// than a model other than the one trained, or a panic deep inside model
// building. The exceptions are [ParamImageFlowCouplingScale] and
// [ParamImageFlowMinScale], younger than the checkpoints of flowbook's first
// image models: absent, they are "contracting" and 0, what those models had.
func ReadSpec(scope *model.Scope) (*Spec, error) {
	r := &paramReader{scope: scope}
	kind := ModelKind(readParam[string](r, ParamModel))
	dim := readParam[int](r, ParamDim)
	if r.err != nil {
		return nil, r.err
	}
	var s *Spec
	var err error
	if _, image := scope.GetParam(ParamShape); image {
		shape := readParam[[]int](r, ParamShape)
		if r.err != nil {
			return nil, r.err
		}
		if len(shape) != 3 {
			return nil, &ParamError{Key: ParamShape, Value: shape, Reason: "want [height, width, channels]"}
		}
		if s, err = NewSpec(kind, shape...); err != nil {
			return nil, err
		}
		if size := shape[0] * shape[1] * shape[2]; size != dim {
			return nil, &ParamError{Key: ParamShape, Value: shape,
				Reason: fmt.Sprintf("its size %d is not the dimension %d (%s)", size, dim, ParamDim)}
		}
		s.image.readParams(r)
	} else {
		if s, err = NewSpec(kind, dim); err != nil {
			return nil, err
		}
		if s.vector != nil {
			s.vector.readParams(r)
		} else if s.other != nil {
			s.other.readParams(r)
		} else {
			s.realNVP.readParams(r)
		}
	}
	if r.err != nil {
		return nil, r.err
	}
	if err := s.Validate(); err != nil {
		return nil, err
	}
	return s, nil
}

// readParams reads every ParamRealNVP* key and the base.
func (c *RealNVPConfig) readParams(r *paramReader) {
	c.base = readBase(r, c.dim)
	c.couplings = readParam[int](r, ParamRealNVPCouplings)
	c.hidden = readParam[[]int](r, ParamRealNVPHidden)
	c.mask = MaskPattern(readParam[string](r, ParamRealNVPMask))
	c.actNorm = readParam[bool](r, ParamRealNVPActNorm)
	c.activation = readParam[string](r, ParamRealNVPActivation)
	c.scaleBound = readParam[float64](r, ParamRealNVPScaleBound)
}

// readBase reads the base distribution of a vector model ([ParamBase] and,
// for a mixture, [ParamComponents]); nil after an error.
func readBase(r *paramReader, dim int) Distribution {
	base := BaseKind(readParam[string](r, ParamBase))
	components := 0
	if base == BaseMixture {
		components = readParam[int](r, ParamComponents)
	}
	if r.err != nil {
		return nil
	}
	switch {
	case !slices.Contains(BaseKinds, base):
		r.err = &ParamError{Key: ParamBase, Value: string(base), Reason: "unknown base distribution; valid: " + joinKinds(BaseKinds)}
	case base == BaseMixture && components < 1:
		r.err = &ParamError{Key: ParamComponents, Value: components, Reason: "a mixture base needs at least 1 component"}
	default:
		return newBase(base, components, dim)
	}
	return nil
}

// readParams reads every ParamImageFlow* key.
func (c *ImageFlowConfig) readParams(r *paramReader) {
	c.levels = readParam[int](r, ParamImageFlowLevels)
	c.steps = readParam[int](r, ParamImageFlowSteps)
	c.hidden = readParam[[]int](r, ParamImageFlowHidden)
	c.learnedPrior = readParam[bool](r, ParamImageFlowLearnedPrior)
	c.invConv = InvConvKind(readParam[string](r, ParamImageFlowInvConv))
	c.dequantization = Dequantization(readParam[string](r, ParamImageFlowDequantization))
	c.alpha = readParam[float64](r, ParamImageFlowLogitAlpha)
	c.actNorm = readParam[bool](r, ParamImageFlowActNorm)
	c.scaleBound = readParam[float64](r, ParamImageFlowScaleBound)
	c.seed = readParam[int](r, ParamImageFlowSeed)
	if _, found := r.scope.GetParam(ParamImageFlowCouplingScale); found {
		c.couplingScale = CouplingScale(readParam[string](r, ParamImageFlowCouplingScale))
	} else {
		c.couplingScale = ScaleContracting // What checkpoints older than the key had.
	}
	c.minScale = 0 // What checkpoints older than the key had: no floor.
	if _, found := r.scope.GetParam(ParamImageFlowMinScale); found {
		c.minScale = readParam[float64](r, ParamImageFlowMinScale)
	}
}

// paramReader reads parameters of a scope, keeping the first error.
type paramReader struct {
	scope *model.Scope
	err   error
}

// readParam returns the parameter key of r's scope, or records an error if
// it is missing or of another type than T (and returns T's zero value).
func readParam[T any](r *paramReader, key string) T {
	var zero T
	if r.err != nil {
		return zero
	}
	value, found := r.scope.GetParam(key)
	if !found {
		r.err = &ParamError{Key: key, Missing: true}
		return zero
	}
	v, ok := value.(T)
	if !ok {
		r.err = &ParamError{Key: key, Value: value, Reason: fmt.Sprintf("a %T, want a %T", value, zero)}
		return zero
	}
	return v
}

// ErrNoCheckpoint is the error (wrapped) of [Load] and [RestoreCheckpoint]
// for a directory that does not exist or holds no checkpoint.
var ErrNoCheckpoint = errors.New("no checkpoint")

// RestoreCheckpoint loads the newest checkpoint in dir into store: the
// variables (all at once, not as graphs ask for them) and the parameters
// saved with them. It returns an error wrapping [ErrNoCheckpoint] when dir
// does not exist or holds no checkpoint, and an error saying so when the
// checkpoint cannot be read.
func RestoreCheckpoint(store *model.Store, dir string) error {
	info, err := os.Stat(dir)
	if os.IsNotExist(err) {
		return fmt.Errorf("flowlib: %w in %q: the directory does not exist", ErrNoCheckpoint, dir)
	}
	if err != nil {
		return fmt.Errorf("flowlib: checkpoint directory %q: %w", dir, err)
	}
	if !info.IsDir() {
		return fmt.Errorf("flowlib: the checkpoint %q is a file, not a directory; give the directory that training wrote", dir)
	}
	var handler *checkpoint.Handler
	var loadErr error
	// GoMLX's checkpoint code panics on some malformed files (for example a
	// variable whose size does not fit its data): catch those too.
	panicErr := exceptions.TryCatch[error](func() {
		// Build (not Load) does not fail on an empty directory, and only
		// creates directories that do not exist, which was ruled out above.
		handler, loadErr = checkpoint.Build(store).Dir(dir).Immediate().Done()
	})
	if err := cmp.Or(panicErr, loadErr); err != nil {
		return fmt.Errorf("flowlib: the checkpoint in %q cannot be used: reading it failed: %w; it is corrupt: "+
			"retrain it, or load another directory", dir, err)
	}
	if has, err := handler.HasCheckpoints(); err != nil {
		return fmt.Errorf("flowlib: checkpoint directory %q: %w", dir, err)
	} else if !has {
		return fmt.Errorf("flowlib: %w in %q: it holds no checkpoint-* files", ErrNoCheckpoint, dir)
	}
	return nil
}

// Model is a flow restored from a checkpoint by [Load]: the store holding
// its weights (in the root scope, where training keeps them), its
// description and the flow built from it.
type Model struct {
	Dir   string
	Store *model.Store
	Spec  *Spec
	Flow  *Flow
	Step  int64 // the global training step the checkpoint was saved at

	restored map[string]bool // paths of the variables read from the checkpoint
}

// Load restores the newest checkpoint in dir, whose store holds a model
// description written by SetParams (as flowbook's train command writes it),
// and rebuilds the flow from it alone: no builder calls needed. A directory
// without checkpoint gives an error wrapping [ErrNoCheckpoint]; a checkpoint
// whose description is incomplete or invalid, an error naming the bad
// parameter (a [*ParamError], wrapped).
func Load(dir string) (*Model, error) {
	store := model.NewStore()
	if err := RestoreCheckpoint(store, dir); err != nil {
		return nil, err
	}
	unusable := func(err error) error {
		return fmt.Errorf("flowlib: the checkpoint in %q cannot be used: %w; it is corrupt, or was not written "+
			"with a model description (SetParams): retrain it, or load another directory", dir, err)
	}
	m := &Model{Dir: dir, Store: store, restored: map[string]bool{}}
	var err error
	if m.Spec, err = ReadSpec(store.RootScope()); err != nil {
		return nil, unusable(err)
	}
	if m.Flow, err = m.Spec.Flow(); err != nil {
		return nil, unusable(err)
	}
	if err := exceptions.TryCatch[error](func() { m.Step = optimizer.GetGlobalStep(store) }); err != nil {
		return nil, unusable(err)
	}
	for v := range store.IterVariables() {
		m.restored[v.Path()] = true
	}
	return m, nil
}

// CheckComplete reports whether running the model created trainable
// variables that the checkpoint did not have; call it after the first graph
// ran. Such a weight starts from its initial value, so the model would
// silently not be the one trained: the checkpoint's weights do not match
// its own description. (Non-trainable variables, like the random number
// generator's state, may be created anew.)
func (m *Model) CheckComplete() error {
	var missing []string
	for v := range m.Store.IterVariables() {
		if v.Trainable && !m.restored[v.Path()] {
			missing = append(missing, v.Path())
		}
	}
	if len(missing) == 0 {
		return nil
	}
	if len(missing) > 3 {
		missing = append(missing[:3], "...")
	}
	return fmt.Errorf("flowlib: the checkpoint in %q lacks weights of the model it describes (%s); "+
		"it is corrupt or incomplete: retrain it", m.Dir, strings.Join(missing, ", "))
}

// NonFiniteWeights returns the paths of the trainable variables holding NaN
// or ±Inf: the weights of a training run that diverged.
func (m *Model) NonFiniteWeights() []string {
	var bad []string
	for v := range m.Store.IterVariables() {
		value, err := v.Value()
		if !v.Trainable || err != nil {
			continue
		}
		finite := true
		value.MustConstFlatData(func(flat any) {
			switch f := flat.(type) {
			case []float32:
				finite = !slices.ContainsFunc(f, func(x float32) bool { return !isFinite(float64(x)) })
			case []float64:
				finite = !slices.ContainsFunc(f, func(x float64) bool { return !isFinite(x) })
			}
		})
		if !finite {
			bad = append(bad, v.Path())
		}
	}
	return bad
}

// isFinite reports whether x is neither NaN nor ±Inf.
func isFinite(x float64) bool { return !math.IsNaN(x) && !math.IsInf(x, 0) }
