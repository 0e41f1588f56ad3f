package main

import (
	"math"
	"path/filepath"
	"strings"
	"testing"

	"github.com/flowbook/flowbook/flowlib/data"
)

// TestContinuousFlowCommands trains resflow, ffjord and flowmatch for a
// few steps (with exact log-dets and traces, so that the numbers are
// deterministic), then checks that eval on the saved test set gives the
// number train printed and that sample writes finite points.
func TestContinuousFlowCommands(t *testing.T) {
	for _, tc := range []struct {
		name  string
		extra []string
		model string // the start of train's "model:" line
	}{
		{"resflow", []string{"--model", "resflow", "--couplings", "2", "-set", "resflow_logdet=exact"},
			"model: resflow, dim 2, 2 blocks, hidden 16, activation lipswish, c 0.9, exact log-det"},
		{"ffjord", []string{"--model", "ffjord", "-set", "cnf_steps=2;cnf_trace=exact"},
			"model: ffjord, dim 2, field hidden 16, activation tanh, 2 RK4 steps, exact trace"},
		{"flowmatch", []string{"--model", "flowmatch", "--activation", "softplus", "-set", "cnf_steps=2"},
			"model: flowmatch, dim 2, field hidden 16, activation softplus, 2 RK4 steps, exact trace, sigma_min 0"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "ckpt")
			args := append([]string{"train", "--data", "moons", "--n", "600", "--hidden", "16", "--steps", "10",
				"--batch", "64", "--eval-every", "0", "--checkpoint", dir}, tc.extra...)
			out := mustRun(t, args...)
			wantContains(t, out, tc.model)
			if tc.name == "flowmatch" {
				wantContains(t, out, "training loss (flow matching")
			}
			trained := number(t, out, "mean log-likelihood:")
			out = mustRun(t, "eval", "--checkpoint", dir, "--data", filepath.Join(dir, "test.csv"))
			if got := number(t, out, "mean log-likelihood:"); math.Abs(got-trained) > 1e-5 {
				t.Errorf("eval gives %v, train printed %v", got, trained)
			}
			samples := filepath.Join(t.TempDir(), "samples.csv")
			mustRun(t, "sample", "--checkpoint", dir, "--n", "20", "--out", samples)
			s, err := data.LoadCSV(samples, 2)
			if err != nil {
				t.Fatal(err)
			}
			if s.N != 20 || countNonFinite(s) > 0 {
				t.Errorf("%d samples, %d not finite; want 20 finite", s.N, countNonFinite(s))
			}
		})
	}
}

// TestContinuousFlowBadInput checks the errors of train for the residual
// and continuous flows: flags that do not apply, bad parameters, images.
func TestContinuousFlowBadInput(t *testing.T) {
	dir := t.TempDir()
	ck := filepath.Join(dir, "x")
	for _, tc := range []struct {
		name string
		args []string
		want []string
	}{
		{"mask for resflow", []string{"--model", "resflow", "--mask", "alternating"}, []string{"--mask applies to realnvp", "resflow"}},
		{"couplings for ffjord", []string{"--model", "ffjord", "--couplings", "3"}, []string{"--couplings does not apply to ffjord", "cnf_steps"}},
		{"actnorm for flowmatch", []string{"--model", "flowmatch", "--actnorm"}, []string{"--actnorm does not apply to flowmatch"}},
		{"relu for ffjord", []string{"--model", "ffjord", "--activation", "relu"}, []string{"--activation relu: not a smooth activation", "tanh, softplus, silu"}},
		{"relu for resflow", []string{"--model", "resflow", "--activation", "relu"}, []string{"--activation relu: not a 1-Lipschitz activation"}},
		{"coefficient 1", []string{"--model", "resflow", "-set", "resflow_coefficient=1"}, []string{"-set resflow_coefficient=1: must be in (0, 1)"}},
		{"zero steps", []string{"--model", "flowmatch", "-set", "cnf_steps=0"}, []string{"-set cnf_steps=0: must be at least 1"}},
		{"mixture for flowmatch", []string{"--model", "flowmatch", "--base", "mixture"}, []string{"standard normal"}},
		{"ffjord for images", []string{"--model", "ffjord", "--data", "mnist:" + dir}, []string{"the model ffjord is for vector data"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			args := []string{"train", "--data", "moons", "--n", "100", "--checkpoint", ck}
			if tc.args[len(tc.args)-2] == "--data" {
				args = []string{"train", "--checkpoint", ck}
			}
			code, stdout, stderr := runCLI(append(args, tc.args...)...)
			if code == 0 {
				t.Fatalf("exit 0, want an error; stdout:\n%s", stdout)
			}
			for _, w := range tc.want {
				if !strings.Contains(stderr, w) {
					t.Errorf("stderr lacks %q:\n%s", w, stderr)
				}
			}
		})
	}
}
