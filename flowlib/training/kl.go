package training

import (
	"fmt"
	"math"

	"github.com/gomlx/compute"
	"github.com/gomlx/gomlx/ml/model"

	"github.com/flowbook/flowbook/flowlib"
	"github.com/flowbook/flowbook/flowlib/data"
	"github.com/flowbook/flowbook/flowlib/inference"
)

// KLEstimate is a Monte Carlo estimate of KL(p_data‖p_θ) from N samples of
// p_data, in nats.
type KLEstimate struct {
	// KL is the mean of log p_data(x_i) − log p_θ(x_i), and StdErr the
	// standard error of that mean, sqrt(variance / N).
	KL, StdErr float64
	// ModelNLL and TrueNLL are the mean negative log-likelihoods of the model
	// and of the true density on the same samples: KL = ModelNLL − TrueNLL.
	ModelNLL, TrueNLL float64
	N                 int
}

// String formats the estimate as "KL(p_data‖p_θ) ≈ 0.121 ± 0.008 nats".
func (k KLEstimate) String() string {
	return fmt.Sprintf("KL(p_data‖p_θ) ≈ %.3f ± %.3f nats", k.KL, k.StdErr)
}

// KLToTrue estimates KL(p_data‖p_θ) = E_{x∼p_data}[log p_data(x) − log p_θ(x)]
// by the mean over samples, which must be drawn from p_data (held-out data,
// not the training set), for 2D data whose true log-density logTrue is known
// ([data.TrueLogDensity]). The per-sample differences are independent, so
// the standard error of their mean is their standard deviation over √N.
func KLToTrue(backend compute.Backend, store *model.Store, flow *flowlib.Flow, samples *data.Samples, logTrue func(x, y float64) float64) (KLEstimate, error) {
	if logTrue == nil {
		return KLEstimate{}, fmt.Errorf("training: KLToTrue needs the true log-density")
	}
	logModel, err := inference.LogProbs(backend, store, flow, samples)
	if err != nil {
		return KLEstimate{}, err
	}
	if samples.Dim != 2 {
		return KLEstimate{}, fmt.Errorf("training: KLToTrue takes 2D samples, got Dim %d", samples.Dim)
	}
	n := float64(len(logModel))
	var est KLEstimate
	est.N = len(logModel)
	var sum, sumSq float64
	for i, lm := range logModel {
		lt := logTrue(float64(samples.Values[2*i]), float64(samples.Values[2*i+1]))
		d := lt - lm
		sum += d
		sumSq += d * d
		est.ModelNLL -= lm / n
		est.TrueNLL -= lt / n
	}
	est.KL = sum / n
	variance := math.Max(0, sumSq/n-est.KL*est.KL) * n / math.Max(n-1, 1) // unbiased
	est.StdErr = math.Sqrt(variance / n)
	return est, nil
}
