package flowcheck_test

import (
	"math"
	"strings"
	"testing"
	"time"

	"github.com/gomlx/compute/dtypes"
	. "github.com/gomlx/gomlx/core/graph" //nolint:revive
	"github.com/gomlx/gomlx/ml/model"

	"github.com/flowbook/flowbook/flowlib"
	"github.com/flowbook/flowbook/flowlib/backend"
	"github.com/flowbook/flowbook/flowlib/flowcheck"
)

func TestLogAbsDet(t *testing.T) {
	cases := []struct {
		name string
		m    [][]float64
		want float64
	}{
		{"identity", [][]float64{{1, 0}, {0, 1}}, 0},
		{"diagonal", [][]float64{{2, 0}, {0, -3}}, math.Log(6)},
		{"needs_pivoting", [][]float64{{0, 2}, {3, 1}}, math.Log(6)},
		{"triangular", [][]float64{{1, 0, 0}, {5, 2, 0}, {7, 8, 4}}, math.Log(8)},
		{"singular", [][]float64{{1, 2}, {2, 4}}, math.Inf(-1)},
	}
	for _, c := range cases {
		if got := flowcheck.LogAbsDet(c.m); math.Abs(got-c.want) > 1e-12 && !(math.IsInf(got, -1) && math.IsInf(c.want, -1)) {
			t.Errorf("%s: LogAbsDet = %g, want %g", c.name, got, c.want)
		}
	}
}

// wrongLogDet is an affine coupling whose log-det has a plausible bug; the
// checks must catch each one (a check that cannot fail checks nothing).
type wrongLogDet struct {
	flowlib.AffineCoupling
	bug string
}

func (w *wrongLogDet) Forward(scope *model.Scope, x *Node) (*Node, *Node) {
	y, ld := w.AffineCoupling.Forward(scope, x)
	switch w.bug {
	case "sign":
		ld = Neg(ld)
	case "summed_over_batch":
		ld = BroadcastToShape(ReduceAllSum(ld), ld.Shape())
	case "inverse_uses_exp_s":
		// Forward is right; Inverse below is wrong.
	}
	return y, ld
}

func (w *wrongLogDet) Inverse(scope *model.Scope, y *Node) (*Node, *Node) {
	x, ld := w.AffineCoupling.Inverse(scope, y)
	if w.bug == "inverse_uses_exp_s" {
		// x_b = (y_b − t)·exp(+s): the classic slip.
		fx, _ := w.AffineCoupling.Forward(scope, y)
		x = fx
	}
	return x, ld
}

func TestChecksCatchWrongBijectors(t *testing.T) {
	be, err := backend.Shared()
	if err != nil {
		t.Fatal(err)
	}
	for _, bug := range []string{"sign", "summed_over_batch", "inverse_uses_exp_s"} {
		t.Run(bug, func(t *testing.T) {
			b := &wrongLogDet{AffineCoupling: *flowlib.NewAffineCoupling(flowlib.HalfMask(2), flowlib.MLP(8).Done()), bug: bug}
			store := model.NewStore()
			store.SetParam(model.ParamInitialSeed, int64(1))
			x := flowcheck.RandomInput(dtypes.Float64, 3, 1, 8, 2)
			if err := flowcheck.RandomizeVariables(be, store, b, x, 0.3, 1); err != nil {
				t.Fatal(err)
			}
			roundTrip, logDetSum, err := flowcheck.Invertibility(be, store, b, x)
			if err != nil {
				t.Fatal(err)
			}
			logDetErr, err := flowcheck.LogDetError(be, store, b, x)
			if err != nil {
				t.Fatal(err)
			}
			if roundTrip < 1e-3 && logDetSum < 1e-3 && logDetErr < 1e-3 {
				t.Errorf("bug %q passed every check (round trip %g, logdet sum %g, logdet error %g)", bug, roundTrip, logDetSum, logDetErr)
			}
		})
	}
}

// TestJacobianOfKnownMap checks the brute-force Jacobian on y = x·exp(s) + t,
// whose Jacobian is diag(exp(s)).
func TestJacobianOfKnownMap(t *testing.T) {
	be, _ := backend.Shared()
	store := model.NewStore()
	b := flowlib.NewElementwiseAffine(3)
	x := flowcheck.RandomInput(dtypes.Float64, 2, 4, 2, 3)
	if err := flowcheck.RandomizeVariables(be, store, b, x, 0.5, 9); err != nil {
		t.Fatal(err)
	}
	jac, logDet, err := flowcheck.Jacobian(be, store, b, x)
	if err != nil {
		t.Fatal(err)
	}
	logScale := store.GetVariable("/log_scale").MustValue().Value().([][]float64)[0]
	for e := range jac {
		for i := range 3 {
			for j := range 3 {
				want := 0.0
				if i == j {
					want = math.Exp(logScale[i])
				}
				if math.Abs(jac[e][i][j]-want) > 1e-12 {
					t.Errorf("J[%d][%d][%d] = %g, want %g", e, i, j, jac[e][i][j], want)
				}
			}
		}
		sum := logScale[0] + logScale[1] + logScale[2]
		if math.Abs(logDet[e]-sum) > 1e-12 {
			t.Errorf("log-det %g, want %g", logDet[e], sum)
		}
	}
}

// nilLogDet is an unwritten bijector: it returns its input and a nil log-det.
type nilLogDet struct{}

func (nilLogDet) Forward(_ *model.Scope, x *Node) (*Node, *Node) { return x, nil }
func (nilLogDet) Inverse(_ *model.Scope, y *Node) (*Node, *Node) { return y, nil }

// A bijector that returns nil nodes gets an error from every check, not a
// hang (GoMLX v0.28.16 waits forever when an Exec's output is nil).
func TestNilNodesGiveErrors(t *testing.T) {
	b, err := backend.Shared()
	if err != nil {
		t.Fatal(err)
	}
	x := flowcheck.RandomInput(dtypes.Float64, 1, 1, 3, 2)
	done := make(chan error, 2)
	go func() {
		_, err := flowcheck.LogDetError(b, model.NewStore(), nilLogDet{}, x)
		done <- err
		_, _, err = flowcheck.Invertibility(b, model.NewStore(), nilLogDet{}, x)
		done <- err
	}()
	for _, check := range []string{"LogDetError", "Invertibility"} {
		select {
		case err := <-done:
			if err == nil {
				t.Errorf("%s of a bijector with a nil log-det: no error", check)
			} else {
				t.Logf("%s: %v", check, err)
			}
		case <-time.After(30 * time.Second):
			t.Fatalf("%s of a bijector with a nil log-det did not return in 30 s", check)
		}
	}
}

// summedLogDet returns one log-det for the whole batch, a common mistake.
type summedLogDet struct{}

func (summedLogDet) Forward(_ *model.Scope, x *Node) (*Node, *Node) {
	return MulScalar(x, 2), ScalarOne(x.Graph(), x.DType())
}
func (summedLogDet) Inverse(_ *model.Scope, y *Node) (*Node, *Node) {
	return MulScalar(y, 0.5), ScalarOne(y.Graph(), y.DType())
}

func TestLogDetShapeIsChecked(t *testing.T) {
	b, err := backend.Shared()
	if err != nil {
		t.Fatal(err)
	}
	x := flowcheck.RandomInput(dtypes.Float64, 1, 1, 3, 2)
	if _, err := flowcheck.LogDetError(b, model.NewStore(), summedLogDet{}, x); err == nil || !strings.Contains(err.Error(), "one value per example") {
		t.Errorf("LogDetError with a scalar log-det: error %v, want one that says \"one value per example\"", err)
	}
	if _, _, err := flowcheck.Invertibility(b, model.NewStore(), summedLogDet{}, x); err == nil || !strings.Contains(err.Error(), "one value per example") {
		t.Errorf("Invertibility with a scalar log-det: error %v, want one that says \"one value per example\"", err)
	}
}

func TestFloat64RoundTrip(t *testing.T) {
	values := []float64{1.5, -2.25, 0, 3}
	for _, dtype := range []dtypes.DType{dtypes.Float32, dtypes.Float64} {
		got := flowcheck.ToFloat64(flowcheck.FromFloat64(values, dtype, 2, 2))
		for i := range values {
			if got[i] != values[i] {
				t.Errorf("%s: ToFloat64(FromFloat64(%v)) = %v", dtype, values, got)
				break
			}
		}
	}
}
