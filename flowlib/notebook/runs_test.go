package notebook

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/flowbook/flowbook/flowlib/plot"
)

func writeRuns(t *testing.T, text string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "runs.csv")
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestRunsTableAndCurves(t *testing.T) {
	r, err := readRuns(writeRuns(t, "run,step,bpd\nA,1,2.5\nA,2,2.0\nB,1,3.0\n"))
	if err != nil {
		t.Fatal(err)
	}
	got := r.Table([]string{"run", "bpd"}, []string{"recipe", "bits/dim"}).Markdown()
	for _, want := range []string{"| recipe | bits/dim |", "| A | 2.5 |", "| B | 3.0 |"} {
		if !strings.Contains(got, want) {
			t.Errorf("table lacks %q:\n%s", want, got)
		}
	}
	svg := r.Curves(plot.New(), "run", "step", "bpd").SVG()
	for _, want := range []string{">A<", ">B<"} {
		if !strings.Contains(svg, want) {
			t.Errorf("the curves' legend lacks %q", want)
		}
	}
}

func TestRunsErrors(t *testing.T) {
	tests := []struct {
		name, text, want string
	}{
		{"header only", "run,step,bpd\n", "hold no runs"},
		{"short row", "run,step,bpd\nA,1\n", "wrong number of fields"},
		{"not a number", "run,step,bpd\nA,one,2\n", `step = "one"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := readRuns(writeRuns(t, tt.text))
			if err == nil {
				_, err = r.curves(plot.New(), "run", "step", "bpd")
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("got error %v, want one containing %q", err, tt.want)
			}
		})
	}
	r, err := readRuns(writeRuns(t, "run,step\nA,1\n"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.curves(plot.New(), "run", "step", "bpd"); err == nil || !strings.Contains(err.Error(), `no column "bpd"`) {
		t.Fatalf("a missing column: got %v", err)
	}
	if _, err := readRuns(filepath.Join(t.TempDir(), "absent.csv")); err == nil || !strings.Contains(err.Error(), "absent.csv") {
		t.Fatalf("a missing file: got %v", err)
	}
}

// TestStoredRuns checks that the run records the notebooks draw parse.
func TestStoredRuns(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("..", "..", RunsDir, "*.csv"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no run records in %s (%v)", RunsDir, err)
	}
	for _, f := range files {
		if _, err := readRuns(f); err != nil {
			t.Error(err)
		}
	}
}
