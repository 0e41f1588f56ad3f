package main

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
)

// answers runs the worker for a case with the given requests on stdin and
// returns its exit status and the JSON lines it printed.
func answers(t *testing.T, args []string, requests string) (int, []map[string]any, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	code := run(args, strings.NewReader(requests), &stdout, &stderr)
	var lines []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(stdout.String()), "\n") {
		if line == "" {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("worker printed a line that is not JSON: %q", line)
		}
		lines = append(lines, m)
	}
	return code, lines, stderr.String()
}

func TestWorkerProtocol(t *testing.T) {
	t.Setenv("GOMLX_BACKEND", "go")
	requests := strings.Join([]string{
		`{"op":"time","calls":3}`,
		`{"op":"time","calls":0}`,
		`not json`,
		`{"op":"jump"}`,
		`{"op":"learn","steps":60}`,
		`{"op":"quit"}`,
		`{"op":"time","calls":1}`, // after quit: not answered
	}, "\n")
	code, lines, stderr := answers(t, []string{"realnvp2d-train"}, requests)
	if code != 0 {
		t.Fatalf("exit status %d, stderr: %s", code, stderr)
	}
	if len(lines) != 6 {
		t.Fatalf("got %d lines, want the ready line and 5 answers: %v", len(lines), lines)
	}
	ready := lines[0]
	if ready["ready"] != true || ready["case"] != "realnvp2d-train" || ready["unit"] != "steps" {
		t.Errorf("ready line: %v", ready)
	}
	// 8 couplings × MLP(2 → 64 → 64 → 4) and 8 ActNorms of 2 features.
	if want := 8*(2*64+64+64*64+64+64*4+4) + 8*2*2; ready["params"] != float64(want) {
		t.Errorf("params = %v, want %d", ready["params"], want)
	}
	if s, ok := lines[1]["seconds"].(float64); !ok || s <= 0 {
		t.Errorf("time answer: %v", lines[1])
	}
	for i, wantErr := range map[int]string{2: "calls >= 1", 3: "malformed request", 4: "unknown op"} {
		if msg, _ := lines[i]["error"].(string); !strings.Contains(msg, wantErr) {
			t.Errorf("answer %d = %v, want an error containing %q", i, lines[i], wantErr)
		}
	}
	learn := lines[5]
	before, after := learn["initial"].(float64), learn["final"].(float64)
	if learn["metric"] != "test NLL (nats)" || learn["steps"] != float64(60) || !(after < before-0.3) {
		t.Errorf("learn answer %v: after 60 steps the held-out NLL should fall by more than 0.3 nats", learn)
	}
}

func TestWorkerBadCommandLine(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"no case", nil, "give one case name"},
		{"unknown case", []string{"resnet"}, `unknown case "resnet"; valid cases: realnvp2d-train`},
		{"missing MNIST", []string{"--mnist", "/nonexistent", "glow-train"}, "scripts/fetch-mnist"},
		{"missing XLA plugin", []string{"realnvp2d-train"}, "scripts/install-xla-cpu"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv("GOMLX_BACKEND", "go")
			if tc.name == "missing XLA plugin" {
				t.Setenv("GOMLX_BACKEND", "xla:flowbench-test-no-such-plugin")
			}
			code, lines, stderr := answers(t, tc.args, "")
			if code == 0 || len(lines) != 0 || !strings.Contains(stderr, tc.want) {
				t.Errorf("exit %d, stdout %v, stderr %q; want a failure saying %q", code, lines, stderr, tc.want)
			}
		})
	}
}

func TestLearnOnlyForTraining(t *testing.T) {
	t.Setenv("GOMLX_BACKEND", "go")
	code, lines, stderr := answers(t, []string{"realnvp2d-sample"}, `{"op":"learn","steps":5}`+"\n")
	if code != 0 || len(lines) != 2 {
		t.Fatalf("exit %d, %v, %s", code, lines, stderr)
	}
	if lines[0]["unit"] != "points" || lines[0]["items_per_call"] != float64(pointsPerCall) {
		t.Errorf("ready line: %v", lines[0])
	}
	if msg, _ := lines[1]["error"].(string); !strings.Contains(msg, "only for training cases") {
		t.Errorf("learn on a sampling case answered %v", lines[1])
	}
}
