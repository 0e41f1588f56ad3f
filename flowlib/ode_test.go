package flowlib_test

import (
	"errors"
	"math"
	"strings"
	"testing"

	. "github.com/gomlx/gomlx/core/graph" //nolint:revive
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/model"

	"github.com/flowbook/flowbook/flowlib"
	"github.com/flowbook/flowbook/flowlib/flowcheck"
)

// linearODE is dy/dt = A y with A = [[-0.5, 2], [-2, -0.5]] (a damped
// rotation), whose solution is y(t) = e^{-t/2} R(-2t) y(0).
func linearODE(t *Node, y []*Node) []*Node {
	a := Const(y[0].Graph(), [][]float64{{-0.5, -2}, {2, -0.5}}) // Aᵀ, for rows y·Aᵀ.
	return []*Node{MatMul(y[0], ConvertDType(a, y[0].DType()))}
}

// linearSolution is y(t) for y(0) = (1, 0.5).
func linearSolution(t float64) [2]float64 {
	d, c, s := math.Exp(-t/2), math.Cos(2*t), math.Sin(2*t)
	return [2]float64{d * (c*1 + s*0.5), d * (-s*1 + c*0.5)}
}

// TestRK4Order checks RK4 on the linear ODE: its error at t = 1 falls as
// h⁴ (the slope of log error against log h is 4 ± 0.3), and integrating
// back to t = 0 returns the start.
func TestRK4Order(t *testing.T) {
	be := testBackend(t)
	y0 := tensors.FromValue([][]float64{{1, 0.5}})
	var logH, logErr []float64
	for _, steps := range []int{4, 8, 16, 32} {
		out, err := model.ExecOnceN(be, model.NewStore(), func(scope *model.Scope, y *Node) []*Node {
			fwd := flowlib.RK4(linearODE, []*Node{y}, 0, 1, steps)
			back := flowlib.RK4(linearODE, fwd, 1, 0, steps)
			return []*Node{fwd[0], back[0]}
		}, y0)
		if err != nil {
			t.Fatal(err)
		}
		got, want := flowcheck.ToFloat64(out[0]), linearSolution(1)
		e := math.Hypot(got[0]-want[0], got[1]-want[1])
		back := flowcheck.ToFloat64(out[1])
		if rt := math.Hypot(back[0]-1, back[1]-0.5); rt > 10*e+1e-12 {
			t.Errorf("steps %d: forward then backward misses the start by %.3g", steps, rt)
		}
		logH, logErr = append(logH, math.Log(1/float64(steps))), append(logErr, math.Log(e))
		t.Logf("RK4 steps %3d (NFE %3d): error %.3e", steps, 4*steps, e)
	}
	slope := fitSlope(logH, logErr)
	t.Logf("RK4 order: slope of log error vs log h = %.3f", slope)
	if math.Abs(slope-4) > 0.3 {
		t.Errorf("RK4's error falls as h^%.2f, want h^4", slope)
	}
}

// fitSlope is the least-squares slope of y against x.
func fitSlope(x, y []float64) float64 {
	var mx, my float64
	for i := range x {
		mx += x[i] / float64(len(x))
		my += y[i] / float64(len(x))
	}
	var sxy, sxx float64
	for i := range x {
		sxy += (x[i] - mx) * (y[i] - my)
		sxx += (x[i] - mx) * (x[i] - mx)
	}
	return sxy / sxx
}

// TestDormandPrince checks the adaptive solver on the linear ODE at two
// tolerances (the error follows the tolerance, the work grows as it
// tightens), both directions, and its errors: non-convergence within
// MaxSteps, bad tolerances, non-finite initial states.
func TestDormandPrince(t *testing.T) {
	be := testBackend(t)
	f := func(_ *model.Scope, tt *Node, y []*Node) []*Node { return linearODE(tt, y) }
	y0 := []*tensors.Tensor{tensors.FromValue([][]float64{{1, 0.5}})}
	prevNFE := 0
	for _, tol := range []float64{1e-4, 1e-8} {
		dp := flowlib.DefaultDormandPrince
		dp.RTol, dp.ATol = tol, tol
		y, stats, err := dp.Solve(be, model.NewStore(), f, y0, 0, 2)
		if err != nil {
			t.Fatal(err)
		}
		got, want := flowcheck.ToFloat64(y[0]), linearSolution(2)
		e := math.Hypot(got[0]-want[0], got[1]-want[1])
		t.Logf("Dormand–Prince tol %g: error %.3e, %d steps, %d rejected, NFE %d", tol, e, stats.Steps, stats.Rejected, stats.NFE)
		if e > 100*tol {
			t.Errorf("tol %g: error %.3g", tol, e)
		}
		if stats.NFE <= prevNFE {
			t.Errorf("tol %g: NFE %d did not grow from %d", tol, stats.NFE, prevNFE)
		}
		prevNFE = stats.NFE
		back, _, err := dp.Solve(be, model.NewStore(), f, y, 2, 0)
		if err != nil {
			t.Fatal(err)
		}
		if b := flowcheck.ToFloat64(back[0]); math.Hypot(b[0]-1, b[1]-0.5) > 100*tol {
			t.Errorf("tol %g: backward integration returns %v, want [1 0.5]", tol, b)
		}
	}
	dp := flowlib.DefaultDormandPrince
	dp.MaxSteps = 2
	if _, _, err := dp.Solve(be, model.NewStore(), f, y0, 0, 20); !errors.Is(err, flowlib.ErrODENotConverged) {
		t.Errorf("2 steps for t in [0, 20]: got %v, want ErrODENotConverged", err)
	}
	dp = flowlib.DefaultDormandPrince
	dp.RTol = 0
	if _, _, err := dp.Solve(be, model.NewStore(), f, y0, 0, 1); err == nil || !strings.Contains(err.Error(), "tolerances") {
		t.Errorf("rtol 0: got %v", err)
	}
	nan := []*tensors.Tensor{tensors.FromValue([][]float64{{math.NaN(), 0}})}
	if _, _, err := flowlib.DefaultDormandPrince.Solve(be, model.NewStore(), f, nan, 0, 1); err == nil || !strings.Contains(err.Error(), "non-finite") {
		t.Errorf("NaN start: got %v", err)
	}
	if _, err := model.ExecOnce(be, model.NewStore(), func(scope *model.Scope, y *Node) *Node {
		return flowlib.RK4(linearODE, []*Node{y}, 0, 1, 0)[0]
	}, y0[0]); err == nil || !strings.Contains(err.Error(), "at least 1 step") {
		t.Errorf("RK4 with 0 steps: got %v", err)
	}
}
