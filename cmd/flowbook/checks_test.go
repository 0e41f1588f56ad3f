package main

import (
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gomlx/gomlx/core/tensors"

	"github.com/flowbook/flowbook/flowlib/data"
)

// TestFailedTrainLeavesNoHalfCheckpoint checks what a training run that
// fails leaves in its checkpoint directory, and that the error says so. A
// learning rate of 1e6 without clipping makes the loss NaN at the first step.
func TestFailedTrainLeavesNoHalfCheckpoint(t *testing.T) {
	diverge := []string{"train", "--data", "moons", "--n", "500", "--couplings", "2", "--hidden", "8",
		"--batch", "64", "--lr", "1e6", "--clip", "0", "--eval-every", "0", "--checkpoint-every", "0"}
	tests := []struct {
		name    string
		dir     func(t *testing.T) string // the --checkpoint directory, made ready
		steps   string
		want    func(dir string) []string // in the error
		entries func(dir string) []string // what the directory holds afterwards; nil: it does not exist
	}{
		{"new directory",
			func(t *testing.T) string { return filepath.Join(t.TempDir(), "ckpt") }, "5",
			func(dir string) []string { return []string{"no model was saved, so " + dir + " was removed"} },
			nil},
		{"existing empty directory",
			func(t *testing.T) string { return t.TempDir() }, "5",
			func(dir string) []string {
				return []string{"no model was saved, and " + filepath.Join(dir, "test.csv") + " was removed"}
			},
			func(string) []string { return []string{} }},
		{"resumed checkpoint",
			func(t *testing.T) string {
				dir := filepath.Join(t.TempDir(), "ckpt")
				if err := os.CopyFS(dir, os.DirFS(shared.ckpt)); err != nil {
					t.Fatal(err)
				}
				return dir
			}, "40",
			func(dir string) []string {
				return []string{dir + " keeps the checkpoint of step 20 (train resumes from it)"}
			},
			func(dir string) []string { return dirEntries(t, shared.ckpt) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := tt.dir(t)
			code, _, stderr := runCLI(append(diverge, "--steps", tt.steps, "--checkpoint", dir)...)
			if code != 1 {
				t.Fatalf("exit %d, want 1; stderr:\n%s", code, stderr)
			}
			checkOneErrorLine(t, stderr, append([]string{"training stopped at step"}, tt.want(dir)...)...)
			if tt.entries == nil {
				if _, err := os.Stat(dir); !os.IsNotExist(err) {
					t.Errorf("%s should not exist (error %v)", dir, err)
				}
				return
			}
			if got, want := dirEntries(t, dir), tt.entries(dir); strings.Join(got, " ") != strings.Join(want, " ") {
				t.Errorf("%s holds %v, want %v", dir, got, want)
			}
		})
	}
}

// dirEntries lists the names in dir.
func dirEntries(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	names := []string{}
	for _, e := range entries {
		names = append(names, e.Name())
	}
	return names
}

// TestCSVSeparators checks that eval reads the same points written with
// each separator, with or without a header, to the same log-likelihood: a
// first row of numbers separated by spaces is data, not a header.
func TestCSVSeparators(t *testing.T) {
	rows := [][2]string{{"0.5", "-0.25"}, {"1", "0.125"}, {"-0.75", "0.5"}}
	write := func(header, sep string) string {
		var b strings.Builder
		if header != "" {
			b.WriteString(header + "\n")
		}
		for _, r := range rows {
			b.WriteString(r[0] + sep + r[1] + "\n")
		}
		return b.String()
	}
	dir := t.TempDir()
	tests := []struct{ name, content string }{
		{"commas", write("", ",")},
		{"commas with header", write("x0,x1", ",")},
		{"spaces", write("", " ")},
		{"aligned spaces with header", "  x0    x1\n" + write("", "   ")},
		{"tabs", write("", "\t")},
		{"tabs with header", write("x0\tx1", "\t")},
	}
	want := math.NaN()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := writeFile(t, dir, strings.ReplaceAll(tt.name, " ", "-")+".csv", tt.content)
			out := mustRun(t, "eval", "--checkpoint", shared.ckpt, "--data", path)
			wantContains(t, out, "points:               3")
			got := number(t, out, "mean log-likelihood:")
			if math.IsNaN(want) {
				want = got
			} else if got != want {
				t.Errorf("mean log-likelihood %v, want %v as for commas", got, want)
			}
		})
	}
}

// TestScoresCheckFinite checks the message for log-likelihoods that are not
// finite: the first few points, and the count.
func TestScoresCheckFinite(t *testing.T) {
	inf, nan := math.Inf(-1), math.NaN()
	tests := []struct {
		name     string
		logProbs []float64
		csv      bool
		want     []string // in the error; nil: no error
	}{
		{"finite", []float64{-1, -2, -3}, true, nil},
		{"one -Inf in a file", []float64{-1, -2, inf, -3}, true,
			[]string{"of f.csv is -Inf", "log p is -Inf for 1 of the 4 points (data rows 3, counted from 1 after any header)"}},
		{"many of a toy dataset", []float64{nan, -1, inf, inf, nan, inf, -2}, false,
			[]string{"is NaN", "log p is -Inf or NaN for 5 of the 7 points (points 1, 3, 4 and 2 more)"}},
		{"all", []float64{nan, nan}, true,
			[]string{"log p is NaN for all 2 points", "the model itself is broken", "retrain"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := newScores(tt.logProbs, 2).checkFinite("f.csv", tt.csv)
			if tt.want == nil {
				if err != nil {
					t.Fatalf("unexpected error %v", err)
				}
				return
			}
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q should contain %q", err, w)
				}
			}
		})
	}
}

// TestGapStandardError checks the standard error of the gap against a hand
// computation, and when the gap is flagged.
func TestGapStandardError(t *testing.T) {
	// Points of 8gaussians at two of its centres, (2, 0) and (0, 2), where the
	// exact log-density is the same: every difference truth − model is that
	// log-density minus the model's value.
	points := &data.Samples{Values: []float32{2, 0, 0, 2, 2, 0, 0, 2}, N: 4, Dim: 2}
	logp, _ := data.TrueLogDensity("8gaussians")
	top := logp(2, 0)
	tests := []struct {
		name     string
		model    []float64
		wantSE   float64
		warnings bool
	}{
		// Differences top−(top−1)... = 1, 1, 1, 1: no spread, a positive gap.
		{"constant positive gap", []float64{top - 1, top - 1, top - 1, top - 1}, 0, false},
		// Differences 1, -1, 1, -1: mean 0, sample std √(4/3), SE √(4/3)/2.
		{"zero gap", []float64{top - 1, top + 1, top - 1, top + 1}, math.Sqrt(4.0/3) / 2, false},
		// Differences -1, -3, -1, -3: mean -2, SE as above, 2 below 0 by 3.5 SE.
		{"negative gap", []float64{top + 1, top + 3, top + 1, top + 3}, math.Sqrt(4.0/3) / 2, true},
		// Differences 0.1, -0.5, 0.1, -0.5: mean -0.2, SE 0.17: within 2 SE.
		{"negative within its error", []float64{top - 0.1, top + 0.5, top - 0.1, top + 0.5}, math.Sqrt(0.36/3) / 2, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newScores(tt.model, 2)
			s.addTruth("8gaussians", points)
			if !s.HasTruth || math.Abs(s.GapSE-tt.wantSE) > 1e-9 {
				t.Errorf("HasTruth %v, SE %v; want true and %v", s.HasTruth, s.GapSE, tt.wantSE)
			}
			if w := s.gapWarning(); (w != "") != tt.warnings {
				t.Errorf("warning %q, want one: %v", w, tt.warnings)
			}
		})
	}
}

// TestUsageDescribesCSV checks that the usage texts say how CSV files are
// read, with the bound the reader applies.
func TestUsageDescribesCSV(t *testing.T) {
	if data.MaxAbsValue != 1e6 {
		t.Fatalf("data.MaxAbsValue is %g: update the ±1e6 in csvHelp and in the main usage", data.MaxAbsValue)
	}
	for _, args := range [][]string{{"--help"}, {"train", "--help"}, {"eval", "--help"}} {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			out := mustRun(t, args...)
			wantContains(t, out, "CSV files:", "commas", "tabs", "spaces", "header", "skipped", "±1e6")
		})
	}
	wantContains(t, mustRun(t, "sample", "--help"), "header x0,x1", "which train and eval skip")
}

// TestNonFiniteWeights checks that the weights of a diverged run, which a
// failed train reports rather than offering to resume, are found.
func TestNonFiniteWeights(t *testing.T) {
	tests := []struct {
		name   string
		damage string // the path of the variable set to NaN; "": none
	}{
		{"trained", ""},
		{"one NaN weight", "/bijector/00_actnorm/log_scale"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ckpt, found, err := openCheckpoint(shared.ckpt)
			if err != nil || !found {
				t.Fatalf("openCheckpoint: found %v, error %v", found, err)
			}
			for v := range ckpt.store.IterVariables() {
				if v.Path() == tt.damage {
					values := make([]float32, v.Shape().Size())
					values[0] = float32(math.NaN())
					if err := v.SetValue(tensors.FromFlatDataAndDimensions(values, v.Shape().Dimensions...)); err != nil {
						t.Fatal(err)
					}
				}
			}
			got := strings.Join(ckpt.NonFiniteWeights(), ",")
			if got != tt.damage {
				t.Errorf("non-finite weights %q, want %q", got, tt.damage)
			}
		})
	}
}
