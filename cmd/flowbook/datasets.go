package main

import (
	"fmt"
	"io"
	"math"
	"os"
	"slices"
	"strings"

	"github.com/flowbook/flowbook/flowlib/data"
	"github.com/flowbook/flowbook/flowlib/training"
)

// toyNames lists the toy datasets --data accepts by name.
func toyNames() []string { return data.Names() }

// dataSource is what a --data flag names: a toy dataset or a CSV file.
type dataSource struct {
	toy  string // the toy dataset's name, or ""
	path string // the CSV file's path, or ""
}

// parseData interprets a --data value: a toy dataset's name, or else the path
// of a CSV file. A value that is neither (no such name, no such file, no .csv
// suffix) is most likely a misspelt name, and the error lists the names.
func parseData(value string) (dataSource, error) {
	if slices.Contains(toyNames(), value) {
		return dataSource{toy: value}, nil
	}
	if _, err := os.Stat(value); err == nil || strings.HasSuffix(strings.ToLower(value), ".csv") {
		return dataSource{path: value}, nil
	}
	return dataSource{}, fmt.Errorf("unknown dataset %q: give a toy dataset (%s) or the path of a CSV file",
		value, strings.Join(toyNames(), ", "))
}

// String names the source in the logs and in checkpoints.
func (d dataSource) String() string {
	if d.toy != "" {
		return d.toy
	}
	return d.path
}

// load returns the data: n points drawn with seed from a toy dataset, or the
// CSV file's rows (n and seed are then unused).
func (d dataSource) load(n int, seed uint64) (*data.Samples, error) {
	if d.toy == "" {
		return data.LoadCSV(d.path, 0)
	}
	return data.Toy(d.toy, n, seed)
}

// loadForModel is load for a trained model of dimension dim, whose
// checkpoint is in dir: data of another dimension is an error that says so.
func (d dataSource) loadForModel(n int, seed uint64, dim int, dir string) (*data.Samples, error) {
	if d.toy != "" && dim != 2 {
		return nil, fmt.Errorf("the toy dataset %q is 2-D but the model in %s has dimension %d; give a CSV file with %d columns",
			d.toy, dir, dim, dim)
	}
	points, err := d.load(n, seed)
	if err != nil {
		return nil, err
	}
	if points.Dim != dim {
		return nil, fmt.Errorf("%s has %d columns but the model in %s has dimension %d: give data with %d columns, "+
			"or the checkpoint of a model trained on data like this", d, points.Dim, dir, dim, dim)
	}
	return points, nil
}

// trueMeanLogLikelihood returns the mean log-density of the points under the
// exact density of the toy dataset name, when it has a closed form
// (data.TrueLogDensity): the best mean log-likelihood any model can reach on
// those points.
func trueMeanLogLikelihood(name string, points *data.Samples) (float64, bool) {
	if _, ok := data.TrueLogDensity(name); !ok || points.Dim != 2 {
		return 0, false
	}
	mean, err := data.MeanTrueLogLikelihood(name, points)
	return mean, err == nil
}

// scores are a model's results on a set of points, as train and eval print them.
type scores struct {
	N            int
	Dim          int
	MeanLogLik   float64 // mean log p_model(x), nats
	MedianLogLik float64 // median log p_model(x), nats
	MinLogLik    float64 // lowest log p_model(x), nats
	HasTruth     bool
	TrueLogLik   float64 // mean log p_true(x), nats, when HasTruth
	TruthDataset string  // the toy dataset whose exact density gives TrueLogLik
	TruthAssumed bool    // the points come from a file assumed to hold TruthDataset data
}

// newScores summarises the log-likelihoods of points of dimension dim.
//
// The mean adds them in order, as training.MeanLogProb does, so that train
// and eval print the very same number. The median and the minimum are there
// because one point the model finds very unlikely (an outlier far from the
// data, which a flow may map deep into the tails of its base distribution)
// can move the mean by a lot: when the median holds steady while the mean
// drops, look at the minimum before suspecting overfitting.
func newScores(logProbs []float64, dim int) scores {
	sum := 0.0
	for _, v := range logProbs {
		sum += v
	}
	sorted := slices.Sorted(slices.Values(logProbs))
	n := len(sorted)
	median := sorted[n/2]
	if n%2 == 0 {
		median = (sorted[n/2-1] + sorted[n/2]) / 2
	}
	return scores{N: n, Dim: dim, MeanLogLik: sum / float64(n), MedianLogLik: median, MinLogLik: sorted[0]}
}

// print writes the scores, one per line. The mean log-likelihood has six
// decimals so that eval can be checked against train.
func (s scores) print(w io.Writer) {
	fmt.Fprintf(w, "  points:               %d\n", s.N)
	fmt.Fprintf(w, "  mean log-likelihood: %10.6f nats\n", s.MeanLogLik)
	fmt.Fprintf(w, "  NLL:                 %10.6f bits/dim\n", training.BitsPerDim(-s.MeanLogLik, s.Dim))
	fmt.Fprintf(w, "  median, lowest:      %10.4f, %.4f nats  (one very unlikely point can move the mean)\n",
		s.MedianLogLik, s.MinLogLik)
	if !s.HasTruth {
		return
	}
	note := "exact density, same points"
	if s.TruthAssumed {
		note = "exact density, assuming the file holds " + s.TruthDataset + " points (--truth none turns this off)"
	}
	fmt.Fprintf(w, "  true log-likelihood: %10.6f nats  (%s: %s)\n", s.TrueLogLik, s.TruthDataset, note)
	fmt.Fprintf(w, "  gap (true − model):  %10.6f nats  (an estimate of KL(data‖model) ≥ 0)\n", s.TrueLogLik-s.MeanLogLik)
}

// countNonFinite counts the NaN and ±Inf values in s.
func countNonFinite(s *data.Samples) int {
	n := 0
	for _, v := range s.Values {
		if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
			n++
		}
	}
	return n
}
