package grading

// Supervision: a task's points must come from the testing framework, from a
// test binary that ran to its normal end, not from text the learner's code can
// print. A chapter's test binary therefore runs twice:
//
//   - The supervisor is the process that go test (or scripts/grade) starts.
//     This file's init runs before any of the learner's code (the chapter's
//     package imports grading, so grading is initialised first) and, in a
//     chapter's directory, never returns: it audits the chapter's source,
//     starts the same binary again as the worker, waits for it and exits with
//     the verdict. The learner's code never runs in the supervisor.
//   - The worker runs the tests. grading.Run and grading.Main (the chapter's
//     TestMain) send a record over a pipe that only the worker's testing code
//     writes to: which test started, how the framework judged it when it
//     ended (t.Failed in a Cleanup), and that m.Run returned.
//
// A worker that ends early (os.Exit, syscall.Exit, log.Fatal, a crash, a
// goroutine that panics after its test returned) leaves no completion record,
// and the supervisor fails the run whatever the worker printed. Code in the
// worker could still forge the record on purpose (it shares the process with
// the testing code that writes it): that is what the audit's rules against
// os, syscall and unsafe are for (audit.go, docs/instructors.md).

import (
	"bufio"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"
)

const (
	// workerEnv marks the worker process; its value is the run's nonce.
	workerEnv = "FLOWBOOK_GRADE_WORKER"
	// VerdictEnv names the file where the supervisor writes its [Verdict]
	// as JSON (scripts/grade sets it). The worker does not see it.
	VerdictEnv = "FLOWBOOK_GRADE_VERDICT"
	// AuditedEnv tells the supervisor that the caller (scripts/grade) has
	// audited the files the binary was built from (an overlay's, which the
	// supervisor cannot see on disk) and passes the findings in this JSON.
	AuditedEnv = "FLOWBOOK_GRADE_AUDITED"
	// recordFD is the worker's file descriptor for the record: the first of
	// exec.Cmd.ExtraFiles.
	recordFD = 3
	// lateCrashWait is how long the worker waits after the last test before
	// it reports completion, so that a goroutine the learner's code left
	// behind and that panics right after its test returned still costs the
	// task its points.
	lateCrashWait = 150 * time.Millisecond
)

// Verdict is the supervisor's judgement of one run of a chapter's test binary.
type Verdict struct {
	Chapter  string        `json:"chapter"`
	Complete bool          `json:"complete"`          // the worker's tests ran to their normal end
	ExitCode int           `json:"exit_code"`         // the worker's exit status (-1: killed by a signal)
	Problem  string        `json:"problem,omitempty"` // why the run earns nothing, when it does not complete
	Running  string        `json:"running,omitempty"` // the test that was running when the worker ended early
	Tests    []TestVerdict `json:"tests"`
}

// TestVerdict is one test's result within a [Verdict].
type TestVerdict struct {
	Test   string `json:"test"`
	Passed bool   `json:"passed"`           // the framework passed it, in a run that completed, and the audit found nothing against it
	Reason string `json:"reason,omitempty"` // why it earns nothing although the framework passed it
}

// record is one line of the worker's record.
type record struct {
	Nonce  string `json:"nonce"`
	Event  string `json:"event"` // "start", "end" or "complete"
	Test   string `json:"test,omitempty"`
	Passed bool   `json:"passed,omitempty"`
	Code   int    `json:"code,omitempty"`
}

func init() {
	if !testing.Testing() || worker.enabled() {
		return
	}
	dir, err := os.Getwd()
	if err != nil {
		return
	}
	chapter, ok := chapterAt(dir)
	if !ok {
		return // not an exercise chapter's test binary (grading's own tests)
	}
	os.Exit(supervise(chapter, dir))
}

// chapterAt returns the chapter whose directory dir is: go test, scripts/grade
// and the Classroom steps all run a chapter's test binary there.
func chapterAt(dir string) (Chapter, bool) {
	if filepath.Base(filepath.Dir(dir)) != "exercises" {
		return Chapter{}, false
	}
	c, err := FindChapter(filepath.Base(dir))
	return c, err == nil && c.Dir == filepath.Base(dir)
}

// supervise runs the worker and returns the exit status for the go command:
// 0 only when the worker completed and every test it ran passed.
func supervise(c Chapter, dir string) int {
	findings, err := supervisorFindings(c, dir)
	if err != nil {
		fmt.Fprintf(os.Stderr, "grading: %v\n", err)
		return 2
	}
	v := runWorker(c)
	applyFindings(&v, findings)
	report(os.Stdout, v, findings)
	if path := os.Getenv(VerdictEnv); path != "" {
		data, _ := json.MarshalIndent(v, "", "  ")
		if err := os.WriteFile(path, data, 0o644); err != nil {
			fmt.Fprintf(os.Stderr, "grading: writing the verdict: %v\n", err)
			return 2
		}
	}
	if !v.Complete {
		if v.ExitCode > 0 {
			return v.ExitCode
		}
		return 1
	}
	for _, t := range v.Tests {
		if !t.Passed {
			return 1
		}
	}
	return v.ExitCode
}

// supervisorFindings returns the audit of the chapter: the one scripts/grade
// passed in (of the files the binary was really built from), or the audit of
// the files in dir.
func supervisorFindings(c Chapter, dir string) ([]Finding, error) {
	if s := os.Getenv(AuditedEnv); s != "" {
		var findings []Finding
		if err := json.Unmarshal([]byte(s), &findings); err != nil {
			return nil, fmt.Errorf("%s is not an audit: %v", AuditedEnv, err)
		}
		return findings, nil
	}
	files, err := AnswerFiles(dir)
	if err != nil {
		return nil, err
	}
	return Audit(c, files)
}

// runWorker starts this test binary again as the worker, with the same
// arguments, and reads its record.
func runWorker(c Chapter) Verdict {
	v := Verdict{Chapter: c.Dir, ExitCode: -1}
	nonce := newNonce()
	recordR, recordW, err := os.Pipe()
	if err != nil {
		v.Problem = fmt.Sprintf("the grader could not start the tests: %v", err)
		return v
	}
	cmd := exec.Command(os.Args[0], os.Args[1:]...)
	cmd.Env = append(withoutEnv(os.Environ(), VerdictEnv, AuditedEnv), workerEnv+"="+nonce)
	cmd.ExtraFiles = []*os.File{recordW}
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	setWorkerAttrs(cmd)
	if err := cmd.Start(); err != nil {
		recordW.Close()
		v.Problem = fmt.Sprintf("the grader could not start the tests: %v", err)
		return v
	}
	recordW.Close()

	var events []record
	var readErr error
	var wg sync.WaitGroup
	wg.Go(func() { events, readErr = readRecord(recordR, nonce) })
	waitErr := cmd.Wait()
	wg.Wait()
	recordR.Close()

	v.ExitCode = cmd.ProcessState.ExitCode()
	results := map[string]bool{}
	started := map[string]bool{}
	var order []string
	var current, lastEnded string
	for _, e := range events {
		switch e.Event {
		case "start":
			if !started[e.Test] {
				order = append(order, e.Test)
			}
			started[e.Test], current = true, e.Test
		case "end":
			results[e.Test], current, lastEnded = e.Passed, "", e.Test
		case "complete":
			v.Complete = true
		}
	}
	for _, name := range order {
		tv := TestVerdict{Test: name, Passed: v.Complete && results[name]}
		v.Tests = append(v.Tests, tv)
	}
	if v.Complete {
		return v
	}
	v.Running = current
	v.Problem = earlyEndProblem(waitErr, v.ExitCode, current, lastEnded, readErr)
	for i := range v.Tests {
		v.Tests[i].Reason = v.Problem
	}
	return v
}

// earlyEndProblem says why a worker that did not complete earns nothing:
// running is the test it was running, lastEnded the last test that ended.
func earlyEndProblem(waitErr error, code int, running, lastEnded string, readErr error) string {
	when := "before its tests ran"
	switch {
	case running != "":
		when = "while " + running + " was running"
	case lastEnded != "":
		when = "after " + lastEnded + " had returned"
	}
	switch {
	case readErr != nil:
		return fmt.Sprintf("the test process's completion record is not valid (%v): no points, whatever the process printed", readErr)
	case code == 0:
		return fmt.Sprintf("the test process exited with status 0 %s, without finishing its tests: something in the answer ends the process (os.Exit, syscall.Exit, log.Fatal...). An answer returns its result; any PASS line printed before the exit was not the testing framework's, so no points", when)
	case code < 0:
		return fmt.Sprintf("the test process was killed (%v) %s: no points", waitErr, when)
	case running == "" && lastEnded != "":
		return fmt.Sprintf("the test process crashed (exit status %d) %s: a goroutine the answer started panicked after its test returned; the output above shows the panic. No points for the tests of this run", code, when)
	default:
		return fmt.Sprintf("the test process crashed (exit status %d) %s; the output above shows why. No points for the tests of this run", code, when)
	}
}

// readRecord reads the worker's record lines, keeping those with the run's
// nonce. A line with another nonce is an error: something other than the
// testing code wrote to the record.
func readRecord(r io.Reader, nonce string) ([]record, error) {
	var events []record
	var bad error
	sc := bufio.NewScanner(io.LimitReader(r, 1<<20))
	for sc.Scan() {
		var e record
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil || e.Nonce != nonce {
			if bad == nil {
				bad = errors.New("a line that the testing code did not write")
			}
			continue
		}
		events = append(events, e)
	}
	if bad != nil {
		return nil, bad
	}
	return events, sc.Err()
}

// applyFindings takes away the points of the tests an audit finding is
// against (all of the chapter's, for a finding without tasks).
func applyFindings(v *Verdict, findings []Finding) {
	for i := range v.Tests {
		t := &v.Tests[i]
		for _, f := range findings {
			if f.Severity == Reject && f.Against(t.Test) {
				if t.Passed {
					t.Reason = f.String()
				}
				t.Passed = false
				break
			}
		}
	}
}

// report prints what the supervisor decided, when it differs from what the
// worker's own output says (the framework's PASS lines are the worker's).
func report(w io.Writer, v Verdict, findings []Finding) {
	var b strings.Builder
	if !v.Complete {
		fmt.Fprintf(&b, "grading: %s: %s\n", v.Chapter, v.Problem)
	}
	seen := map[string]bool{}
	for _, f := range findings {
		if f.Severity == Reject && !seen[f.String()] {
			seen[f.String()] = true
			fmt.Fprintf(&b, "grading: %s: rejected: %s\n", v.Chapter, f)
		}
	}
	var zero []string
	for _, t := range v.Tests {
		if !t.Passed && t.Reason != "" {
			zero = append(zero, t.Test)
		}
	}
	sort.Strings(zero)
	if len(zero) > 0 {
		fmt.Fprintf(&b, "grading: %s: 0 points for %s\n", v.Chapter, strings.Join(zero, ", "))
	}
	if b.Len() > 0 {
		fmt.Fprint(w, "\n"+b.String()+"FAIL\n")
	}
}

// Main is the TestMain of every chapter: it runs the tests and, in the
// worker, reports to the supervisor that they ran to their end.
//
//	func TestMain(m *testing.M) { grading.Main(m) }
func Main(m *testing.M) {
	code := m.Run()
	if worker.enabled() {
		time.Sleep(lateCrashWait)
		worker.send(record{Event: "complete", Code: code})
	}
	os.Exit(code)
}

// worker is the record's writer in the worker process.
var worker = newRecordWriter()

type recordWriter struct {
	mu    sync.Mutex
	nonce string
	f     *os.File
}

func newRecordWriter() *recordWriter {
	nonce := os.Getenv(workerEnv)
	if nonce == "" || !testing.Testing() {
		return &recordWriter{}
	}
	os.Unsetenv(workerEnv)
	return &recordWriter{nonce: nonce, f: os.NewFile(recordFD, "grading-record")}
}

func (w *recordWriter) enabled() bool { return w.f != nil }

func (w *recordWriter) send(r record) {
	if w.f == nil {
		return
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	r.Nonce = w.nonce
	data, _ := json.Marshal(r)
	_, _ = w.f.Write(append(data, '\n'))
}

// recordTest records that t started and, when it ends, how the framework
// judged it.
func recordTest(t *testing.T) {
	if !worker.enabled() {
		return
	}
	worker.send(record{Event: "start", Test: t.Name()})
	t.Cleanup(func() { worker.send(record{Event: "end", Test: t.Name(), Passed: !t.Failed()}) })
}

func newNonce() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func withoutEnv(env []string, names ...string) []string {
	var out []string
	for _, kv := range env {
		keep := true
		for _, n := range names {
			if strings.HasPrefix(kv, n+"=") {
				keep = false
			}
		}
		if keep {
			out = append(out, kv)
		}
	}
	return out
}
