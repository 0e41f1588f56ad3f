package main

import (
	"fmt"
	"io"
	"maps"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/flowbook/flowbook/flowlib"
	"github.com/flowbook/flowbook/flowlib/data"
	"github.com/flowbook/flowbook/flowlib/training"
)

// csvHelp describes the CSV files train and eval read (data.ReadCSV), for
// their usage texts.
const csvHelp = `CSV files: one point per line. Values are separated by commas, or, when the
first line has no comma, by tabs or by runs of spaces (as numpy.savetxt
writes); semicolons are rejected. A first line without any number in it is
a header, and is skipped; so are blank lines. Every value must be a finite
number within ±1e6: flows compute in float32, where the squares of larger
values overflow, so standardise such columns first.
`

// toyNames lists the toy datasets --data accepts by name.
func toyNames() []string { return data.Names() }

// imageSchemes are the prefixes of --data values that name a directory of
// image files in the MNIST format, like mnist:.cache/mnist. Fashion-MNIST has
// the same files, so both read them with data.LoadMNIST; the name only says
// which dataset it is, and which option of scripts/fetch-mnist fetches it.
var imageSchemes = []string{"mnist", "fashion-mnist"}

// dataSource is what a --data flag names: a toy dataset, a CSV file, or a
// directory of MNIST-format images.
type dataSource struct {
	toy    string // the toy dataset's name, or ""
	path   string // the CSV file's path, or ""
	scheme string // for images: one of imageSchemes, or ""
	dir    string // for images: the absolute path of the directory of IDX files
}

// parseData interprets a --data value: SCHEME:DIR for images (mnist:DIR,
// fashion-mnist:DIR), a toy dataset's name, or else the path of a CSV file. A
// value that is none of these (no such name, no such file, no .csv suffix) is
// most likely a misspelt name, and the error lists the names.
//
// The image directory is made absolute, since it is stored in the checkpoint
// for eval and sample, which may run from another working directory.
func parseData(value string) (dataSource, error) {
	for _, scheme := range imageSchemes {
		dir, ok := strings.CutPrefix(value, scheme+":")
		if !ok {
			continue
		}
		if dir == "" {
			return dataSource{}, fmt.Errorf("--data %q needs the directory of the image files after the colon, "+
				"like %s:.cache/mnist", value, scheme)
		}
		abs, err := filepath.Abs(dir)
		if err != nil {
			return dataSource{}, fmt.Errorf("--data %s: %w", value, err)
		}
		return dataSource{scheme: scheme, dir: abs}, nil
	}
	if slices.Contains(toyNames(), value) {
		return dataSource{toy: value}, nil
	}
	if _, err := os.Stat(value); err == nil || strings.HasSuffix(strings.ToLower(value), ".csv") {
		return dataSource{path: value}, nil
	}
	return dataSource{}, fmt.Errorf("unknown dataset %q: give a toy dataset (%s), the path of a CSV file, "+
		"or images as mnist:DIR or fashion-mnist:DIR", value, strings.Join(toyNames(), ", "))
}

// String names the source in the logs and in checkpoints, in the form
// parseData reads.
func (d dataSource) String() string {
	switch {
	case d.toy != "":
		return d.toy
	case d.scheme != "":
		return d.scheme + ":" + d.dir
	}
	return d.path
}

// images reports whether the source holds images rather than vectors.
func (d dataSource) images() bool { return d.scheme != "" }

// load returns vector data: n points drawn with seed from a toy dataset, or
// the CSV file's rows (n and seed are then unused).
func (d dataSource) load(n int, seed uint64) (*data.Samples, error) {
	if d.toy == "" {
		return data.LoadCSV(d.path, 0)
	}
	return data.Toy(d.toy, n, seed)
}

// loadImages returns the training and test splits of an image source, as the
// files define them. A missing directory gets its own message, with the
// command that fills it.
func (d dataSource) loadImages() (train, test *data.Samples, err error) {
	fetch := "scripts/fetch-mnist " + d.dir
	if d.scheme == "fashion-mnist" {
		fetch += " --fashion"
	}
	info, err := os.Stat(d.dir)
	switch {
	case os.IsNotExist(err):
		return nil, nil, fmt.Errorf("the %s directory %s does not exist; run %s to download the files into it",
			d.scheme, d.dir, fetch)
	case err != nil:
		return nil, nil, fmt.Errorf("the %s directory: %w", d.scheme, err)
	case !info.IsDir():
		return nil, nil, fmt.Errorf("%s:%s is a file; give the directory that holds the %s files (run %s to fill one)",
			d.scheme, d.dir, d.scheme, fetch)
	}
	return data.LoadMNIST(d.dir)
}

// loadForModel returns the data to evaluate the model spec on, whose
// checkpoint is in dir: the test split of an image source, or else n points
// (toy data, drawn with seed) or a CSV file's rows. Data whose shape is not
// the model's is an error that says what the model needs.
func (d dataSource) loadForModel(n int, seed uint64, spec *flowlib.Spec, dir string) (*data.Samples, error) {
	switch {
	case spec.IsImage() && !d.images():
		if d.toy != "" {
			return nil, fmt.Errorf("the toy dataset %q is 2-D points but the model in %s is an image model for %s images: "+
				"give images, e.g. --data mnist:DIR", d.toy, dir, describeShape(spec.ImageShape()))
		}
	case !spec.IsImage() && d.images():
		return nil, fmt.Errorf("%s holds images but the model in %s is a vector model of dimension %d: "+
			"give a CSV file with %d columns or a toy dataset", d, dir, spec.Dim(), spec.Dim())
	case d.toy != "" && spec.Dim() != 2:
		return nil, fmt.Errorf("the toy dataset %q is 2-D but the model in %s has dimension %d; give a CSV file with %d columns",
			d.toy, dir, spec.Dim(), spec.Dim())
	}
	if d.images() {
		_, test, err := d.loadImages()
		if err != nil {
			return nil, err
		}
		if !slices.Equal(test.Shape, spec.ImageShape()) {
			return nil, fmt.Errorf("%s holds images of %s but the model in %s is for images of %s: "+
				"give the images it was trained on, or the checkpoint of a model trained on these",
				d, describeShape(test.Shape), dir, describeShape(spec.ImageShape()))
		}
		return test, nil
	}
	points, err := d.load(n, seed)
	if err != nil {
		return nil, err
	}
	if spec.IsImage() {
		return nil, fmt.Errorf("%s holds vectors of %d columns but the model in %s is an image model for %s images "+
			"(%d values each): give images, e.g. --data mnist:DIR", d, points.Dim, dir, describeShape(spec.ImageShape()), spec.Dim())
	}
	if points.Dim != spec.Dim() {
		return nil, fmt.Errorf("%s has %d columns but the model in %s has dimension %d: give data with %d columns, "+
			"or the checkpoint of a model trained on data like this", d, points.Dim, dir, spec.Dim(), spec.Dim())
	}
	return points, nil
}

// describeShape writes an image shape [height, width, channels] as
// "28×28×1".
func describeShape(shape []int) string {
	parts := make([]string, len(shape))
	for i, v := range shape {
		parts[i] = strconv.Itoa(v)
	}
	return strings.Join(parts, "×")
}

// firstN returns the first n examples of s (all of them when n is 0 or at
// least s.N), sharing s's values.
func firstN(s *data.Samples, n int) *data.Samples {
	if n <= 0 || n >= s.N {
		return s
	}
	out := *s
	out.N = n
	out.Values = s.Values[:n*s.Dim]
	if s.Labels != nil {
		out.Labels = s.Labels[:n]
	}
	return &out
}

// trueLogLikelihoods returns the log-density of each point under the exact
// density of the toy dataset name, when it has a closed form
// (data.TrueLogDensity): their mean is the best mean log-likelihood any model
// can reach on those points.
func trueLogLikelihoods(name string, points *data.Samples) ([]float64, bool) {
	logp, ok := data.TrueLogDensity(name)
	if !ok || points.Dim != 2 {
		return nil, false
	}
	out := make([]float64, points.N)
	for i := range points.N {
		row := points.Row(i)
		out[i] = logp(float64(row[0]), float64(row[1]))
	}
	return out, true
}

// scores are a model's results on a set of points, as train and eval print them.
type scores struct {
	N             int
	Dim           int
	MeanLogLik    float64 // mean log p_model(x), nats
	MedianLogLik  float64 // median log p_model(x), nats
	MinLogLik     float64 // lowest log p_model(x), nats
	HasTruth      bool
	TrueLogLik    float64 // mean log p_true(x), nats, when HasTruth
	GapSE         float64 // standard error of the gap TrueLogLik − MeanLogLik; NaN if it cannot be estimated
	NoTrueDensity int     // points where p_true(x) = 0 (log p_true = -Inf): they cannot come from TruthDataset
	TruthDataset  string  // the toy dataset whose exact density gives TrueLogLik
	TruthAssumed  bool    // the points come from a file assumed to hold TruthDataset data

	logProbs []float64 // log p_model(x) of each point, for addTruth
}

// newScores summarises the log-likelihoods of points of dimension dim.
//
// The mean adds them in order, as inference.MeanLogProb does, so that train
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
	return scores{N: n, Dim: dim, MeanLogLik: sum / float64(n), MedianLogLik: median, MinLogLik: sorted[0],
		logProbs: logProbs}
}

// addTruth adds the comparison with the exact density of the toy dataset
// name, when it has one, on the same points: its mean log-likelihood, and
// the standard error of the gap, the mean of the per-point differences
// log p_true(x) − log p_model(x), from their spread.
func (s *scores) addTruth(name string, points *data.Samples) {
	truth, ok := trueLogLikelihoods(name, points)
	if !ok || len(truth) != len(s.logProbs) {
		return
	}
	s.HasTruth, s.TruthDataset = true, name
	sum := 0.0
	for _, v := range truth {
		sum += v
		if math.IsInf(v, -1) {
			s.NoTrueDensity++
		}
	}
	// In order, as data.MeanTrueLogLikelihood adds them: the same number.
	s.TrueLogLik = sum / float64(len(truth))
	s.GapSE = math.NaN()
	if n := len(truth); n > 1 && s.NoTrueDensity == 0 {
		gap := s.TrueLogLik - s.MeanLogLik
		ss := 0.0
		for i, v := range truth {
			d := v - s.logProbs[i] - gap
			ss += d * d
		}
		s.GapSE = math.Sqrt(ss / float64(n-1) / float64(n))
	}
}

// gapWarning says why the comparison with the exact density is suspect, or
// returns "". KL(data‖model) cannot be negative, so a gap below zero by more
// than twice its standard error (a 2% chance for a perfect model, against
// 16% for once) means the points do not follow the exact density: most
// often they are another dataset, or the right one at another scale.
func (s scores) gapWarning() string {
	switch {
	case !s.HasTruth:
		return ""
	case s.NoTrueDensity > 0:
		return fmt.Sprintf("%d of the %d points have zero density under %s, so they cannot come from it; "+
			"give the right --truth, or --truth none", s.NoTrueDensity, s.N, s.TruthDataset)
	case s.TrueLogLik-s.MeanLogLik < -2*s.GapSE:
		return fmt.Sprintf("the gap %.4f ± %.4f nats is negative beyond its standard error, which a KL divergence cannot be: "+
			"the data probably do not come from %s (different scale?); --truth none turns the comparison off",
			s.TrueLogLik-s.MeanLogLik, s.GapSE, s.TruthDataset)
	}
	return ""
}

// print writes the scores, one per line, and a warning about the gap, if
// any, to stderr. The mean log-likelihood has six decimals so that eval can
// be checked against train.
func (s scores) print(stdout, stderr io.Writer) {
	fmt.Fprintf(stdout, "  points:               %d\n", s.N)
	fmt.Fprintf(stdout, "  mean log-likelihood: %10.6f nats\n", s.MeanLogLik)
	fmt.Fprintf(stdout, "  NLL:                 %10.6f bits/dim\n", training.BitsPerDim(-s.MeanLogLik, s.Dim))
	fmt.Fprintf(stdout, "  median, lowest:      %10.4f, %.4f nats  (one very unlikely point can move the mean)\n",
		s.MedianLogLik, s.MinLogLik)
	if !s.HasTruth {
		return
	}
	note := "exact density, same points"
	if s.TruthAssumed {
		note = "exact density, assuming the file holds " + s.TruthDataset + " points (--truth none turns this off)"
	}
	fmt.Fprintf(stdout, "  true log-likelihood: %10.6f nats  (%s: %s)\n", s.TrueLogLik, s.TruthDataset, note)
	se, seNote := "", ""
	if !math.IsNaN(s.GapSE) {
		se, seNote = fmt.Sprintf(" ± %.6f", s.GapSE), ", ± its standard error"
	}
	fmt.Fprintf(stdout, "  gap (true − model):  %10.6f%s nats  (an estimate of KL(data‖model) ≥ 0%s)\n",
		s.TrueLogLik-s.MeanLogLik, se, seNote)
	if w := s.gapWarning(); w != "" {
		fmt.Fprintf(stderr, "warning: %s\n", w)
	}
}

// maxListed is how many items an error message lists before "and N more".
const maxListed = 3

// firstFew joins the first maxListed items, and says how many more there are.
func firstFew(items []string) string {
	if len(items) <= maxListed {
		return strings.Join(items, ", ")
	}
	return fmt.Sprintf("%s and %d more", strings.Join(items[:maxListed], ", "), len(items)-maxListed)
}

// checkFinite returns an error when the mean log-likelihood of the points
// of src is not finite, naming the first points whose log-likelihood is not
// (numbered from 1: a CSV file's data rows, after any header) and how many
// there are. When no point has a finite log-likelihood, the model itself is
// the problem, not the points.
func (s scores) checkFinite(src string, csv bool) error {
	if isFinite(s.MeanLogLik) {
		return nil
	}
	var bad []string // the numbers of the points, from 1
	kinds := map[string]bool{}
	for i, v := range s.logProbs {
		if !isFinite(v) {
			kinds[fmt.Sprint(v)] = true
			bad = append(bad, fmt.Sprint(i+1))
		}
	}
	kind := strings.Join(slices.Sorted(maps.Keys(kinds)), " or ")
	count := len(bad)
	if count == s.N {
		return fmt.Errorf("the mean log-likelihood of %s is %v: log p is %s for all %d points, so the model itself is broken "+
			"(a diverged training run?); retrain it, with a lower --lr", src, s.MeanLogLik, kind, s.N)
	}
	list := firstFew(bad)
	which := "points " + list
	if csv {
		which = "data rows " + list + ", counted from 1 after any header"
	}
	return fmt.Errorf("the mean log-likelihood of %s is %v: log p is %s for %d of the %d points (%s); "+
		"the model's float32 arithmetic overflows on points far outside its training data: check those points",
		src, s.MeanLogLik, kind, count, s.N, which)
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
