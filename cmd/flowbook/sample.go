package main

import (
	"fmt"
	"io"

	"github.com/flowbook/flowbook/flowlib/data"
	"github.com/flowbook/flowbook/flowlib/training"
)

const sampleUsage = `Usage: flowbook sample --checkpoint DIR --out file.csv|- [flags]

Draws points from a trained flow: z from the base distribution, scaled by
--temperature, then x = f⁻¹(z). The points are written as CSV, one per row,
with a header x0,x1,...; --out - writes them to stdout. The same --seed gives
the same points.

A temperature below 1 gives more typical, less varied points (as in Glow);
1 samples the model itself.

Examples:
  flowbook sample --checkpoint /tmp/fb-moons --n 1000 --out samples.csv
  flowbook sample --checkpoint /tmp/fb-moons --n 5 --temperature 0.7 --out -
`

// cmdSample runs "flowbook sample".
func cmdSample(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("sample")
	dir := fs.String("checkpoint", "", "directory `DIR` of the trained model (required)")
	n := fs.Int("n", 1000, "number of points to draw")
	temperature := fs.Float64("temperature", 1.0, "scale of the base distribution's spread (1: the model itself)")
	seed := fs.Int64("seed", 1, "seed of the random numbers; the same seed gives the same points")
	out := fs.String("out", "", "CSV `file` to write, or - for stdout (required)")
	if err := parseFlags(fs, sampleUsage, args, stdout); err != nil {
		return err
	}
	if err := requireFlags(fs, "checkpoint", *dir, "out", *out); err != nil {
		return err
	}
	if err := checkPositive("--n", *n); err != nil {
		return fmt.Errorf("sample: %w", err)
	}
	if err := checkPositive("--temperature", *temperature); err != nil {
		return fmt.Errorf("sample: %w", err)
	}
	t, err := openCheckpointForUse("sample", *dir)
	if err != nil {
		return err
	}

	b, err := openBackend(stderr)
	if err != nil {
		return fmt.Errorf("sample: %w", err)
	}
	defer b.Finalize()
	// The random state is a variable of the store, saved with the checkpoint;
	// reseeding it makes --seed, not the end of training, decide the points.
	if err := t.store.SetRNGStateFromSeed(*seed); err != nil {
		return fmt.Errorf("sample: seeding the random number generator: %w", err)
	}
	points, err := training.Sample(b, t.store, t.flow, *n, *temperature)
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

	if *out == "-" {
		if err := data.WriteCSV(stdout, points); err != nil {
			return fmt.Errorf("sample: %w", err)
		}
		return nil
	}
	if err := data.SaveCSV(*out, points); err != nil {
		return fmt.Errorf("sample: %w", err)
	}
	fmt.Fprintf(stdout, "wrote %d points of dimension %d to %s (temperature %g, seed %d, model at step %d)\n",
		points.N, points.Dim, *out, *temperature, *seed, t.step)
	return nil
}
