package flowlib_test

import (
	"testing"

	"github.com/gomlx/compute/dtypes"
	. "github.com/gomlx/gomlx/core/graph" //nolint:revive
	"github.com/gomlx/gomlx/ml/model"

	"github.com/flowbook/flowbook/flowlib"
	"github.com/flowbook/flowbook/flowlib/flowcheck"
)

// twoSlopes is a new layer written on the three-part split: a transform with
// a learnable slope on each side of zero and a shift, three parameters per
// value. It is continuous and increasing, so it is invertible, and its
// log-det is the log of the slope on the side the value is on (bounded by
// tanh to (−1, 1), so that stacked layers cannot blow up). Giving it a
// conditioner and a mask is all it takes to make a coupling layer of it.
type twoSlopes struct{}

func (twoSlopes) Name() string        { return "two_slopes" }
func (twoSlopes) ParamsPerValue() int { return 3 }

func (twoSlopes) Forward(x *Node, p []*Node) (y, logDet *Node) {
	logSlope := Tanh(Where(GreaterOrEqual(x, ZerosLike(x)), p[0], p[1]))
	return Add(Mul(x, Exp(logSlope)), p[2]), logSlope
}

func (twoSlopes) Inverse(y *Node, p []*Node) (x, logDet *Node) {
	v := Sub(y, p[2])
	logSlope := Tanh(Where(GreaterOrEqual(v, ZerosLike(v)), p[0], p[1]))
	return Mul(v, Exp(Neg(logSlope))), Neg(logSlope)
}

// TestNewTransformOnTheSplit checks the toy transform in coupling layers on
// vectors and on images (both image masks, the channel one taking the
// wrapper's sliced path): it inverts, and its log-det is the brute-force
// Jacobian's.
func TestNewTransformOnTheSplit(t *testing.T) {
	be := testBackend(t)
	mlp, conv := flowlib.MLP(16).Done(), flowlib.ConvNet(8).Done()
	cases := []struct {
		name string
		b    flowlib.Bijector
		dims []int
	}{
		{"vectors", flowlib.NewChain(
			flowlib.NewCoupling(flowlib.HalfMask(4), mlp, twoSlopes{}),
			flowlib.NewCoupling(flowlib.HalfMask(4).Flip(), mlp, twoSlopes{})), []int{16, 4}},
		{"checkerboard", flowlib.NewChain(
			flowlib.NewCoupling(flowlib.CheckerboardMask(4, 4), conv, twoSlopes{}),
			flowlib.NewCoupling(flowlib.CheckerboardMask(4, 4).Flip(), conv, twoSlopes{})), []int{3, 4, 4, 1}},
		{"channels", flowlib.NewChain(
			flowlib.NewCoupling(flowlib.ChannelMask(4), conv, twoSlopes{}),
			flowlib.NewCoupling(flowlib.ChannelMask(4).Flip(), conv, twoSlopes{})), []int{3, 2, 2, 4}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			store := model.NewStore()
			x := flowcheck.RandomInput(dtypes.Float64, 2, 3, tc.dims...)
			if err := flowcheck.RandomizeVariables(be, store, tc.b, x, 0.5, 7); err != nil {
				t.Fatal(err)
			}
			roundTrip, logDetSum, err := flowcheck.Invertibility(be, store, tc.b, x)
			if err != nil {
				t.Fatal(err)
			}
			if roundTrip > 1e-9 || logDetSum > 1e-9 {
				t.Errorf("round trip error %.2e, |forward + inverse log-det| %.2e; want both < 1e-9", roundTrip, logDetSum)
			}
			ldErr, err := flowcheck.LogDetError(be, store, tc.b, x)
			if err != nil {
				t.Fatal(err)
			}
			if ldErr > 1e-6 {
				t.Errorf("log-det differs from the brute-force Jacobian's by %.2e, want < 1e-6", ldErr)
			}
			moved := model.MustExecOnce(be, store, func(scope *model.Scope, x *Node) *Node {
				y, _ := tc.b.Forward(scope, x)
				return ReduceAllMax(Abs(Sub(y, x)))
			}, x).Value().(float64)
			if moved < 0.1 {
				t.Errorf("the layers moved x by at most %.2e: the checks above check the identity", moved)
			}
		})
	}
	if got := flowlib.NewCoupling(flowlib.HalfMask(2), mlp, twoSlopes{}).Name(); got != "two_slopes_coupling" {
		t.Errorf("Name() = %q, want two_slopes_coupling", got)
	}
}

// TestCouplingsKeepTheirFormulas checks AffineCoupling and AdditiveCoupling,
// now written on the split, against their formulas computed by hand from the
// same conditioner variables: y_b = x_b·exp(s) + t with s = 3·tanh(r/3) or
// Glow's log σ(r+2) − log σ(2), y_b = x_b + t, and y_a = x_a.
func TestCouplingsKeepTheirFormulas(t *testing.T) {
	be := testBackend(t)
	mlp := flowlib.MLP(8).Done()
	const dim = 5
	mask := flowlib.AlternatingMask(dim)
	contracting := flowlib.NewAffineCoupling(mask, mlp)
	contracting.Contracting = true
	cases := []struct {
		name   string
		layer  flowlib.Bijector
		params int
		// formula returns y_b and the log-det per value from x_b, r and t.
		formula func(x, r, t *Node) (y, logDet *Node)
	}{
		{"affine_tanh", flowlib.NewAffineCoupling(mask, mlp), 2, func(x, r, t *Node) (*Node, *Node) {
			s := MulScalar(Tanh(DivScalar(r, 3)), 3)
			return Add(Mul(x, Exp(s)), t), s
		}},
		{"affine_contracting", contracting, 2, func(x, r, t *Node) (*Node, *Node) {
			s := Sub(Log(Sigmoid(AddScalar(r, 2))), Log(Sigmoid(Scalar(x.Graph(), x.DType(), 2))))
			return Add(Mul(x, Exp(s)), t), s
		}},
		{"additive", flowlib.NewAdditiveCoupling(mask, mlp), 1, func(x, r, _ *Node) (*Node, *Node) {
			return Add(x, r), ZerosLike(x)
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			store := model.NewStore()
			x := flowcheck.RandomInput(dtypes.Float64, 3, 1, 8, dim)
			if err := flowcheck.RandomizeVariables(be, store, tc.layer, x, 0.5, 2); err != nil {
				t.Fatal(err)
			}
			outs := model.MustExecOnceN(be, store, func(scope *model.Scope, x *Node) []*Node {
				y, logDet := tc.layer.Forward(scope, x)
				back, _ := tc.layer.Inverse(scope, y)
				keep := Const(x.Graph(), [][]float64{{1, 0, 1, 0, 1}})
				h := mlp(scope.At("conditioner"), Mul(x, keep), tc.params*dim)
				r := SliceAxis(h, 1, AxisRange(0, dim))
				shift := r
				if tc.params == 2 {
					shift = SliceAxis(h, 1, AxisRange(dim, 2*dim))
				}
				want, perValue := tc.formula(x, r, shift)
				moved := OneMinus(keep)
				want = Add(Mul(x, keep), Mul(want, moved))
				wantLogDet := ReduceSum(Mul(perValue, moved), 1)
				return []*Node{ReduceAllMax(Abs(Sub(y, want))), ReduceAllMax(Abs(Sub(logDet, wantLogDet))),
					ReduceAllMax(Abs(Sub(back, x))), ReduceAllMax(Abs(Sub(y, x)))}
			}, x)
			for i, what := range []string{"Forward", "log-det", "Inverse(Forward(x)) − x"} {
				if d := outs[i].Value().(float64); d > 1e-12 {
					t.Errorf("%s differs by %.2e, want < 1e-12", what, d)
				}
			}
			if moved := outs[3].Value().(float64); moved < 0.1 {
				t.Errorf("the layer moved x by at most %.2e: the comparison checks nothing", moved)
			}
		})
	}
}
