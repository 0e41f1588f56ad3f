package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"github.com/flowbook/flowbook/exercises/internal/grading"
)

// Report is the result of grading: the JSON that --json writes.
type Report struct {
	Source    string          `json:"source"` // "exercises/", "solutions/" or "the manifest" (--list)
	Points    int             `json:"points"`
	MaxPoints int             `json:"max_points"`
	Chapters  []ChapterResult `json:"chapters"`
}

// ChapterResult is one chapter's grades.
type ChapterResult struct {
	Dir       string       `json:"dir"`
	Title     string       `json:"title"`
	Points    int          `json:"points"`
	MaxPoints int          `json:"max_points"`
	Tasks     []TaskResult `json:"tasks"`
	// Findings is the audit of the chapter's answer files (grading/audit.go):
	// a Reject finding costs the tasks it is against their points.
	Findings []grading.Finding `json:"findings,omitempty"`
}

// TaskResult is one task's grade.
type TaskResult struct {
	Test      string  `json:"test"`
	Title     string  `json:"title"`
	Points    int     `json:"points"`
	MaxPoints int     `json:"max_points"`
	Status    string  `json:"status"` // pass, fail, timeout, crash, early-exit, rejected, compile-error, missing
	Hint      string  `json:"hint,omitempty"`
	Seconds   float64 `json:"seconds"`
	Output    string  `json:"output,omitempty"` // the test's output when it did not pass
}

type grader struct {
	root string
	out  io.Writer
	tmp  string
}

func (g *grader) tempDir() (string, error) {
	if g.tmp == "" {
		dir, err := os.MkdirTemp("", "flowbook-grade-")
		if err != nil {
			return "", err
		}
		g.tmp = dir
	}
	return g.tmp, nil
}

func (g *grader) cleanup() {
	if g.tmp != "" {
		_ = os.RemoveAll(g.tmp)
	}
}

// grade grades chapters with the answers in exercises/ or, for source
// "solutions", with every exercise file replaced by its solution, or for
// another source (a directory laid out like exercises/), with the exercise
// files found there.
func (g *grader) grade(chapters []grading.Chapter, source string) (*Report, error) {
	r := &Report{Source: strings.TrimSuffix(source, "/") + "/"}
	for _, c := range chapters {
		replace, err := g.answerFiles(c, source)
		if err != nil {
			return nil, err
		}
		cr, err := g.gradeChapter(c, replace, filepath.Base(source))
		if err != nil {
			return nil, err
		}
		r.Chapters = append(r.Chapters, *cr)
		r.Points += cr.Points
		r.MaxPoints += cr.MaxPoints
	}
	return r, nil
}

// answerFiles returns the overlay that puts source's answers for chapter c
// in place of exercises/ (nil for source "exercises").
func (g *grader) answerFiles(c grading.Chapter, source string) (map[string]string, error) {
	switch source {
	case "exercises":
		return nil, nil
	case "solutions":
		return g.solutionFiles(c)
	}
	exDir := filepath.Join(g.root, "exercises", c.Dir)
	files, err := packageFiles(exDir)
	if err != nil {
		return nil, err
	}
	srcDir, err := filepath.Abs(filepath.Join(source, c.Dir))
	if err != nil {
		return nil, err
	}
	if _, err := os.Stat(srcDir); err != nil {
		return nil, fmt.Errorf("--answers %s: no directory %s (the answers are laid out like exercises/: one directory per chapter)", source, srcDir)
	}
	replace := map[string]string{}
	for _, f := range files {
		if _, err := os.Stat(filepath.Join(srcDir, f)); err == nil {
			replace[filepath.Join(exDir, f)] = filepath.Join(srcDir, f)
		}
	}
	return replace, nil
}

// auditReport audits the chapters' answers from source (as grade reads them).
func (g *grader) auditReport(chapters []grading.Chapter, source string) (*AuditReport, error) {
	r := &AuditReport{Source: strings.TrimSuffix(source, "/") + "/"}
	for _, c := range chapters {
		replace, err := g.answerFiles(c, source)
		if err != nil {
			return nil, err
		}
		findings, err := g.audit(c, replace)
		if err != nil {
			return nil, err
		}
		for _, f := range findings {
			if f.Severity == grading.Reject {
				r.Rejects++
			} else {
				r.Flags++
			}
		}
		r.Chapters = append(r.Chapters, AuditChapter{Dir: c.Dir, Findings: findings})
	}
	return r, nil
}

// AuditReport is what --audit prints and writes.
type AuditReport struct {
	Source   string         `json:"source"`
	Rejects  int            `json:"rejects"` // findings that cost points
	Flags    int            `json:"flags"`   // findings listed for the instructor
	Chapters []AuditChapter `json:"chapters"`
	// ChangedGraders are the graders' files that differ from the template
	// commit given with --against.
	ChangedGraders []string `json:"changed_graders,omitempty"`
}

// changedGraders lists the files of the repository that holds source's
// answers, other than answer files, that differ from commit: the files a
// student must not change.
func changedGraders(source, root, commit string) ([]string, error) {
	dir := root
	if source != "exercises" && source != "solutions" {
		dir = source
	}
	top, err := exec.Command("git", "-C", dir, "rev-parse", "--show-toplevel").Output()
	if err != nil {
		return nil, fmt.Errorf("--against: %s is not in a git repository", dir)
	}
	repo := strings.TrimSpace(string(top))
	out, err := exec.Command("git", "-C", repo, "diff", "--name-only", commit, "--",
		"exercises/*_test.go", "exercises/internal", ".github", "go.work", "go.mod", "exercises/go.mod", "go.sum", "exercises/go.sum").CombinedOutput()
	if err != nil {
		return nil, fmt.Errorf("--against %s: git diff: %s", commit, strings.TrimSpace(string(out)))
	}
	var changed []string
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		if line != "" {
			changed = append(changed, line)
		}
	}
	return changed, nil
}

// AuditChapter is one chapter's findings.
type AuditChapter struct {
	Dir      string            `json:"dir"`
	Findings []grading.Finding `json:"findings"`
}

// listTasks returns the report of chapters without grading them.
func listTasks(chapters []grading.Chapter) *Report {
	r := &Report{Source: "the manifest"}
	for _, c := range chapters {
		cr := ChapterResult{Dir: c.Dir, Title: c.Title, MaxPoints: c.Points()}
		for _, t := range c.Tasks {
			cr.Tasks = append(cr.Tasks, TaskResult{Test: t.Test, Title: t.Title, MaxPoints: t.Points, Status: "not-run"})
		}
		r.Chapters = append(r.Chapters, cr)
		r.MaxPoints += cr.MaxPoints
	}
	return r
}

// solutionFiles maps each exercise file of chapter c to its solution. Every
// non-test .go file of the exercise must have one, so that the solution is
// the whole package.
func (g *grader) solutionFiles(c grading.Chapter) (map[string]string, error) {
	exDir := filepath.Join(g.root, "exercises", c.Dir)
	solDir := filepath.Join(g.root, "solutions", c.Dir)
	files, err := packageFiles(exDir)
	if err != nil {
		return nil, err
	}
	replace := map[string]string{}
	for _, f := range files {
		sol := filepath.Join(solDir, f)
		if _, err := os.Stat(sol); err != nil {
			return nil, fmt.Errorf("solutions/%s/%s is missing: every file of exercises/%s needs its solution", c.Dir, f, c.Dir)
		}
		replace[filepath.Join(exDir, f)] = sol
	}
	solFiles, err := packageFiles(solDir)
	if err != nil {
		return nil, err
	}
	for _, f := range solFiles {
		if _, ok := replace[filepath.Join(exDir, f)]; !ok {
			return nil, fmt.Errorf("solutions/%s/%s has no exercise file exercises/%s/%s", c.Dir, f, c.Dir, f)
		}
	}
	return replace, nil
}

// packageFiles lists the non-test .go files of dir.
func packageFiles(dir string) ([]string, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var files []string
	for _, e := range entries {
		if n := e.Name(); !e.IsDir() && strings.HasSuffix(n, ".go") && !strings.HasSuffix(n, "_test.go") {
			files = append(files, n)
		}
	}
	return files, nil
}

// gradeChapter builds the chapter's test binary (with the files in replace
// overlaid; tag names the build's files) and runs each task in its own process.
func (g *grader) gradeChapter(c grading.Chapter, replace map[string]string, tag string) (*ChapterResult, error) {
	cr := &ChapterResult{Dir: c.Dir, Title: c.Title, MaxPoints: c.Points()}
	binary, buildOutput, err := g.build(c, replace, tag)
	if err != nil {
		return nil, err
	}
	findings, err := g.audit(c, replace)
	if err != nil {
		return nil, err
	}
	cr.Findings = findings
	for _, t := range c.Tasks {
		tr := TaskResult{Test: t.Test, Title: t.Title, MaxPoints: t.Points}
		if binary == "" {
			tr.Status, tr.Hint, tr.Output = "compile-error", "the package does not compile: "+firstLine(buildOutput), buildOutput
		} else {
			g.runTask(c, t, binary, findings, &tr)
		}
		if tr.Status == "pass" {
			tr.Points = t.Points
			tr.Output = ""
		}
		cr.Points += tr.Points
		cr.Tasks = append(cr.Tasks, tr)
	}
	return cr, nil
}

// build compiles the chapter's tests into a binary. A compile error is the
// learner's (it is returned as output with an empty binary path); an error
// means the grading itself could not run.
func (g *grader) build(c grading.Chapter, replace map[string]string, tag string) (binary, output string, err error) {
	tmp, err := g.tempDir()
	if err != nil {
		return "", "", err
	}
	binary = filepath.Join(tmp, c.Dir+"."+strings.ReplaceAll(tag, "/", "")+".test")
	args := []string{"test", "-c", "-o", binary}
	if len(replace) > 0 {
		overlay := strings.TrimSuffix(binary, ".test") + ".overlay.json"
		data, _ := json.Marshal(map[string]any{"Replace": replace})
		if err := os.WriteFile(overlay, data, 0o644); err != nil {
			return "", "", err
		}
		args = append(args, "-overlay", overlay)
	}
	args = append(args, "./exercises/"+c.Dir)
	cmd := exec.Command("go", args...)
	cmd.Dir = g.root
	out, err := cmd.CombinedOutput()
	if err != nil {
		var exitErr *exec.ExitError
		if !errors.As(err, &exitErr) {
			return "", "", fmt.Errorf("running go test -c: %w (is the go command on PATH?)", err)
		}
		return "", strings.TrimSpace(string(out)), nil
	}
	if _, err := os.Stat(binary); err != nil {
		return "", "", fmt.Errorf("go test -c ./exercises/%s wrote no binary (does the package have test files?)", c.Dir)
	}
	return binary, "", nil
}

// runTask runs one task's test in its own process. The grader's own limit
// (grading.Run) ends a slow check; the hard limit here also catches a test
// binary that hangs outside it. The points come from the verdict that the
// binary's supervisor (grading/supervise.go) writes, never from the output,
// which the learner's code can print to.
func (g *grader) runTask(c grading.Chapter, t grading.Task, binary string, findings []grading.Finding, tr *TaskResult) {
	limit := t.TimeLimit() + 30*time.Second
	ctx, cancel := context.WithTimeout(context.Background(), limit)
	defer cancel()
	verdictFile, err := os.CreateTemp(g.tmp, "verdict-*.json")
	if err != nil {
		tr.Status, tr.Hint = "crash", "the grader could not create its verdict file: "+err.Error()
		return
	}
	verdictFile.Close()
	defer os.Remove(verdictFile.Name())
	audited, _ := json.Marshal(findings)
	cmd := exec.CommandContext(ctx, binary, "-test.run", "^"+regexp.QuoteMeta(t.Test)+"$", "-test.v", "-test.count=1",
		"-test.paniconexit0", "-test.timeout", (limit + 10*time.Second).String())
	cmd.Dir = filepath.Join(g.root, "exercises", c.Dir)
	cmd.Env = append(os.Environ(), grading.VerdictEnv+"="+verdictFile.Name(), grading.AuditedEnv+"="+string(audited))
	var buf bytes.Buffer
	cmd.Stdout, cmd.Stderr = &buf, &buf
	start := time.Now()
	runErr := cmd.Run()
	tr.Seconds = time.Since(start).Seconds()
	out := buf.String()
	tr.Output = strings.TrimSpace(out)
	if ctx.Err() != nil {
		tr.Status, tr.Hint = "timeout", fmt.Sprintf("the test process was stopped after %s: an endless loop outside the grader's own time limit?", limit)
		return
	}
	var v grading.Verdict
	data, err := os.ReadFile(verdictFile.Name())
	if err == nil {
		err = json.Unmarshal(data, &v)
	}
	if err != nil || v.Chapter != c.Dir {
		tr.Status, tr.Hint = "crash", fmt.Sprintf("the test binary gave no verdict (%v): ", runErr)+crashLine(out)
		return
	}
	if !v.Complete {
		tr.Status, tr.Hint = "crash", v.Problem
		if v.ExitCode == 0 {
			tr.Status = "early-exit"
		}
		return
	}
	for _, tv := range v.Tests {
		if tv.Test != t.Test {
			continue
		}
		switch {
		case tv.Passed:
			tr.Status = "pass"
		case tv.Reason != "":
			tr.Status, tr.Hint = "rejected", tv.Reason
		default:
			tr.Status, tr.Hint = "fail", hintOf(out)
			if strings.Contains(out, "no result after") {
				tr.Status = "timeout"
			}
		}
		return
	}
	tr.Status, tr.Hint = "missing", fmt.Sprintf("no test %s in exercises/%s: was it renamed or deleted?", t.Test, c.Dir)
}

// audit audits the files chapter c's binary is built from: the exercise
// files, with those in replace (an overlay) instead of the ones on disk.
func (g *grader) audit(c grading.Chapter, replace map[string]string) ([]grading.Finding, error) {
	dir := filepath.Join(g.root, "exercises", c.Dir)
	files, err := grading.AnswerFiles(dir)
	if err != nil {
		return nil, err
	}
	for name := range files {
		if src, ok := replace[filepath.Join(dir, name)]; ok {
			if files[name], err = os.ReadFile(src); err != nil {
				return nil, err
			}
		}
	}
	return grading.Audit(c, files)
}

// hintOf returns the first hint line of a failed test's output.
func hintOf(out string) string {
	for _, line := range strings.Split(out, "\n") {
		if h, ok := strings.CutPrefix(strings.TrimSpace(line), "hint:"); ok {
			return strings.TrimSpace(h)
		}
	}
	return "see the test output (scripts/grade --json writes it)"
}

// crashLine picks the line that names a crash (fatal error, panic, signal).
func crashLine(out string) string {
	for _, line := range strings.Split(out, "\n") {
		l := strings.TrimSpace(line)
		for _, p := range []string{"fatal error:", "panic:", "runtime:", "signal", "exit status"} {
			if strings.HasPrefix(l, p) {
				return l
			}
		}
	}
	return firstLine(out)
}

func firstLine(s string) string {
	s = strings.TrimSpace(s)
	for _, line := range strings.Split(s, "\n") {
		if l := strings.TrimSpace(line); l != "" && !strings.HasPrefix(l, "#") {
			return l
		}
	}
	return s
}
