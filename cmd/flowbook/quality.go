package main

import (
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/flowbook/flowbook/flowlib/inference"
	"github.com/flowbook/flowbook/flowlib/quality"
)

const qualityUsage = `Usage: flowbook quality --checkpoint DIR [--n 256] [--temperatures 0.5,0.7,0.85,1.0] [flags]

Measures how much the samples of a flow trained on MNIST look like digits.
For each temperature it draws --n samples (with the same --seed, so every
temperature scales the same latent noise) and has the digit classifier of
flowlib/quality (--classifier, shipped in ` + quality.DefaultDir + `) read
them. It prints one row per temperature and a reference row for the real
test digits (the test split of the images the model was trained on, or of
--data), with these columns:

  confident ≥ 0.9   fraction of images the classifier takes for a digit
                    with probability ≥ 0.9
  by class 0–9 (%)  how the confident images split over the digits
  not a digit       fraction it takes for no digit at all (its eleventh
                    class, trained on noise, blank images, blocks, blobs)
  ink               mean grey level over 255 (real digits ≈ 0.13)
  saturated ≥ 250   fraction of pixels at grey level 250 or more
  mean max          mean over images of the brightest pixel (0–255)
  blocks > 30%      fraction of images more than 30% saturated: white blobs

each with its standard error (± SE). Samples that look like digits come
close to the reference row on every column.

Examples:
  flowbook quality --checkpoint /tmp/fb-glow
  flowbook quality --checkpoint /tmp/fb-glow --n 1000 --temperatures 0.7 --seed 3
`

// cmdQuality runs "flowbook quality".
func cmdQuality(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("quality")
	dir := fs.String("checkpoint", "", "directory `DIR` of the trained image model (required)")
	n := fs.Int("n", 256, "number of samples drawn at each temperature")
	temperatures := floatList{0.5, 0.7, 0.85, 1.0}
	fs.Var(&temperatures, "temperatures", "comma-separated `T,T,...` to sample at")
	seed := fs.Int64("seed", 1, "seed of the samples (the same at every temperature)")
	classifierDir := fs.String("classifier", quality.DefaultDir, "directory `DIR` of the digit classifier")
	dataFlag := fs.String("data", "", "`mnist:DIR` whose test digits make the reference row (default: the images the model was trained on)")
	if err := parseFlags(fs, qualityUsage, args, stdout); err != nil {
		return err
	}
	if err := requireFlags(fs, "checkpoint", *dir); err != nil {
		return err
	}
	if err := checkPositive("--n", *n); err != nil {
		return fmt.Errorf("quality: %w", err)
	}
	t, err := openCheckpointForUse("quality", *dir)
	if err != nil {
		return err
	}
	if !t.spec.IsImage() {
		return fmt.Errorf("quality: the model in %s is a vector model of dimension %d; quality measures image models "+
			"of 28×28×1 digits, trained with --data mnist:DIR", t.dir, t.spec.Dim())
	}
	if shape := t.spec.ImageShape(); !slices.Equal(shape, []int{quality.Side, quality.Side, 1}) {
		return fmt.Errorf("quality: the model in %s draws images of %s; the digit classifier reads 28×28×1 digits", t.dir, describeShape(shape))
	}
	if *dataFlag == "" {
		*dataFlag = t.data
	}
	if *dataFlag == "" {
		return fmt.Errorf("quality: the checkpoint in %s does not say which images it was trained on: give --data mnist:DIR for the reference row", t.dir)
	}
	src, err := parseData(*dataFlag)
	if err != nil {
		return fmt.Errorf("quality: %w", err)
	}
	if src.scheme == "fashion-mnist" {
		return fmt.Errorf("quality: %s holds clothes, but the classifier knows digits: quality measures models of mnist:DIR", src)
	}
	test, err := src.loadForModel(0, 0, t.spec, t.dir)
	if err != nil {
		return fmt.Errorf("quality: %w", err)
	}
	classifier, err := quality.LoadClassifier(*classifierDir)
	if err != nil {
		return errors.New(strings.Replace(err.Error(), "quality: ", "quality: the classifier: ", 1))
	}

	b, err := openBackend(stderr)
	if err != nil {
		return fmt.Errorf("quality: %w", err)
	}
	defer b.Finalize()
	var reports []*quality.Report
	for _, temperature := range temperatures {
		// The random state is a variable of the store, saved with the
		// checkpoint; reseeding it makes --seed decide the samples.
		if err := t.store.SetRNGStateFromSeed(*seed); err != nil {
			return fmt.Errorf("quality: seeding the random number generator: %w", err)
		}
		samples, err := inference.Sample(b, t.store, t.flow, *n, temperature)
		if err != nil {
			return fmt.Errorf("quality: %w", runError("sampling the model", err))
		}
		if err := t.checkComplete(); err != nil {
			return fmt.Errorf("quality: %w", err)
		}
		if err := checkPixels(samples); err != nil {
			return fmt.Errorf("quality: at temperature %g: %w", temperature, err)
		}
		r, err := quality.Measure(b, classifier, samples)
		if err != nil {
			return fmt.Errorf("quality: at temperature %g: %w", temperature, errors.New(strings.TrimPrefix(err.Error(), "quality: ")))
		}
		r.Label = fmt.Sprintf("T = %g", temperature)
		reports = append(reports, r)
	}
	reference, err := quality.Reference(b, classifier, test)
	if err != nil {
		return fmt.Errorf("quality: the reference digits: %w", errors.New(strings.TrimPrefix(err.Error(), "quality: ")))
	}
	reports = append(reports, reference)

	trainedOn := ""
	if t.data != "" {
		trainedOn = " on " + t.data
	}
	fmt.Fprintf(stdout, "checkpoint: %s, step %d (trained%s)\n", t.dir, t.step, trainedOn)
	fmt.Fprintf(stdout, "model: %s\n", t.spec)
	accuracy := ""
	if a, ok := classifier.TestAccuracy(); ok {
		accuracy = fmt.Sprintf(", test accuracy %.4f", a)
	}
	fmt.Fprintf(stdout, "classifier: %s (step %d%s)\n", *classifierDir, classifier.Step(), accuracy)
	fmt.Fprintf(stdout, "samples: %d per temperature, seed %d; reference: the %d test digits of %s\n\n", *n, *seed, test.N, src)
	printReports(stdout, reports)
	return nil
}

// printReports writes the reports as a table with aligned columns, under
// quality.Columns.
func printReports(w io.Writer, reports []*quality.Report) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, strings.Join(quality.Columns, "\t"))
	for _, r := range reports {
		fmt.Fprintln(tw, strings.Join(r.Cells(), "\t"))
	}
	tw.Flush()
}

// floatList is a flag holding comma-separated positive numbers, like
// --temperatures 0.5,0.7.
type floatList []float64

// String implements flag.Value.
func (l *floatList) String() string {
	if l == nil {
		return ""
	}
	parts := make([]string, len(*l))
	for i, v := range *l {
		parts[i] = strconv.FormatFloat(v, 'g', -1, 64)
	}
	return strings.Join(parts, ",")
}

// Set implements flag.Value.
func (l *floatList) Set(s string) error {
	var out []float64
	for _, field := range strings.Split(s, ",") {
		v, err := strconv.ParseFloat(strings.TrimSpace(field), 64)
		if err != nil || !(v > 0) || math.IsInf(v, 0) {
			return fmt.Errorf("want positive numbers separated by commas, like 0.5,0.7,1")
		}
		out = append(out, v)
	}
	*l = out
	return nil
}
