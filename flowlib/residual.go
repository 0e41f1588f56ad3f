package flowlib

import (
	"errors"
	"fmt"
	"math"
	"slices"

	"github.com/gomlx/compute"
	"github.com/gomlx/compute/shapes"
	. "github.com/gomlx/gomlx/core/graph" //nolint:revive
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/model"
	"github.com/gomlx/gomlx/ml/model/initializer"
	"github.com/gomlx/gomlx/support/exceptions"

	"github.com/flowbook/flowbook/flowlib/internal/graphpanic"
)

// LogDetMode names how a [ResidualBlock] computes log|det(I + J_g)|; stored
// as a plain string under [ParamResFlowLogDet].
type LogDetMode string

// The log-det modes of [ResidualBlock.LogDet].
const (
	// LogDetExact builds the Jacobian (one backward pass per dimension) and
	// takes its log-determinant by Gaussian elimination: exact, for small D.
	LogDetExact LogDetMode = "exact"
	// LogDetSeries is i-ResNet's estimator (Behrmann et al. 2019): the power
	// series log det(I + J) = Σ_{k≥1} (−1)^{k+1} tr(J^k)/k truncated after
	// Terms terms, each trace by Hutchinson's estimator vᵀJ^k v with one
	// Rademacher probe v per example; biased by the truncation, with
	// gradients backpropagated through the series.
	LogDetSeries LogDetMode = "series"
	// LogDetRoulette is the Russian-roulette estimator of Residual Flows
	// (Chen et al. 2019): the series stopped after a random number of terms
	// N = 1 + Geometric(p), each term k weighted by 1/P(N ≥ k), unbiased
	// up to the cap of Terms terms (which N exceeds with probability
	// (1 − p)^Terms), with the gradient from the Neumann series
	// ∂ log det(I + J) = Σ_{k≥0} (−1)^k tr(J^k ∂J) estimated the same way,
	// so that backpropagation never goes through the series.
	LogDetRoulette LogDetMode = "roulette"
)

// ErrFixedPointNotConverged is the error (wrapped) of [InvertResidual] when
// the fixed-point iteration of a [ResidualBlock]'s inverse did not reach its
// tolerance within its iteration cap.
var ErrFixedPointNotConverged = errors.New("the fixed-point iteration did not converge")

// ResidualBlock is an invertible residual block (i-ResNet, Behrmann et al.
// 2019, https://arxiv.org/abs/1811.00995; Residual Flows, Chen et al. 2019,
// https://arxiv.org/abs/1906.02735) for vectors [batchSize, Dim]:
//
//	Forward:  y = x + g(x),   log|det ∂y/∂x| = log det(I + J_g(x))
//	Inverse:  x = lim x_k,  x_{k+1} = y − g(x_k),  x_0 = y
//
// g is an MLP whose every weight matrix W is spectrally normalised, W/max(1,
// σ̂(W)/c), with σ̂ from PowerIterations steps of power iteration (from a
// stored vector, which training graphs update, as in Miyato et al. 2018),
// and whose activations are 1-Lipschitz (LipSwish x·σ(x)/1.1 of Chen et
// al., ELU or tanh), so Lip(g) ≤ c^layers < 1: y is invertible, the inverse
// iteration converges geometrically, and I + J_g has a positive
// determinant. The inverse runs MaxIterations iterations inside the graph;
// an example whose residual |x + g(x) − y|∞ is still above
// Tolerance·(1 + |y|∞) comes out as NaN, which [InvertResidual] reports as
// [ErrFixedPointNotConverged].
//
// Its variables: "net/layer_i/weights" [in, out], "net/layer_i/biases", and
// the power iteration's non-trainable "net/layer_i/u" [out].
type ResidualBlock struct {
	Dim             int
	Hidden          []int
	Activation      string     // "lipswish", "elu" or "tanh"
	Coefficient     float64    // c in (0, 1): the bound on each layer's spectral norm
	PowerIterations int        // power iteration steps per graph (≥ 1)
	LogDet          LogDetMode // how log det(I + J_g) is computed
	Terms           int        // terms of the series, or its cap for the roulette
	RouletteP       float64    // p of the roulette's geometric number of terms, in (0, 1)
	MaxIterations   int        // the cap of the inverse's fixed-point iterations
	Tolerance       float64    // the inverse's tolerance on the residual, relative to 1 + |y|∞
}

// residualActivations are the 1-Lipschitz activations of a residual block.
var residualActivations = []string{"lipswish", "elu", "tanh"}

// Name implements [Named].
func (r *ResidualBlock) Name() string { return "residual" }

func (r *ResidualBlock) validate() {
	if err := validateResidual(r.Dim, r.Hidden, r.Activation, r.Coefficient, r.PowerIterations, r.LogDet,
		r.Terms, r.RouletteP, r.MaxIterations, r.Tolerance); err != nil {
		exceptions.Panicf("flowlib: ResidualBlock: %v", err)
	}
}

// residualNet is g with its spectrally normalised weights computed once.
type residualNet struct {
	weights, biases []*Node
	activation      string
}

// apply is g(x).
func (n *residualNet) apply(x *Node) *Node {
	h := x
	for i, w := range n.weights {
		h = Add(MatMul(h, w), Reshape(n.biases[i], 1, -1))
		if i < len(n.weights)-1 {
			h = lipschitzActivation(n.activation, h)
		}
	}
	return h
}

// lipschitzActivation applies one of residualActivations.
func lipschitzActivation(name string, x *Node) *Node {
	switch name {
	case "elu":
		return Where(GreaterThan(x, ZerosLike(x)), x, AddScalar(Exp(Min(x, ZerosLike(x))), -1))
	case "tanh":
		return Tanh(x)
	}
	return DivScalar(Mul(x, Sigmoid(x)), 1.1) // LipSwish with β = 1: Lip(x·σ(x)) ≈ 1.0998.
}

// net builds g for data of x's dtype, with spectrally normalised weights;
// in a training graph it also stores the power iteration's new vectors.
func (r *ResidualBlock) net(scope *model.Scope, x *Node) *residualNet {
	g, dtype := x.Graph(), x.DType()
	sizes := append(append([]int{r.Dim}, r.Hidden...), r.Dim)
	n := &residualNet{activation: r.Activation}
	for i := range len(sizes) - 1 {
		layer := scope.At("net").At("layer_%d", i)
		in, out := sizes[i], sizes[i+1]
		w := layer.VariableWithShape("weights", shapes.Make(dtype, in, out)).NodeValue(g)
		b := layer.WithInitializer(initializer.Zero).VariableWithShape("biases", shapes.Make(dtype, out)).NodeValue(g)
		uVar := layer.WithInitializer(initializer.RandomNormalFn(layer, 1)).VariableWithShape("u", shapes.Make(dtype, out))
		uVar.SetTrainable(false)
		wc := StopGradient(w)
		u := L2NormalizeWithEpsilon(uVar.NodeValue(g), 1e-12, 0)
		var v *Node
		for range r.PowerIterations {
			v = L2NormalizeWithEpsilon(MatMul(wc, Reshape(u, out, 1)), 1e-12, 0) // [in, 1]
			u = L2NormalizeWithEpsilon(MatMul(Transpose(wc, 0, 1), v), 1e-12, 0) // [out, 1]
			u = Reshape(u, out)
		}
		if scope.IsTraining(g) {
			uVar.SetValueGraph(StopGradient(u))
		}
		sigma := ReduceAllSum(Mul(MatMul(w, Reshape(StopGradient(u), out, 1)), StopGradient(v))) // vᵀ W u
		scale := Max(DivScalar(sigma, r.Coefficient), ScalarOne(g, dtype))
		n.weights = append(n.weights, Div(w, scale))
		n.biases = append(n.biases, b)
	}
	return n
}

// Weights returns g's spectrally normalised weight matrices [in, out] as
// the graph computes them (power iteration from the stored vectors): the
// spectral norm of each should be at most Coefficient, so that
// Lip(g) ≤ Coefficient^layers. Tests measure Lip(g) with them.
func (r *ResidualBlock) Weights(scope *model.Scope, x *Node) []*Node {
	r.validate()
	requireVectors("ResidualBlock", x, r.Dim)
	return r.net(scope, x).weights
}

// Residual returns g(x) for x [batchSize, Dim].
func (r *ResidualBlock) Residual(scope *model.Scope, x *Node) *Node {
	r.validate()
	requireVectors("ResidualBlock", x, r.Dim)
	return r.net(scope, x).apply(x)
}

// Forward implements [Bijector]: y = x + g(x) and log det(I + J_g(x)),
// computed as [ResidualBlock.LogDet] says.
func (r *ResidualBlock) Forward(scope *model.Scope, x *Node) (y, logDet *Node) {
	r.validate()
	requireVectors("ResidualBlock", x, r.Dim)
	net := r.net(scope, x)
	return Add(x, net.apply(x)), r.logDet(scope, net, x)
}

// Inverse implements [Bijector] by fixed-point iteration (see the type).
func (r *ResidualBlock) Inverse(scope *model.Scope, y *Node) (x, logDet *Node) {
	r.validate()
	requireVectors("ResidualBlock", y, r.Dim)
	net := r.net(scope, y)
	x = y
	for range r.MaxIterations {
		x = Sub(y, net.apply(x))
	}
	residual := ReduceMax(Abs(Sub(Add(x, net.apply(x)), y)), 1)
	limit := MulScalar(OnePlus(ReduceMax(Abs(y), 1)), r.Tolerance)
	converged := Reshape(LessOrEqual(residual, limit), -1, 1)
	nan := Scalar(y.Graph(), y.DType(), math.NaN())
	x = Where(BroadcastToDims(converged, x.Shape().Dimensions...), x, BroadcastToDims(nan, x.Shape().Dimensions...))
	return x, Neg(r.logDet(scope, net, x))
}

// logDet is log det(I + J_g(x)) per example.
func (r *ResidualBlock) logDet(scope *model.Scope, net *residualNet, x *Node) *Node {
	switch r.LogDet {
	case LogDetExact:
		return exactResidualLogDet(net, x)
	case LogDetSeries:
		est, _ := r.seriesTerms(scope, net, x, false)
		return est
	}
	est, surrogate := r.seriesTerms(scope, net, x, true)
	// The value of the estimate, the gradient of the Neumann surrogate.
	return Add(StopGradient(est), Sub(surrogate, StopGradient(surrogate)))
}

// exactResidualLogDet builds I + J_g row by row and returns Σ log|u_kk| of
// its LU factorisation without pivoting, which exists since every leading
// principal submatrix of I + J_g has eigenvalues of positive real part
// when ‖J_g‖ < 1.
func exactResidualLogDet(net *residualNet, x *Node) *Node {
	d := x.Shape().Dimensions[1]
	gx := net.apply(x)
	m := make([][]*Node, d)
	for i := range d {
		row := Gradient(ReduceAllSum(Slice(gx, AxisRange(), AxisElem(i))), x)[0] // ∂g_i/∂x_j, [B, D]
		m[i] = make([]*Node, d)
		for j := range d {
			m[i][j] = Reshape(Slice(row, AxisRange(), AxisElem(j)), -1)
			if i == j {
				m[i][j] = OnePlus(m[i][j])
			}
		}
	}
	var logDet *Node
	for k := range d {
		pivot := m[k][k]
		term := Log(Abs(pivot))
		if logDet == nil {
			logDet = term
		} else {
			logDet = Add(logDet, term)
		}
		for i := k + 1; i < d; i++ {
			factor := Div(m[i][k], pivot)
			for j := k + 1; j < d; j++ {
				m[i][j] = Sub(m[i][j], Mul(factor, m[k][j]))
			}
		}
	}
	return logDet
}

// seriesTerms returns the series estimate of log det(I + J_g(x)) with one
// Rademacher probe per example; with roulette, the terms are weighted by
// the Russian roulette, and the Neumann-series surrogate whose gradient
// estimates that of the log-det is returned too.
//
// Each vector–Jacobian product wᵀJ is the gradient of Σ g(x')·w with
// respect to a fresh copy x' of x (an identity op), so that it does not
// differentiate through w (which depends on x); gradients with respect to
// x and the weights still flow through every copy.
func (r *ResidualBlock) seriesTerms(scope *model.Scope, net *residualNet, x *Node, roulette bool) (est, surrogate *Node) {
	g, dtype := x.Graph(), x.DType()
	v := SignPlusOrMinus(AddScalar(scope.RandomUniform(g, x.Shape()), -0.5))
	vjp := func(w *Node) *Node {
		xc := IdentityWithCustomGradient(x, func(_, v *Node) *Node { return v })
		return Gradient(ReduceAllSum(Mul(net.apply(xc), w)), xc)[0]
	}
	var u *Node                   // The roulette's uniform draw per example.
	weight := func(k int) *Node { // 1[N ≥ k]/P(N ≥ k), [B], for k ≥ 1.
		if !roulette {
			return nil
		}
		survive := math.Pow(1-r.RouletteP, float64(k-1))
		return DivScalar(ConvertDType(LessOrEqual(u, Scalar(g, dtype, survive)), dtype), survive)
	}
	if roulette {
		u = OneMinus(scope.RandomUniform(g, batchShape(x))) // in (0, 1]
	}
	w := v
	var q *Node // The Neumann series' Σ_{k<K} (−1)^k/P(N ≥ k+1) · vᵀJ^k, per example.
	for k := 1; k <= r.Terms; k++ {
		if roulette {
			qk := Mul(MulScalar(Reshape(weight(k), -1, 1), math.Pow(-1, float64(k-1))), w)
			if q == nil {
				q = qk
			} else {
				q = Add(q, qk)
			}
		}
		w = vjp(w) // vᵀJ^k
		term := MulScalar(ReduceSum(Mul(w, v), 1), math.Pow(-1, float64(k+1))/float64(k))
		if roulette {
			term = Mul(term, weight(k))
		}
		if est == nil {
			est = term
		} else {
			est = Add(est, term)
		}
	}
	if roulette {
		surrogate = ReduceSum(Mul(vjp(StopGradient(q)), v), 1) // qᵀ J v, q held constant
	}
	return est, surrogate
}

// InvertResidual runs flow.Inverse on z [batchSize, dim] and returns x, or
// an error wrapping [ErrFixedPointNotConverged] naming the first example
// whose fixed-point iteration (in a [ResidualBlock]) did not converge, and
// an error for a z of the wrong shape or with non-finite values.
func InvertResidual(backend compute.Backend, store *model.Store, flow *Flow, z *tensors.Tensor) (*tensors.Tensor, error) {
	if err := flow.CheckTensor(z); err != nil {
		return nil, fmt.Errorf("flowlib: InvertResidual: %w", err)
	}
	x, err := model.ExecOnce(backend, store, func(scope *model.Scope, z *Node) *Node {
		defer graphpanic.AsError()
		x, _ := flow.Inverse(scope, z)
		return x
	}, z)
	if err != nil {
		return nil, fmt.Errorf("flowlib: InvertResidual: %w", err)
	}
	values := flatFloat64(x)
	per := x.Shape().Size() / x.Shape().Dimensions[0]
	for i, v := range values {
		if math.IsNaN(v) {
			return nil, fmt.Errorf("flowlib: %w for example %d: raise the residual blocks' iteration cap or tolerance, "+
				"or lower their coefficient", ErrFixedPointNotConverged, i/per)
		}
	}
	return x, nil
}

// Hyperparameters of [ResidualFlowConfig] (the model "resflow"), with their
// defaults.
const (
	// ParamResFlowBlocks (int, default 4) is the number of residual blocks.
	ParamResFlowBlocks = "resflow_blocks"
	// ParamResFlowHidden ([]int, default [64, 64]) are the hidden sizes of each block's g.
	ParamResFlowHidden = "resflow_hidden"
	// ParamResFlowActivation (string, default "lipswish") is g's activation: lipswish, elu or tanh.
	ParamResFlowActivation = "resflow_activation"
	// ParamResFlowCoefficient (float64, default 0.9) is c < 1, the bound on each weight's spectral norm.
	ParamResFlowCoefficient = "resflow_coefficient"
	// ParamResFlowPowerIterations (int, default 5) is the number of power iteration steps per graph.
	ParamResFlowPowerIterations = "resflow_power_iterations"
	// ParamResFlowLogDet (string, default "roulette") is the [LogDetMode].
	ParamResFlowLogDet = "resflow_logdet"
	// ParamResFlowTerms (int, default 10) is the series' number of terms (its cap for the roulette).
	ParamResFlowTerms = "resflow_terms"
	// ParamResFlowRouletteP (float64, default 0.5) is p of the roulette's geometric distribution.
	ParamResFlowRouletteP = "resflow_roulette_p"
	// ParamResFlowMaxIterations (int, default 100) caps the inverse's fixed-point iterations.
	ParamResFlowMaxIterations = "resflow_max_iterations"
	// ParamResFlowTolerance (float64, default 1e-5) is the inverse's tolerance, relative to 1 + |y|∞.
	ParamResFlowTolerance = "resflow_tolerance"
	// ParamResFlowActNorm (bool, default true) puts an ActNorm before every block.
	ParamResFlowActNorm = "resflow_actnorm"
)

// ResidualFlowConfig configures a residual flow for vectors; create it with
// [ResidualFlow] and finish with Done.
type ResidualFlowConfig struct {
	dim     int
	base    Distribution
	blocks  int
	actNorm bool
	block   ResidualBlock
}

// ResidualFlow starts a residual flow (Chen et al. 2019,
// https://arxiv.org/abs/1906.02735) for vectors of size dim: a [Chain] of
// [ResidualBlock]s, each after an ActNorm. The defaults: 4 blocks, g of
// hidden sizes 64, 64 with LipSwish, c = 0.9, 5 power iterations, the
// Russian-roulette log-det with p = 0.5 capped at 10 terms, 100 inverse
// iterations to a tolerance of 1e-5, a standard normal base.
func ResidualFlow(dim int) *ResidualFlowConfig {
	return &ResidualFlowConfig{dim: dim, blocks: 4, actNorm: true, block: ResidualBlock{
		Dim: dim, Hidden: []int{64, 64}, Activation: "lipswish", Coefficient: 0.9, PowerIterations: 5,
		LogDet: LogDetRoulette, Terms: 10, RouletteP: 0.5, MaxIterations: 100, Tolerance: 1e-5}}
}

// Base sets the base distribution (default [NewStandardNormal](dim)).
func (c *ResidualFlowConfig) Base(d Distribution) *ResidualFlowConfig { c.base = d; return c }

// NumBlocks sets the number of residual blocks.
func (c *ResidualFlowConfig) NumBlocks(n int) *ResidualFlowConfig { c.blocks = n; return c }

// ActNorm turns the ActNorm before every block on or off.
func (c *ResidualFlowConfig) ActNorm(on bool) *ResidualFlowConfig { c.actNorm = on; return c }

// Hidden sets the hidden sizes of every block's g.
func (c *ResidualFlowConfig) Hidden(sizes ...int) *ResidualFlowConfig {
	c.block.Hidden = slices.Clone(sizes)
	return c
}

// Activation sets g's activation: "lipswish", "elu" or "tanh".
func (c *ResidualFlowConfig) Activation(name string) *ResidualFlowConfig {
	c.block.Activation = name
	return c
}

// Coefficient sets c in (0, 1), the bound on every weight's spectral norm.
func (c *ResidualFlowConfig) Coefficient(coef float64) *ResidualFlowConfig {
	c.block.Coefficient = coef
	return c
}

// PowerIterations sets the power iteration steps per graph.
func (c *ResidualFlowConfig) PowerIterations(n int) *ResidualFlowConfig {
	c.block.PowerIterations = n
	return c
}

// LogDet sets the log-det mode and the number of terms of the series (the
// cap of the roulette).
func (c *ResidualFlowConfig) LogDet(mode LogDetMode, terms int) *ResidualFlowConfig {
	c.block.LogDet, c.block.Terms = mode, terms
	return c
}

// RouletteP sets p of the roulette's geometric number of terms.
func (c *ResidualFlowConfig) RouletteP(p float64) *ResidualFlowConfig {
	c.block.RouletteP = p
	return c
}

// Inverse sets the inverse's iteration cap and tolerance.
func (c *ResidualFlowConfig) Inverse(maxIterations int, tolerance float64) *ResidualFlowConfig {
	c.block.MaxIterations, c.block.Tolerance = maxIterations, tolerance
	return c
}

// FromScope reads the ParamResFlow* hyperparameters from the scope (and
// its parents), keeping the current values for those not set.
func (c *ResidualFlowConfig) FromScope(scope *model.Scope) *ResidualFlowConfig {
	b := &c.block
	c.blocks = model.GetParamOr(scope, ParamResFlowBlocks, c.blocks)
	c.actNorm = model.GetParamOr(scope, ParamResFlowActNorm, c.actNorm)
	b.Hidden = model.GetParamOr(scope, ParamResFlowHidden, b.Hidden)
	b.Activation = model.GetParamOr(scope, ParamResFlowActivation, b.Activation)
	b.Coefficient = model.GetParamOr(scope, ParamResFlowCoefficient, b.Coefficient)
	b.PowerIterations = model.GetParamOr(scope, ParamResFlowPowerIterations, b.PowerIterations)
	b.LogDet = LogDetMode(model.GetParamOr(scope, ParamResFlowLogDet, string(b.LogDet)))
	b.Terms = model.GetParamOr(scope, ParamResFlowTerms, b.Terms)
	b.RouletteP = model.GetParamOr(scope, ParamResFlowRouletteP, b.RouletteP)
	b.MaxIterations = model.GetParamOr(scope, ParamResFlowMaxIterations, b.MaxIterations)
	b.Tolerance = model.GetParamOr(scope, ParamResFlowTolerance, b.Tolerance)
	return c
}

// Kind is [ModelResFlow].
func (c *ResidualFlowConfig) Kind() ModelKind { return ModelResFlow }

func validateResidual(dim int, hidden []int, act string, coef float64, power int, mode LogDetMode,
	terms int, p float64, maxIter int, tol float64) error {
	switch {
	case dim < 1:
		return &ParamError{Key: ParamDim, Value: dim, Reason: "must be at least 1"}
	case !slices.Contains(residualActivations, act):
		return &ParamError{Key: ParamResFlowActivation, Value: act,
			Reason: "not a 1-Lipschitz activation; valid: lipswish, elu, tanh"}
	case !(coef > 0 && coef < 1):
		return &ParamError{Key: ParamResFlowCoefficient, Value: coef, Reason: "must be in (0, 1) for g to be a contraction"}
	case power < 1:
		return &ParamError{Key: ParamResFlowPowerIterations, Value: power, Reason: "must be at least 1"}
	case mode != LogDetExact && mode != LogDetSeries && mode != LogDetRoulette:
		return &ParamError{Key: ParamResFlowLogDet, Value: string(mode), Reason: "unknown log-det mode; valid: exact, series, roulette"}
	case mode != LogDetExact && terms < 1:
		return &ParamError{Key: ParamResFlowTerms, Value: terms, Reason: "must be at least 1"}
	case mode == LogDetRoulette && !(p > 0 && p < 1):
		return &ParamError{Key: ParamResFlowRouletteP, Value: p, Reason: "must be in (0, 1)"}
	case maxIter < 1:
		return &ParamError{Key: ParamResFlowMaxIterations, Value: maxIter, Reason: "must be at least 1"}
	case !(tol > 0):
		return &ParamError{Key: ParamResFlowTolerance, Value: tol, Reason: "must be positive"}
	}
	for _, h := range hidden {
		if h < 1 {
			return &ParamError{Key: ParamResFlowHidden, Value: hidden, Reason: "hidden sizes must be positive"}
		}
	}
	return nil
}

// Validate reports a configuration that cannot be built; an error about
// one hyperparameter is a [*ParamError] naming its key.
func (c *ResidualFlowConfig) Validate() error {
	if c.blocks < 1 {
		return &ParamError{Key: ParamResFlowBlocks, Value: c.blocks, Reason: "must be at least 1"}
	}
	b := c.block
	b.Dim = c.dim
	return validateResidual(b.Dim, b.Hidden, b.Activation, b.Coefficient, b.PowerIterations, b.LogDet,
		b.Terms, b.RouletteP, b.MaxIterations, b.Tolerance)
}

// Bijector returns the [Chain] of blocks (with ActNorms), to compose into
// another flow. It panics on an invalid configuration.
func (c *ResidualFlowConfig) Bijector() *Chain {
	if err := c.Validate(); err != nil {
		exceptions.Panicf("flowlib: %v", err)
	}
	var layers []Bijector
	for range c.blocks {
		if c.actNorm {
			layers = append(layers, NewActNorm(c.dim))
		}
		block := c.block
		block.Dim, block.Hidden = c.dim, slices.Clone(c.block.Hidden)
		layers = append(layers, &block)
	}
	return NewChain(layers...)
}

// Done returns the flow: the base and the [Chain] of
// [ResidualFlowConfig.Bijector]. It panics on an invalid configuration.
func (c *ResidualFlowConfig) Done() *Flow {
	base := c.base
	if base == nil {
		base = NewStandardNormal(c.dim)
	}
	return &Flow{Base: base, Bijector: c.Bijector()}
}

// SetParams writes the model's full description into scope's parameters
// ([ParamModel], [ParamDim], [ParamBase] and the ParamResFlow* keys), so
// that checkpoints carry it and [Load] rebuilds the flow. An invalid
// configuration writes nothing and returns the error.
func (c *ResidualFlowConfig) SetParams(scope *model.Scope) error {
	params, err := c.params()
	return writeParams(scope, params, err)
}

func (c *ResidualFlowConfig) params() ([]specParam, error) {
	if err := c.Validate(); err != nil {
		return nil, err
	}
	params, err := vectorBaseParams(ModelResFlow, c.dim, c.base)
	if err != nil {
		return nil, err
	}
	b := c.block
	return append(params,
		specParam{ParamResFlowBlocks, c.blocks},
		specParam{ParamResFlowActNorm, c.actNorm},
		specParam{ParamResFlowHidden, slices.Clone(b.Hidden)},
		specParam{ParamResFlowActivation, b.Activation},
		specParam{ParamResFlowCoefficient, b.Coefficient},
		specParam{ParamResFlowPowerIterations, b.PowerIterations},
		specParam{ParamResFlowLogDet, string(b.LogDet)},
		specParam{ParamResFlowTerms, b.Terms},
		specParam{ParamResFlowRouletteP, b.RouletteP},
		specParam{ParamResFlowMaxIterations, b.MaxIterations},
		specParam{ParamResFlowTolerance, b.Tolerance},
	), nil
}

func (c *ResidualFlowConfig) readParams(r *paramReader) {
	b := &c.block
	c.base = readBase(r, c.dim)
	c.blocks = readParam[int](r, ParamResFlowBlocks)
	c.actNorm = readParam[bool](r, ParamResFlowActNorm)
	b.Hidden = readParam[[]int](r, ParamResFlowHidden)
	b.Activation = readParam[string](r, ParamResFlowActivation)
	b.Coefficient = readParam[float64](r, ParamResFlowCoefficient)
	b.PowerIterations = readParam[int](r, ParamResFlowPowerIterations)
	b.LogDet = LogDetMode(readParam[string](r, ParamResFlowLogDet))
	b.Terms = readParam[int](r, ParamResFlowTerms)
	b.RouletteP = readParam[float64](r, ParamResFlowRouletteP)
	b.MaxIterations = readParam[int](r, ParamResFlowMaxIterations)
	b.Tolerance = readParam[float64](r, ParamResFlowTolerance)
}

// String describes the model in one line, e.g. "resflow, dim 2, 4 blocks,
// hidden 64,64, activation lipswish, c 0.9, roulette log-det (10 terms), actnorm on, base normal".
func (c *ResidualFlowConfig) String() string {
	actNorm := "off"
	if c.actNorm {
		actNorm = "on"
	}
	b := c.block
	terms := ""
	if b.LogDet != LogDetExact {
		terms = fmt.Sprintf(" (%d terms)", b.Terms)
	}
	return fmt.Sprintf("resflow, dim %d, %s, hidden %s, activation %s, c %g, %s log-det%s, actnorm %s, base %s",
		c.dim, plural(c.blocks, "block"), joinInts(b.Hidden), b.Activation, b.Coefficient, b.LogDet, terms,
		actNorm, describeBase(c.base))
}
