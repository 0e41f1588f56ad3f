package vae

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/gomlx/compute"
	"github.com/gomlx/compute/dtypes"
	. "github.com/gomlx/gomlx/core/graph" //nolint:revive
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/model"

	"github.com/flowbook/flowbook/flowlib/data"
	"github.com/flowbook/flowbook/flowlib/flowcheck"
	"github.com/flowbook/flowbook/flowlib/internal/graphpanic"
)

// checkModel returns an error unless m can be evaluated.
func checkModel(what string, m *Model) error {
	if m == nil || m.Encode == nil || m.Decode == nil || m.Latent < 1 {
		return fmt.Errorf("vae: %s needs a Model with Encode, Decode and Latent ≥ 1; build one with vae.New(dim)...Done()", what)
	}
	if m.Likelihood != Gaussian && m.Likelihood != Bernoulli {
		return fmt.Errorf("vae: %s: unknown decoder %s; use vae.Gaussian or vae.Bernoulli", what, m.Likelihood)
	}
	return nil
}

// checkSamples returns an error unless s can be given to m: at least one
// example of m's size, finite, and binary for a Bernoulli decoder. what
// names the data in the messages ("training data", say).
func checkSamples(m *Model, what string, s *data.Samples) error {
	switch {
	case s == nil || s.N == 0:
		return fmt.Errorf("vae: no %s (0 examples); give at least one example", what)
	case s.N < 0 || s.Dim < 1:
		return fmt.Errorf("vae: the %s has N = %d examples of Dim = %d values; both must be positive", what, s.N, s.Dim)
	case len(s.Values) != s.N*s.Dim:
		return fmt.Errorf("vae: the %s has %d values but N×Dim = %d×%d = %d", what, len(s.Values), s.N, s.Dim, s.N*s.Dim)
	case m.Dim > 0 && s.Dim != m.Dim:
		return fmt.Errorf("vae: the model takes vectors of %d values but the %s has %d per example; "+
			"build the model with vae.New(%d), or give it data of size %d", m.Dim, what, s.Dim, s.Dim, m.Dim)
	}
	for i, v := range s.Values {
		f := float64(v)
		if math.IsNaN(f) || math.IsInf(f, 0) {
			return fmt.Errorf("vae: the %s has the non-finite value %v in example %d, coordinate %d: "+
				"a likelihood of it is not defined; drop or impute such examples", what, v, i/s.Dim, i%s.Dim)
		}
		if m.Likelihood == Bernoulli && v != 0 && v != 1 {
			return fmt.Errorf("vae: a Bernoulli decoder models binary data, but the %s has %v in example %d, coordinate %d; "+
				"binarise the data (x > 0.5, or x ~ Bernoulli(x) for intensities in [0, 1]), or use the Gaussian decoder",
				what, v, i/s.Dim, i%s.Dim)
		}
	}
	return nil
}

// batchRows bounds the memory of an evaluation graph: at most 2¹⁷ rows and
// 2²⁴ values in its widest layer.
func batchRows(m *Model) int {
	width := m.width
	if width == 0 {
		width = max(m.Dim, 2*m.Latent, 256)
	}
	return max(1, min(1<<17, (1<<24)/width))
}

// pointNoise draws the standard normal noise of points start..end-1, perPoint
// values each, from rng, in the point-major order that makes every point's
// noise independent of how the points are batched: the same seed gives a
// point the same noise in any batch.
func pointNoise(rng *rand.Rand, points, perPoint int) []float32 {
	eps := make([]float32, points*perPoint)
	for i := range eps {
		eps[i] = float32(rng.NormFloat64())
	}
	return eps
}

// ELBOs returns the single-sample ELBO of every example of samples, by
// [Model.ELBO] (the closed-form KL), in nats, as float64: one random
// estimate per example, whose mean over the examples estimates the mean
// ELBO (flowcheck.MeanStdErr gives it with its standard error). The noise
// comes from a generator seeded by seed, point by point, so an example's
// value does not depend on the batching. The examples are evaluated in
// batches of up to 2¹⁷ (fewer for wide models).
func ELBOs(backend compute.Backend, store *model.Store, m *Model, samples *data.Samples, seed uint64) ([]float64, error) {
	if err := checkModel("ELBOs", m); err != nil {
		return nil, err
	}
	if err := checkSamples(m, "data", samples); err != nil {
		return nil, err
	}
	exec, err := model.NewExec(backend, store, func(scope *model.Scope, x, eps *Node) *Node {
		defer graphpanic.AsError()
		return m.ELBO(scope, x, eps)
	})
	if err != nil {
		return nil, fmt.Errorf("vae: ELBOs: %w", err)
	}
	defer exec.Finalize()
	rng := rand.New(rand.NewPCG(seed, 0xe1b0))
	out := make([]float64, 0, samples.N)
	batch, dim := batchRows(m), samples.Dim
	for start := 0; start < samples.N; start += batch {
		end := min(start+batch, samples.N)
		x := tensors.FromFlatDataAndDimensions(samples.Values[start*dim:end*dim], end-start, dim)
		eps := tensors.FromFlatDataAndDimensions(pointNoise(rng, end-start, m.Latent), end-start, m.Latent)
		res, err := exec.Call(x, eps)
		if err != nil {
			return nil, fmt.Errorf("vae: ELBOs: %w", err)
		}
		for _, v := range tensors.MustCopyFlatData[float32](res[0]) {
			out = append(out, float64(v))
		}
	}
	return out, nil
}

// IWAEs returns the importance-weighted bound IWAE_k of every example of
// samples ([Model.IWAE]), in nats, as float64: one random estimate per
// example. For k = 1 it is the one-sample ELBO with the KL estimated from
// the sample. The noise comes from a generator seeded by seed, point by
// point (the same k samples for a point in any batching); the examples are
// evaluated in batches of up to 2¹⁷/k.
func IWAEs(backend compute.Backend, store *model.Store, m *Model, samples *data.Samples, k int, seed uint64) ([]float64, error) {
	perK, err := iwaes("IWAEs", backend, store, m, samples, seed, []int{k})
	if err != nil {
		return nil, err
	}
	return perK[0], nil
}

// iwaes computes the IWAE bounds for each k in ks of every example, all from
// the first k of the same max(ks) samples per point.
func iwaes(what string, backend compute.Backend, store *model.Store, m *Model, samples *data.Samples, seed uint64, ks []int) ([][]float64, error) {
	if err := checkModel(what, m); err != nil {
		return nil, err
	}
	if len(ks) == 0 {
		return nil, fmt.Errorf("vae: %s needs at least one k", what)
	}
	kMax := 0
	for _, k := range ks {
		if k < 1 {
			return nil, fmt.Errorf("vae: %s: k, the number of samples per example, must be at least 1, got %d", what, k)
		}
		kMax = max(kMax, k)
	}
	if err := checkSamples(m, "data", samples); err != nil {
		return nil, err
	}
	exec, err := model.NewExec(backend, store, func(scope *model.Scope, x, eps *Node) []*Node {
		defer graphpanic.AsError()
		lw := LogWeights(scope, m, x, eps)
		outs := make([]*Node, len(ks))
		for i, k := range ks {
			outs[i] = IWAEBound(Slice(lw, AxisRange(0, k)))
		}
		return outs
	})
	if err != nil {
		return nil, fmt.Errorf("vae: %s: %w", what, err)
	}
	defer exec.Finalize()
	rng := rand.New(rand.NewPCG(seed, 0x1ae))
	perK := make([][]float64, len(ks))
	batch, dim, latent := max(1, batchRows(m)/kMax), samples.Dim, m.Latent
	for start := 0; start < samples.N; start += batch {
		end := min(start+batch, samples.N)
		n := end - start
		stream := pointNoise(rng, n, kMax*latent) // point j, sample k: stream[(j·kMax + k)·latent:]
		eps := make([]float32, len(stream))       // [kMax, n, latent]
		for j := range n {
			for k := range kMax {
				copy(eps[(k*n+j)*latent:(k*n+j+1)*latent], stream[(j*kMax+k)*latent:(j*kMax+k+1)*latent])
			}
		}
		x := tensors.FromFlatDataAndDimensions(samples.Values[start*dim:end*dim], n, dim)
		outs, err := exec.Call(x, tensors.FromFlatDataAndDimensions(eps, kMax, n, latent))
		if err != nil {
			return nil, fmt.Errorf("vae: %s: %w", what, err)
		}
		for i, o := range outs {
			for _, b := range tensors.MustCopyFlatData[float32](o) {
				perK[i] = append(perK[i], float64(b))
			}
		}
	}
	return perK, nil
}

// Bound is a lower bound of the mean log-likelihood of some data, measured
// with K importance samples per point (K = 1: the single-sample ELBO).
type Bound struct {
	K int
	// Mean is the bound averaged over the points, in nats per point, and
	// StdErr its standard error: the spread over the points, which also holds
	// the Monte Carlo noise of the samples, divided by √N.
	Mean, StdErr float64
	// PerPoint is the estimate for each point.
	PerPoint []float64
}

// Evaluate measures the model's bounds on the samples for each K in ks: the
// IWAE bound with K samples per point (for K = 1, the single-sample ELBO
// with the KL estimated from the sample), each with its standard error. The
// bounds for every K use the first K of the same max(ks) samples of z per
// point, drawn as in [IWAEs] from noise seeded by seed, so their
// differences are not blurred by independent noise: IWAEs(…, k, seed) gives
// the PerPoint of Evaluate(…, seed, k). It needs at least 2 points.
func Evaluate(backend compute.Backend, store *model.Store, v *Model, samples *data.Samples, seed uint64, ks ...int) ([]Bound, error) {
	if samples != nil && samples.N == 1 {
		return nil, errors.New("vae: Evaluate needs at least 2 points for a standard error; use IWAEs for one")
	}
	perK, err := iwaes("Evaluate", backend, store, v, samples, seed, ks)
	if err != nil {
		return nil, err
	}
	bounds := make([]Bound, len(ks))
	for i, k := range ks {
		bounds[i] = Bound{K: k, PerPoint: perK[i]}
		bounds[i].Mean, bounds[i].StdErr = flowcheck.MeanStdErr(perK[i])
	}
	return bounds, nil
}

// Sample draws n samples from the model's distribution of x, z ∼ N(0, I)
// then x ∼ p(x|z): for a Gaussian decoder x = μ_x(z) + σ_x ⊙ ε, for a
// Bernoulli decoder 0/1 values with probabilities sigmoid(ℓ(z)). The draws
// come from a generator seeded by seed; [SampleMeans] with the same seed
// returns E[x|z] for the same z. The result has N = n and Dim = the
// decoder's size, no Shape (set it, e.g. to the training data's, to draw
// images).
func Sample(backend compute.Backend, store *model.Store, m *Model, n int, seed uint64) (*data.Samples, error) {
	return sample("Sample", backend, store, m, n, seed, false)
}

// SampleMeans returns the decoder's means E[x|z] = μ_x(z) (Gaussian) or
// sigmoid(ℓ(z)) (Bernoulli, the probabilities of 1) at n latents
// z ∼ N(0, I), the same z as [Sample] with the same seed: smoother pictures
// than the draws, but not samples of the model.
func SampleMeans(backend compute.Backend, store *model.Store, m *Model, n int, seed uint64) (*data.Samples, error) {
	return sample("SampleMeans", backend, store, m, n, seed, true)
}

func sample(what string, backend compute.Backend, store *model.Store, m *Model, n int, seed uint64, means bool) (*data.Samples, error) {
	if err := checkModel(what, m); err != nil {
		return nil, err
	}
	if n < 1 {
		return nil, fmt.Errorf("vae: %s needs n ≥ 1 samples, got %d", what, n)
	}
	exec, err := model.NewExec(backend, store, func(scope *model.Scope, z *Node) []*Node {
		defer graphpanic.AsError()
		params, logStd := m.Decode(scope, z)
		if m.Likelihood == Bernoulli {
			return []*Node{Sigmoid(params)}
		}
		if logStd == nil {
			panic(errors.New("vae: a Gaussian decoder must return its log σ, got nil"))
		}
		return []*Node{params, Exp(logStd)}
	})
	if err != nil {
		return nil, fmt.Errorf("vae: %s: %w", what, err)
	}
	defer exec.Finalize()
	zRNG := rand.New(rand.NewPCG(seed, 0x5a3))
	xRNG := rand.New(rand.NewPCG(seed, 0x5a4))
	out := &data.Samples{N: n}
	batch := batchRows(m)
	for start := 0; start < n; start += batch {
		size := min(batch, n-start)
		z := tensors.FromFlatDataAndDimensions(pointNoise(zRNG, size, m.Latent), size, m.Latent)
		res, err := exec.Call(z)
		if err != nil {
			return nil, fmt.Errorf("vae: %s: %w", what, err)
		}
		if res[0].DType() != dtypes.Float32 {
			return nil, fmt.Errorf("vae: %s: the decoder returned %s, want float32", what, res[0].DType())
		}
		mean := tensors.MustCopyFlatData[float32](res[0])
		out.Dim = res[0].Shape().Dimensions[1]
		switch {
		case means:
		case m.Likelihood == Bernoulli:
			for i, p := range mean {
				mean[i] = 0
				if xRNG.Float64() < float64(p) {
					mean[i] = 1
				}
			}
		default:
			std := tensors.MustCopyFlatData[float32](res[1])
			for i := range mean {
				mean[i] += std[i] * float32(xRNG.NormFloat64())
			}
		}
		out.Values = append(out.Values, mean...)
	}
	return out, nil
}
