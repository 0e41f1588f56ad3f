package main

import (
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"

	"github.com/flowbook/flowbook/flowlib/data"
	"github.com/flowbook/flowbook/flowlib/images"
	"github.com/flowbook/flowbook/flowlib/inference"
)

const sampleUsage = `Usage: flowbook sample --checkpoint DIR --out file.csv|-|file.png [flags]

Draws points from a trained flow: z from the base distribution, scaled by
--temperature, then x = f⁻¹(z). The same --seed gives the same points.

A vector model's points are written as CSV, one per row, comma-separated,
with a header x0,x1,... (which train and eval skip when they read the file
back); --out - writes them to stdout.

An image model's samples are drawn as a PNG grid (--out must end in .png), of
ceil(sqrt(n)) columns, each pixel enlarged to 2×2. Two other pictures use the
test images the model was trained on (or those of --data mnist:DIR):

  --reconstruct      the first --n test images and their reconstructions
                     f⁻¹(f(x)), row by row: each row of test images has the
                     row of their reconstructions below it (rows 1, 3, 5, ...
                     are test images, rows 2, 4, 6, ... reconstructions).
                     A flow is invertible, so they should match exactly.
  --interpolate A,B  one row of --steps images along the straight line from
                     the latent of test image A to that of test image B.

A temperature below 1 gives more typical, less varied points (as in Glow,
where 0.7 gives cleaner images); 1 samples the model itself.

Examples:
  flowbook sample --checkpoint /tmp/fb-moons --n 1000 --out samples.csv
  flowbook sample --checkpoint /tmp/fb-moons --n 5 --temperature 0.7 --out -
  flowbook sample --checkpoint /tmp/fb-glow --n 64 --temperature 0.7 --out samples.png
  flowbook sample --checkpoint /tmp/fb-glow --reconstruct --n 32 --out reconstructions.png
  flowbook sample --checkpoint /tmp/fb-glow --interpolate 0,1 --steps 10 --out morph.png
`

// defaultImageSamples is --n for an image model when the flag is not given:
// an 8×8 grid.
const defaultImageSamples = 64

// gridScale enlarges every pixel of a PNG grid to gridScale×gridScale.
const gridScale = 2

// sampleFlags are the flags of the sample command.
type sampleFlags struct {
	dir         string
	n           int
	temperature float64
	seed        int64
	out         string
	data        string
	reconstruct bool
	interpolate string
	steps       int
}

// cmdSample runs "flowbook sample".
func cmdSample(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("sample")
	var f sampleFlags
	fs.StringVar(&f.dir, "checkpoint", "", "directory `DIR` of the trained model (required)")
	fs.IntVar(&f.n, "n", 1000, fmt.Sprintf("number of points to draw, or of images for an image model (%d unless given)", defaultImageSamples))
	fs.Float64Var(&f.temperature, "temperature", 1.0, "scale of the base distribution's spread (1: the model itself)")
	fs.Int64Var(&f.seed, "seed", 1, "seed of the random numbers; the same seed gives the same points")
	fs.StringVar(&f.out, "out", "", "`file` to write: CSV (or - for stdout) for a vector model, PNG for an image model (required)")
	fs.StringVar(&f.data, "data", "", "`mnist:DIR` whose test images --reconstruct and --interpolate use (default: the model's training data)")
	fs.BoolVar(&f.reconstruct, "reconstruct", false, "draw the first --n test images and their reconstructions f⁻¹(f(x)) (image models)")
	fs.StringVar(&f.interpolate, "interpolate", "", "`A,B`: draw --steps images along the latent line between test images A and B (image models)")
	fs.IntVar(&f.steps, "steps", 10, "number of images of --interpolate, both ends included")
	if err := parseFlags(fs, sampleUsage, args, stdout); err != nil {
		return err
	}
	if err := requireFlags(fs, "checkpoint", f.dir, "out", f.out); err != nil {
		return err
	}
	set := flagsSet(fs)
	if err := checkPositive("--n", f.n); err != nil {
		return fmt.Errorf("sample: %w", err)
	}
	if err := checkPositive("--temperature", f.temperature); err != nil {
		return fmt.Errorf("sample: %w", err)
	}
	t, err := openCheckpointForUse("sample", f.dir)
	if err != nil {
		return err
	}
	if t.spec.IsImage() {
		return sampleImages(&f, set, t, stdout, stderr)
	}
	if err := checkVectorSampleFlags(&f, set, t); err != nil {
		return fmt.Errorf("sample: %w", err)
	}

	b, err := openBackend(stderr)
	if err != nil {
		return fmt.Errorf("sample: %w", err)
	}
	defer b.Finalize()
	// The random state is a variable of the store, saved with the checkpoint;
	// reseeding it makes --seed, not the end of training, decide the points.
	if err := t.store.SetRNGStateFromSeed(f.seed); err != nil {
		return fmt.Errorf("sample: seeding the random number generator: %w", err)
	}
	points, err := inference.Sample(b, t.store, t.flow, f.n, f.temperature)
	if err != nil {
		return fmt.Errorf("sample: %w", runError("sampling the model", err))
	}
	if err := t.checkComplete(); err != nil {
		return fmt.Errorf("sample: %w", err)
	}
	if bad := countNonFinite(points); bad > 0 {
		// Written anyway, so they can be inspected; LoadCSV would reject them.
		fmt.Fprintf(stderr, "warning: %d of the %d values drawn are NaN or Inf (the flow's inverse overflowed); a lower --temperature may help\n",
			bad, len(points.Values))
	}

	if f.out == "-" {
		if err := data.WriteCSV(stdout, points); err != nil {
			return fmt.Errorf("sample: %w", err)
		}
		return nil
	}
	if err := data.SaveCSV(f.out, points); err != nil {
		return fmt.Errorf("sample: %w", err)
	}
	fmt.Fprintf(stdout, "wrote %d points of dimension %d to %s (temperature %g, seed %d, model at step %d)\n",
		points.N, points.Dim, f.out, f.temperature, f.seed, t.step)
	return nil
}

// isPNG reports whether an --out file name asks for a PNG image.
func isPNG(out string) bool { return strings.HasSuffix(strings.ToLower(out), ".png") }

// checkVectorSampleFlags rejects the image-only options of sample for the
// vector model t.
func checkVectorSampleFlags(f *sampleFlags, set map[string]bool, t *trained) error {
	vector := fmt.Sprintf("the model in %s is a vector model of dimension %d", t.dir, t.spec.Dim())
	if isPNG(f.out) {
		return fmt.Errorf("PNG output needs an image model, but %s: write CSV instead (--out file.csv, or - for stdout)", vector)
	}
	for _, name := range []string{"reconstruct", "interpolate", "steps", "data"} {
		if set[name] {
			return fmt.Errorf("--%s needs an image model, but %s", name, vector)
		}
	}
	return nil
}

// sampleImages is the sample command for the image model t: a PNG grid of
// samples, of reconstructions (--reconstruct) or of an interpolation
// (--interpolate).
func sampleImages(f *sampleFlags, set map[string]bool, t *trained, stdout, stderr io.Writer) error {
	if !isPNG(f.out) {
		return fmt.Errorf("sample: the model in %s is an image model, which draws PNG images: give --out FILE.png, not %q", t.dir, f.out)
	}
	var pair [2]int
	switch {
	case f.reconstruct && f.interpolate != "":
		return fmt.Errorf("sample: --reconstruct and --interpolate draw different pictures: give one of them")
	case (f.reconstruct || f.interpolate != "") && set["temperature"]:
		return fmt.Errorf("sample: --temperature applies to drawing samples, not to --reconstruct or --interpolate")
	case f.interpolate == "" && set["steps"]:
		return fmt.Errorf("sample: --steps is the number of images of --interpolate, which is not given")
	case !f.reconstruct && f.interpolate == "" && set["data"]:
		return fmt.Errorf("sample: --data gives the test images of --reconstruct or --interpolate; samples need none")
	case f.interpolate != "":
		var err error
		if pair, err = parsePair(f.interpolate); err != nil {
			return fmt.Errorf("sample: --interpolate %s: %w", f.interpolate, err)
		}
		if f.steps < 2 {
			return fmt.Errorf("sample: --steps must be at least 2 (the two ends), got %d", f.steps)
		}
	}
	n := f.n
	if !set["n"] {
		n = defaultImageSamples
	}

	// The test images, for --reconstruct and --interpolate.
	var test *data.Samples
	var src dataSource
	if f.reconstruct || f.interpolate != "" {
		dataFlag := f.data
		if dataFlag == "" {
			dataFlag = t.data
		}
		if dataFlag == "" {
			return fmt.Errorf("sample: the checkpoint in %s does not say which images it was trained on: give --data mnist:DIR", t.dir)
		}
		var err error
		if src, err = parseData(dataFlag); err != nil {
			return fmt.Errorf("sample: %w", err)
		}
		if test, err = src.loadForModel(0, 0, t.spec, t.dir); err != nil {
			return fmt.Errorf("sample: %w", err)
		}
		for _, i := range pair {
			if f.interpolate != "" && i >= test.N {
				return fmt.Errorf("sample: --interpolate %s: the test split of %s has %d images, numbered 0 to %d",
					f.interpolate, src, test.N, test.N-1)
			}
		}
	}

	b, err := openBackend(stderr)
	if err != nil {
		return fmt.Errorf("sample: %w", err)
	}
	defer b.Finalize()
	// The random state (base samples, dequantization noise) is a variable of
	// the store, saved with the checkpoint; reseeding it makes --seed decide.
	if err := t.store.SetRNGStateFromSeed(f.seed); err != nil {
		return fmt.Errorf("sample: seeding the random number generator: %w", err)
	}

	var grid *data.Samples // the images to draw, in grid order
	var columns int
	var what, note string
	switch {
	case f.reconstruct:
		originals := firstN(test, n)
		back, err := inference.Reconstruct(b, t.store, t.flow, originals)
		if err != nil {
			return fmt.Errorf("sample: %w", runError("reconstructing the test images", err))
		}
		if err := checkPixels(back); err != nil {
			return fmt.Errorf("sample: %w", err)
		}
		columns = gridColumns(originals.N)
		grid = pairRows(originals, back, columns)
		what = fmt.Sprintf("the first %d test images of %s (rows 1, 3, ...), each with its reconstruction f⁻¹(f(x)) "+
			"below it (rows 2, 4, ...)", originals.N, src)
		note = fmt.Sprintf("largest difference between an image and its reconstruction: %g pixel levels\n",
			maxAbsDiff(originals.Values, back.Values))
	case f.interpolate != "":
		line, err := inference.InterpolateLatents(b, t.store, t.flow, test, pair[0], pair[1], f.steps)
		if err != nil {
			return fmt.Errorf("sample: %w", runError("interpolating", err))
		}
		grid, columns = line, f.steps
		what = fmt.Sprintf("%d images along the latent line from test image %d to test image %d of %s",
			line.N, pair[0], pair[1], src)
	default:
		samples, err := inference.Sample(b, t.store, t.flow, n, f.temperature)
		if err != nil {
			return fmt.Errorf("sample: %w", runError("sampling the model", err))
		}
		grid, columns = samples, gridColumns(n)
		what = fmt.Sprintf("%d samples drawn at temperature %g with seed %d", n, f.temperature, f.seed)
	}
	if err := t.checkComplete(); err != nil {
		return fmt.Errorf("sample: %w", err)
	}
	if err := checkPixels(grid); err != nil {
		return fmt.Errorf("sample: %w", err)
	}
	img, err := images.NewGrid(grid.Values, grid.N, grid.EventShape()).Columns(columns).Scale(gridScale).Image()
	if err != nil {
		return fmt.Errorf("sample: %w", err)
	}
	if err := images.WritePNG(f.out, img); err != nil {
		return fmt.Errorf("sample: %w", err)
	}
	lo, hi := pixelRange(grid.Values)
	fmt.Fprintf(stdout, "wrote %s: %s\n", f.out, what)
	fmt.Fprintf(stdout, "grid: images of %s in %d columns, %d×%d pixels; model at step %d\n",
		describeShape(grid.EventShape()), min(columns, grid.N), img.Bounds().Dx(), img.Bounds().Dy(), t.step)
	fmt.Fprintf(stdout, "pixel values: min %g, max %g\n", lo, hi)
	fmt.Fprint(stdout, note)
	return nil
}

// gridColumns is the number of columns of a grid of n images: ceil(sqrt(n)),
// for a grid about as wide as it is high.
func gridColumns(n int) int { return int(math.Ceil(math.Sqrt(float64(n)))) }

// parsePair reads the "A,B" of --interpolate: two indices of test images.
func parsePair(value string) ([2]int, error) {
	var pair [2]int
	fields := strings.Split(value, ",")
	if len(fields) != 2 {
		return pair, fmt.Errorf("want two test image indices separated by a comma, like 0,1")
	}
	for i, field := range fields {
		v, err := strconv.Atoi(strings.TrimSpace(field))
		if err != nil || v < 0 {
			return pair, fmt.Errorf("%q is not an index of a test image (0, 1, 2, ...)", field)
		}
		pair[i] = v
	}
	return pair, nil
}

// checkPixels returns an error if any value of the images is NaN or
// infinite: the flow's inverse overflowed, and a picture would hide it.
func checkPixels(s *data.Samples) error {
	if bad := countNonFinite(s); bad > 0 {
		return fmt.Errorf("%d of the %d pixel values computed are NaN or Inf (the flow's inverse overflowed), so no image was written; "+
			"a lower --temperature may help, or the model diverged and needs retraining", bad, len(s.Values))
	}
	return nil
}

// pixelRange returns the smallest and the largest value.
func pixelRange(values []float32) (lo, hi float32) {
	lo, hi = float32(math.Inf(1)), float32(math.Inf(-1))
	for _, v := range values {
		lo, hi = min(lo, v), max(hi, v)
	}
	return lo, hi
}

// maxAbsDiff is the largest |a[i] − b[i]|.
func maxAbsDiff(a, b []float32) float64 {
	worst := 0.0
	for i := range a {
		worst = max(worst, math.Abs(float64(a[i])-float64(b[i])))
	}
	return worst
}

// blankLevel is the value of the padding images of pairRows: white, like the
// grid's background, so that they are invisible.
const blankLevel = 255

// pairRows lays out images and their counterparts (two Samples of the same
// shape and size) for a grid of the given number of columns: a row of
// images, the row of their counterparts below it, the next row of images,
// and so on. A last row that is not full is padded with blank (white) images,
// so that the counterparts stay below their images.
func pairRows(top, bottom *data.Samples, columns int) *data.Samples {
	out := &data.Samples{Dim: top.Dim, Shape: top.EventShape()}
	blank := make([]float32, top.Dim)
	for i := range blank {
		blank[i] = blankLevel
	}
	for start := 0; start < top.N; start += columns {
		for _, s := range []*data.Samples{top, bottom} {
			for i := start; i < start+columns; i++ {
				if i < s.N {
					out.Values = append(out.Values, s.Row(i)...)
				} else {
					out.Values = append(out.Values, blank...)
				}
				out.N++
			}
		}
	}
	return out
}
