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
