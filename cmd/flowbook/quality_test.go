package main

import (
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/flowbook/flowbook/flowlib/quality"
)

// shippedClassifier is the repository's digit classifier, seen from here.
var shippedClassifier = filepath.Join("..", "..", quality.DefaultDir)

// qualityTable returns the rows of the table that quality prints, the
// header first, each split into its cells (columns are separated by two
// spaces or more; a cell holds single spaces at most).
func qualityTable(t *testing.T, out string) [][]string {
	t.Helper()
	_, table, ok := strings.Cut(out, "\n\n")
	if !ok {
		t.Fatalf("no blank line before the table in the output:\n%s", out)
	}
	var rows [][]string
	for _, line := range strings.Split(strings.TrimRight(table, "\n"), "\n") {
		rows = append(rows, regexp.MustCompile(`\s{2,}`).Split(strings.TrimSpace(line), -1))
	}
	for i, row := range rows {
		if len(row) != len(quality.Columns) {
			t.Fatalf("row %d of the table has %d cells, want %d: %q\n%s", i, len(row), len(quality.Columns), row, out)
		}
	}
	return rows
}

// leadingNumber is the number a cell like "0.957 ± 0.005" starts with.
func leadingNumber(t *testing.T, cell string) float64 {
	t.Helper()
	field, _, _ := strings.Cut(cell, " ")
	v, err := strconv.ParseFloat(field, 64)
	if err != nil {
		t.Fatalf("cell %q does not start with a number", cell)
	}
	return v
}

// trainTinyGlow trains a Glow of 1 level of 1 step for 2 steps on the
// shared made-up MNIST and returns its checkpoint directory.
func trainTinyGlow(t *testing.T) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "glow")
	mustRun(t, "train", "--data", "mnist:"+shared.mnist, "--model", "glow", "--levels", "1", "--steps-per-level", "1",
		"--hidden", "4", "--steps", "2", "--batch", "4", "--eval-every", "0", "--checkpoint-every", "0", "--checkpoint", dir)
	return dir
}

// TestQualityCommand measures the samples of a tiny Glow at two temperatures
// against the test images it was trained on, and against real digits when
// .cache/mnist has them.
func TestQualityCommand(t *testing.T) {
	dir := trainTinyGlow(t)
	out := mustRun(t, "quality", "--checkpoint", dir, "--classifier", shippedClassifier, "--n", "6", "--temperatures", "0.5,1", "--seed", "4")
	wantContains(t, out, "checkpoint: "+dir+", step 2 (trained on mnist:"+shared.mnist+")", "model: glow",
		"classifier: "+shippedClassifier+" (step 2000, test accuracy 0.9",
		"samples: 6 per temperature, seed 4; reference: the 8 test digits of mnist:"+shared.mnist)
	rows := qualityTable(t, out)
	if len(rows) != 4 {
		t.Fatalf("want a header, 2 temperatures and the reference, got %d rows:\n%s", len(rows), out)
	}
	if strings.Join(rows[0], "|") != strings.Join(quality.Columns, "|") {
		t.Errorf("header %q, want %q", rows[0], quality.Columns)
	}
	for i, want := range [][2]string{{"T = 0.5", "6"}, {"T = 1", "6"}, {quality.ReferenceLabel, "8"}} {
		if row := rows[i+1]; row[0] != want[0] || row[1] != want[1] {
			t.Errorf("row %d starts %q, %q; want %q, %q", i+1, row[0], row[1], want[0], want[1])
		}
	}
	// The made-up test images are uniform noise: no digit, half-grey ink.
	ref := rows[3]
	if confident, ink := leadingNumber(t, ref[2]), leadingNumber(t, ref[5]); confident > 0.2 || ink < 0.45 || ink > 0.55 {
		t.Errorf("reference row of noise images %q: confident %v, ink %v; want ≤ 0.2 and ≈ 0.5", ref, confident, ink)
	}
	// The seed decides the samples.
	if again := mustRun(t, "quality", "--checkpoint", dir, "--classifier", shippedClassifier, "--n", "6", "--temperatures", "0.5,1", "--seed", "4"); again != out {
		t.Errorf("the same seed gave another table:\n%s\nthen\n%s", out, again)
	}

	real := filepath.Join("..", "..", ".cache", "mnist")
	if _, err := os.Stat(real); err != nil {
		t.Skip("no MNIST in .cache/mnist (scripts/fetch-mnist .cache/mnist): the reference row of real digits is not checked")
	}
	out = mustRun(t, "quality", "--checkpoint", dir, "--classifier", shippedClassifier, "--n", "4", "--temperatures", "0.7", "--data", "mnist:"+real)
	rows = qualityTable(t, out)
	ref = rows[len(rows)-1]
	if len(rows) != 3 || ref[0] != quality.ReferenceLabel || ref[1] != "2004" {
		t.Fatalf("want the T = 0.7 row and the reference of 2004 digits, got %q", rows)
	}
	if confident, ink := leadingNumber(t, ref[2]), leadingNumber(t, ref[5]); confident < 0.9 || ink < 0.11 || ink > 0.15 {
		t.Errorf("reference row %q: confident %v, ink %v; want ≥ 0.9 and ≈ 0.13", ref, confident, ink)
	}
}

// TestQualityErrors: every refusal is one line that says what to do.
func TestQualityErrors(t *testing.T) {
	glow := trainTinyGlow(t)
	missing := filepath.Join(t.TempDir(), "no-classifier")
	tests := []struct {
		name  string
		args  []string
		code  int
		wants []string
	}{
		{"vector model", []string{"--checkpoint", shared.ckpt, "--classifier", shippedClassifier}, exitError,
			[]string{"vector model of dimension 2", "image models of 28×28×1 digits"}},
		{"missing classifier", []string{"--checkpoint", glow, "--classifier", missing}, exitError,
			[]string{"no digit classifier", missing, "does not exist", "flowbook classifier --data mnist:.cache/mnist --out " + missing}},
		{"a flow as classifier", []string{"--checkpoint", glow, "--classifier", glow}, exitError,
			[]string{"not a digit classifier"}},
		{"fashion", []string{"--checkpoint", glow, "--classifier", shippedClassifier, "--data", "fashion-mnist:" + shared.mnist}, exitError,
			[]string{"holds clothes", "knows digits"}},
		{"toy reference", []string{"--checkpoint", glow, "--classifier", shippedClassifier, "--data", "moons"}, exitError,
			[]string{"give images"}},
		{"no checkpoint", []string{"--checkpoint", missing}, exitError, []string{"no checkpoint in"}},
		{"no flags", nil, exitUsage, []string{"--checkpoint is required"}},
		{"bad temperature", []string{"--checkpoint", glow, "--temperatures", "0.5,0"}, exitUsage, []string{"positive numbers separated by commas"}},
		{"bad n", []string{"--checkpoint", glow, "--n", "0"}, exitError, []string{"--n must be positive"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, stdout, stderr := runCLI(append([]string{"quality"}, tt.args...)...)
			if code != tt.code {
				t.Errorf("exit %d, want %d; stdout:\n%s", code, tt.code, stdout)
			}
			checkOneErrorLine(t, stderr, tt.wants...)
		})
	}
}

// TestClassifierCommand trains a classifier for a few steps on the made-up
// images, saves it with its README, and refuses to overwrite it unless told.
func TestClassifierCommand(t *testing.T) {
	out := filepath.Join(t.TempDir(), "classifier")
	args := []string{"classifier", "--data", "mnist:" + shared.mnist, "--out", out, "--steps", "3", "--batch", "8"}
	stdout := mustRun(t, args...)
	wantContains(t, stdout, "training on 32 digits of mnist:"+shared.mnist+", testing on 8; 3 steps of 8",
		"step     3  loss", "trained 3 steps in", "test accuracy", "saved the classifier in "+out)
	readme, err := os.ReadFile(filepath.Join(out, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	wantContains(t, string(readme), "    flowbook classifier --data mnist:"+shared.mnist+" --out "+out+" --steps 3 --batch 8\n",
		"| test accuracy | ", "| training | 3 steps in", "| backend | ", "| checkpoint | ")
	c, err := quality.LoadClassifier(out)
	if err != nil {
		t.Fatalf("the saved classifier does not load: %v", err)
	}
	if c.Step() != 3 {
		t.Errorf("the saved classifier is at step %d, want 3", c.Step())
	}
	if _, ok := c.TestAccuracy(); !ok {
		t.Errorf("the saved classifier does not record its test accuracy")
	}

	code, _, stderr := runCLI(args...)
	if code != exitError {
		t.Errorf("training over a saved classifier: exit %d, want %d", code, exitError)
	}
	checkOneErrorLine(t, stderr, "already holds a checkpoint", "--force")
	stdout = mustRun(t, append(args, "--force", "--steps", "4")...)
	wantContains(t, stdout, "trained 4 steps")
	if c, err := quality.LoadClassifier(out); err != nil || c.Step() != 4 {
		t.Errorf("after --force: %v, want the new classifier of 4 steps", err)
	}
	if paths, _ := filepath.Glob(filepath.Join(out, "checkpoint-*")); len(paths) != 2 {
		t.Errorf("after --force %s holds %v, want only the new checkpoint's two files", out, paths)
	}

	for _, tt := range []struct {
		name  string
		args  []string
		code  int
		wants []string
	}{
		{"toy data", []string{"--data", "moons", "--out", out}, exitError, []string{"trains on mnist:DIR"}},
		{"fashion", []string{"--data", "fashion-mnist:" + shared.mnist, "--out", out}, exitError, []string{"trains on mnist:DIR"}},
		{"missing data", []string{"--data", "mnist:" + filepath.Join(t.TempDir(), "none"), "--out", filepath.Join(t.TempDir(), "c")}, exitError,
			[]string{"does not exist", "scripts/fetch-mnist"}},
		{"no out", []string{"--data", "mnist:" + shared.mnist}, exitUsage, []string{"--out is required"}},
		{"bad steps", []string{"--out", out, "--steps", "0"}, exitError, []string{"--steps must be positive"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			code, stdout, stderr := runCLI(append([]string{"classifier"}, tt.args...)...)
			if code != tt.code {
				t.Errorf("exit %d, want %d; stdout:\n%s", code, tt.code, stdout)
			}
			checkOneErrorLine(t, stderr, tt.wants...)
		})
	}
}

// The two commands have their usage text, reachable both ways, and the
// main usage lists them.
func TestQualityAndClassifierHelp(t *testing.T) {
	for _, tt := range []struct {
		args []string
		want []string
	}{
		{[]string{"help", "quality"}, []string{"Usage: flowbook quality", "--temperatures", "--classifier", "Examples"}},
		{[]string{"quality", "--help"}, []string{"Usage: flowbook quality", "real", "Flags"}},
		{[]string{"help", "classifier"}, []string{"Usage: flowbook classifier", "--out", "--force", quality.TrainCommand}},
		{[]string{"help"}, []string{"  quality  ", "  classifier ", "flowbook quality --checkpoint"}},
	} {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			code, stdout, stderr := runCLI(tt.args...)
			if code != 0 || stderr != "" {
				t.Fatalf("exit %d, stderr %q; want 0 and nothing", code, stderr)
			}
			wantContains(t, stdout, tt.want...)
		})
	}
}
