package notebook

import (
	"errors"
	"io"
	"os"
	"strings"
	"testing"

	"github.com/flowbook/flowbook/flowlib/backend"
	"github.com/flowbook/flowbook/flowlib/plot"
)

func TestPickFollowsQuickMode(t *testing.T) {
	for _, tc := range []struct {
		env  string
		want int
	}{{"1", 10}, {"0", 3000}, {"", 3000}, {"yes", 3000}} {
		t.Setenv(QuickEnvVar, tc.env)
		if got := Pick(10, 3000); got != tc.want {
			t.Errorf("%s=%q: Pick(10, 3000) = %d, want %d", QuickEnvVar, tc.env, got, tc.want)
		}
	}
}

func TestCurveKeepsSeriesInOrder(t *testing.T) {
	c := NewCurve(func() *plot.Figure { return plot.New().Title("held-out NLL") })
	for step := range 5 {
		c.Add("test", float64(step), 2-0.1*float64(step))
		c.Add("train", float64(step), 1.9-0.1*float64(step))
	}
	if got := strings.Join(c.names, ","); got != "test,train" {
		t.Errorf("series %q, want test,train in the order they were first added", got)
	}
	if n := len(c.xs["train"]); n != 5 {
		t.Errorf("train series has %d points, want 5", n)
	}
	svg := c.Figure().SVG()
	for _, want := range []string{"held-out NLL", "test", "train", `stroke-linejoin="round"`} {
		if !strings.Contains(svg, want) {
			t.Errorf("the curve's SVG lacks %q", want)
		}
	}
}

// TestAboutReportsTheBackend checks that the first cell of every notebook
// says which backend flowlib chose and why, with paths inside the repository
// written relative to it.
func TestAboutReportsTheBackend(t *testing.T) {
	root := t.TempDir()
	t.Setenv("FLOWBOOK_ROOT", root)
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout := os.Stdout
	os.Stdout = w
	About()
	os.Stdout = stdout
	_ = w.Close()
	out, _ := io.ReadAll(r)
	choice := backend.SharedChoice()
	want := "backend: " + choice.Config + " ("
	if !strings.Contains(string(out), want) || !strings.Contains(string(out), "CPU cores") {
		t.Errorf("About printed %q, want a line starting %q", out, want)
	}
	if strings.Contains(string(out), root+"/") {
		t.Errorf("About printed the repository's path: %q", out)
	}
}

func TestMustReturnsValuesAndPanicsOnError(t *testing.T) {
	if got := Must(42, nil); got != 42 {
		t.Errorf("Must(42, nil) = %d, want 42", got)
	}
	if a, b := Must2("a", 2, nil); a != "a" || b != 2 {
		t.Errorf("Must2(\"a\", 2, nil) = %q, %d, want \"a\", 2", a, b)
	}
	Check(nil)
	wantErr := errors.New("dataset missing: run scripts/fetch-data")
	for name, call := range map[string]func(){
		"Must":  func() { Must(0, wantErr) },
		"Must2": func() { Must2(0, 0, wantErr) },
		"Check": func() { Check(wantErr) },
	} {
		func() {
			defer func() {
				if r := recover(); r != wantErr {
					t.Errorf("%s with an error: recovered %v, want the error itself", name, r)
				}
			}()
			call()
		}()
	}
}
