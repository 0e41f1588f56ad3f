package flowlib_test

import (
	"math"
	"strings"
	"testing"

	"github.com/gomlx/compute"
	"github.com/gomlx/compute/dtypes"
	"github.com/gomlx/compute/shapes"
	. "github.com/gomlx/gomlx/core/graph" //nolint:revive
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/model"

	"github.com/flowbook/flowbook/flowlib"
	"github.com/flowbook/flowbook/flowlib/internal/graphpanic"
)

// These tests check that flowlib fails safe on bad input: a clear error at
// graph-build time for a bad shape, a validator for bad values, and no
// corrupted variables after a bad batch.

// callX builds fn on x's shape, runs it once and returns its outputs or the
// error (GoMLX turns the graph-building panic into one).
func callX(be compute.Backend, store *model.Store, fn func(*model.Scope, *Node) []*Node, x *tensors.Tensor) ([]*tensors.Tensor, error) {
	exec, err := model.NewExec(be, store, func(scope *model.Scope, x *Node) []*Node {
		defer graphpanic.AsError()
		return fn(scope, x)
	})
	if err != nil {
		return nil, err
	}
	defer exec.Finalize()
	return exec.Call(x)
}

// callG is callX for a graph function without inputs.
func callG(be compute.Backend, store *model.Store, fn func(*model.Scope, *Graph) *Node) ([]*tensors.Tensor, error) {
	exec, err := model.NewExec(be, store, func(scope *model.Scope, g *Graph) *Node {
		defer graphpanic.AsError()
		return fn(scope, g)
	})
	if err != nil {
		return nil, err
	}
	defer exec.Finalize()
	return exec.Call()
}

// logProbIn is the flow's log-density, with ActNorm's data-dependent
// initialisation on when training is set.
func logProbIn(flow *flowlib.Flow, training bool) func(*model.Scope, *Node) []*Node {
	return func(scope *model.Scope, x *Node) []*Node {
		scope.SetTraining(x.Graph(), training)
		return []*Node{flow.LogProb(scope, x)}
	}
}

func float32s(t *tensors.Tensor) []float32 { return tensors.MustCopyFlatData[float32](t) }

func variableValues(t *testing.T, store *model.Store, path string) []float32 {
	t.Helper()
	v := store.GetVariable(path)
	if v == nil {
		t.Fatalf("no variable %s", path)
	}
	return float32s(v.MustValue())
}

// TestActNormRefusesNonFiniteInit runs ActNorm's data-dependent
// initialisation on batches whose statistics are not finite: the layer must
// stay uninitialised (flag 0, loc and log_scale 0), CheckActNormInit must
// name it, and a clean batch must then initialise it as if the bad one had
// never come.
func TestActNormRefusesNonFiniteInit(t *testing.T) {
	be := testBackend(t)
	nan, inf := float32(math.NaN()), float32(math.Inf(1))
	clean := [][]float32{{1, 10}, {3, 20}, {5, 30}, {7, 40}}
	cases := []struct {
		name string
		bad  [][]float32
	}{
		{"nan", [][]float32{{1, 10}, {nan, 20}, {5, 30}, {7, 40}}},
		{"inf", [][]float32{{1, 10}, {3, inf}, {5, 30}, {7, 40}}},
		// Finite, but the variance overflows float32.
		{"variance_overflow", [][]float32{{1e20, 10}, {-1e20, 20}, {3e20, 30}, {7, 40}}},
	}
	layer := flowlib.NewActNorm(2)
	forward := func(training bool) func(*model.Scope, *Node) []*Node {
		return func(scope *model.Scope, x *Node) []*Node {
			scope.SetTraining(x.Graph(), training)
			y, _ := layer.Forward(scope.At("norm"), x)
			return []*Node{y}
		}
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			store := model.NewStore()
			if _, err := callX(be, store, forward(true), tensors.FromValue(c.bad)); err != nil {
				t.Fatal(err)
			}
			if flag := variableValues(t, store, "/norm/initialized"); flag[0] != 0 {
				t.Errorf("initialized = %v after a batch with non-finite statistics, want 0", flag[0])
			}
			for _, name := range []string{"loc", "log_scale"} {
				if v := variableValues(t, store, "/norm/"+name); v[0] != 0 || v[1] != 0 {
					t.Errorf("%s = %v after the refused initialisation, want it unchanged (0, 0)", name, v)
				}
			}
			err := flowlib.CheckActNormInit(store)
			if err == nil || !strings.Contains(err.Error(), "ActNorm /norm:") || !strings.Contains(err.Error(), "initialisation was refused") {
				t.Errorf("CheckActNormInit = %v, want an error naming /norm and the refused initialisation", err)
			}

			if _, err := callX(be, store, forward(true), tensors.FromValue(clean)); err != nil {
				t.Fatal(err)
			}
			if err := flowlib.CheckActNormInit(store); err != nil {
				t.Errorf("after a clean batch: %v", err)
			}
			out, err := callX(be, store, forward(false), tensors.FromValue(clean))
			if err != nil {
				t.Fatal(err)
			}
			// Standardised per feature: means 4 and 25, variances 5 and 125.
			y := float32s(out[0])
			for b, row := range clean {
				for f, mean := range []float64{4, 25} {
					want := (float64(row[f]) - mean) / math.Sqrt([]float64{5, 125}[f])
					if got := float64(y[2*b+f]); math.Abs(got-want) > 1e-4 {
						t.Errorf("example %d feature %d: %v after the clean initialisation, want %v", b, f, got, want)
					}
				}
			}
		})
	}
}

// TestFlowRecoversFromNaNFirstBatch is the outside probe: a RealNVP (with
// ActNorm) whose first training-mode batch holds a NaN. CheckActNormInit
// names the first layer, and after a clean batch the model gives the same
// finite log-densities as one that only ever saw the clean batch.
func TestFlowRecoversFromNaNFirstBatch(t *testing.T) {
	be := testBackend(t)
	newFlow := func() *flowlib.Flow {
		return flowlib.RealNVP(2).NumCouplings(2).Hidden(8).Done()
	}
	clean := tensors.FromValue([][]float32{{0.5, -1}, {2, 0.3}, {-1.5, 1}, {0.1, 2.5}})
	bad := tensors.FromValue([][]float32{{0.5, -1}, {float32(math.NaN()), 0.3}, {-1.5, 1}, {0.1, 2.5}})
	newStore := func() *model.Store {
		s := model.NewStore()
		s.SetParam(model.ParamInitialSeed, int64(5))
		return s
	}
	flow, store := newFlow(), newStore()
	if _, err := callX(be, store, logProbIn(flow, true), bad); err != nil {
		t.Fatal(err)
	}
	if err := flowlib.CheckActNormInit(store); err == nil || !strings.Contains(err.Error(), "/bijector/00_actnorm") {
		t.Errorf("after the NaN batch CheckActNormInit = %v, want an error naming /bijector/00_actnorm", err)
	}
	if _, err := callX(be, store, logProbIn(flow, true), clean); err != nil {
		t.Fatal(err)
	}
	got, err := callX(be, store, logProbIn(flow, false), clean)
	if err != nil {
		t.Fatal(err)
	}
	refFlow, refStore := newFlow(), newStore()
	if _, err := callX(be, refStore, logProbIn(refFlow, true), clean); err != nil {
		t.Fatal(err)
	}
	want, err := callX(be, refStore, logProbIn(refFlow, false), clean)
	if err != nil {
		t.Fatal(err)
	}
	g, w := float32s(got[0]), float32s(want[0])
	for i := range w {
		if math.IsNaN(float64(g[i])) || math.IsInf(float64(g[i]), 0) || math.Abs(float64(g[i]-w[i])) > 1e-5 {
			t.Errorf("example %d: log p = %v after the NaN batch and a clean one, want %v (clean batch only)", i, g[i], w[i])
		}
	}
}

// emptyBatchFlows has one flow of every family the library builds, with the
// shape of one example.
func emptyBatchFlows() []struct {
	name  string
	flow  *flowlib.Flow
	event []int
} {
	mlp := flowlib.MLP(8).Done()
	vec := flowlib.NewStandardNormal(2)
	return []struct {
		name  string
		flow  *flowlib.Flow
		event []int
	}{
		{"planar", flowlib.NewFlow(vec, flowlib.NewPlanar(2)), []int{2}},
		{"radial", flowlib.NewFlow(vec, flowlib.NewRadial(2)), []int{2}},
		{"nice", flowlib.NewFlow(vec, flowlib.NewAdditiveCoupling(flowlib.HalfMask(2), mlp), flowlib.NewElementwiseAffine(2)), []int{2}},
		{"realnvp", flowlib.RealNVP(2).NumCouplings(2).Hidden(8).Base(vec).Done(), []int{2}},
		{"actnorm", flowlib.NewFlow(vec, flowlib.NewActNorm(2)), []int{2}},
		{"logit", flowlib.NewFlow(flowlib.NewStandardLogistic(2), flowlib.NewLogit(0.05)), []int{2}},
		{"glow", flowlib.Glow(4, 4, 1).Levels(1).Steps(1).Hidden(4).Done(), []int{4, 4, 1}},
		{"realnvp_image", flowlib.RealNVPImage(4, 4, 1).Levels(2).Steps(1).Hidden(4).Done(), []int{4, 4, 1}},
	}
}

// TestEmptyBatchIsRefused checks every entry point of every flow family on a
// batch of zero examples: a clear error while the graph is built, never an
// index out of range in the backend or a division by zero.
func TestEmptyBatchIsRefused(t *testing.T) {
	be := testBackend(t)
	for _, fc := range emptyBatchFlows() {
		empty := tensors.FromShape(shapes.Make(dtypes.Float32, append([]int{0}, fc.event...)...))
		flow := fc.flow
		entries := []struct {
			name string
			run  func() error
			want string
		}{
			{"LogProb", func() error {
				_, err := callX(be, model.NewStore(), logProbIn(flow, false), empty)
				return err
			}, "empty batch: LogProb needs at least one example (got shape (Float32)[0, "},
			{"LogProb_training", func() error {
				_, err := callX(be, model.NewStore(), logProbIn(flow, true), empty)
				return err
			}, "empty batch: LogProb needs at least one example"},
			{"Forward", func() error {
				_, err := callX(be, model.NewStore(), func(scope *model.Scope, x *Node) []*Node {
					z, ld := flow.Forward(scope, x)
					return []*Node{z, ld}
				}, empty)
				return err
			}, "empty batch: Forward needs at least one example"},
			{"Inverse", func() error {
				_, err := callX(be, model.NewStore(), func(scope *model.Scope, z *Node) []*Node {
					x, ld := flow.Inverse(scope, z)
					return []*Node{x, ld}
				}, empty)
				return err
			}, "empty batch: Inverse needs at least one example"},
			{"Sample0", func() error {
				_, err := callG(be, model.NewStore(), func(scope *model.Scope, g *Graph) *Node {
					return flow.Sample(scope, g, dtypes.Float32, 0, 1)
				})
				return err
			}, "Sample needs at least one sample (n ≥ 1), got n = 0"},
			{"BaseLogProb", func() error {
				_, err := callX(be, model.NewStore(), func(scope *model.Scope, z *Node) []*Node {
					return []*Node{flow.Base.LogProb(scope, z)}
				}, empty)
				return err
			}, "needs at least one example"},
			{"BaseSample0", func() error {
				_, err := callG(be, model.NewStore(), func(scope *model.Scope, g *Graph) *Node {
					return flow.Base.Sample(scope, g, dtypes.Float32, 0, 1)
				})
				return err
			}, ".Sample needs at least one sample"},
		}
		for _, e := range entries {
			t.Run(fc.name+"/"+e.name, func(t *testing.T) {
				err := e.run()
				if err == nil || !strings.Contains(err.Error(), e.want) {
					t.Errorf("got %v, want an error containing %q", err, e.want)
				}
			})
		}
	}
}

// TestLayersRefuseEmptyBatch calls each layer directly on zero examples.
func TestLayersRefuseEmptyBatch(t *testing.T) {
	be := testBackend(t)
	conv := flowlib.ConvNet(4).Done()
	vec, img := []int{0, 2}, []int{0, 4, 4, 2}
	cases := []struct {
		name  string
		b     flowlib.Bijector
		dims  []int
		layer string
	}{
		{"planar", flowlib.NewPlanar(2), vec, "Planar"},
		{"radial", flowlib.NewRadial(2), vec, "Radial"},
		{"elementwise_affine", flowlib.NewElementwiseAffine(2), vec, "ElementwiseAffine"},
		{"additive_coupling", flowlib.NewAdditiveCoupling(flowlib.HalfMask(2), flowlib.MLP(4).Done()), vec, "AdditiveCoupling"},
		{"affine_coupling", flowlib.NewAffineCoupling(flowlib.HalfMask(2), flowlib.MLP(4).Done()), vec, "AffineCoupling"},
		{"permutation", flowlib.RandomPermutation(2, 1), vec, "Permutation"},
		{"actnorm", flowlib.NewActNorm(2), vec, "ActNorm"},
		{"actnorm_image", flowlib.NewActNorm(2), img, "ActNorm"},
		{"logit", flowlib.NewLogit(0.05), vec, "Logit"},
		{"uniform_dequantization", flowlib.NewUniformDequantization(256), img, "UniformDequantization"},
		{"variational_dequantization", &flowlib.VariationalDequantization{Levels: 256, Couplings: 1, Hidden: 4}, img, "VariationalDequantization"},
		{"checkerboard_coupling", flowlib.NewAffineCoupling(flowlib.CheckerboardMask(4, 4), conv), img, "AffineCoupling"},
		{"channel_coupling", flowlib.NewAffineCoupling(flowlib.ChannelMask(2), conv), img, "AffineCoupling"},
		{"invconv", flowlib.NewInvertible1x1Conv(2, 1), img, "Invertible1x1Conv"},
		{"squeeze", flowlib.NewSqueeze2x2(), img, "Squeeze"},
		{"factor_out", flowlib.NewFactorOut(2, nil), img, "FactorOut"},
		{"empty_chain", flowlib.NewChain(), vec, "Chain"},
	}
	for _, c := range cases {
		for _, direction := range []string{"Forward", "Inverse"} {
			t.Run(c.name+"/"+direction, func(t *testing.T) {
				_, err := callX(be, model.NewStore(), func(scope *model.Scope, x *Node) []*Node {
					scope.SetTraining(x.Graph(), true) // ActNorm's initialisation path too
					if direction == "Forward" {
						y, ld := c.b.Forward(scope, x)
						return []*Node{y, ld}
					}
					y, ld := c.b.Inverse(scope, x)
					return []*Node{y, ld}
				}, tensors.FromShape(shapes.Make(dtypes.Float32, c.dims...)))
				layer := c.layer
				if direction == "Inverse" && layer == "Squeeze" {
					layer = "Unsqueeze" // Squeeze2x2's inverse unsqueezes.
				}
				want := "empty batch: " + layer + " needs at least one example"
				if err == nil || !strings.Contains(err.Error(), want) {
					t.Errorf("got %v, want an error containing %q", err, want)
				}
			})
		}
	}
}

// TestWrongRanksAreRejected checks that the elementwise layers reject a
// scalar and a rank-1 tensor with the rank message of the other layers,
// instead of reading [n] as n one-value examples.
func TestWrongRanksAreRejected(t *testing.T) {
	be := testBackend(t)
	const elementwise = "expects data of shape [batchSize, dim] or [batchSize, height, width, channels], got shape (Float32)"
	scalar, rank1 := tensors.FromScalar(float32(0.5)), tensors.FromValue([]float32{0.5, 0.2})
	cases := []struct {
		name string
		b    flowlib.Bijector
		x    *tensors.Tensor
		want string
	}{
		{"logit_scalar", flowlib.NewLogit(0), scalar, "flowlib: Logit " + elementwise},
		{"logit_rank1", flowlib.NewLogit(0.05), rank1, "flowlib: Logit " + elementwise + "[2]"},
		{"dequantization_rank1", flowlib.NewUniformDequantization(256), tensors.FromValue([]float32{3, 4}), "flowlib: UniformDequantization " + elementwise},
		{"actnorm_rank1", flowlib.NewActNorm(2), rank1, "flowlib: ActNorm " + elementwise},
		{"invconv_rank1", flowlib.NewInvertible1x1Conv(2, 1), rank1, "flowlib: Invertible1x1Conv " + elementwise},
		{"planar_rank1", flowlib.NewPlanar(2), rank1, "flowlib: Planar expects vector data of shape [batchSize, dim]"},
		{"chain_scalar", flowlib.NewChain(), scalar, "flowlib: Chain expects a batch of examples [batchSize, ...], got a scalar"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := callX(be, model.NewStore(), func(scope *model.Scope, x *Node) []*Node {
				y, ld := c.b.Forward(scope, x)
				return []*Node{y, ld}
			}, c.x)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("got %v, want an error containing %q", err, c.want)
			}
		})
	}
	flow := flowlib.NewFlow(flowlib.NewStandardLogistic(), flowlib.NewLogit(0))
	if _, err := callX(be, model.NewStore(), logProbIn(flow, false), scalar); err == nil ||
		!strings.Contains(err.Error(), "LogProb expects a batch of examples [batchSize, ...], got a scalar") {
		t.Errorf("LogProb of a scalar: got %v, want an error saying it needs a batch", err)
	}
}

// TestCheckDataCatchesBadValues checks the validator on every kind of flow:
// non-finite values everywhere, the domain of a leading Logit, integer pixel
// levels for image flows, and the count of values.
func TestCheckDataCatchesBadValues(t *testing.T) {
	nan, inf := float32(math.NaN()), float32(math.Inf(-1))
	vector := flowlib.NewFlow(flowlib.NewStandardNormal(2), flowlib.NewActNorm(2))
	planar := flowlib.NewFlow(flowlib.NewStandardNormal(2), flowlib.NewPlanar(2))
	realnvp := flowlib.RealNVP(2).Done()
	glow := flowlib.Glow(2, 2, 1).Levels(1).Steps(1).Done()
	logit0 := flowlib.NewFlow(flowlib.NewStandardLogistic(2), flowlib.NewLogit(0))
	logit := flowlib.NewFlow(flowlib.NewStandardLogistic(2), flowlib.NewLogit(0.05))
	cases := []struct {
		name   string
		flow   *flowlib.Flow
		values []float32
		per    int
		want   string // "" for valid data
	}{
		{"vector_ok", vector, []float32{0.5, -3, 1e6, 0}, 2, ""},
		{"vector_nan", vector, []float32{0.5, -3, nan, 0}, 2, "non-finite value (NaN) in example 1, coordinate 0"},
		{"planar_inf", planar, []float32{0.5, inf}, 2, "non-finite value (-Inf) in example 0, coordinate 1"},
		{"realnvp_nan", realnvp, []float32{0, 0, 0, 0, 0, nan}, 2, "non-finite value (NaN) in example 2, coordinate 1"},
		{"image_ok", glow, []float32{0, 255, 17, 3}, 4, ""},
		{"image_nan", glow, []float32{0, 255, nan, 3}, 4, "non-finite value (NaN) in example 0, coordinate 2"},
		{"image_fraction", glow, []float32{0, 0.5, 1, 2}, 4, "raw pixel values"},
		{"image_256", glow, []float32{0, 256, 1, 2}, 4, "raw pixel values"},
		{"logit0_inside", logit0, []float32{0.001, 0.999}, 2, ""},
		{"logit0_zero", logit0, []float32{0.5, 0}, 2, "value 0 of example 0, coordinate 1 is the edge of [0, 1], where Logit with alpha = 0 is infinite"},
		{"logit0_one", logit0, []float32{1, 0.5}, 2, "where Logit with alpha = 0 is infinite"},
		{"logit_edges_ok", logit, []float32{0, 1}, 2, ""},
		{"logit_above", logit, []float32{0.5, 0.2, 1.5, 0}, 2, "value 1.5 of example 1, coordinate 0 is outside [0, 1]"},
		{"logit_below", logit, []float32{-0.1, 0.2}, 2, "is outside [0, 1], the domain of the Logit layer"},
		{"wrong_per_example", vector, []float32{1, 2, 3}, 3, "the model's examples have 2 values (event shape [2]), but the data has 3 values per example"},
		{"no_examples", vector, nil, 2, "no examples"},
		{"partial_example", vector, []float32{1, 2, 3}, 2, "not a whole number of examples"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := c.flow.CheckData(c.values, c.per)
			switch {
			case c.want == "" && err != nil:
				t.Errorf("valid data rejected: %v", err)
			case c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)):
				t.Errorf("got %v, want an error containing %q", err, c.want)
			}
		})
	}
}

// TestCheckTensor checks the tensor validator: dtype, rank, event shape,
// empty batch and values.
func TestCheckTensor(t *testing.T) {
	vector := flowlib.RealNVP(2).Done()
	glow := flowlib.Glow(2, 2, 1).Levels(1).Steps(1).Done()
	cases := []struct {
		name string
		flow *flowlib.Flow
		x    *tensors.Tensor
		want string
	}{
		{"ok", vector, tensors.FromValue([][]float32{{1, 2}}), ""},
		{"ok_float64", vector, tensors.FromValue([][]float64{{1, 2}, {3, 4}}), ""},
		{"ok_image", glow, tensors.FromFlatDataAndDimensions([]float32{0, 1, 2, 255}, 1, 2, 2, 1), ""},
		{"scalar", vector, tensors.FromScalar(float32(1)), "got a scalar (shape (Float32)), want a batch of examples"},
		{"rank1", vector, tensors.FromValue([]float32{1, 2}), "got shape (Float32)[2], but the model takes a batch of examples of shape [2]: [batchSize, 2]"},
		{"image_as_vector", glow, tensors.FromValue([][]float32{{0, 1, 2, 3}}), "takes a batch of examples of shape [2 2 1]"},
		{"empty", vector, tensors.FromShape(shapes.Make(dtypes.Float32, 0, 2)), "empty batch (shape (Float32)[0, 2])"},
		{"int", vector, tensors.FromValue([][]int32{{1, 2}}), "flows take float32 or float64 data"},
		{"nan_float64", vector, tensors.FromValue([][]float64{{1, 2}, {math.NaN(), 4}}), "non-finite value (NaN) in example 1, coordinate 0"},
		{"image_fraction", glow, tensors.FromFlatDataAndDimensions([]float32{0, 1, 2.5, 255}, 1, 2, 2, 1), "raw pixel values"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := c.flow.CheckTensor(c.x)
			switch {
			case c.want == "" && err != nil:
				t.Errorf("valid tensor rejected: %v", err)
			case c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)):
				t.Errorf("got %v, want an error containing %q", err, c.want)
			}
		})
	}
}
