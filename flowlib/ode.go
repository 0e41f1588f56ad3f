package flowlib

import (
	"errors"
	"fmt"
	"math"

	"github.com/gomlx/compute"
	"github.com/gomlx/compute/dtypes"
	. "github.com/gomlx/gomlx/core/graph" //nolint:revive
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/model"
	"github.com/gomlx/gomlx/support/exceptions"

	"github.com/flowbook/flowbook/flowlib/internal/graphpanic"
)

// ODEFunc is the right-hand side of a system of ordinary differential
// equations dy/dt = f(t, y) whose state y is a list of tensors (for a
// continuous flow: the points [batchSize, dim] and the accumulated log-det
// [batchSize]). t is a scalar of the state's dtype; f returns one
// derivative per state tensor, of the same shape.
type ODEFunc func(t *Node, y []*Node) []*Node

// RK4 integrates dy/dt = f(t, y) from t0 to t1 (t1 < t0 integrates
// backwards) in a fixed number of equal steps of the classic fourth-order
// Runge–Kutta method, inside the graph, and returns y(t1). Its global error
// falls as h⁴ with the step h = (t1 − t0)/steps. Every step evaluates f four
// times: the number of function evaluations (NFE) is 4·steps.
//
// Being ordinary graph ops, the steps can be differentiated: gradients
// backpropagate through the solver (not by the adjoint method), which is
// exact for the discretised map and costs memory in proportion to steps.
// It panics if steps < 1, t0 or t1 is not finite, or y is empty.
func RK4(f ODEFunc, y []*Node, t0, t1 float64, steps int) []*Node {
	if steps < 1 {
		exceptions.Panicf("flowlib: RK4 needs at least 1 step, got %d", steps)
	}
	if !isFinite(t0) || !isFinite(t1) {
		exceptions.Panicf("flowlib: RK4 needs finite times, got t0=%g, t1=%g", t0, t1)
	}
	if len(y) == 0 {
		exceptions.Panicf("flowlib: RK4 needs a state of at least one tensor")
	}
	g, dtype := y[0].Graph(), y[0].DType()
	h := (t1 - t0) / float64(steps)
	for i := range steps {
		t := t0 + float64(i)*h
		y = rk4Step(f, y, Scalar(g, dtype, t), Scalar(g, dtype, h))
	}
	return y
}

// rk4Step is one step of the classic Runge–Kutta method from (t, y) of size h.
func rk4Step(f ODEFunc, y []*Node, t, h *Node) []*Node {
	half := MulScalar(h, 0.5)
	k1 := evalODE(f, t, y)
	k2 := evalODE(f, Add(t, half), axpy(y, half, k1))
	k3 := evalODE(f, Add(t, half), axpy(y, half, k2))
	k4 := evalODE(f, Add(t, h), axpy(y, h, k3))
	out := make([]*Node, len(y))
	for i := range y {
		sum := Add(Add(k1[i], MulScalar(k2[i], 2)), Add(MulScalar(k3[i], 2), k4[i]))
		out[i] = Add(y[i], Mul(MulScalar(h, 1.0/6), sum))
	}
	return out
}

// evalODE calls f and checks that it returned one derivative of the right
// shape per state tensor.
func evalODE(f ODEFunc, t *Node, y []*Node) []*Node {
	dy := f(t, y)
	if len(dy) != len(y) {
		exceptions.Panicf("flowlib: the ODE function returned %d derivatives for a state of %d tensors", len(dy), len(y))
	}
	for i := range y {
		if !dy[i].Shape().Equal(y[i].Shape()) {
			exceptions.Panicf("flowlib: the ODE function returned a derivative of shape %s for state tensor %d of shape %s",
				dy[i].Shape(), i, y[i].Shape())
		}
	}
	return dy
}

// axpy returns y + a·k, elementwise over the state, a scalar.
func axpy(y []*Node, a *Node, k []*Node) []*Node {
	out := make([]*Node, len(y))
	for i := range y {
		out[i] = Add(y[i], Mul(a, k[i]))
	}
	return out
}

// ODEStats counts the work of an adaptive solve: accepted and rejected
// steps, and function evaluations (NFE, 7 per attempted Dormand–Prince step,
// as this implementation does not reuse the last stage).
type ODEStats struct {
	Steps, Rejected, NFE int
}

// ErrODENotConverged is the error (wrapped) of [DormandPrince.Solve] when the
// solver cannot reach the end time within its step budget or its step size
// underflows (a stiff or exploding field).
var ErrODENotConverged = errors.New("the ODE solver did not converge")

// DormandPrince is the adaptive Runge–Kutta method of Dormand & Prince
// (1980), RK5(4)7M, the "dopri5" of torchdiffeq and ode45 of MATLAB: each
// step computes a fifth-order solution and a fourth-order one; their
// difference estimates the local error, scaled per value by
// ATol + RTol·max(|y|, |y_new|), and its root mean square over all values
// (the whole batch shares one step size) decides whether the step is
// accepted and the next step size, h·min(5, max(0.2, 0.9·err^(−1/5))).
//
// A static graph cannot take a data-dependent number of steps, so Solve is
// a host-side loop of executions of a one-step graph (compiled once): use it
// for inference and sampling. Training differentiates through [RK4] with a
// fixed number of steps instead. The zero value is not usable; start from
// [DefaultDormandPrince].
type DormandPrince struct {
	RTol, ATol float64 // relative and absolute tolerances, both > 0
	MaxSteps   int     // the most attempted steps before giving up with ErrODENotConverged
	FirstStep  float64 // the first step size tried (0: |t1 − t0|/10)
}

// DefaultDormandPrince has tolerances 1e-5 (relative and absolute) and at
// most 1000 steps.
var DefaultDormandPrince = DormandPrince{RTol: 1e-5, ATol: 1e-5, MaxSteps: 1000}

// Dormand–Prince tableau (RK5(4)7M).
var (
	dopriC = []float64{0, 1.0 / 5, 3.0 / 10, 4.0 / 5, 8.0 / 9, 1, 1}
	dopriA = [][]float64{
		{},
		{1.0 / 5},
		{3.0 / 40, 9.0 / 40},
		{44.0 / 45, -56.0 / 15, 32.0 / 9},
		{19372.0 / 6561, -25360.0 / 2187, 64448.0 / 6561, -212.0 / 729},
		{9017.0 / 3168, -355.0 / 33, 46732.0 / 5247, 49.0 / 176, -5103.0 / 18656},
		{35.0 / 384, 0, 500.0 / 1113, 125.0 / 192, -2187.0 / 6784, 11.0 / 84},
	}
	dopriB5 = []float64{35.0 / 384, 0, 500.0 / 1113, 125.0 / 192, -2187.0 / 6784, 11.0 / 84, 0}
	dopriB4 = []float64{5179.0 / 57600, 0, 7571.0 / 16695, 393.0 / 640, -92097.0 / 339200, 187.0 / 2100, 1.0 / 40}
)

// dopriStep is one Dormand–Prince step from (t, y) of size h: the
// fifth-order solution and the scaled RMS error norm (a scalar).
func dopriStep(f ODEFunc, y []*Node, t, h *Node, rtol, atol float64) (yNew []*Node, errNorm *Node) {
	ks := make([][]*Node, 7)
	for s := range 7 {
		ys := y
		for j, a := range dopriA[s] {
			if a != 0 {
				ys = axpy(ys, MulScalar(h, a), ks[j])
			}
		}
		ks[s] = evalODE(f, Add(t, MulScalar(h, dopriC[s])), ys)
	}
	yNew = make([]*Node, len(y))
	var sumSq *Node
	count := 0
	for i := range y {
		y5, e := y[i], ZerosLike(y[i])
		for s := range 7 {
			if dopriB5[s] != 0 {
				y5 = Add(y5, Mul(MulScalar(h, dopriB5[s]), ks[s][i]))
			}
			if d := dopriB5[s] - dopriB4[s]; d != 0 {
				e = Add(e, Mul(MulScalar(h, d), ks[s][i]))
			}
		}
		yNew[i] = y5
		scale := AddScalar(MulScalar(Max(Abs(y[i]), Abs(y5)), rtol), atol)
		sq := ReduceAllSum(Square(Div(e, scale)))
		if sumSq == nil {
			sumSq = sq
		} else {
			sumSq = Add(sumSq, sq)
		}
		count += y[i].Shape().Size()
	}
	return yNew, Sqrt(DivScalar(sumSq, float64(count)))
}

// Solve integrates dy/dt = f(scope, t, y) from t0 to t1 (either direction)
// on the host, from the initial state y0, with adaptive steps. f is built
// into a one-step graph with the root scope of store, so a learned vector
// field finds its variables there (in the scope it enters itself). It
// returns y(t1), in y0's dtypes, and the solver's work; an error wrapping
// [ErrODENotConverged] after MaxSteps attempted steps, when the step size
// underflows, or when the state stops being finite.
func (dp DormandPrince) Solve(backend compute.Backend, store *model.Store,
	f func(scope *model.Scope, t *Node, y []*Node) []*Node,
	y0 []*tensors.Tensor, t0, t1 float64) ([]*tensors.Tensor, ODEStats, error) {
	var stats ODEStats
	switch {
	case !(dp.RTol > 0) || !(dp.ATol > 0):
		return nil, stats, fmt.Errorf("flowlib: Dormand–Prince tolerances must be positive, got rtol=%g, atol=%g", dp.RTol, dp.ATol)
	case dp.MaxSteps < 1:
		return nil, stats, fmt.Errorf("flowlib: Dormand–Prince needs MaxSteps ≥ 1, got %d", dp.MaxSteps)
	case !isFinite(t0) || !isFinite(t1):
		return nil, stats, fmt.Errorf("flowlib: Dormand–Prince needs finite times, got t0=%g, t1=%g", t0, t1)
	case len(y0) == 0:
		return nil, stats, errors.New("flowlib: Dormand–Prince needs an initial state of at least one tensor")
	case dp.FirstStep < 0 || math.IsNaN(dp.FirstStep):
		return nil, stats, fmt.Errorf("flowlib: Dormand–Prince's first step must be 0 (automatic) or positive, got %g", dp.FirstStep)
	}
	for i, y := range y0 {
		if err := checkFiniteTensor(y); err != nil {
			return nil, stats, fmt.Errorf("flowlib: Dormand–Prince initial state %d: %w", i, err)
		}
	}
	if t0 == t1 {
		return y0, stats, nil
	}
	dtype := y0[0].DType()
	exec, err := model.NewExec(backend, store, func(scope *model.Scope, inputs []*Node) []*Node {
		defer graphpanic.AsError()
		t, h := inputs[0], inputs[1]
		yNew, errNorm := dopriStep(func(t *Node, y []*Node) []*Node { return f(scope, t, y) },
			inputs[2:], t, h, dp.RTol, dp.ATol)
		return append(yNew, ConvertDType(errNorm, dtypes.Float64))
	})
	if err != nil {
		return nil, stats, fmt.Errorf("flowlib: Dormand–Prince: %w", err)
	}
	defer exec.Finalize()
	direction := math.Copysign(1, t1-t0)
	span := math.Abs(t1 - t0)
	h := dp.FirstStep
	if h == 0 {
		h = span / 10
	}
	h = math.Min(h, span)
	t, y := t0, y0
	for math.Abs(t-t0) < span {
		if stats.Steps+stats.Rejected >= dp.MaxSteps {
			return nil, stats, fmt.Errorf("flowlib: %w: %d steps reached t=%g of [%g, %g]; raise MaxSteps or the tolerances",
				ErrODENotConverged, dp.MaxSteps, t, t0, t1)
		}
		remaining := span - math.Abs(t-t0)
		step := math.Min(h, remaining)
		if step <= 1e-12*span {
			return nil, stats, fmt.Errorf("flowlib: %w: the step size fell to %g at t=%g (a stiff or exploding field)",
				ErrODENotConverged, step, t)
		}
		args := []any{scalarTensor(dtype, t), scalarTensor(dtype, direction*step)}
		for _, yi := range y {
			args = append(args, yi)
		}
		out, err := exec.Exec(args...)
		if err != nil {
			return nil, stats, fmt.Errorf("flowlib: Dormand–Prince: %w", err)
		}
		stats.NFE += 7
		errNorm := tensors.ToScalar[float64](out[len(out)-1])
		if math.IsNaN(errNorm) || math.IsInf(errNorm, 0) {
			return nil, stats, fmt.Errorf("flowlib: %w: the state became non-finite at t=%g", ErrODENotConverged, t)
		}
		if errNorm <= 1 {
			t += direction * step
			if step == remaining {
				t = t1
			}
			y = out[:len(out)-1]
			stats.Steps++
		} else {
			stats.Rejected++
		}
		factor := 5.0
		if errNorm > 0 {
			factor = math.Min(5, math.Max(0.2, 0.9*math.Pow(errNorm, -0.2)))
		}
		h = step * factor
	}
	return y, stats, nil
}

// scalarTensor is a scalar tensor of the given float dtype.
func scalarTensor(dtype dtypes.DType, v float64) *tensors.Tensor {
	if dtype == dtypes.Float64 {
		return tensors.FromValue(v)
	}
	return tensors.FromValue(float32(v))
}

// checkFiniteTensor reports a NaN or ±Inf in a float tensor, or another dtype.
func checkFiniteTensor(t *tensors.Tensor) error {
	if t == nil {
		return errors.New("no tensor (nil)")
	}
	if dt := t.DType(); dt != dtypes.Float32 && dt != dtypes.Float64 {
		return fmt.Errorf("dtype %s: want float32 or float64", dt)
	}
	for i, v := range flatFloat64(t) {
		if !isFinite(v) {
			return fmt.Errorf("non-finite value %v at flat index %d", v, i)
		}
	}
	return nil
}
