package notebook

import (
	"math"
	"strings"
	"testing"

	. "github.com/gomlx/gomlx/core/graph" //nolint:revive
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/model"

	"github.com/flowbook/flowbook/flowlib"
	"github.com/flowbook/flowbook/flowlib/backend"
	"github.com/flowbook/flowbook/flowlib/flowcheck"
)

func TestSingularValues(t *testing.T) {
	// A rotation times diag(3, 0.5) times another rotation has singular
	// values 3 and 0.5, and a 3×2 matrix with orthogonal columns of norms
	// 2 and 1 has 2 and 1.
	c, s := math.Cos(0.7), math.Sin(0.7)
	c2, s2 := math.Cos(-1.9), math.Sin(-1.9)
	rot := func(c, s float64) [][]float64 { return [][]float64{{c, -s}, {s, c}} }
	mul := func(a, b [][]float64) [][]float64 {
		out := make([][]float64, len(a))
		for i := range a {
			out[i] = make([]float64, len(b[0]))
			for j := range b[0] {
				for k := range b {
					out[i][j] += a[i][k] * b[k][j]
				}
			}
		}
		return out
	}
	for _, tc := range []struct {
		name string
		w    [][]float64
		want []float64
	}{
		{"rotated diag(3, 0.5)", mul(mul(rot(c, s), [][]float64{{3, 0}, {0, 0.5}}), rot(c2, s2)), []float64{3, 0.5}},
		{"3×2, orthogonal columns", [][]float64{{2, 0}, {0, 0.6}, {0, 0.8}}, []float64{2, 1}},
		{"rank one", [][]float64{{1, 2, 2}, {2, 4, 4}}, []float64{math.Sqrt(45), 0, 0}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := SingularValues(tc.w)
			if len(got) != len(tc.want) {
				t.Fatalf("got %d singular values %v, want %v", len(got), got, tc.want)
			}
			for i := range got {
				if math.Abs(got[i]-tc.want[i]) > 1e-7 {
					t.Errorf("singular values %v, want %v", got, tc.want)
					break
				}
			}
		})
	}
}

func TestFixedPointIterates(t *testing.T) {
	// The iterates of a contraction converge to the block's own inverse:
	// y = x + g(x) for the x the iteration ends at.
	be := backend.MustShared()
	block := flowlib.ResidualFlow(2).NumBlocks(1).ActNorm(false).Hidden(16).
		LogDet(flowlib.LogDetExact, 0).Bijector().Layers[0].(*flowlib.ResidualBlock)
	store := model.NewStore()
	y := [][]float64{{0.5, -1}, {2, 0.3}, {-1.5, 1.2}}
	if err := flowcheck.RandomizeVariables(be, store, block, tensors.FromValue(y), 0.8, 3); err != nil {
		t.Fatal(err)
	}
	its, err := FixedPointIterates(be, store, block, y, 60)
	if err != nil {
		t.Fatal(err)
	}
	if len(its) != 61 || len(its[0]) != len(y) {
		t.Fatalf("got %d iterates of %d points, want 61 of %d", len(its), len(its[0]), len(y))
	}
	x := its[60]
	back, err := model.ExecOnce(be, store, func(scope *model.Scope, x *Node) *Node {
		out, _ := block.Forward(scope, x)
		return out
	}, tensors.FromValue(x))
	if err != nil {
		t.Fatal(err)
	}
	for i, row := range back.Value().([][]float64) {
		if math.Hypot(row[0]-y[i][0], row[1]-y[i][1]) > 1e-9 {
			t.Errorf("point %d: x + g(x) = %v after 60 iterations, want y = %v", i, row, y[i])
		}
	}
	if math.Hypot(its[0][1][0]-y[1][0], its[0][1][1]-y[1][1]) != 0 {
		t.Errorf("the first iterate is %v, want y itself %v", its[0][1], y[1])
	}
	if _, err := FixedPointIterates(be, store, block, nil, 3); err == nil {
		t.Error("no points: want an error")
	}
}

func TestCNFPaths(t *testing.T) {
	// Along the linear field f(t, z) = A z the paths are z(t) = exp(tA) z(0);
	// for A = [[0, −1], [1, 0]] that is a rotation by t radians.
	be := backend.MustShared()
	cnf := &flowlib.CNF{Dim: 2, Activation: "tanh", Steps: 4, Trace: flowlib.TraceExact,
		FieldFunc: func(_ *model.Scope, _, z *Node) *Node {
			a := Const(z.Graph(), [][]float64{{0, 1}, {-1, 0}}) // zᵀ·a = (−z₂, z₁)
			return MatMul(z, ConvertDType(a, z.DType()))
		}}
	flow := &flowlib.Flow{Base: flowlib.NewStandardNormal(2), Bijector: cnf}
	start := [][]float64{{1, 0}, {0.5, -2}}
	times := []float64{0, 0.5, 1, 1.5}
	paths, err := CNFPaths(be, model.NewStore(), flow, start, times, 20)
	if err != nil {
		t.Fatal(err)
	}
	if len(paths) != len(times) {
		t.Fatalf("%d steps of paths, want %d", len(paths), len(times))
	}
	for k, tk := range times {
		c, s := math.Cos(tk), math.Sin(tk)
		for i, p := range start {
			want := []float64{c*p[0] - s*p[1], s*p[0] + c*p[1]}
			got := paths[k][i]
			if math.Hypot(got[0]-want[0], got[1]-want[1]) > 1e-6 {
				t.Errorf("point %d at t = %g: got %v, want the rotation %v", i, tk, got, want)
			}
		}
	}
	// A field whose variables are float32 (as training makes them) takes the
	// points in float32: an untrained CNF (zero last layer) leaves them still.
	fm := flowlib.FlowMatching(2).Done()
	store := model.NewStore()
	if _, err := model.ExecOnce(be, store, func(scope *model.Scope, x *Node) *Node { return fm.LogProb(scope, x) },
		tensors.FromValue([][]float32{{0, 0}})); err != nil {
		t.Fatal(err)
	}
	still, err := CNFPaths(be, store, fm, start, times, 2)
	if err != nil {
		t.Fatalf("CNFPaths on a float32 field: %v", err)
	}
	if got := still[len(times)-1][1]; math.Abs(got[0]-0.5) > 1e-6 || math.Abs(got[1]+2) > 1e-6 {
		t.Errorf("an untrained CNF moved (0.5, −2) to %v", got)
	}
	svg := Window{-3, 3, -3, 3}.Paths("rotation", paths, "#d62728").SVG()
	if !strings.Contains(svg, "<svg") || !strings.Contains(svg, "rotation") {
		t.Error("Paths did not draw an SVG with its title")
	}
	if _, err := CNFPaths(be, model.NewStore(), &flowlib.Flow{Base: flowlib.NewStandardNormal(2), Bijector: flowlib.RealNVP(2).Done().Bijector},
		start, times, 4); err == nil || !strings.Contains(err.Error(), "CNF") {
		t.Errorf("CNFPaths on a RealNVP: err = %v, want one saying it needs a CNF", err)
	}
}
