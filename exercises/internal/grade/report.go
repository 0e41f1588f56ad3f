package main

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"unicode/utf8"

	"github.com/flowbook/flowbook/exercises/internal/grading"
)

// printReport prints the grade table, narrow (at most 80 columns: for
// notebook cells and terminals) or, with wide, one row per task with every
// column.
func printReport(w io.Writer, r *Report, wide bool) {
	if r.Source == "the manifest" {
		fmt.Fprintf(w, "\nTasks and points (scripts/grade --list):\n\n")
	} else {
		fmt.Fprintf(w, "\nGrades of %s (scripts/grade):\n\n", r.Source)
	}
	if wide {
		printWide(w, r)
	} else {
		printNarrow(w, r)
	}
	if r.Points < r.MaxPoints && r.Source != "the manifest" {
		fmt.Fprintln(w, "\nA failed task's full message: go test -run '^TestName$' ./exercises/<chapter>/")
	}
}

func printWide(w io.Writer, r *Report) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "task\ttest\tpoints\tstatus\thint")
	for _, c := range r.Chapters {
		fmt.Fprintf(tw, "%s\t\t%d/%d\t\t\n", c.Dir, c.Points, c.MaxPoints)
		for _, t := range c.Tasks {
			fmt.Fprintf(tw, "  %s\t%s\t%d/%d\t%s\t%s\n", t.Title, t.Test, t.Points, t.MaxPoints, statusText(t.Status), shorten(t.Hint, 80))
		}
	}
	fmt.Fprintf(tw, "total\t\t%d/%d\t\t\n", r.Points, r.MaxPoints)
	tw.Flush()
}

// narrowWidth is the narrow table's width.
const narrowWidth = 80

// printNarrow prints a chapter line with its points, then per task its
// points, status and title, and under a task that did not pass its test
// name and hint, wrapped.
func printNarrow(w io.Writer, r *Report) {
	indent := strings.Repeat(" ", 21) // under the title
	points := func(got, max int) string {
		if r.Source == "the manifest" { // --list: nothing graded
			return fmt.Sprint(max)
		}
		return fmt.Sprintf("%d/%d", got, max)
	}
	for _, c := range r.Chapters {
		fmt.Fprintf(w, "%-*s%7s\n", narrowWidth-7, c.Dir, points(c.Points, c.MaxPoints))
		for _, t := range c.Tasks {
			if t.Status == "not-run" { // --list
				fmt.Fprintf(w, "  %5s  %s\n", points(t.Points, t.MaxPoints), shorten(t.Title+" ("+t.Test+")", narrowWidth-9))
				continue
			}
			fmt.Fprintf(w, "  %5s  %-10s  %s\n", points(t.Points, t.MaxPoints), statusText(t.Status), shorten(t.Title, narrowWidth-len(indent)))
			if t.Status != "pass" && t.Status != "not-run" {
				text := t.Test
				if t.Hint != "" {
					text += ": " + shorten(t.Hint, 3*(narrowWidth-len(indent)))
				}
				for _, line := range wrap(text, narrowWidth-len(indent)) {
					fmt.Fprintf(w, "%s%s\n", indent, line)
				}
			}
		}
	}
	fmt.Fprintf(w, "%-*s%7s\n", narrowWidth-7, "total", points(r.Points, r.MaxPoints))
}

// wrap breaks s into lines of at most n characters at spaces (a longer word
// gets a line of its own).
func wrap(s string, n int) []string {
	var lines []string
	line := ""
	for _, word := range strings.Fields(s) {
		switch {
		case line == "":
			line = word
		case utf8.RuneCountInString(line)+1+utf8.RuneCountInString(word) <= n:
			line += " " + word
		default:
			lines = append(lines, line)
			line = word
		}
	}
	if line != "" {
		lines = append(lines, line)
	}
	return lines
}

func statusText(s string) string {
	if s == "pass" {
		return "ok"
	}
	return strings.ToUpper(s)
}

// shorten cuts s to at most n characters, at a word boundary when it can.
func shorten(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)[:n-1]
	if i := strings.LastIndexByte(string(r), ' '); i > n/2 {
		return string(r)[:i] + "…"
	}
	return string(r) + "…"
}

// printAudit prints the audit's findings, chapter by chapter.
func printAudit(w io.Writer, r *AuditReport) {
	fmt.Fprintf(w, "\nAudit of %s (scripts/grade --audit):\n\n", r.Source)
	for _, c := range r.Chapters {
		if len(c.Findings) == 0 {
			fmt.Fprintf(w, "%s: nothing found\n", c.Dir)
			continue
		}
		fmt.Fprintf(w, "%s:\n", c.Dir)
		for _, f := range c.Findings {
			against := "all its tasks"
			if len(f.Tasks) > 0 {
				against = strings.Join(f.Tasks, ", ")
			}
			if f.Severity == grading.Reject {
				fmt.Fprintf(w, "  REJECT %s:%d: %s (0 points for %s)\n", f.File, f.Line, f.Message, against)
			} else {
				fmt.Fprintf(w, "  flag   %s:%d: %s\n", f.File, f.Line, f.Message)
			}
		}
	}
	for _, f := range r.ChangedGraders {
		fmt.Fprintf(w, "CHANGED %s differs from the template (--against): grade with your own copy of the graders (--answers)\n", f)
	}
	fmt.Fprintf(w, "\n%d findings that cost points (REJECT, CHANGED), %d to read (flag).\n", r.Rejects, r.Flags)
	if r.Rejects+r.Flags > 0 {
		fmt.Fprintln(w, "What each rule means and what the audit cannot see: docs/instructors.md")
	}
}

// printMutants prints the mutant verdicts' summary (the verdicts themselves
// are printed as they come).
func printMutants(w io.Writer, r *MutantReport) {
	rate := 0.0
	if r.Total > 0 {
		rate = 100 * float64(r.Rejected) / float64(r.Total)
	}
	fmt.Fprintf(w, "\nMutants rejected with a message that names the mistake: %d of %d (%.0f%%)\n", r.Rejected, r.Total, rate)
	for _, m := range r.Mutants {
		if !m.Rejected {
			fmt.Fprintf(w, "  not rejected: %s / %s: %s\n", m.Chapter, m.Name, m.Reason)
		}
	}
}

// classroomWorkflow returns the GitHub Classroom workflow: one autograding
// command-grader step per task, worth the task's points, and the grading
// reporter that adds them up. It is generated from the manifest, so that
// points cannot drift apart; a test compares it with the committed file.
func classroomWorkflow() string {
	var b strings.Builder
	b.WriteString(`# GitHub Classroom autograding for the flowbook exercises.
# Generated by scripts/grade --classroom from exercises/internal/grading
# (do not edit by hand: change the manifest and regenerate). One step per task,
# worth the task's points, so students get partial credit; docs/instructors.md
# explains how to hand the exercises out and grade them.
name: Autograding Tests
'on':
- push
- repository_dispatch
permissions:
  checks: write
  actions: read
  contents: read
jobs:
  run-autograding-tests:
    runs-on: ubuntu-latest
    if: github.actor != 'github-classroom[bot]'
    env:
      GOTOOLCHAIN: go1.27.4+auto
      GOMLX_NO_AUTO_INSTALL: '1'
    steps:
    - name: Checkout code
      uses: actions/checkout@v4
    - name: Set up Go
      uses: actions/setup-go@v5
      with:
        go-version: 1.27.4
        cache-dependency-path: |
          go.sum
          exercises/go.sum
    - name: Build the graders once (modules and the build cache; not graded)
      continue-on-error: true
      run: go test -count=1 -run '^$' ./exercises/...
`)
	var ids []string
	for _, c := range grading.Chapters {
		for _, t := range c.Tasks {
			id := stepID(c, t)
			ids = append(ids, id)
			name := fmt.Sprintf("%s %s", c.Dir[:2], t.Title)
			minutes := int(t.TimeLimit().Minutes()) + 5
			fmt.Fprintf(&b, `    - name: %s
      id: %s
      if: ${{ !cancelled() }}
      uses: classroom-resources/autograding-command-grader@v1
      with:
        test-name: %s
        setup-command: ''
        command: go test -count=1 -run '^%s$' ./exercises/%s/
        timeout: %d
        max-score: %d
`, yamlString(name), id, yamlString(name), t.Test, c.Dir, minutes, t.Points)
		}
	}
	b.WriteString(`    - name: Autograding Reporter
      if: ${{ !cancelled() }}
      uses: classroom-resources/autograding-grading-reporter@v1
      env:
`)
	for _, id := range ids {
		fmt.Fprintf(&b, "        %s_RESULTS: \"${{steps.%s.outputs.result}}\"\n", strings.ToUpper(id), id)
	}
	fmt.Fprintf(&b, "      with:\n        runners: %s\n", strings.Join(ids, ","))
	return b.String()
}

// stepID is a task's step id: "ch", the chapter number and the test name in
// kebab case, e.g. "ch05-vae-elbo" for TestVAEELBO in 05-realnvp-2d. The ids
// (and the reporter's environment names made from them) start with a letter.
func stepID(c grading.Chapter, t grading.Task) string {
	name := strings.TrimPrefix(t.Test, "Test")
	var b strings.Builder
	b.WriteString("ch" + c.Dir[:2])
	for i := 0; i < len(name); i++ {
		r := name[i]
		if !isUpper(r) && !isLower(r) && !('0' <= r && r <= '9') {
			continue
		}
		// A word starts at an upper-case letter after a lower-case one or a
		// digit, or at the last capital of an acronym ("VAEElbo": VAE, Elbo).
		wordStart := i == 0 || isUpper(r) && (!isUpper(name[i-1]) || i+1 < len(name) && isLower(name[i+1]))
		if wordStart {
			b.WriteByte('-')
		}
		if isUpper(r) {
			r += 'a' - 'A'
		}
		b.WriteByte(r)
	}
	return b.String()
}

func isUpper(c byte) bool { return 'A' <= c && c <= 'Z' }
func isLower(c byte) bool { return 'a' <= c && c <= 'z' }

// yamlString quotes s for YAML when it needs it.
func yamlString(s string) string {
	if strings.ContainsAny(s, ":#'\"{}[],&*!|>%@`") {
		return "'" + strings.ReplaceAll(s, "'", "''") + "'"
	}
	return s
}
