package flowcheck

import (
	"fmt"

	"github.com/gomlx/compute"
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/model"

	"github.com/flowbook/flowbook/flowlib"
)

// Summary holds the results of [Invertibility] and [LogDetError] for one
// bijector and batch.
type Summary struct {
	// RoundTrip is max |f⁻¹(f(x)) − x|.
	RoundTrip float64
	// LogDetSum is max |log|det J_f(x)| + log|det J_f⁻¹(f(x))||.
	LogDetSum float64
	// LogDetError is max |returned log-det − log|det J|| against the
	// brute-force Jacobian.
	LogDetError float64
}

// String writes the three numbers in one line, e.g.
// "round trip 2.2e-16   |log-det f + log-det f⁻¹| 0.0e+00   |log-det − brute force| 4.4e-16".
func (s Summary) String() string {
	return fmt.Sprintf("round trip %.1e   |log-det f + log-det f⁻¹| %.1e   |log-det − brute force| %.1e",
		s.RoundTrip, s.LogDetSum, s.LogDetError)
}

// Randomized checks b as the general map it becomes in training: in a fresh
// store it gives b's variables random values ([RandomizeVariables] with scale
// and seed), then runs [Invertibility] and [LogDetError] on x.
func Randomized(backend compute.Backend, b flowlib.Bijector, x *tensors.Tensor, scale float64, seed uint64) (Summary, error) {
	store := model.NewStore()
	if err := RandomizeVariables(backend, store, b, x, scale, seed); err != nil {
		return Summary{}, err
	}
	return Summarize(backend, store, b, x)
}

// Summarize runs [Invertibility] and [LogDetError] on b with the variables in
// store, as they are.
func Summarize(backend compute.Backend, store *model.Store, b flowlib.Bijector, x *tensors.Tensor) (Summary, error) {
	var s Summary
	var err error
	if s.RoundTrip, s.LogDetSum, err = Invertibility(backend, store, b, x); err != nil {
		return Summary{}, err
	}
	if s.LogDetError, err = LogDetError(backend, store, b, x); err != nil {
		return Summary{}, err
	}
	return s, nil
}
