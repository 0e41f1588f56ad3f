package quality

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/gomlx/compute"

	"github.com/flowbook/flowbook/flowlib/data"
	"github.com/flowbook/flowbook/flowlib/flowcheck"
)

// Thresholds of the measures, stated once so that the docs, the tables and
// the code agree.
const (
	// ConfidenceThreshold is the smallest top softmax probability that counts
	// an image as confidently classified.
	ConfidenceThreshold = 0.9
	// SaturatedLevel is the smallest grey level counted as a saturated
	// (white) pixel. MNIST's strokes peak at 252–255, so a real digit has
	// some; a block of them is what an unstable flow draws.
	SaturatedLevel = 250
	// BlockFraction is the share of saturated pixels above which an image
	// counts as a "saturated block": a real digit has ink on about 19% of its
	// pixels and saturated ones on 7.6% (24% at most among the 2,004 test
	// digits), so more than 30% white pixels is a blob, not a stroke.
	BlockFraction = 0.3
	// DarkLevel is the largest grey level counted as a near-black pixel,
	// for [Report.Speckle].
	DarkLevel = 25
)

// Report is the sample-quality summary of a set of 28×28 grey images, as
// [Measure] computes it. Each "SE" field is the standard error of the field
// before it: √(p(1−p)/N) for a fraction p of the images, and the standard
// deviation across images over √N for a mean over images (pixels of one
// image are not independent, so an image is the unit). With one image the
// means' standard errors are NaN.
type Report struct {
	// Label names the images in tables ("T = 0.7", "real test digits");
	// Measure leaves it empty.
	Label string
	// N is the number of images.
	N int

	// Confident is the fraction of the images whose top class is a digit
	// with softmax probability ≥ ConfidenceThreshold (0.9): images the
	// classifier takes for a clear digit. Real test digits score about 0.95.
	Confident, ConfidentSE float64
	// Classes counts the confident images by their predicted digit 0…9: a
	// flow whose samples are all 1s has a high Confident but one full bin.
	Classes [NumClasses]int
	// NotDigit is the fraction of the images whose top class is [NotDigit]:
	// noise, blank images, blocks and blobs rather than any digit.
	NotDigit, NotDigitSE float64
	// MeanConfidence is the mean over all images of the top softmax
	// probability (of a digit or of NotDigit).
	MeanConfidence float64

	// Ink is the mean grey level over all pixels divided by 255: about 0.13
	// for MNIST's digits, 0 for blank images and 0.5 for uniform noise.
	Ink, InkSE float64
	// Saturated is the fraction of all pixels at SaturatedLevel (250) or
	// above; its SE is that of the mean of the images' own fractions.
	Saturated, SaturatedSE float64
	// Speckle is the mean number per image of speckled pixels: saturated
	// pixels with at least two of their four neighbours near black (≤
	// DarkLevel, or off the image). MNIST's strokes are anti-aliased, so a
	// real digit has about 0.1; the dotted blocks that an exploding inverse
	// draws (one of the four channels of a squeezed 2×2 patch saturated)
	// have dozens.
	Speckle, SpeckleSE float64
	// MeanMax is the mean over images of each image's largest grey level
	// (0…255): real digits reach 255, faint or blurred samples stay below.
	MeanMax, MeanMaxSE float64
	// Blocks is the fraction of images of which more than BlockFraction
	// (30%) of the pixels are saturated: white blobs rather than strokes.
	Blocks, BlocksSE float64
}

// CheckImages returns an error unless images holds at least one image of
// Shape [28, 28, 1] whose values are finite grey levels in [0, 255], as
// flows' samples and data.LoadMNIST's images are. The error names the first
// bad image and pixel.
func CheckImages(images *data.Samples) error {
	switch {
	case images == nil || images.N < 1:
		return errors.New("quality: no images to measure: give at least one")
	case !slices.Equal(images.Shape, []int{Side, Side, 1}):
		return fmt.Errorf("quality: the digit classifier takes images of Shape [28 28 1] (MNIST's), got Shape %v with Dim %d",
			images.EventShape(), images.Dim)
	case images.Dim != Side*Side || len(images.Values) != images.N*images.Dim:
		return fmt.Errorf("quality: %d images of Dim %d should have %d values, got %d",
			images.N, images.Dim, images.N*Side*Side, len(images.Values))
	}
	for i, v := range images.Values {
		if x := float64(v); math.IsNaN(x) || math.IsInf(x, 0) {
			return fmt.Errorf("quality: image %d has a non-finite pixel (%v at row %d, column %d): "+
				"the flow's inverse overflowed; such samples cannot be measured", i/images.Dim, v, i%images.Dim/Side, i%Side)
		}
		if v < 0 || v > 255 {
			return fmt.Errorf("quality: image %d has a pixel %v at row %d, column %d, outside the grey levels 0…255; "+
				"give raw pixel values, not rescaled ones", i/images.Dim, v, i%images.Dim/Side, i%Side)
		}
	}
	return nil
}

// Measure classifies the images with classifier and summarises them in a
// [Report]: how many look like a clear digit, of which digits, and how their
// pixels compare with real digits' (ink, saturation, brightest pixel).
// images are N images of Shape [28, 28, 1] with grey levels 0…255, such as
// inference.Sample's samples of an MNIST flow; see [CheckImages] for what is
// refused. [Reference] is the same report for the real test digits.
func Measure(backend compute.Backend, classifier *Classifier, images *data.Samples) (*Report, error) {
	if classifier == nil || classifier.Store == nil {
		return nil, errors.New("quality: Measure needs a classifier: LoadClassifier(quality.DefaultDir) loads the shipped one")
	}
	probs, err := classifier.Probabilities(backend, images)
	if err != nil {
		return nil, err
	}
	r := &Report{N: images.N}
	confident, notDigit := 0, 0
	for _, p := range probs {
		class := argmax(p)
		r.MeanConfidence += p[class]
		switch {
		case class == NotDigit:
			notDigit++
		case p[class] >= ConfidenceThreshold:
			confident++
			r.Classes[class]++
		}
	}
	r.MeanConfidence /= float64(images.N)
	r.Confident, r.ConfidentSE = fraction(confident, images.N)
	r.NotDigit, r.NotDigitSE = fraction(notDigit, images.N)

	ink := make([]float64, images.N)
	saturated := make([]float64, images.N)
	brightest := make([]float64, images.N)
	speckle := make([]float64, images.N)
	blocks := 0
	for i := range images.N {
		var sum, top float64
		white := 0
		for _, v := range images.Row(i) {
			sum += float64(v)
			top = max(top, float64(v))
			if v >= SaturatedLevel {
				white++
			}
		}
		ink[i] = sum / float64(images.Dim) / 255
		saturated[i] = float64(white) / float64(images.Dim)
		brightest[i] = top
		speckle[i] = float64(speckledPixels(images.Row(i), Side, Side))
		if saturated[i] > BlockFraction {
			blocks++
		}
	}
	r.Ink, r.InkSE = flowcheck.MeanStdErr(ink)
	r.Saturated, r.SaturatedSE = flowcheck.MeanStdErr(saturated)
	r.Speckle, r.SpeckleSE = flowcheck.MeanStdErr(speckle)
	r.MeanMax, r.MeanMaxSE = flowcheck.MeanStdErr(brightest)
	r.Blocks, r.BlocksSE = fraction(blocks, images.N)
	return r, nil
}

// speckledPixels counts the saturated pixels of a height×width image that
// have at least two near-black neighbours (see [Report.Speckle]).
func speckledPixels(pixels []float32, height, width int) int {
	dark := func(r, c int) bool {
		return r < 0 || r >= height || c < 0 || c >= width || pixels[r*width+c] <= DarkLevel
	}
	n := 0
	for r := range height {
		for c := range width {
			if pixels[r*width+c] < SaturatedLevel {
				continue
			}
			darkNeighbours := 0
			for _, d := range [4][2]int{{-1, 0}, {1, 0}, {0, -1}, {0, 1}} {
				if dark(r+d[0], c+d[1]) {
					darkNeighbours++
				}
			}
			if darkNeighbours >= 2 {
				n++
			}
		}
	}
	return n
}

// fraction returns k/n and its binomial standard error √(p(1−p)/n).
func fraction(k, n int) (p, stdErr float64) {
	p = float64(k) / float64(n)
	return p, math.Sqrt(p * (1 - p) / float64(n))
}

// ReferenceLabel is the Label of [Reference]'s report.
const ReferenceLabel = "real test digits"

// Reference is [Measure] of real digits, such as MNIST's test split, labelled
// [ReferenceLabel]: the row that flow samples are read against.
func Reference(backend compute.Backend, classifier *Classifier, test *data.Samples) (*Report, error) {
	r, err := Measure(backend, classifier, test)
	if err != nil {
		return nil, err
	}
	r.Label = ReferenceLabel
	return r, nil
}

// Columns are the column headers of a table of reports, one report a row,
// as [Report.Cells] writes them. The command line and the notebooks print
// the same table.
var Columns = []string{"images", "N", "confident ≥ 0.9", "confident by class 0–9 (%)", "not a digit", "ink", "saturated ≥ 250", "speckled px/image", "mean max", "blocks > 30%"}

// Cells writes the report as the cells of a table row under [Columns]:
// fractions and ink with three decimals and "± SE", the classes as the
// percentage of the confident images in each (rounded, so they may not
// add to exactly 100; "–" when no image is confident).
func (r *Report) Cells() []string {
	pm := func(v, se float64, format string) string {
		if math.IsNaN(se) {
			return fmt.Sprintf(format, v)
		}
		return fmt.Sprintf(format+" ± "+format, v, se)
	}
	return []string{
		r.Label,
		strconv.Itoa(r.N),
		pm(r.Confident, r.ConfidentSE, "%.3f"),
		classShares(r.Classes),
		pm(r.NotDigit, r.NotDigitSE, "%.3f"),
		pm(r.Ink, r.InkSE, "%.3f"),
		pm(r.Saturated, r.SaturatedSE, "%.3f"),
		pm(r.Speckle, r.SpeckleSE, "%.2f"),
		pm(r.MeanMax, r.MeanMaxSE, "%.1f"),
		pm(r.Blocks, r.BlocksSE, "%.3f"),
	}
}

// classShares writes the class histogram as ten rounded percentages.
func classShares(counts [NumClasses]int) string {
	total := 0
	for _, c := range counts {
		total += c
	}
	if total == 0 {
		return "–"
	}
	parts := make([]string, NumClasses)
	for k, c := range counts {
		parts[k] = strconv.Itoa(int(math.Round(100 * float64(c) / float64(total))))
	}
	return strings.Join(parts, " ")
}
