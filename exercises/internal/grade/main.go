// Command grade grades the exercises and prints a table: for every task its
// points, its status and, when it fails, the hint its grader gave. It is what
// scripts/grade runs:
//
//	scripts/grade                 grade exercises/ (the learner's answers)
//	scripts/grade 03 05           only chapters 03 and 05
//	scripts/grade --solutions     grade the reference solutions (all must pass)
//	scripts/grade --mutants       run the wrong answers kept in solutions/testdata/mutants
//	scripts/grade --json out.json also write the report as JSON
//	scripts/grade --list          the tasks and their points, without grading
//	scripts/grade --classroom     print the GitHub Classroom workflow
//	scripts/grade --answers DIR   grade the answers in DIR (laid out like exercises/)
//	scripts/grade --audit         list what the audit finds in the answers
//
// Each chapter's test binary is built once (go test -c); each task then runs
// in its own process (-test.run '^TestName$'), so that even a crash that Go
// cannot recover from (a stack overflow, os.Exit) costs only that task.
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"

	"github.com/flowbook/flowbook/exercises/internal/grading"
)

func main() {
	solutions := flag.Bool("solutions", false, "grade solutions/ instead of the answers in exercises/ (each exercise file replaced by its solution with go test -overlay)")
	mutants := flag.Bool("mutants", false, "grade the mutants in solutions/testdata/mutants: each wrong answer must be rejected with its expected hint")
	jsonPath := flag.String("json", "", "also write the report as JSON to this file")
	classroom := flag.Bool("classroom", false, "print the GitHub Classroom workflow (.github/workflows/classroom.yml) and exit")
	jobs := flag.Int("jobs", runtime.NumCPU(), "mutants graded at the same time (--mutants)")
	list := flag.Bool("list", false, "list the tasks and their points without grading")
	strict := flag.Bool("strict", false, "exit with status 1 unless every task passes (every mutant is rejected with --mutants; the audit finds nothing that costs points with --audit)")
	answers := flag.String("answers", "", "grade the answers in this directory, laid out like exercises/ (a student's exercises/ directory); files it lacks are taken from exercises/")
	against := flag.String("against", "", "with --audit: a git commit of the template (the answers' repository is the one that holds them); list the graders' files (tests, exercises/internal, the workflow, go.work, go.mod) that differ from it")
	wide := flag.Bool("wide", false, "print the grade table with one row per task and every column (about 180 columns) instead of the 80-column layout")
	audit := flag.Bool("audit", false, "audit the answers instead of grading them: list imports, calls and library functions an honest answer does not need (docs/instructors.md)")
	flag.Usage = func() {
		fmt.Fprintf(os.Stderr, "Usage: scripts/grade [flags] [chapter ...]\n\nChapters are exercise directories or their numbers (01 to %02d); all by default.\n\n", len(grading.Chapters))
		flag.PrintDefaults()
	}
	args := parseInterspersed()

	if *classroom {
		fmt.Print(classroomWorkflow())
		return
	}
	root, err := repoRoot()
	if err != nil {
		fail(err)
	}
	chapters, err := selectChapters(args)
	if err != nil {
		fail(err)
	}
	g := &grader{root: root, out: os.Stdout}
	defer g.cleanup()

	var report any
	complete := false
	source := "exercises"
	switch {
	case *solutions:
		source = "solutions"
	case *answers != "":
		source = *answers
	}
	if *list {
		r := listTasks(chapters)
		printReport(os.Stdout, r, *wide)
		report, complete = r, true
	} else if *mutants {
		r, err := g.gradeMutants(chapters, *jobs)
		if err != nil {
			fail(err)
		}
		printMutants(os.Stdout, r)
		report, complete = r, r.Rejected == r.Total
	} else if *audit {
		r, err := g.auditReport(chapters, source)
		if err != nil {
			fail(err)
		}
		if *against != "" {
			if r.ChangedGraders, err = changedGraders(source, g.root, *against); err != nil {
				fail(err)
			}
			r.Rejects += len(r.ChangedGraders)
		}
		printAudit(os.Stdout, r)
		report, complete = r, r.Rejects == 0
	} else {
		r, err := g.grade(chapters, source)
		if err != nil {
			fail(err)
		}
		printReport(os.Stdout, r, *wide)
		report, complete = r, r.Points == r.MaxPoints
	}
	if *jsonPath != "" {
		if err := writeJSON(*jsonPath, report); err != nil {
			fail(err)
		}
		fmt.Printf("report written to %s\n", *jsonPath)
	}
	if *strict && !complete {
		os.Exit(1)
	}
}

// parseInterspersed parses the flags wherever they are among the chapter
// arguments (scripts/grade 01 --json out.json), and returns the chapters.
func parseInterspersed() []string {
	var positional []string
	rest := os.Args[1:]
	for {
		if err := flag.CommandLine.Parse(rest); err != nil {
			os.Exit(2)
		}
		rest = flag.Args()
		if len(rest) == 0 {
			return positional
		}
		positional = append(positional, rest[0])
		rest = rest[1:]
	}
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "grade:", err)
	os.Exit(2)
}

func selectChapters(args []string) ([]grading.Chapter, error) {
	if len(args) == 0 {
		return grading.Chapters, nil
	}
	var out []grading.Chapter
	for _, a := range args {
		c, err := grading.FindChapter(strings.TrimSuffix(strings.TrimPrefix(a, "exercises/"), "/"))
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, nil
}

// repoRoot finds the repository root: the directory with go.work above the
// working directory.
func repoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.work")); err == nil {
			if _, err := os.Stat(filepath.Join(dir, "exercises")); err == nil {
				return dir, nil
			}
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("run me inside the flowbook repository (no go.work with an exercises/ directory above %s)", must(os.Getwd()))
		}
		dir = parent
	}
}

func must[T any](v T, _ error) T { return v }

func writeJSON(path string, v any) error {
	data, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	if dir := filepath.Dir(path); dir != "" {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return err
		}
	}
	return os.WriteFile(path, append(data, '\n'), 0o644)
}
