package flowlib_test

import (
	"errors"
	"io"
	"math"
	"strings"
	"testing"

	"github.com/gomlx/compute/dtypes"
	. "github.com/gomlx/gomlx/core/graph" //nolint:revive
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/model"

	"github.com/flowbook/flowbook/flowlib"
	"github.com/flowbook/flowbook/flowlib/data"
	"github.com/flowbook/flowbook/flowlib/flowcheck"
	"github.com/flowbook/flowbook/flowlib/inference"
	"github.com/flowbook/flowbook/flowlib/training"
)

// TestCNFPassesToolkit checks a small CNF with the exact trace, in float32
// and float64: round trip (RK4 forwards, then backwards), log-dets summing
// to zero, the log-det against the brute-force Jacobian of the discretised
// map, gradients (through the solver and the trace's backward passes)
// reaching every variable.
func TestCNFPassesToolkit(t *testing.T) {
	be := testBackend(t)
	for _, dtype := range []dtypes.DType{dtypes.Float32, dtypes.Float64} {
		t.Run(dtype.String(), func(t *testing.T) {
			cnf := flowlib.FlowMatching(2).Hidden(8).Steps(4).Bijector()
			passesToolkit(t, be, cnf, dtype, 2, 2)
		})
	}
}

// linearField is f(t, z) = A z with A = [[0.3, 0.8], [-0.4, -0.2]]: the
// flow at t = 1 is x = e^A z, so with z ~ N(0, I) the data are
// N(0, e^A e^{Aᵀ}).
var linearA = [2][2]float64{{0.3, 0.8}, {-0.4, -0.2}}

func linearField(_ *model.Scope, _, z *Node) *Node {
	at := Const(z.Graph(), [][]float64{{linearA[0][0], linearA[1][0]}, {linearA[0][1], linearA[1][1]}})
	return MatMul(z, ConvertDType(at, z.DType()))
}

// expm2 is the matrix exponential of a 2×2 matrix, by its Taylor series.
func expm2(a [2][2]float64) [2][2]float64 {
	r := [2][2]float64{{1, 0}, {0, 1}}
	term := r
	for k := 1; k < 30; k++ {
		var next [2][2]float64
		for i := range 2 {
			for j := range 2 {
				next[i][j] = (term[i][0]*a[0][j] + term[i][1]*a[1][j]) / float64(k)
			}
		}
		term = next
		for i := range 2 {
			for j := range 2 {
				r[i][j] += term[i][j]
			}
		}
	}
	return r
}

// linearLogDensity is log N(x; 0, e^A e^{Aᵀ}) = log N(e^{−A}x; 0, I) − tr A.
func linearLogDensity(x [2]float64) float64 {
	m := expm2([2][2]float64{{-linearA[0][0], -linearA[0][1]}, {-linearA[1][0], -linearA[1][1]}})
	z0 := m[0][0]*x[0] + m[0][1]*x[1]
	z1 := m[1][0]*x[0] + m[1][1]*x[1]
	return -math.Log(2*math.Pi) - (z0*z0+z1*z1)/2 - (linearA[0][0] + linearA[1][1])
}

// TestCNFLinearDensity checks the CNF's log-density on the linear ODE
// against the closed form, with the exact trace and RK4 in the graph, and
// with Hutchinson's trace (exact here in expectation only: compared in
// the mean) and the adaptive solver; sampling by integrating backwards,
// then evaluating the samples, gives back their log-densities.
func TestCNFLinearDensity(t *testing.T) {
	be := testBackend(t)
	xs := [][]float64{{0.5, -1}, {1.5, 0.3}, {-2, 2}, {0, 0}}
	var want []float64
	for _, x := range xs {
		want = append(want, linearLogDensity([2]float64{x[0], x[1]}))
	}
	cnf := &flowlib.CNF{Dim: 2, Activation: "tanh", Steps: 8, Trace: flowlib.TraceExact, FieldFunc: linearField}
	flow := &flowlib.Flow{Base: flowlib.NewStandardNormal(2), Bijector: cnf}
	store := model.NewStore()
	x := tensors.FromValue(xs)
	lp, err := model.ExecOnce(be, store, func(scope *model.Scope, x *Node) *Node { return flow.LogProb(scope, x) }, x)
	if err != nil {
		t.Fatal(err)
	}
	maxErr := 0.0
	for i, v := range flowcheck.ToFloat64(lp) {
		maxErr = math.Max(maxErr, math.Abs(v-want[i]))
	}
	t.Logf("linear ODE, RK4 8 steps (NFE 32): max |log p − closed form| = %.3g", maxErr)
	if maxErr > 1e-4 {
		t.Errorf("RK4 log-density differs from the closed form by %.3g", maxErr)
	}
	got, stats, err := flowlib.CNFLogProb(be, store, flow, x, flowlib.DefaultDormandPrince, 1)
	if err != nil {
		t.Fatal(err)
	}
	maxErr = 0
	for i, v := range got {
		maxErr = math.Max(maxErr, math.Abs(v-want[i]))
	}
	t.Logf("linear ODE, Dormand–Prince tol 1e-5: max error %.3g, NFE %d", maxErr, stats.NFE)
	if maxErr > 1e-4 {
		t.Errorf("adaptive log-density differs from the closed form by %.3g", maxErr)
	}
	// Hutchinson: the mean over many probes of one point's estimate.
	cnf.Trace = flowlib.TraceHutchinson
	rows := make([][]float64, 2000)
	for i := range rows {
		rows[i] = xs[0]
	}
	got, _, err = flowlib.CNFLogProb(be, store, flow, tensors.FromValue(rows), flowlib.DefaultDormandPrince, 7)
	if err != nil {
		t.Fatal(err)
	}
	mean, se := meanSE(got)
	t.Logf("linear ODE, Hutchinson: mean %.4f ± %.4f (SE), exact %.4f, variance %.4f", mean, se, want[0], se*se*float64(len(got)))
	if math.Abs(mean-want[0]) > 4*se+1e-6 {
		t.Errorf("Hutchinson's mean %.4f ± %.4f is not the exact %.4f", mean, se, want[0])
	}
	// Sampling integrates backwards; the samples' density read forwards agrees.
	cnf.Trace = flowlib.TraceExact
	samples, logP, _, err := flowlib.CNFSample(be, store, flow, dtypes.Float64, 5, 1, flowlib.DefaultDormandPrince, 1)
	if err != nil {
		t.Fatal(err)
	}
	back, _, err := flowlib.CNFLogProb(be, store, flow, samples, flowlib.DefaultDormandPrince, 1)
	if err != nil {
		t.Fatal(err)
	}
	sv := flowcheck.ToFloat64(samples)
	for i := range logP {
		closed := linearLogDensity([2]float64{sv[2*i], sv[2*i+1]})
		if math.Abs(back[i]-logP[i]) > 1e-4 || math.Abs(closed-logP[i]) > 1e-4 {
			t.Errorf("sample %d: log p %.6f when drawn, %.6f read back, %.6f closed form", i, logP[i], back[i], closed)
		}
	}
}

// meanSE is the mean of values and its standard error.
func meanSE(values []float64) (mean, se float64) {
	for _, v := range values {
		mean += v
	}
	mean /= float64(len(values))
	var ss float64
	for _, v := range values {
		ss += (v - mean) * (v - mean)
	}
	return mean, math.Sqrt(ss / float64(len(values)-1) / float64(len(values)))
}

// TestCNFHutchinsonUnbiased checks that Hutchinson's trace estimator gives
// an unbiased log-det for a random MLP field (RK4 in the graph): its mean
// over 4000 probes is the exact-trace log-det within 4 standard errors.
func TestCNFHutchinsonUnbiased(t *testing.T) {
	be := testBackend(t)
	cnf := flowlib.FFJORD(3).Hidden(16).Steps(4).Trace(flowlib.TraceExact).Bijector()
	store := model.NewStore()
	store.SetParam(model.ParamInitialSeed, int64(3))
	x1 := flowcheck.RandomInput(dtypes.Float64, 1.5, 5, 1, 3)
	if err := flowcheck.RandomizeVariables(be, store, cnf, x1, 0.5, 4); err != nil {
		t.Fatal(err)
	}
	_, exact, err := flowcheck.Jacobian(be, store, cnf, x1)
	if err != nil {
		t.Fatal(err)
	}
	row := flowcheck.ToFloat64(x1)
	rows := make([]float64, 0, 4000*3)
	for range 4000 {
		rows = append(rows, row...)
	}
	cnf.Trace = flowlib.TraceHutchinson
	ld, err := model.ExecOnce(be, store, func(scope *model.Scope, x *Node) *Node {
		_, ld := cnf.Forward(scope, x)
		return ld
	}, flowcheck.FromFloat64(rows, dtypes.Float64, 4000, 3))
	if err != nil {
		t.Fatal(err)
	}
	mean, se := meanSE(flowcheck.ToFloat64(ld))
	t.Logf("CNF log-det: Hutchinson mean %.5f ± %.5f (SE), exact trace %.5f; variance of one estimate %.5f",
		mean, se, exact[0], se*se*4000)
	if math.Abs(mean-exact[0]) > 4*se {
		t.Errorf("Hutchinson's mean %.5f ± %.5f differs from the exact %.5f", mean, se, exact[0])
	}
	if se == 0 {
		t.Error("Hutchinson's estimates do not vary: is the probe random?")
	}
}

// TestCNFErrors checks bad configurations (ParamErrors naming the key) and
// bad data for CNFLogProb.
func TestCNFErrors(t *testing.T) {
	for _, tc := range []struct {
		config *flowlib.CNFConfig
		key    string
	}{
		{flowlib.FFJORD(2).Activation("relu"), flowlib.ParamCNFActivation},
		{flowlib.FFJORD(2).Steps(0), flowlib.ParamCNFSteps},
		{flowlib.FFJORD(2).Trace("skilling"), flowlib.ParamCNFTrace},
		{flowlib.FlowMatching(2).SigmaMin(1), flowlib.ParamCNFSigmaMin},
		{flowlib.FlowMatching(2).Base(flowlib.NewDiagonalGaussian(2)), flowlib.ParamBase},
		{flowlib.FFJORD(2).Hidden(0), flowlib.ParamCNFHidden},
	} {
		var perr *flowlib.ParamError
		if err := tc.config.Validate(); !errors.As(err, &perr) || perr.Key != tc.key {
			t.Errorf("%s: got %v, want a ParamError for %s", tc.config, err, tc.key)
		}
	}
	be := testBackend(t)
	flow := flowlib.FFJORD(2).Hidden(4).Steps(1).Done()
	store := model.NewStore()
	for _, tc := range []struct {
		x    *tensors.Tensor
		want string
	}{
		{tensors.FromValue([][]float64{{1, 2, 3}}), "[batchSize, 2]"},
		{tensors.FromValue([][]float64{{1, math.NaN()}}), "non-finite"},
	} {
		if _, _, err := flowlib.CNFLogProb(be, store, flow, tc.x, flowlib.DefaultDormandPrince, 1); err == nil ||
			!strings.Contains(err.Error(), tc.want) {
			t.Errorf("CNFLogProb(%s): got %v, want an error containing %q", tc.x.Shape(), err, tc.want)
		}
	}
	if _, _, err := flowlib.CNFLogProb(be, store, flowlib.RealNVP(2).Done(), tensors.FromValue([][]float64{{1, 2}}),
		flowlib.DefaultDormandPrince, 1); err == nil || !strings.Contains(err.Error(), "not a *CNF") {
		t.Errorf("CNFLogProb of a RealNVP: got %v", err)
	}
}

// TestContinuousSpecs checks the model descriptions of resflow, ffjord and
// flowmatch: NewSpec's defaults read back as the same, a missing key is
// reported by name, and a checkpoint trained for a few steps loads (Load)
// into a flow with the same log-densities.
func TestContinuousSpecs(t *testing.T) {
	for _, kind := range []flowlib.ModelKind{flowlib.ModelResFlow, flowlib.ModelFFJORD, flowlib.ModelFlowMatch} {
		spec, err := flowlib.NewSpec(kind, 2)
		if err != nil {
			t.Fatal(err)
		}
		store := model.NewStore()
		if err := spec.SetParams(store.RootScope()); err != nil {
			t.Fatal(err)
		}
		back, err := flowlib.ReadSpec(store.RootScope())
		if err != nil {
			t.Fatalf("%s: %v", kind, err)
		}
		if back.String() != spec.String() || back.Kind() != kind || back.Dim() != 2 {
			t.Errorf("%s: read back %q, want %q", kind, back, spec)
		}
		params, _ := spec.Params()
		missing := flowlib.ParamCNFSteps
		if kind == flowlib.ModelResFlow {
			missing = flowlib.ParamResFlowCoefficient
		}
		delete(params, missing)
		store = model.NewStore()
		store.RootScope().SetParams(params)
		var perr *flowlib.ParamError
		if _, err := flowlib.ReadSpec(store.RootScope()); !errors.As(err, &perr) || perr.Key != missing || !perr.Missing {
			t.Errorf("%s without %s: got %v", kind, missing, err)
		}
		if _, err := flowlib.NewSpec(kind, 8, 8, 1); err == nil || !strings.Contains(err.Error(), "model of vectors") {
			t.Errorf("%s on images: got %v", kind, err)
		}
	}
	be := testBackend(t)
	testSet := &data.Samples{N: 2, Dim: 2, Values: []float32{0.5, -1, 1, 2}}
	for _, tc := range []struct {
		name   string
		params func(scope *model.Scope) error
	}{
		{"resflow", flowlib.ResidualFlow(2).NumBlocks(1).Hidden(8).LogDet(flowlib.LogDetExact, 0).SetParams},
		{"ffjord", flowlib.FFJORD(2).Hidden(8).Steps(2).Trace(flowlib.TraceExact).SetParams},
		{"flowmatch", flowlib.FlowMatching(2).Hidden(8).Steps(2).SetParams},
	} {
		t.Run(tc.name, func(t *testing.T) {
			store := model.NewStore()
			if err := tc.params(store.RootScope()); err != nil {
				t.Fatal(err)
			}
			spec, err := flowlib.ReadSpec(store.RootScope())
			if err != nil {
				t.Fatal(err)
			}
			flow, _ := spec.Flow()
			dir := t.TempDir()
			trainSet, _ := gaussianSamples(256, 3)
			if _, err := training.New(be, store, flow, trainSet).Steps(3).BatchSize(64).Checkpoint(dir, 0).Log(io.Discard).Run(); err != nil {
				t.Fatal(err)
			}
			want, err := inference.LogProbs(be, store, flow, testSet)
			if err != nil {
				t.Fatal(err)
			}
			m, err := flowlib.Load(dir)
			if err != nil {
				t.Fatal(err)
			}
			got, err := inference.LogProbs(be, m.Store, m.Flow, testSet)
			if err != nil {
				t.Fatal(err)
			}
			for i := range want {
				if math.Abs(got[i]-want[i]) > 1e-5 {
					t.Errorf("example %d: log p %.6f after Load, %.6f before", i, got[i], want[i])
				}
			}
			if err := m.CheckComplete(); err != nil {
				t.Error(err)
			}
		})
	}
}
