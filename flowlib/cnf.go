package flowlib

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"

	"github.com/gomlx/compute"
	"github.com/gomlx/compute/dtypes"
	"github.com/gomlx/compute/shapes"
	. "github.com/gomlx/gomlx/core/graph" //nolint:revive
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/model"
	"github.com/gomlx/gomlx/ml/model/initializer"
	"github.com/gomlx/gomlx/support/exceptions"

	"github.com/flowbook/flowbook/flowlib/internal/graphpanic"
)

// TraceEstimator names how a [CNF] computes tr(∂f/∂z); stored as a plain
// string under [ParamCNFTrace].
type TraceEstimator string

// The trace estimators of [CNF.Trace].
const (
	// TraceExact sums the diagonal of the Jacobian, one backward pass per
	// dimension: exact, for small D.
	TraceExact TraceEstimator = "exact"
	// TraceHutchinson is Hutchinson's estimator εᵀ(∂f/∂z)ε with a Rademacher
	// ε, one backward pass whatever D, drawn once per integration as in
	// FFJORD (Grathwohl et al. 2019): unbiased, for large D.
	TraceHutchinson TraceEstimator = "hutchinson"
)

// Objective names how a [CNF] is trained: by maximum likelihood (FFJORD)
// or by regression of its vector field (flow matching).
type Objective string

// The objectives of a CNF.
const (
	// ObjectiveLikelihood trains by maximum likelihood, through the solver.
	ObjectiveLikelihood Objective = "likelihood"
	// ObjectiveFlowMatching trains by conditional flow matching ([CNF.FlowMatchingLoss]).
	ObjectiveFlowMatching Objective = "flow_matching"
)

// CNF is a continuous normalizing flow (Chen et al. 2018, Neural ODEs,
// https://arxiv.org/abs/1806.07366; FFJORD, Grathwohl et al. 2019,
// https://arxiv.org/abs/1810.01367): a learned time-dependent vector field
// f(t, z), an MLP on [z, t], moves points along dz/dt = f(t, z), and the
// log-density along a path follows d log p(z(t))/dt = −tr(∂f/∂z).
//
// Time runs from the base at t = 0 to the data at t = 1 (the convention of
// flow matching). Forward (data → latent) integrates from t = 1 back to
// t = 0 and returns
//
//	z = x + ∫₁⁰ f(t, z(t)) dt,   log|det ∂z/∂x| = −∫₀¹ tr ∂f/∂z (t, z(t)) dt
//
// and Inverse (latent → data, sampling) integrates forwards from t = 0.
// Inside graphs both use [RK4] with Steps fixed steps (NFE 4·Steps, every
// evaluation with one backward pass for Hutchinson's trace or D for the
// exact one), through which training backpropagates; the log-det is the
// trace integrated by the same RK4 steps, so it matches the discretised
// map's Jacobian to the solver's accuracy, not exactly. [CNFLogProb] and
// [CNFSample] integrate adaptively with [DormandPrince] on the host, for
// evaluation and sampling at a stated tolerance.
//
// Its variables live in the sub-scope "field": "layer_i/weights" and
// "layer_i/biases", with the time t concatenated to the input of every
// layer, and a zero-initialised last layer, so that an untrained CNF is the
// identity.
type CNF struct {
	Dim        int            // size of one example
	Hidden     []int          // hidden sizes of the vector field's MLP
	Activation string         // "tanh", "softplus" or "silu": smooth, as an ODE needs
	Steps      int            // RK4 steps in graphs
	Trace      TraceEstimator // how tr(∂f/∂z) is computed
	Objective  Objective      // how it is trained (see [Flow.TrainingLoss])
	SigmaMin   float64        // σ_min of the flow-matching path (default 0 gives a straight line)

	// FieldFunc, if not nil, replaces the MLP: f(t, z) for t a scalar or
	// [batchSize] and z [batchSize, Dim] (a hand-written field, such as the
	// linear one the tests compare with the closed form). Model
	// descriptions cannot store it.
	FieldFunc func(scope *model.Scope, t, z *Node) *Node
}

// cnfActivations are the smooth activations a CNF's field may use.
var cnfActivations = []string{"tanh", "softplus", "silu"}

// Name implements [Named].
func (c *CNF) Name() string { return "cnf" }

// validate panics on a CNF that cannot be built.
func (c *CNF) validate() {
	if err := validateCNF(c.Dim, c.Hidden, c.Activation, c.Steps, c.Trace, c.SigmaMin); err != nil {
		exceptions.Panicf("flowlib: CNF: %v", err)
	}
}

// Field returns f(t, z) for z [batchSize, Dim] and t a scalar or
// [batchSize] (one time per example, as flow matching draws them).
func (c *CNF) Field(scope *model.Scope, t, z *Node) *Node {
	requireVectors("CNF", z, c.Dim)
	if c.FieldFunc != nil {
		return c.FieldFunc(scope, t, z)
	}
	g, dtype := z.Graph(), z.DType()
	batch := z.Shape().Dimensions[0]
	t = ConvertDType(t, dtype)
	switch {
	case t.Rank() == 0:
		t = BroadcastToDims(Reshape(t, 1, 1), batch, 1)
	case t.Rank() == 1 && t.Shape().Dimensions[0] == batch:
		t = Reshape(t, batch, 1)
	default:
		exceptions.Panicf("flowlib: CNF: the time must be a scalar or one per example [%d], got shape %s", batch, t.Shape())
	}
	field := scope.At("field")
	h := z
	for i, units := range append(slices.Clone(c.Hidden), c.Dim) {
		layer := field.At("layer_%d", i)
		in := Concatenate([]*Node{h, t}, -1)
		inputs := in.Shape().Dimensions[1]
		if i == len(c.Hidden) {
			layer = layer.WithInitializer(initializer.Zero)
		}
		w := layer.VariableWithShape("weights", shapes.Make(dtype, inputs, units)).NodeValue(g)
		b := layer.WithInitializer(initializer.Zero).VariableWithShape("biases", shapes.Make(dtype, units)).NodeValue(g)
		h = Add(MatMul(in, w), Reshape(b, 1, units))
		if i < len(c.Hidden) {
			h = smoothActivation(c.Activation, h)
		}
	}
	return h
}

// smoothActivation applies one of cnfActivations.
func smoothActivation(name string, x *Node) *Node {
	switch name {
	case "softplus":
		return Softplus(x)
	case "silu":
		return Mul(x, Sigmoid(x))
	}
	return Tanh(x)
}

// ODE returns the augmented dynamics of the state [z, ℓ]: dz/dt = f(t, z)
// and dℓ/dt = tr(∂f/∂z), exact, or Hutchinson's estimate with the probe
// eps [batchSize, Dim] (nil for the exact trace).
func (c *CNF) ODE(scope *model.Scope, eps *Node) ODEFunc {
	return func(t *Node, y []*Node) []*Node {
		z := y[0]
		f := c.Field(scope, t, z)
		var tr *Node
		if eps != nil {
			vjp := Gradient(ReduceAllSum(Mul(f, eps)), z)[0]
			tr = ReduceSum(Mul(vjp, eps), 1)
		} else {
			for i := range c.Dim {
				row := Gradient(ReduceAllSum(Slice(f, AxisRange(), AxisElem(i))), z)[0]
				d := Reshape(Slice(row, AxisRange(), AxisElem(i)), -1)
				if tr == nil {
					tr = d
				} else {
					tr = Add(tr, d)
				}
			}
		}
		return []*Node{f, tr}
	}
}

// probe returns Hutchinson's probe (a Rademacher ε [batchSize, Dim]) if the
// CNF estimates its trace, nil otherwise.
func (c *CNF) probe(scope *model.Scope, x *Node) *Node {
	if c.Trace != TraceHutchinson {
		return nil
	}
	u := scope.RandomUniform(x.Graph(), x.Shape())
	return SignPlusOrMinus(AddScalar(u, -0.5))
}

// Forward implements [Bijector]: data x at t = 1 to the latent at t = 0.
func (c *CNF) Forward(scope *model.Scope, x *Node) (z, logDet *Node) {
	c.validate()
	requireVectors("CNF", x, c.Dim)
	y := RK4(c.ODE(scope, c.probe(scope, x)), []*Node{x, Zeros(x.Graph(), batchShape(x))}, 1, 0, c.Steps)
	return y[0], y[1]
}

// Inverse implements [Bijector]: the latent z at t = 0 to data at t = 1.
func (c *CNF) Inverse(scope *model.Scope, z *Node) (x, logDet *Node) {
	c.validate()
	requireVectors("CNF", z, c.Dim)
	y := RK4(c.ODE(scope, c.probe(scope, z)), []*Node{z, Zeros(z.Graph(), batchShape(z))}, 0, 1, c.Steps)
	return y[0], y[1]
}

// cnfOf returns the flow's bijector as a CNF, or an error.
func cnfOf(flow *Flow) (*CNF, error) {
	if flow == nil {
		return nil, errors.New("flowlib: no flow (nil)")
	}
	c, ok := flow.Bijector.(*CNF)
	if !ok {
		return nil, fmt.Errorf("flowlib: the flow's bijector is a %T, not a *CNF; CNFLogProb and CNFSample "+
			"integrate a flow built by FFJORD or FlowMatching", flow.Bijector)
	}
	return c, nil
}

// CNFLogProb returns log p(x) of every example of x [batchSize, Dim] under
// a flow whose bijector is a [CNF] (as [FFJORD] and [FlowMatching] build
// it), integrating from t = 1 to 0 with the adaptive [DormandPrince] solver
// on the host instead of the fixed RK4 steps of [Flow.LogProb]. With
// TraceHutchinson, the probe ε is drawn from seed and fixed along the
// path (it is part of the ODE's state, with zero derivative). It returns
// the solver's work (NFE) too, and an error for bad data (shape,
// non-finite values) or an integration that does not converge
// ([ErrODENotConverged]).
func CNFLogProb(backend compute.Backend, store *model.Store, flow *Flow, x *tensors.Tensor,
	dp DormandPrince, seed uint64) ([]float64, ODEStats, error) {
	c, err := cnfOf(flow)
	if err != nil {
		return nil, ODEStats{}, err
	}
	if err := flow.CheckTensor(x); err != nil {
		return nil, ODEStats{}, fmt.Errorf("flowlib: CNFLogProb: %w", err)
	}
	y, stats, err := c.solve(backend, store, x, dp, seed, 1, 0)
	if err != nil {
		return nil, stats, err
	}
	logP, err := model.ExecOnce(backend, store, func(scope *model.Scope, z, logDet *Node) *Node {
		defer graphpanic.AsError()
		return ConvertDType(Add(flow.Base.LogProb(flow.baseScope(scope), z), logDet), dtypes.Float64)
	}, y[0], y[1])
	if err != nil {
		return nil, stats, fmt.Errorf("flowlib: CNFLogProb: %w", err)
	}
	return tensors.MustCopyFlatData[float64](logP), stats, nil
}

// CNFSample draws n samples of a flow whose bijector is a [CNF]: z from the
// base at the given temperature, then x by integrating from t = 0 to 1
// with the adaptive [DormandPrince] solver on the host. It returns x
// [n, Dim] in dtype, log p(x) of each sample (log p_base(z) − ∫ tr), and
// the solver's work.
func CNFSample(backend compute.Backend, store *model.Store, flow *Flow, dtype dtypes.DType, n int, temperature float64,
	dp DormandPrince, seed uint64) (*tensors.Tensor, []float64, ODEStats, error) {
	c, err := cnfOf(flow)
	if err != nil {
		return nil, nil, ODEStats{}, err
	}
	if n < 1 || !(temperature > 0) {
		return nil, nil, ODEStats{}, fmt.Errorf("flowlib: CNFSample needs n ≥ 1 and a positive temperature, got n=%d, temperature=%g", n, temperature)
	}
	out, err := model.ExecOnceN(backend, store, func(scope *model.Scope, g *Graph) []*Node {
		defer graphpanic.AsError()
		z := flow.Base.Sample(flow.baseScope(scope), g, dtype, n, temperature)
		return []*Node{z, ConvertDType(flow.Base.LogProb(flow.baseScope(scope), z), dtypes.Float64)}
	})
	if err != nil {
		return nil, nil, ODEStats{}, fmt.Errorf("flowlib: CNFSample: %w", err)
	}
	y, stats, err := c.solve(backend, store, out[0], dp, seed, 0, 1)
	if err != nil {
		return nil, nil, stats, err
	}
	logP := tensors.MustCopyFlatData[float64](out[1])
	for i, ld := range flatFloat64(y[1]) {
		logP[i] -= ld
	}
	return y[0], logP, stats, nil
}

// solve integrates the CNF's augmented state from t0 to t1 with dp; it
// returns the points and the accumulated log-det ∫ tr dt.
func (c *CNF) solve(backend compute.Backend, store *model.Store, x *tensors.Tensor, dp DormandPrince,
	seed uint64, t0, t1 float64) ([]*tensors.Tensor, ODEStats, error) {
	if x.Rank() != 2 || x.Shape().Dimensions[1] != c.Dim {
		return nil, ODEStats{}, fmt.Errorf("flowlib: CNF of dimension %d got points of shape %s, want [batchSize, %d]",
			c.Dim, x.Shape(), c.Dim)
	}
	batch, dtype := x.Shape().Dimensions[0], x.DType()
	y0 := []*tensors.Tensor{x, hostTensor(dtype, make([]float64, batch), batch)}
	if c.Trace == TraceHutchinson {
		rng := rand.New(rand.NewPCG(seed, 0x9e3779b97f4a7c15))
		eps := make([]float64, batch*c.Dim)
		for i := range eps {
			eps[i] = float64(2*rng.IntN(2) - 1)
		}
		y0 = append(y0, hostTensor(dtype, eps, batch, c.Dim))
	}
	y, stats, err := dp.Solve(backend, store, func(scope *model.Scope, t *Node, y []*Node) []*Node {
		var eps *Node
		if len(y) == 3 {
			eps = y[2]
		}
		dy := c.ODE(scope.At("bijector"), eps)(t, y[:2])
		if eps != nil {
			dy = append(dy, ZerosLike(eps))
		}
		return dy
	}, y0, t0, t1)
	if err != nil {
		return nil, stats, err
	}
	return y[:2], stats, nil
}

// Hyperparameters of [CNFConfig] (the models "ffjord" and "flowmatch"),
// with their defaults.
const (
	// ParamCNFHidden ([]int, default [64, 64]) are the hidden sizes of the vector field's MLP.
	ParamCNFHidden = "cnf_hidden"
	// ParamCNFActivation (string, default "tanh") is the field's activation: tanh, softplus or silu.
	ParamCNFActivation = "cnf_activation"
	// ParamCNFSteps (int, default 8) is the number of RK4 steps of the integrations inside graphs.
	ParamCNFSteps = "cnf_steps"
	// ParamCNFTrace (string, default "hutchinson" for ffjord, "exact" for flowmatch) is the [TraceEstimator].
	ParamCNFTrace = "cnf_trace"
	// ParamCNFSigmaMin (float64, default 0) is σ_min of flow matching's optimal-transport path.
	ParamCNFSigmaMin = "cnf_sigma_min"
)

// CNFConfig configures a continuous normalizing flow; create it with
// [FFJORD] or [FlowMatching] and finish with Done.
type CNFConfig struct {
	kind       ModelKind
	dim        int
	base       Distribution
	hidden     []int
	activation string
	steps      int
	trace      TraceEstimator
	sigmaMin   float64
}

// FFJORD starts a continuous normalizing flow trained by maximum
// likelihood (Grathwohl et al. 2019, https://arxiv.org/abs/1810.01367) for
// vectors of size dim: one [CNF] with an MLP field of hidden sizes 64, 64
// and tanh, 8 RK4 steps, Hutchinson's trace estimator and a standard normal
// base.
func FFJORD(dim int) *CNFConfig {
	return &CNFConfig{kind: ModelFFJORD, dim: dim, hidden: []int{64, 64}, activation: "tanh", steps: 8, trace: TraceHutchinson}
}

// FlowMatching starts a CNF trained by conditional flow matching with the
// optimal-transport path (Lipman et al. 2023, https://arxiv.org/abs/2210.02747):
// FFJORD's field, regressed on x₁ − (1 − σ_min)x₀ at
// x_t = (1 − (1 − σ_min)t)x₀ + t·x₁ (see [CNF.FlowMatchingLoss]), and
// evaluated with the exact trace by default. The base must be a standard
// normal, the source of the path.
func FlowMatching(dim int) *CNFConfig {
	c := FFJORD(dim)
	c.kind, c.trace = ModelFlowMatch, TraceExact
	return c
}

// Base sets the base distribution (default [NewStandardNormal](dim)).
func (c *CNFConfig) Base(d Distribution) *CNFConfig { c.base = d; return c }

// Hidden sets the hidden sizes of the field's MLP.
func (c *CNFConfig) Hidden(sizes ...int) *CNFConfig { c.hidden = slices.Clone(sizes); return c }

// Activation sets the field's activation: "tanh", "softplus" or "silu".
func (c *CNFConfig) Activation(name string) *CNFConfig { c.activation = name; return c }

// Steps sets the number of RK4 steps inside graphs.
func (c *CNFConfig) Steps(n int) *CNFConfig { c.steps = n; return c }

// Trace sets the trace estimator.
func (c *CNFConfig) Trace(t TraceEstimator) *CNFConfig { c.trace = t; return c }

// SigmaMin sets σ_min of the flow-matching path, in [0, 1).
func (c *CNFConfig) SigmaMin(s float64) *CNFConfig { c.sigmaMin = s; return c }

// FromScope reads the ParamCNF* hyperparameters from the scope (and its
// parents), keeping the current values for those not set.
func (c *CNFConfig) FromScope(scope *model.Scope) *CNFConfig {
	c.hidden = model.GetParamOr(scope, ParamCNFHidden, c.hidden)
	c.activation = model.GetParamOr(scope, ParamCNFActivation, c.activation)
	c.steps = model.GetParamOr(scope, ParamCNFSteps, c.steps)
	c.trace = TraceEstimator(model.GetParamOr(scope, ParamCNFTrace, string(c.trace)))
	c.sigmaMin = model.GetParamOr(scope, ParamCNFSigmaMin, c.sigmaMin)
	return c
}

// Kind is the model: [ModelFFJORD] or [ModelFlowMatch].
func (c *CNFConfig) Kind() ModelKind { return c.kind }

// validateCNF checks a CNF's settings; errors are [*ParamError]s.
func validateCNF(dim int, hidden []int, act string, steps int, trace TraceEstimator, sigmaMin float64) error {
	switch {
	case dim < 1:
		return &ParamError{Key: ParamDim, Value: dim, Reason: "must be at least 1"}
	case !slices.Contains(cnfActivations, act):
		return &ParamError{Key: ParamCNFActivation, Value: act,
			Reason: "not a smooth activation an ODE's field can use; valid: tanh, softplus, silu"}
	case steps < 1:
		return &ParamError{Key: ParamCNFSteps, Value: steps, Reason: "must be at least 1"}
	case trace != TraceExact && trace != TraceHutchinson:
		return &ParamError{Key: ParamCNFTrace, Value: string(trace), Reason: "unknown trace estimator; valid: exact, hutchinson"}
	case !(sigmaMin >= 0 && sigmaMin < 1):
		return &ParamError{Key: ParamCNFSigmaMin, Value: sigmaMin, Reason: "must be in [0, 1)"}
	}
	for _, h := range hidden {
		if h < 1 {
			return &ParamError{Key: ParamCNFHidden, Value: hidden, Reason: "hidden sizes must be positive"}
		}
	}
	return nil
}

// Validate reports a configuration that cannot be built; an error about
// one hyperparameter is a [*ParamError] naming its key.
func (c *CNFConfig) Validate() error {
	if c.kind != ModelFFJORD && c.kind != ModelFlowMatch {
		return &ParamError{Key: ParamModel, Value: string(c.kind), Reason: "not a continuous flow of ffjord, flowmatch"}
	}
	if c.kind == ModelFlowMatch && c.base != nil {
		if _, ok := c.base.(*StandardNormal); !ok {
			return &ParamError{Key: ParamBase, Value: fmt.Sprintf("%T", c.base),
				Reason: "flow matching's path starts from a standard normal: use the normal base"}
		}
	}
	return validateCNF(c.dim, c.hidden, c.activation, c.steps, c.trace, c.sigmaMin)
}

// Bijector returns the [CNF]. It panics on an invalid configuration.
func (c *CNFConfig) Bijector() *CNF {
	if err := c.Validate(); err != nil {
		exceptions.Panicf("flowlib: %v", err)
	}
	objective := ObjectiveLikelihood
	if c.kind == ModelFlowMatch {
		objective = ObjectiveFlowMatching
	}
	return &CNF{Dim: c.dim, Hidden: slices.Clone(c.hidden), Activation: c.activation, Steps: c.steps,
		Trace: c.trace, Objective: objective, SigmaMin: c.sigmaMin}
}

// Done returns the flow: the base distribution and the [CNF] as its
// bijector (not in a [Chain]: [CNFLogProb] and [CNFSample] find it there).
// It panics on an invalid configuration; call Validate first to get an
// error instead.
func (c *CNFConfig) Done() *Flow {
	b := c.Bijector()
	base := c.base
	if base == nil {
		base = NewStandardNormal(c.dim)
	}
	return &Flow{Base: base, Bijector: b}
}

// SetParams writes the model's full description into scope's parameters
// ([ParamModel], [ParamDim], [ParamBase] and the ParamCNF* keys), so that
// checkpoints carry it and [Load] rebuilds the flow. An invalid
// configuration writes nothing and returns the error.
func (c *CNFConfig) SetParams(scope *model.Scope) error {
	params, err := c.params()
	return writeParams(scope, params, err)
}

func (c *CNFConfig) params() ([]specParam, error) {
	if err := c.Validate(); err != nil {
		return nil, err
	}
	params, err := vectorBaseParams(c.kind, c.dim, c.base)
	if err != nil {
		return nil, err
	}
	return append(params,
		specParam{ParamCNFHidden, slices.Clone(c.hidden)},
		specParam{ParamCNFActivation, c.activation},
		specParam{ParamCNFSteps, c.steps},
		specParam{ParamCNFTrace, string(c.trace)},
		specParam{ParamCNFSigmaMin, c.sigmaMin},
	), nil
}

// readParams reads the keys params writes.
func (c *CNFConfig) readParams(r *paramReader) {
	c.base = readBase(r, c.dim)
	c.hidden = readParam[[]int](r, ParamCNFHidden)
	c.activation = readParam[string](r, ParamCNFActivation)
	c.steps = readParam[int](r, ParamCNFSteps)
	c.trace = TraceEstimator(readParam[string](r, ParamCNFTrace))
	c.sigmaMin = readParam[float64](r, ParamCNFSigmaMin)
}

// String describes the model in one line, e.g. "ffjord, dim 2, field
// hidden 64,64, activation tanh, 8 RK4 steps, hutchinson trace, base normal".
func (c *CNFConfig) String() string {
	extra := ""
	if c.kind == ModelFlowMatch {
		extra = fmt.Sprintf(", sigma_min %g", c.sigmaMin)
	}
	return fmt.Sprintf("%s, dim %d, field hidden %s, activation %s, %d RK4 steps, %s trace%s, base %s",
		c.kind, c.dim, joinInts(c.hidden), c.activation, c.steps, c.trace, extra, describeBase(c.base))
}

// vectorBaseParams are the description's first keys for a vector model:
// model, dim, base (and components of a mixture).
func vectorBaseParams(kind ModelKind, dim int, base Distribution) ([]specParam, error) {
	bk, components, err := baseKind(base)
	if err != nil {
		return nil, err
	}
	if base != nil && !slices.Equal(base.EventShape(), []int{dim}) {
		return nil, fmt.Errorf("flowlib: the base distribution's event shape %v is not the model's [%d]", base.EventShape(), dim)
	}
	params := []specParam{{ParamModel, string(kind)}, {ParamDim, dim}, {ParamBase, string(bk)}}
	if bk == BaseMixture {
		params = append(params, specParam{ParamComponents, components})
	}
	return params, nil
}

// describeBase names a vector model's base for String.
func describeBase(base Distribution) string {
	kind, components, _ := baseKind(base)
	if kind == BaseMixture {
		return fmt.Sprintf("mixture of %d Gaussians", components)
	}
	return string(kind)
}

// otherModel is the part of a [Spec] for the residual and continuous flows
// ([ResidualFlowConfig], [CNFConfig]).
type otherModel interface {
	Validate() error
	Done() *Flow
	String() string
	params() ([]specParam, error)
	readParams(r *paramReader)
	dimension() int
	baseDistribution() Distribution
	setBase(Distribution)
}

// newOtherModel is the configuration of a residual or continuous flow of
// kind with its builder's defaults, nil for another kind.
func newOtherModel(kind ModelKind, dim int) otherModel {
	switch kind {
	case ModelResFlow:
		return ResidualFlow(dim)
	case ModelFFJORD:
		return FFJORD(dim)
	case ModelFlowMatch:
		return FlowMatching(dim)
	}
	return nil
}

func (c *CNFConfig) dimension() int                          { return c.dim }
func (c *CNFConfig) baseDistribution() Distribution          { return c.base }
func (c *CNFConfig) setBase(d Distribution)                  { c.base = d }
func (c *ResidualFlowConfig) dimension() int                 { return c.dim }
func (c *ResidualFlowConfig) baseDistribution() Distribution { return c.base }
func (c *ResidualFlowConfig) setBase(d Distribution)         { c.base = d }
