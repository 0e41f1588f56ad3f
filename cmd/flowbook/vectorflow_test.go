package main

import (
	"math"
	"path/filepath"
	"testing"

	"github.com/flowbook/flowbook/flowlib/data"
)

// TestVectorFlowCommands trains each of maf, iaf, nsf (both wrappers) for a
// few steps, then checks that eval on the saved test set gives the number
// train printed (the checkpoint rebuilds the same model) and that sample
// writes finite points.
func TestVectorFlowCommands(t *testing.T) {
	for _, tc := range []struct {
		name  string
		extra []string
		model string // the start of train's "model:" line
	}{
		{"maf", []string{"--model", "maf", "--couplings", "2"}, "model: maf, dim 2, 2 layers, hidden 16,"},
		{"iaf", []string{"--model", "iaf", "--couplings", "2", "--actnorm"}, "model: iaf, dim 2, 2 layers, hidden 16, activation relu, reverse permutations, actnorm on"},
		{"nsf", []string{"--model", "nsf", "--couplings", "2", "-set", "vector_flow_bins=4;vector_flow_bound=4"},
			"model: nsf, dim 2, 2 layers, hidden 16, activation relu, autoregressive, 4 bins on [-4, 4]"},
		{"nsf-coupling", []string{"--model", "nsf", "--couplings", "2", "--base", "diag", "-set", "vector_flow_wrapper=coupling"},
			"model: nsf, dim 2, 2 layers, hidden 16, activation relu, coupling, 8 bins"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "ckpt")
			args := append([]string{"train", "--data", "moons", "--n", "600", "--hidden", "16", "--steps", "20",
				"--batch", "64", "--eval-every", "0", "--checkpoint", dir}, tc.extra...)
			out := mustRun(t, args...)
			wantContains(t, out, tc.model)
			trained := number(t, out, "mean log-likelihood:")
			out = mustRun(t, "eval", "--checkpoint", dir, "--data", filepath.Join(dir, "test.csv"))
			if got := number(t, out, "mean log-likelihood:"); math.Abs(got-trained) > 1e-5 {
				t.Errorf("eval gives %v, train printed %v", got, trained)
			}
			samples := filepath.Join(t.TempDir(), "samples.csv")
			mustRun(t, "sample", "--checkpoint", dir, "--n", "50", "--out", samples)
			s, err := data.LoadCSV(samples, 2)
			if err != nil {
				t.Fatal(err)
			}
			if s.N != 50 || countNonFinite(s) > 0 {
				t.Errorf("%d samples, %d not finite; want 50 finite", s.N, countNonFinite(s))
			}
		})
	}
}
