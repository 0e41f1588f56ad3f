// Package grading runs the exercise graders. Every task is one Go test whose
// body is
//
//	func TestAffineLogDet(t *testing.T) {
//		grading.Run(t, func(c *grading.C) {
//			got := AffineLogDet(a)
//			c.Close("log|det A| for A = [[2, 1], [0, 3]]", got, math.Log(6), 1e-9,
//				grading.Mistake(-math.Log(6), "the sign is flipped: log|det A| = +log 6"))
//		})
//	}
//
// Run gives the check its own goroutine and the task's time limit (from the
// manifest, [Chapters]), so that a learner's panic or endless loop fails that
// one task with a message while the other tasks are still graded. Failure
// messages follow one layout, which scripts/grade reads back:
//
//	checking: what was checked
//	expected: the right value
//	got:      the learner's value
//	hint:     the likely mistake
package grading

import (
	"fmt"
	"math"
	"runtime/debug"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gomlx/compute"

	"github.com/flowbook/flowbook/flowlib/backend"
)

// C is a running check: it collects the failures of one task.
type C struct {
	mu        sync.Mutex
	failures  []string
	logs      []string
	abandoned bool // timed out: later records are dropped
}

// stopCheck is the panic value [C.Fatalf] uses to end a check early.
type stopCheck struct{}

// Run grades one task: it looks the test up in the manifest, runs check with
// the task's time limit and reports the result. A panic in check (the
// learner's code included) and running past the limit both fail the task
// with an explanation; neither stops the other tests.
func Run(t *testing.T, check func(c *C)) {
	t.Helper()
	task, chapter, err := FindTask(t.Name())
	if err != nil {
		t.Fatal(err)
	}
	recordTest(t)
	c := runCheck(task.Title, task.TimeLimit(), check)
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, line := range c.logs {
		t.Log(line)
	}
	if len(c.failures) > 0 {
		t.Errorf("%s / %s: FAILED (0 of %d points)\n\n%s", chapter.Dir, task.Title, task.Points, strings.Join(c.failures, "\n\n"))
		return
	}
	t.Logf("%s / %s: passed (%d of %d points)", chapter.Dir, task.Title, task.Points, task.Points)
}

// runCheck runs check in its own goroutine and waits for it at most limit.
// A panic or the timeout becomes a recorded failure. After a timeout the
// goroutine is abandoned (Go cannot stop it); it no longer records anything.
func runCheck(title string, limit time.Duration, check func(c *C)) *C {
	c := &C{}
	done := make(chan struct{})
	go func() {
		defer close(done)
		defer func() {
			if r := recover(); r != nil {
				if _, stopped := r.(stopCheck); !stopped {
					c.panicked(r)
				}
			}
		}()
		check(c)
	}()
	select {
	case <-done:
	case <-time.After(limit):
		c.Errorf("checking: %s\ngot:      no result after %s\nhint:     the check did not finish in time: look for an endless loop (a loop whose condition never changes), or for far more work than the task needs",
			title, limit)
		c.mu.Lock()
		c.abandoned = true
		c.mu.Unlock()
	}
	return c
}

// panicked records a panic from the check, with the stack frames of the
// exercise code that led to it.
func (c *C) panicked(r any) {
	msg := fmt.Sprint(r)
	hint := "your code panicked; the frames below show where (most often a nil value, an index out of range, or a shape mismatch while building a graph)"
	if strings.Contains(msg, "os.Exit") {
		hint = "your code calls os.Exit, which ends the test process: an answer returns its result (or an error), it never ends the process"
	} else if strings.Contains(msg, "nil") {
		hint = "a nil value reached code that needed one: is a function still the stub that returns nil? Write its body (see its doc comment)"
	}
	c.Errorf("checking: the code runs without panicking\ngot:      panic: %s\nhint:     %s\n%s", FirstLines(msg, 6), hint, exerciseFrames(string(debug.Stack())))
}

// exerciseFrames keeps the stack frames that are in the exercises' own
// packages, which is where the learner can act.
func exerciseFrames(stack string) string {
	lines := strings.Split(stack, "\n")
	var kept []string
	for i := 0; i+1 < len(lines); i++ {
		fn, file := lines[i], lines[i+1]
		if strings.Contains(fn, "flowbook/exercises/") && !strings.Contains(fn, "/internal/grading") && strings.HasPrefix(file, "\t") {
			kept = append(kept, "  "+strings.TrimSpace(fn), "    "+strings.TrimSpace(file))
			i++
		}
	}
	if len(kept) == 0 {
		return ""
	}
	return "where:\n" + strings.Join(kept, "\n")
}

// FirstLines returns the first n lines of s ("..." for the rest), indented
// to continue a "got:" line of the failure layout.
func FirstLines(s string, n int) string {
	lines := strings.Split(s, "\n")
	if len(lines) > n {
		lines = append(lines[:n], "...")
	}
	return strings.Join(lines, "\n          ")
}

// Errorf records a failure and lets the check go on. Use the layout of the
// package documentation (checking/expected/got/hint lines).
func (c *C) Errorf(format string, args ...any) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.abandoned {
		c.failures = append(c.failures, fmt.Sprintf(format, args...))
	}
}

// Fatalf records a failure and ends the check: later checks depend on this one.
func (c *C) Fatalf(format string, args ...any) {
	c.Errorf(format, args...)
	panic(stopCheck{})
}

// Logf records a line that is shown with the task's result, passed or failed.
func (c *C) Logf(format string, args ...any) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.logs = append(c.logs, fmt.Sprintf(format, args...))
}

// Failed reports whether the check has recorded a failure.
func (c *C) Failed() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.failures) > 0
}

// NoError ends the check when err is not nil, saying what was being done.
func (c *C) NoError(err error, doing string, hint string) {
	if err != nil {
		c.Fatalf("checking: %s\ngot:      error: %s\nhint:     %s", doing, FirstLines(err.Error(), 8), hint)
	}
}

// Backend returns the compute backend for graph checks, as flowlib/backend
// chooses it (XLA CPU when its plugin is installed, pure Go otherwise;
// FLOWBOOK_BACKEND forces one), ending the check if there is none.
func (c *C) Backend() compute.Backend {
	b, err := sharedBackend()
	c.NoError(err, "a GoMLX backend to run graphs on", "set FLOWBOOK_BACKEND=go (the pure-Go backend needs nothing installed)")
	return b
}

var sharedBackend = sync.OnceValues(backend.New)

// Diagnosis is a wrong value a plausible mistake produces, with the hint to
// show when the learner's value matches it.
type Diagnosis struct {
	Value float64
	Hint  string
}

// Mistake returns a [Diagnosis]: a value that a known mistake produces.
func Mistake(value float64, hint string) Diagnosis { return Diagnosis{value, hint} }

// Near reports whether got is within tol of want, relative to max(1, |want|).
// NaN is never near anything.
func Near(got, want, tol float64) bool {
	if math.IsNaN(got) || math.IsNaN(want) {
		return false
	}
	if math.IsInf(want, 0) {
		return got == want
	}
	return math.Abs(got-want) <= tol*math.Max(1, math.Abs(want))
}

// Close checks that got is within tol of want (relative to max(1, |want|)).
// When it is not, the failure names what was checked, shows both values with
// enough digits to tell them apart ([Distinct]) and, if got matches a
// diagnosed mistake, that mistake's hint; otherwise a note when got misses
// want only by a rounding-sized amount (float32 arithmetic, say), then hint
// (which may be ""). It returns whether the check passed.
func (c *C) Close(what string, got, want, tol float64, hint string, mistakes ...Diagnosis) bool {
	if Near(got, want, tol) {
		return true
	}
	wantText, gotText := Distinct(want, got)
	c.Errorf("%s", Explain(what, wantText, gotText, diagnose(got, want, tol, hint, mistakes)))
	return false
}

// Diagnose returns the hint of the first mistake whose value got matches
// (within tol; an infinite value only itself), else a note on a non-finite
// got or on exactly 0 (the stubs' answer), else fallback. When got is exactly
// 0 and so is the mistake it matches, the hint names both causes: the stub
// and the mistake give the same number.
func Diagnose(got, tol float64, fallback string, mistakes ...Diagnosis) string {
	return diagnose(got, math.NaN(), tol, fallback, mistakes)
}

// stubHint is the hint for a result of exactly 0, the stubs' answer.
const stubHint = "exactly 0: is the function still the stub? Write its body (its doc comment says what to compute)"

// diagnose is [Diagnose] knowing want (NaN when unknown), for the note on a
// result that is off by rounding only.
func diagnose(got, want, tol float64, fallback string, mistakes []Diagnosis) string {
	for _, m := range mistakes {
		if Near(got, m.Value, tol) {
			if got == 0 {
				return stubHint + "; if it is not: " + m.Hint
			}
			return m.Hint
		}
	}
	if math.IsNaN(got) || math.IsInf(got, 0) {
		notFinite := "the value is not finite: look for log of a negative number or of 0, a division by 0, or exp of a large number"
		if fallback != "" {
			notFinite += "; " + fallback
		}
		return notFinite
	}
	if note := precisionNote(got, want, tol); note != "" {
		return joinHints(note, fallback)
	}
	if got == 0 {
		return joinHints(stubHint, fallback)
	}
	return fallback
}

// Explain formats one failure in the checking/expected/got/hint layout.
func Explain(what, expected, got, hint string) string {
	s := fmt.Sprintf("checking: %s\nexpected: %s\ngot:      %s", what, expected, got)
	if hint != "" {
		s += "\nhint:     " + hint
	}
	return s
}
