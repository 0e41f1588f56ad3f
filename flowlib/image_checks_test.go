package flowlib_test

import (
	"math"
	"strings"
	"testing"

	"github.com/gomlx/compute/dtypes"
	. "github.com/gomlx/gomlx/core/graph" //nolint:revive
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/model"

	"github.com/flowbook/flowbook/flowlib"
	"github.com/flowbook/flowbook/flowlib/flowcheck"
)

// TestSqueezeLayout checks where Squeeze2x2 puts each pixel, and that
// Unsqueeze2x2 undoes it exactly.
func TestSqueezeLayout(t *testing.T) {
	be := testBackend(t)
	// One 2×2 image with 2 channels: value = 10·(2·row + col) + channel.
	x := tensors.FromFlatDataAndDimensions([]float32{0, 1, 10, 11, 20, 21, 30, 31}, 1, 2, 2, 2)
	out := model.MustExecOnceN(be, model.NewStore(), func(scope *model.Scope, x *Node) []*Node {
		y, ld := flowlib.NewSqueeze2x2().Forward(scope, x)
		back, _ := flowlib.NewUnsqueeze2x2().Forward(scope, y)
		return []*Node{y, ld, ReduceAllMax(Abs(Sub(back, x)))}
	}, x)
	// Channel (2·dy + dx)·C + c.
	want := []float32{0, 1, 10, 11, 20, 21, 30, 31}
	if got := out[0].Shape().Dimensions; len(got) != 4 || got[1] != 1 || got[2] != 1 || got[3] != 8 {
		t.Fatalf("squeezed shape %v, want [1 1 1 8]", got)
	}
	got := tensors.MustCopyFlatData[float32](out[0])
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("squeezed values %v, want %v", got, want)
		}
	}
	if ld := tensors.MustCopyFlatData[float32](out[1])[0]; ld != 0 {
		t.Errorf("squeeze log-det %v, want 0", ld)
	}
	if diff := tensors.ToScalar[float32](out[2]); diff != 0 {
		t.Errorf("unsqueeze(squeeze(x)) differs from x by %v, want exactly 0", diff)
	}
}

// TestInvertible1x1ConvLUMatchesExp builds W = exp(A) with the matrix
// exponential form, hands the same W to the LU form, and checks that both give
// the same log|det W| (and that it equals the float64 LU determinant of W and
// tr(A)) and the same outputs.
func TestInvertible1x1ConvLUMatchesExp(t *testing.T) {
	be := testBackend(t)
	const channels = 6
	x := flowcheck.RandomInput(dtypes.Float64, 2, 3, 2, 3, 3, channels)
	expConv := flowlib.NewInvertible1x1ConvExp(channels, 9)
	expStore := model.NewStore()
	// Noise on the generator makes W a general matrix (not just a rotation), with log|det W| = tr(A) ≠ 0.
	if err := flowcheck.RandomizeVariables(be, expStore, expConv, x, 0.4, 5); err != nil {
		t.Fatal(err)
	}
	out := model.MustExecOnceN(be, expStore, func(scope *model.Scope, x *Node) []*Node {
		w, logDet := expConv.Matrix(scope, x.Graph(), dtypes.Float64)
		y, _ := expConv.Forward(scope, x)
		return []*Node{w, logDet, y}
	}, x)
	flatW := tensors.MustCopyFlatData[float64](out[0])
	w := make([][]float64, channels)
	for i := range w {
		w[i] = flatW[i*channels : (i+1)*channels]
	}
	expLogDet := tensors.ToScalar[float64](out[1])
	if want := flowcheck.LogAbsDet(w); math.Abs(expLogDet-want) > 1e-9 {
		t.Errorf("exp form: log|det W| = tr(A) = %.12f, but the LU determinant of W gives %.12f", expLogDet, want)
	}
	if math.Abs(expLogDet) < 0.1 {
		t.Errorf("log|det W| = %g: the test needs a W that is not volume preserving", expLogDet)
	}

	luConv, err := flowlib.NewInvertible1x1Conv(channels, 1).WithInitialMatrix(w)
	if err != nil {
		t.Fatal(err)
	}
	luOut := model.MustExecOnceN(be, model.NewStore(), func(scope *model.Scope, x *Node) []*Node {
		_, logDet := luConv.Matrix(scope, x.Graph(), dtypes.Float64)
		y, _ := luConv.Forward(scope, x)
		return []*Node{logDet, y}
	}, x)
	if luLogDet := tensors.ToScalar[float64](luOut[0]); math.Abs(luLogDet-expLogDet) > 1e-9 {
		t.Errorf("LU form log|det W| = Σ log|s| = %.12f, exp form tr(A) = %.12f", luLogDet, expLogDet)
	}
	yExp, yLU := tensors.MustCopyFlatData[float64](out[2]), tensors.MustCopyFlatData[float64](luOut[1])
	for i := range yExp {
		if math.Abs(yExp[i]-yLU[i]) > 1e-9 {
			t.Fatalf("outputs differ at %d: exp form %v, LU form %v", i, yExp[i], yLU[i])
		}
	}
}

// TestWithInitialMatrixRejectsBadMatrices checks the LU form's initial matrix.
func TestWithInitialMatrixRejectsBadMatrices(t *testing.T) {
	for _, tc := range []struct {
		name string
		conv *flowlib.Invertible1x1Conv
		w    [][]float64
		want string
	}{
		{"singular", flowlib.NewInvertible1x1Conv(2, 1), [][]float64{{1, 2}, {2, 4}}, "singular"},
		{"wrong size", flowlib.NewInvertible1x1Conv(3, 1), [][]float64{{1, 0}, {0, 1}}, "want 3"},
		{"ragged", flowlib.NewInvertible1x1Conv(2, 1), [][]float64{{1, 0}, {1}}, "row 1"},
		{"exp form", flowlib.NewInvertible1x1ConvExp(2, 1), [][]float64{{1, 0}, {0, 1}}, "only the LU"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := tc.conv.WithInitialMatrix(tc.w)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("got error %v, want one containing %q", err, tc.want)
			}
		})
	}
}

// TestBitsPerDimOfAUniformModel checks the bits/dim bookkeeping end to end on
// a model whose answer is known exactly: dequantization, a logit with α and a
// logistic base make the uniform density (1 − 2α)⁻¹… on the squeezed cube,
// so every image scores 8 − log₂(1 − 2α) − log₂(1 − 2δ) bits/dim whatever its
// pixels (δ is the dequantization margin).
func TestBitsPerDimOfAUniformModel(t *testing.T) {
	be := testBackend(t)
	for _, alpha := range []float64{0, 0.05} {
		flow := flowlib.NewFlow(flowlib.NewStandardLogistic(4, 4, 1), flowlib.NewUniformDequantization(256), flowlib.NewLogit(alpha))
		x := imageInput(dtypes.Float64, "pixels", []int{5, 4, 4, 1})
		logProb := model.MustExecOnce(be, model.NewStore(), func(scope *model.Scope, x *Node) *Node {
			return flow.LogProb(scope, x)
		}, x)
		want := 8 - math.Log2(1-2*alpha) - math.Log2(1-2*flowlib.DequantizationMargin)
		for i, lp := range tensors.MustCopyFlatData[float64](logProb) {
			bpd := -lp / (16 * math.Ln2)
			if math.Abs(bpd-want) > 1e-9 {
				t.Errorf("α=%v image %d: %.12f bits/dim, want %.12f", alpha, i, bpd, want)
			}
		}
	}
}

// TestLogProbMatchesHandComputation recomputes an image flow's log-likelihood
// by hand from the dequantized values the graph drew: standard normal base,
// logit with α, uniform dequantization.
func TestLogProbMatchesHandComputation(t *testing.T) {
	be := testBackend(t)
	const alpha = 0.05
	flow := flowlib.NewFlow(flowlib.NewStandardNormal(2, 2, 1), flowlib.NewUniformDequantization(256), flowlib.NewLogit(alpha))
	x := imageInput(dtypes.Float64, "pixels", []int{3, 2, 2, 1})
	// The trace gives the dequantized values the graph drew; the log-likelihood
	// is assembled from the same run's latent and log-dets, as Flow.LogProb does.
	out := model.MustExecOnceN(be, model.NewStore(), func(scope *model.Scope, x *Node) []*Node {
		trace, logDets := flow.Bijector.(*flowlib.Chain).ForwardTrace(scope.At("bijector"), x)
		logProb := Add(flow.Base.LogProb(scope.At("base"), trace[2]), Add(logDets[0], logDets[1]))
		return []*Node{trace[1], logProb}
	}, x)
	y := tensors.MustCopyFlatData[float64](out[0])
	got := tensors.MustCopyFlatData[float64](out[1])
	pixels := tensors.MustCopyFlatData[float64](x)
	for e := range 3 {
		want := 0.0
		for i := e * 4; i < (e+1)*4; i++ {
			if u := y[i]*256 - pixels[i]; u < 0 || u >= 1 {
				t.Fatalf("dequantized value %v is not in the cell of pixel %v", y[i]*256, pixels[i])
			}
			p := alpha + (1-2*alpha)*y[i]
			z := math.Log(p / (1 - p))
			want += -0.5*(z*z+math.Log(2*math.Pi)) + math.Log(1-2*alpha) - math.Log(p) - math.Log(1-p) - math.Log(256) + math.Log1p(-2*flowlib.DequantizationMargin)
		}
		if math.Abs(got[e]-want) > 1e-9 {
			t.Errorf("example %d: LogProb %.12f, by hand %.12f", e, got[e], want)
		}
	}
}

// TestImageBadInput checks that misuse of the image layers gets a message
// that says what is wrong.
func TestImageBadInput(t *testing.T) {
	be := testBackend(t)
	for _, tc := range []struct {
		name string
		b    flowlib.Bijector
		dims []int
		want []string
	}{
		{"squeeze odd height", flowlib.NewSqueeze2x2(), []int{2, 5, 4, 1}, []string{"even height and width", "5×4"}},
		{"squeeze odd width", flowlib.NewSqueeze2x2(), []int{2, 4, 7, 1}, []string{"even height and width", "4×7"}},
		{"squeeze vectors", flowlib.NewSqueeze2x2(), []int{2, 16}, []string{"expects images", "[batchSize, height, width, channels]"}},
		{"unsqueeze channels", flowlib.NewUnsqueeze2x2(), []int{2, 2, 2, 6}, []string{"divisible by 4", "6"}},
		{"actnorm wrong channels", flowlib.NewActNorm(3), []int{2, 4, 4, 2}, []string{"built for 3 features"}},
		{"1x1 conv wrong channels", flowlib.NewInvertible1x1Conv(4, 1), []int{2, 4, 4, 2}, []string{"built for 4 channels"}},
		{"channel mask wrong channels", flowlib.NewAffineCoupling(flowlib.ChannelMask(4), flowlib.ConvNet(4).Done()), []int{2, 4, 4, 2},
			[]string{"built for images of any×any×4"}},
		{"checkerboard wrong size", flowlib.NewAffineCoupling(flowlib.CheckerboardMask(8, 8), flowlib.ConvNet(4).Done()), []int{2, 4, 4, 1},
			[]string{"built for images of 8×8×any"}},
		{"channel mask of one channel", flowlib.NewAffineCoupling(flowlib.ChannelMask(1), flowlib.ConvNet(4).Done()), []int{2, 4, 4, 1},
			[]string{"at least 2 channels", "checkerboard"}},
		{"factor out odd channels", flowlib.NewFactorOut(3, nil), []int{2, 4, 4, 3}, []string{"even channel count"}},
		{"glow on vectors", flowlib.Glow(8, 8, 1).Levels(1).Steps(1).Hidden(4).Done().Bijector, []int{2, 64}, []string{"expects images"}},
		{"glow on wrong channels", flowlib.Glow(8, 8, 1).Levels(1).Steps(1).Hidden(4).Done().Bijector, []int{2, 8, 8, 3}, []string{"built for 4 features"}},
		{"conv net on vectors", flowlib.NewAffineCoupling(flowlib.HalfMask(4), flowlib.ConvNet(4).Done()), []int{2, 4}, []string{"Conv2D expects images"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			x := flowcheck.RandomInput(dtypes.Float32, 1, 1, tc.dims...)
			_, _, err := flowcheck.Invertibility(be, model.NewStore(), tc.b, x)
			if err == nil {
				t.Fatalf("no error for input of shape %v", tc.dims)
			}
			for _, want := range tc.want {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q does not contain %q", err, want)
				}
			}
		})
	}
}

// TestImageFlowValidate checks the builders' configuration errors.
func TestImageFlowValidate(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  *flowlib.ImageFlowConfig
		want string
	}{
		{"too many levels", flowlib.Glow(28, 28, 1).Levels(3), "divisible by 8, but the image is 28×28"},
		{"realnvp levels", flowlib.RealNVPImage(28, 28, 1).Levels(4), "divisible by 8"},
		{"no steps", flowlib.Glow(8, 8, 1).Steps(0), "at least 1 step"},
		{"bad invconv", flowlib.Glow(8, 8, 1).InvConv("qr"), "unknown 1×1 convolution"},
		{"bad dequantization", flowlib.Glow(8, 8, 1).Dequantization("none"), "unknown dequantization"},
		{"bad alpha", flowlib.Glow(8, 8, 1).LogitAlpha(0.5), "logit alpha"},
		{"bad size", flowlib.Glow(0, 8, 1), "positive image size"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.cfg.Validate()
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("got %v, want an error containing %q", err, tc.want)
			}
		})
	}
	if err := flowlib.Glow(28, 28, 1).Validate(); err != nil {
		t.Errorf("Glow for MNIST: %v", err)
	}
	if err := flowlib.RealNVPImage(28, 28, 1).Levels(3).Validate(); err != nil {
		t.Errorf("RealNVP with 3 scales for MNIST (2 squeezes): %v", err)
	}
}

// TestCheckData checks that a dequantizing flow rejects data that is not
// integer pixel levels, and that vector flows accept any finite values
// (TestCheckDataCatchesBadValues has the non-finite ones).
func TestCheckData(t *testing.T) {
	glow := flowlib.Glow(2, 2, 1).Levels(1).Steps(1).Done()
	if err := glow.CheckData([]float32{0, 255, 17, 3}, 4); err != nil {
		t.Errorf("pixel values rejected: %v", err)
	}
	for _, bad := range [][]float32{{0, 0.5, 1, 2}, {0, 256, 1, 2}, {-1, 0, 0, 0}} {
		err := glow.CheckData(bad, 4)
		if err == nil || !strings.Contains(err.Error(), "raw pixel values") {
			t.Errorf("values %v: got %v, want an error asking for raw pixel values", bad, err)
		}
	}
	if err := flowlib.NewFlow(flowlib.NewStandardNormal(2), flowlib.NewActNorm(2)).CheckData([]float32{0.5, -3}, 2); err != nil {
		t.Errorf("vector flow rejected real data: %v", err)
	}
}

// TestVariationalDequantizationDensity checks log q(u|x) of the variational
// dequantization against the change of variables done by brute force: u is a
// function of ε ~ N(0, I), so log q(u|x) = log N(ε) − log|det ∂u/∂ε|, with the
// Jacobian from one gradient per coordinate of u.
func TestVariationalDequantizationDensity(t *testing.T) {
	be := testBackend(t)
	d := &flowlib.VariationalDequantization{Levels: 256, Couplings: 3, Hidden: 8}
	dims := []int{2, 2, 4, 1}
	x := imageInput(dtypes.Float64, "pixels", dims)
	eps := flowcheck.RandomInput(dtypes.Float64, 2, 11, dims...)
	store := model.NewStore()
	if err := flowcheck.RandomizeVariables(be, store, d, x, 0.05, 4); err != nil {
		t.Fatal(err)
	}
	const n = 8 // values per example
	out := model.MustExecOnceN(be, store, func(scope *model.Scope, x, eps *Node) []*Node {
		u, logQ := d.Noise(scope, x, eps)
		flat := Reshape(u, 2, n)
		rows := make([]*Node, n)
		for i := range n {
			rows[i] = Reshape(Gradient(ReduceAllSum(SliceAxis(flat, 1, AxisElem(i))), eps)[0], 2, 1, n)
		}
		return []*Node{u, logQ, Concatenate(rows, 1)}
	}, x, eps)
	u := tensors.MustCopyFlatData[float64](out[0])
	for _, v := range u {
		if !(v > flowlib.DequantizationMargin*0.99 && v < 1-flowlib.DequantizationMargin*0.99) {
			t.Fatalf("noise value %v outside (δ, 1−δ)", v)
		}
	}
	logQ := tensors.MustCopyFlatData[float64](out[1])
	jac := tensors.MustCopyFlatData[float64](out[2])
	e := tensors.MustCopyFlatData[float64](eps)
	for b := range 2 {
		m := make([][]float64, n)
		logN := 0.0
		for i := range n {
			m[i] = jac[(b*n+i)*n : (b*n+i+1)*n]
			logN += -0.5 * (e[b*n+i]*e[b*n+i] + math.Log(2*math.Pi))
		}
		want := logN - flowcheck.LogAbsDet(m)
		if math.Abs(logQ[b]-want) > 1e-9 {
			t.Errorf("example %d: log q(u|x) = %.12f, by the brute-force Jacobian %.12f", b, logQ[b], want)
		}
	}
}
