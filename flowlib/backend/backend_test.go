package backend

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestForcedChoice checks the variables that force a backend, and their order:
// GOMLX_BACKEND wins over FLOWBOOK_BACKEND, and "auto" or "" forces nothing.
func TestForcedChoice(t *testing.T) {
	for _, c := range []struct {
		gomlx, flowbook string
		want            string // "" for the automatic choice
		by              string
	}{
		{"go", "", "go", EnvVar},
		{"", "go", "go", FlowbookEnvVar},
		{"xla:cuda", "go", "xla:cuda", EnvVar},
		{" ", "xla:cpu", "xla:cpu", FlowbookEnvVar},
		{"auto", "go", "go", FlowbookEnvVar},
		{"", "auto", "", ""},
		{"", "", "", ""},
	} {
		t.Run(fmt.Sprintf("%s=%q,%s=%q", EnvVar, c.gomlx, FlowbookEnvVar, c.flowbook), func(t *testing.T) {
			t.Setenv(EnvVar, c.gomlx)
			t.Setenv(FlowbookEnvVar, c.flowbook)
			got := Choose()
			if c.want == "" {
				if got.Forced || (got.Config != Go && got.Config != XLACPU) || !strings.HasPrefix(got.Reason, "default") {
					t.Errorf("Choose() = %+v, want the automatic choice (go or xla:cpu, not forced)", got)
				}
				return
			}
			if !got.Forced || got.Config != c.want || got.Reason != "set by "+c.by {
				t.Errorf("Choose() = %+v, want %q forced, set by %s", got, c.want, c.by)
			}
		})
	}
}

// TestBadConfigurations checks the errors for backends that cannot be opened:
// always a clear message, never a download.
func TestBadConfigurations(t *testing.T) {
	for _, c := range []struct{ config, want string }{
		{"bogus", `unknown backend "bogus"`},
		{"xla:definitely_not_a_plugin", "PJRT plugin"},
		{"xla:/nonexistent/pjrt_plugin.so", "PJRT plugin"},
	} {
		t.Run(c.config, func(t *testing.T) {
			t.Setenv(FlowbookEnvVar, c.config)
			t.Setenv(EnvVar, "")
			_, choice, err := Open()
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("%s=%q: got error %v, want one containing %q", FlowbookEnvVar, c.config, err, c.want)
			}
			if !choice.Forced {
				t.Errorf("a failing forced backend must not fall back: choice %+v", choice)
			}
		})
	}
	t.Setenv(FlowbookEnvVar, "go")
	if b, err := New(); err != nil || b.String() != Go {
		t.Errorf("%s=go: backend %v, error %v; want the pure-Go backend", FlowbookEnvVar, b, err)
	}
}

// childReport is what TestChildProcess prints: the automatic decision as
// Choose makes it and as Open finally makes it.
type childReport struct {
	Chosen, Opened Choice
	Backend, Err   string
}

// TestChildProcess runs only as the child of TestAutomaticChoice, which sets
// FLOWBOOK_BACKEND_TEST_CHILD: go-xla reads PJRT_PLUGIN_LIBRARY_PATH once, at
// start-up, so each plugin directory needs a process of its own.
func TestChildProcess(t *testing.T) {
	if os.Getenv("FLOWBOOK_BACKEND_TEST_CHILD") != "1" {
		t.Skip("runs as TestAutomaticChoice's child process")
	}
	r := childReport{Chosen: Choose()}
	b, opened, err := Open()
	r.Opened = opened
	if err != nil {
		r.Err = err.Error()
	} else {
		r.Backend = b.String()
	}
	out, _ := json.Marshal(r)
	fmt.Printf("REPORT %s\n", out)
}

// automaticChoiceIn runs the automatic choice in a child process whose only
// plugin directory is dir.
func automaticChoiceIn(t *testing.T, dir string) childReport {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestChildProcess$", "-test.v")
	cmd.Env = append(os.Environ(), "FLOWBOOK_BACKEND_TEST_CHILD=1", "PJRT_PLUGIN_LIBRARY_PATH="+dir,
		EnvVar+"=", FlowbookEnvVar+"=", "GOMLX_NO_AUTO_INSTALL=1")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("child process: %v\n%s", err, out)
	}
	for _, line := range strings.Split(string(out), "\n") {
		if rest, ok := strings.CutPrefix(line, "REPORT "); ok {
			var r childReport
			if err := json.Unmarshal([]byte(rest), &r); err != nil {
				t.Fatal(err)
			}
			return r
		}
	}
	t.Fatalf("the child process printed no report:\n%s", out)
	return childReport{}
}

// TestAutomaticChoice checks the default: pure Go without a plugin; XLA on
// CPU with one that loads; pure Go again, saying why, with a plugin file that
// does not load; and, in a binary without XLA, pure Go whatever is installed.
func TestAutomaticChoice(t *testing.T) {
	if os.Getenv("FLOWBOOK_BACKEND_TEST_CHILD") == "1" {
		t.Skip("the child process only reports")
	}
	t.Run("no plugin", func(t *testing.T) {
		r := automaticChoiceIn(t, t.TempDir())
		if r.Chosen.Config != Go || r.Opened.Config != Go || r.Backend != Go || r.Chosen.Forced {
			t.Fatalf("without a plugin: %+v, want the pure-Go backend", r)
		}
		want := "no XLA CPU plugin installed"
		if xlaConstructor == nil {
			want = "built without XLA"
		}
		if !strings.Contains(r.Opened.Reason, want) {
			t.Errorf("reason %q should say %q", r.Opened.Reason, want)
		}
	})
	if xlaConstructor == nil {
		return // The other cases need XLA compiled in.
	}
	t.Run("plugin that does not load", func(t *testing.T) {
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, "pjrt_c_api_cpu_plugin.so"), []byte("not a shared library"), 0o644); err != nil {
			t.Fatal(err)
		}
		r := automaticChoiceIn(t, dir)
		if r.Opened.Config != Go || r.Backend != Go || r.Err != "" || r.Chosen.Forced {
			t.Fatalf("with a broken plugin: %+v, want pure Go", r)
		}
		if !strings.Contains(r.Opened.Reason, "did not load") {
			t.Errorf("the fallback's reason %q should say the plugin did not load", r.Opened.Reason)
		}
	})
	t.Run("plugin installed", func(t *testing.T) {
		path, err := xlaPluginPath("cpu")
		if path == "" || err != nil {
			t.Skip("no XLA CPU plugin installed here (scripts/install-xla-cpu installs one; scripts/test does)")
		}
		r := automaticChoiceIn(t, filepath.Dir(path))
		if r.Chosen.Config != XLACPU || r.Opened.Config != XLACPU || r.Backend != "xla" || r.Err != "" {
			t.Fatalf("with the plugin in %s: %+v, want xla:cpu", filepath.Dir(path), r)
		}
		if !strings.Contains(r.Opened.Reason, path) || !strings.Contains(r.Opened.Reason, FlowbookEnvVar+"=go") {
			t.Errorf("reason %q should name the plugin and how to force pure Go", r.Opened.Reason)
		}
	})
}
