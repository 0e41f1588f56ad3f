package grading

import (
	"math"
	"strings"
	"testing"
	"time"
)

func TestRunCheckOutcomes(t *testing.T) {
	cases := []struct {
		name    string
		check   func(c *C)
		failed  bool
		message string
	}{
		{"pass", func(c *C) { c.Close("x", 1, 1, 1e-9, "") }, false, ""},
		{"wrong value", func(c *C) { c.Close("x", 2, 1, 1e-9, "fallback") }, true, "hint:     fallback"},
		{"diagnosed", func(c *C) { c.Close("x", -1, 1, 1e-9, "fallback", Mistake(-1, "sign flipped")) }, true, "sign flipped"},
		{"stub zero", func(c *C) { c.Close("x", 0, 1, 1e-9, "fallback") }, true, "still the stub"},
		{"panic", func(c *C) { var m map[string]int; m["a"] = 1 }, true, "panic: assignment to entry in nil map"},
		{"fatal stops", func(c *C) { c.Fatalf("first"); c.Errorf("unreachable") }, true, "first"},
		{"endless loop", func(c *C) {
			for {
				time.Sleep(time.Millisecond)
			}
		}, true, "did not finish in time"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := runCheck(tc.name, 200*time.Millisecond, tc.check)
			if c.Failed() != tc.failed {
				t.Fatalf("failed = %v, want %v: %v", c.Failed(), tc.failed, c.failures)
			}
			joined := strings.Join(c.failures, "\n")
			if !strings.Contains(joined, tc.message) {
				t.Errorf("failure %q does not contain %q", joined, tc.message)
			}
			if strings.Contains(joined, "unreachable") {
				t.Errorf("Fatalf did not stop the check: %q", joined)
			}
		})
	}
}

func TestNear(t *testing.T) {
	cases := []struct {
		got, want, tol float64
		near           bool
	}{
		{1, 1, 0, true},
		{1.0005, 1, 1e-3, true},
		{1000.5, 1000, 1e-3, true}, // relative above 1
		{0.002, 0, 1e-3, false},
		{math.NaN(), 1, 1, false},
		{math.Inf(1), math.Inf(1), 0, true},
	}
	for _, tc := range cases {
		if got := Near(tc.got, tc.want, tc.tol); got != tc.near {
			t.Errorf("Near(%g, %g, %g) = %v, want %v", tc.got, tc.want, tc.tol, got, tc.near)
		}
	}
}

func TestAllNear(t *testing.T) {
	cases := []struct {
		name      string
		got, want []float64
		tol       float64
		near      bool
	}{
		{"equal", []float64{1, -2, 3}, []float64{1, -2, 3}, 0, true},
		{"within tol", []float64{1.0005, 0}, []float64{1, 0}, 1e-3, true},
		{"relative above 1", []float64{1000.5}, []float64{1000}, 1e-3, true},
		{"one entry off", []float64{1, 2.1}, []float64{1, 2}, 1e-3, false},
		{"lengths differ", []float64{1}, []float64{1, 1}, 1, false},
		{"NaN", []float64{math.NaN()}, []float64{0}, 1, false},
		{"both empty", nil, []float64{}, 0, true},
	}
	for _, tc := range cases {
		if got := AllNear(tc.got, tc.want, tc.tol); got != tc.near {
			t.Errorf("%s: AllNear(%v, %v, %g) = %v, want %v", tc.name, tc.got, tc.want, tc.tol, got, tc.near)
		}
	}
}

func TestCloseVec(t *testing.T) {
	want := []float64{1, 2, 3}
	mistakes := []VecDiagnosis{
		VecMistake([]float64{-1, -2, -3}, "sign flipped"),
		VecMistake([]float64{2, 4, 6}, "doubled"),
	}
	long := make([]float64, 8)
	cases := []struct {
		name     string
		got      []float64
		passed   bool
		messages []string // substrings of the failure, in either method
	}{
		{"pass", []float64{1, 2, 3 + 1e-12}, true, nil},
		{"fallback hint", []float64{1, 2, 4}, false, []string{"expected: ", "hint:     fallback"}},
		{"first mistake", []float64{-1, -2, -3}, false, []string{"hint:     sign flipped"}},
		{"second mistake", []float64{2, 4, 6}, false, []string{"hint:     doubled"}},
		{"not finite", []float64{1, math.NaN(), 3}, false, []string{"not finite"}},
		{"length", long, false, []string{"3 values", "8 values"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			for _, method := range []string{"CloseVec", "CloseEach"} {
				c := &C{}
				check := c.CloseVec
				if method == "CloseEach" {
					check = c.CloseEach
				}
				passed := check("v", tc.got, want, 1e-9, "fallback", mistakes...)
				if passed != tc.passed || c.Failed() == passed {
					t.Fatalf("%s: passed = %v, Failed() = %v, want passed = %v", method, passed, c.Failed(), tc.passed)
				}
				joined := strings.Join(c.failures, "\n")
				for _, m := range tc.messages {
					if !strings.Contains(joined, m) {
						t.Errorf("%s: failure %q does not contain %q", method, joined, m)
					}
				}
			}
		})
	}

	// CloseVec shows the vectors, CloseEach the first entry that differs.
	c := &C{}
	c.CloseVec("v", []float64{1, 2, 4}, want, 1e-9, "")
	c.CloseEach("v", []float64{1, 2, 4}, want, 1e-9, "")
	if got := strings.Join(c.failures, "\n"); !strings.Contains(got, "got:      [1 2 4]") || !strings.Contains(got, "checking: v (value 2 of 3)\nexpected: 3\ngot:      4") {
		t.Errorf("failures %q: want CloseVec's vectors and CloseEach's value 2 of 3", got)
	}
}

func TestShort(t *testing.T) {
	if got := Short([]float64{1, 2.5}); got != "[1 2.5]" {
		t.Errorf("Short = %q", got)
	}
	if got := Short(make([]float64, 7)); got != "[0 0 0 0 0 0 ... (7 values)]" {
		t.Errorf("Short of 7 values = %q", got)
	}
}

func TestManifest(t *testing.T) {
	seen := map[string]bool{}
	for _, c := range Chapters {
		if len(c.Tasks) == 0 || c.Points() == 0 {
			t.Errorf("chapter %s has no tasks or no points", c.Dir)
		}
		if _, err := FindChapter(c.Dir[:2]); err != nil {
			t.Error(err)
		}
		for _, task := range c.Tasks {
			if seen[task.Test] {
				t.Errorf("test %s is listed twice: test names must be unique across chapters", task.Test)
			}
			seen[task.Test] = true
			if !strings.HasPrefix(task.Test, "Test") || task.Title == "" || task.Points <= 0 {
				t.Errorf("%s: task %+v needs a Test name, a title and points", c.Dir, task)
			}
		}
	}
	if _, err := FindChapter("99"); err == nil {
		t.Error("FindChapter(99) found a chapter")
	}
}

// Failure messages print enough digits to show that the values differ.
func TestDistinct(t *testing.T) {
	cases := []struct {
		want, got         float64
		wantText, gotText string
	}{
		{8, 8 + 4.76837158203125e-07, "8", "8.0000005"}, // 8 plus float32's step there
		{8, 7.9999997, "8", "7.9999997"},
		{-1.3444, 0, "-1.3444", "0"},
		{1, 1 + 1e-15, "1", "1.000000000000001"},
	}
	for _, tc := range cases {
		w, g := Distinct(tc.want, tc.got)
		if w == g {
			t.Errorf("Distinct(%v, %v) printed both as %q", tc.want, tc.got, w)
		}
		if g != tc.gotText || w != tc.wantText {
			t.Errorf("Distinct(%v, %v) = %q, %q, want %q, %q", tc.want, tc.got, w, g, tc.wantText, tc.gotText)
		}
	}
}

// A miss by float32 rounding says so; a diagnosed mistake keeps its hint;
// exactly 0 names the stub.
func TestDiagnoseCauses(t *testing.T) {
	cases := []struct {
		name     string
		got      float64
		mistakes []Diagnosis
		contains string
	}{
		{"float32 rounding", float64(float32(1.2345678901)), nil, "float32"},
		{"a known mistake", -1.2345678901, []Diagnosis{Mistake(-1.2345678901, "the sign is flipped")}, "the sign is flipped"},
		{"the stub", 0, nil, "still the stub"},
		{"the stub and a mistake at 0", 0, []Diagnosis{Mistake(0, "log of 1")}, "log of 1"},
		{"not finite", math.Inf(1), nil, "not finite"},
	}
	for _, tc := range cases {
		c := &C{}
		if c.Close("x", tc.got, 1.2345678901, 1e-12, "fallback", tc.mistakes...) {
			t.Errorf("%s: Close passed", tc.name)
			continue
		}
		if msg := strings.Join(c.failures, "\n"); !strings.Contains(msg, tc.contains) {
			t.Errorf("%s: the message does not say %q:\n%s", tc.name, tc.contains, msg)
		}
	}
}
