package main

import (
	"math"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/flowbook/flowbook/flowlib/data"
)

// mustRun runs a command line that should succeed and returns its stdout.
func mustRun(t *testing.T, args ...string) string {
	t.Helper()
	code, stdout, stderr := runCLI(args...)
	if code != 0 {
		t.Fatalf("flowbook %s: exit %d\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), code, stdout, stderr)
	}
	return stdout
}

// number returns the float after label in out, e.g. the -2.53 of
// "mean log-likelihood:  -2.531627 nats".
func number(t *testing.T, out, label string) float64 {
	t.Helper()
	m := regexp.MustCompile(regexp.QuoteMeta(label) + `\s*(\S+)`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("no %q in the output:\n%s", label, out)
	}
	v, err := strconv.ParseFloat(m[1], 64)
	if err != nil {
		t.Fatalf("%q is followed by %q, not a number", label, m[1])
	}
	return v
}

// wantContains fails the test for each substring missing from out.
func wantContains(t *testing.T, out string, want ...string) {
	t.Helper()
	for _, w := range want {
		if !strings.Contains(out, w) {
			t.Errorf("the output should contain %q:\n%s", w, out)
		}
	}
}

// TestEndToEnd trains a tiny model, evaluates it, samples from it and resumes
// its training, checking that a restored model is exactly the saved one.
func TestEndToEnd(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "moons")
	trainArgs := []string{"train", "--data", "moons", "--n", "5000", "--model", "realnvp",
		"--couplings", "2", "--hidden", "16", "--batch", "256", "--eval-every", "100", "--checkpoint", dir}

	// Train, then evaluate the checkpoint on the test set train saved.
	out := mustRun(t, append(trainArgs, "--steps", "200")...)
	wantContains(t, out, "data: moons, 5000 points", "1000 to test on", "step    100  test NLL",
		"trained steps 0 to 200", "steps/s", "wall time")
	trainLogLik := number(t, out, "mean log-likelihood:")
	if trainLogLik < -3 || trainLogLik > 0 {
		t.Errorf("after 200 steps the test log-likelihood is %v nats; expected between -3 and 0 for moons", trainLogLik)
	}
	if strings.Contains(out, "true log-likelihood") {
		t.Errorf("moons has no known density, yet train printed one:\n%s", out)
	}

	out = mustRun(t, "eval", "--checkpoint", dir, "--data", filepath.Join(dir, "test.csv"))
	wantContains(t, out, "step 200", "trained on moons", "points:               1000")
	// The restored model is the saved model: the same number, to the printed digit.
	if evalLogLik := number(t, out, "mean log-likelihood:"); math.Abs(evalLogLik-trainLogLik) > 1e-5 {
		t.Errorf("eval gives a mean log-likelihood of %v, train printed %v", evalLogLik, trainLogLik)
	}
	bitsPerDim := number(t, out, "NLL:")
	if want := -trainLogLik / (2 * math.Ln2); math.Abs(bitsPerDim-want) > 1e-5 {
		t.Errorf("NLL is %v bits/dim, want %v", bitsPerDim, want)
	}

	// Eval on fresh points from the dataset itself works too.
	out = mustRun(t, "eval", "--checkpoint", dir, "--data", "moons", "--n", "500")
	wantContains(t, out, "500 points drawn with seed 2")

	// Sample 100 points to a file: 100 finite rows of 2 columns.
	samplesPath := filepath.Join(t.TempDir(), "samples.csv")
	out = mustRun(t, "sample", "--checkpoint", dir, "--n", "100", "--out", samplesPath)
	wantContains(t, out, "wrote 100 points of dimension 2")
	samples, err := data.LoadCSV(samplesPath, 2) // LoadCSV also rejects NaN and Inf.
	if err != nil {
		t.Fatal(err)
	}
	if samples.N != 100 {
		t.Errorf("the sample file has %d rows, want 100", samples.N)
	}
	if bad := countNonFinite(samples); bad > 0 {
		t.Errorf("%d sampled values are not finite", bad)
	}

	// --out - writes the CSV, and only the CSV, to stdout; the seed decides the points.
	first := mustRun(t, "sample", "--checkpoint", dir, "--n", "5", "--seed", "7", "--out", "-")
	if lines := strings.Split(strings.TrimSpace(first), "\n"); len(lines) != 6 || lines[0] != "x0,x1" {
		t.Errorf("--out - should print a header and 5 rows, got:\n%s", first)
	}
	if again := mustRun(t, "sample", "--checkpoint", dir, "--n", "5", "--seed", "7", "--out", "-"); again != first {
		t.Errorf("the same seed gave different samples:\n%s\n%s", first, again)
	}
	if other := mustRun(t, "sample", "--checkpoint", dir, "--n", "5", "--seed", "8", "--out", "-"); other == first {
		t.Errorf("seeds 7 and 8 gave the same samples")
	}
	cold := mustRun(t, "sample", "--checkpoint", dir, "--n", "2000", "--temperature", "0.5", "--out", "-")
	cold2, err := data.ReadCSV(strings.NewReader(cold), "stdout", 2)
	if err != nil {
		t.Fatal(err)
	}
	if spread, full := rms(cold2), rms(samples); !(spread < full) {
		t.Errorf("temperature 0.5 should shrink the samples: rms %v, versus %v at temperature 1", spread, full)
	}

	// Resume: the same command with more steps continues from step 200.
	out = mustRun(t, append(trainArgs, "--steps", "300")...)
	wantContains(t, out, "resuming from the checkpoint", "at step 200", "trained steps 200 to 300", "test set at step 300")
	resumedLogLik := number(t, out, "mean log-likelihood:")
	out = mustRun(t, "eval", "--checkpoint", dir, "--data", filepath.Join(dir, "test.csv"))
	wantContains(t, out, "step 300")
	if evalLogLik := number(t, out, "mean log-likelihood:"); math.Abs(evalLogLik-resumedLogLik) > 1e-5 {
		t.Errorf("after resuming, eval gives %v, train printed %v", evalLogLik, resumedLogLik)
	}

	// Resuming with the architecture flags left out takes them from the
	// checkpoint; at or past --steps there is nothing left to train.
	out = mustRun(t, "train", "--data", "moons", "--n", "5000", "--model", "realnvp", "--steps", "300", "--checkpoint", dir)
	wantContains(t, out, "2 couplings, hidden 16", "nothing to train", "test set at step 300")
}

// TestTruthAndGap checks that, for a dataset with a known density, train and
// eval print the exact density's log-likelihood and the gap.
func TestTruthAndGap(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "8g")
	out := mustRun(t, "train", "--data", "8gaussians", "--n", "2000", "--model", "realnvp", "--base", "mixture",
		"--components", "4", "--couplings", "2", "--hidden", "8", "--steps", "30", "--checkpoint", dir)
	wantContains(t, out, "mixture of 4 Gaussians", "true log-likelihood", "gap (true − model)")
	model, truth, gap := number(t, out, "mean log-likelihood:"), number(t, out, "true log-likelihood:"), number(t, out, "gap (true − model):")
	if math.Abs(truth-model-gap) > 2e-6 {
		t.Errorf("gap %v is not truth %v − model %v", gap, truth, model)
	}
	// The exact density's mean log-likelihood of 8gaussians is about −2.15
	// nats: minus the entropy of a 2-D Gaussian of std 0.25, 1 + log(2π·0.0625)
	// ≈ 0.07, and of the choice among 8 components, log 8 ≈ 2.08.
	if truth < -2.3 || truth > -2.0 {
		t.Errorf("true log-likelihood %v, expected about -2.15", truth)
	}

	// Resuming checks the mixture's size too, even without --base.
	code, _, stderr := runCLI("train", "--data", "8gaussians", "--n", "2000", "--model", "realnvp", "--components", "8",
		"--steps", "40", "--checkpoint", dir)
	if code != 1 {
		t.Errorf("exit %d, want 1", code)
	}
	checkOneErrorLine(t, stderr, "--components 8 (checkpoint: 4)")

	// On test.csv, eval assumes the training dataset's density, and says so.
	out = mustRun(t, "eval", "--checkpoint", dir, "--data", filepath.Join(dir, "test.csv"))
	wantContains(t, out, "assuming the file holds 8gaussians points")
	if got := number(t, out, "true log-likelihood:"); math.Abs(got-truth) > 1e-6 {
		t.Errorf("eval's true log-likelihood %v differs from train's %v on the same points", got, truth)
	}
	out = mustRun(t, "eval", "--checkpoint", dir, "--data", filepath.Join(dir, "test.csv"), "--truth", "none")
	if strings.Contains(out, "true log-likelihood") {
		t.Errorf("--truth none should leave the truth out:\n%s", out)
	}
	out = mustRun(t, "eval", "--checkpoint", dir, "--data", "8gaussians", "--n", "1000")
	wantContains(t, out, "exact density, same points")

	// The gap comes with its standard error, and a gap that no KL divergence
	// can be gets a warning: 8gaussians points shrunk 5-fold lie between the
	// true modes, where the exact density is e⁻²⁰ times lower than the model's.
	points, err := data.Toy("8gaussians", 500, 3)
	if err != nil {
		t.Fatal(err)
	}
	for i := range points.Values {
		points.Values[i] *= 0.2
	}
	shrunk := filepath.Join(t.TempDir(), "shrunk.csv")
	if err := data.SaveCSV(shrunk, points); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		args    []string
		warning []string // in the warning on stderr; nil: no warning
	}{
		{"test set", []string{"--data", filepath.Join(dir, "test.csv")}, nil},
		{"fresh points", []string{"--data", "8gaussians", "--n", "1000"}, nil},
		{"another scale", []string{"--data", shrunk, "--truth", "8gaussians"},
			[]string{"negative beyond its standard error", "do not come from 8gaussians (different scale?)", "--truth none"}},
		{"another dataset", []string{"--data", shrunk, "--truth", "checkerboard"},
			[]string{"have zero density under checkerboard", "cannot come from it"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, stdout, stderr := runCLI(append([]string{"eval", "--checkpoint", dir}, tt.args...)...)
			if code != 0 {
				t.Fatalf("exit %d, want 0; stderr:\n%s", code, stderr)
			}
			if tt.name != "another dataset" { // The standard error of an infinite gap is not a number.
				wantContains(t, stdout, " ± ")
			}
			if tt.warning == nil {
				if strings.Contains(stderr, "warning") {
					t.Errorf("unexpected warning:\n%s", stderr)
				}
				return
			}
			wantContains(t, stderr, append([]string{"warning: "}, tt.warning...)...)
		})
	}
}

// TestTrainOnCSV trains on a CSV file of 3-D points, which has no true density.
func TestTrainOnCSV(t *testing.T) {
	var rows strings.Builder
	rows.WriteString("a,b,c\n")
	for i := range 300 {
		x := float64(i%17)/17 - 0.5
		y := float64(i%11)/11 - 0.5
		rows.WriteString(strconv.FormatFloat(x, 'g', -1, 64) + "," + strconv.FormatFloat(y, 'g', -1, 64) + "," +
			strconv.FormatFloat(x*y, 'g', -1, 64) + "\n")
	}
	tmp := t.TempDir()
	csvPath := filepath.Join(tmp, "points.csv")
	if err := os.WriteFile(csvPath, []byte(rows.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(tmp, "ckpt")
	out := mustRun(t, "train", "--data", csvPath, "--model", "realnvp", "--couplings", "2", "--hidden", "8",
		"--mask", "alternating", "--base", "diag", "--steps", "20", "--batch", "64", "--checkpoint", dir)
	wantContains(t, out, "300 points: 240 to train on, 60 to test on", "dim 3", "base diag")
	if strings.Contains(out, "true log-likelihood") {
		t.Errorf("a CSV file has no known density, yet train printed one:\n%s", out)
	}
	out = mustRun(t, "sample", "--checkpoint", dir, "--n", "3", "--out", "-")
	if lines := strings.Split(strings.TrimSpace(out), "\n"); len(lines) != 4 || lines[0] != "x0,x1,x2" {
		t.Errorf("want a header and 3 rows of 3 columns, got:\n%s", out)
	}
	// A 3-D model cannot evaluate a 2-D toy dataset.
	code, _, stderr := runCLI("eval", "--checkpoint", dir, "--data", "moons")
	if code != 1 {
		t.Errorf("exit %d, want 1", code)
	}
	checkOneErrorLine(t, stderr, "2-D", "dimension 3")
}

// TestMNISTEndToEnd trains a tiny Glow and a tiny multi-scale RealNVP on
// the MNIST files in $FLOWBOOK_MNIST_DIR (scripts/test sets it), evaluates
// them and draws samples, reconstructions and an interpolation as PNG files.
func TestMNISTEndToEnd(t *testing.T) {
	mnistDir := os.Getenv("FLOWBOOK_MNIST_DIR")
	if mnistDir == "" {
		t.Skip("FLOWBOOK_MNIST_DIR is not set: run scripts/fetch-mnist DIR and set it to DIR (scripts/test does both)")
	}
	mnist := "mnist:" + mnistDir
	tests := []struct {
		model string
		args  []string // the architecture
		want  string   // in the model's description
	}{
		{"glow", []string{"--levels", "1", "--steps-per-level", "1", "--hidden", "8"},
			"glow, images 28×28×1, 1 level of 1 step, hidden 8, 1×1 conv lu, min scale 0.25, learned prior on"},
		{"realnvp", []string{"--levels", "2", "--steps-per-level", "1", "--hidden", "8"},
			"realnvp, images 28×28×1, 2 levels of 1 coupling, hidden 8, actnorm on, min scale 0.25, learned prior off"},
	}
	for _, tt := range tests {
		t.Run(tt.model, func(t *testing.T) {
			tmp := t.TempDir()
			dir := filepath.Join(tmp, "ckpt")
			args := append([]string{"train", "--model", tt.model, "--data", mnist, "--steps", "3", "--batch", "8",
				"--test-n", "16", "--checkpoint", dir}, tt.args...)
			out := mustRun(t, args...)
			wantContains(t, out, tt.want, "(the first 16 evaluated during training)", "trained steps 0 to 3",
				"steps/s", "test set at step 3, 16 images", "nats per image", "wall time")
			if bpd := bitsPerDim(t, out); !(bpd > 0 && bpd < 16) {
				t.Errorf("train: test bits/dim %v, expected between 0 and 16", bpd)
			}

			// Eval reads the whole test split by default.
			out = mustRun(t, "eval", "--checkpoint", dir)
			wantContains(t, out, "step 3 (trained on "+mnist+")", "test split")
			if bpd := bitsPerDim(t, out); !(bpd > 0 && bpd < 16) || math.IsNaN(bpd) {
				t.Errorf("eval: test bits/dim %v, expected between 0 and 16", bpd)
			}

			pictures := []struct {
				name          string
				args          []string
				columns, rows int
			}{
				{"t0.7", []string{"--n", "64", "--temperature", "0.7"}, 8, 8},
				{"t1.0", []string{"--n", "64", "--temperature", "1.0"}, 8, 8},
				{"reconstruct", []string{"--reconstruct", "--n", "8"}, 3, 6},
				{"interpolate", []string{"--interpolate", "0,1"}, 10, 1},
			}
			for _, p := range pictures {
				path := filepath.Join(tmp, p.name+".png")
				out := mustRun(t, append([]string{"sample", "--checkpoint", dir, "--out", path}, p.args...)...)
				wantContains(t, out, "wrote "+path, "pixel values: min ")
				checkPNG(t, path, gridPixels(p.columns, p.rows))
			}
		})
	}
}

// rms is the root mean square of all the values in s.
func rms(s *data.Samples) float64 {
	sum := 0.0
	for _, v := range s.Values {
		sum += float64(v) * float64(v)
	}
	return math.Sqrt(sum / float64(len(s.Values)))
}
