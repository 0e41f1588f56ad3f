// Package solutions_test tests the exercise graders themselves: every grader
// passes on the reference solutions, fails on the untouched stubs (every
// task, with a message, without crashing), and rejects every mutant (a
// plausible wrong answer kept in testdata/mutants) with a message that names
// the mistake. It runs scripts/grade's program, so it also tests the grade
// table and the classroom workflow it generates.
//
//	go test ./solutions/              all of it (about 6 minutes on 2 cores)
//	go test -short ./solutions/       without the mutants
package solutions_test

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// report is the part of scripts/grade --json that the tests read.
type report struct {
	Points    int `json:"points"`
	MaxPoints int `json:"max_points"`
	Chapters  []struct {
		Dir   string `json:"dir"`
		Tasks []struct {
			Test      string `json:"test"`
			Status    string `json:"status"`
			Hint      string `json:"hint"`
			MaxPoints int    `json:"max_points"`
			Output    string `json:"output"`
		} `json:"tasks"`
	} `json:"chapters"`
}

type mutantReport struct {
	Total    int `json:"total"`
	Rejected int `json:"rejected"`
	Mutants  []struct {
		Chapter  string   `json:"chapter"`
		Name     string   `json:"name"`
		Rejected bool     `json:"rejected"`
		FailedBy []string `json:"failed_by"`
		Hint     string   `json:"hint"`
		Reason   string   `json:"reason"`
	} `json:"mutants"`
}

// gradeEnv is the environment the graders run in: without SIMD, as
// scripts/grade runs them and as a learner's plain `go test` does.
func gradeEnv() []string {
	return append(os.Environ(), "GOEXPERIMENT=")
}

func repoRoot(t *testing.T) string {
	t.Helper()
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	return root
}

// grade runs the grade program with args and decodes its JSON report into v.
func grade(t *testing.T, v any, args ...string) string {
	t.Helper()
	jsonPath := filepath.Join(t.TempDir(), "report.json")
	cmd := exec.Command("go", append([]string{"run", "./exercises/internal/grade", "--json", jsonPath}, args...)...)
	cmd.Dir = repoRoot(t)
	cmd.Env = gradeEnv()
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		t.Fatalf("scripts/grade %s: %v\n%s", strings.Join(args, " "), err, out.String())
	}
	data, err := os.ReadFile(jsonPath)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, v); err != nil {
		t.Fatal(err)
	}
	return out.String()
}

func TestSolutionsPassEveryTask(t *testing.T) {
	var r report
	table := grade(t, &r, "--solutions")
	t.Log(table)
	tasks := 0
	for _, c := range r.Chapters {
		for _, task := range c.Tasks {
			tasks++
			if task.Status != "pass" {
				t.Errorf("%s %s on the solution: %s (%s)\n%s", c.Dir, task.Test, task.Status, task.Hint, task.Output)
			}
		}
	}
	if len(r.Chapters) != 9 || tasks == 0 || r.Points != r.MaxPoints {
		t.Errorf("solutions: %d chapters, %d tasks, %d of %d points; want 9 chapters with full points", len(r.Chapters), tasks, r.Points, r.MaxPoints)
	}
}

func TestStubsFailEveryTask(t *testing.T) {
	root := repoRoot(t)
	if edited := editedExercises(root); edited != "" {
		if os.Getenv("FLOWBOOK_REQUIRE_STUBS") == "1" {
			t.Fatalf("the exercises are not the committed stubs:\n%s", edited)
		}
		t.Skipf("exercises/ has been edited (answers in progress?), so the stubs cannot be graded:\n%s", edited)
	}
	var r report
	t.Log(grade(t, &r))
	for _, c := range r.Chapters {
		for _, task := range c.Tasks {
			switch {
			case task.Status != "fail":
				t.Errorf("%s %s on the stub: status %q, want fail (a stub must compile, run and fail its grader; not pass, crash or time out)", c.Dir, task.Test, task.Status)
			case task.Hint == "" || !strings.Contains(task.Output, "checking:"):
				t.Errorf("%s %s on the stub: the failure has no checking/hint message:\n%s", c.Dir, task.Test, task.Output)
			}
		}
	}
	if r.Points != 0 || r.MaxPoints == 0 {
		t.Errorf("stubs scored %d of %d points, want 0", r.Points, r.MaxPoints)
	}
}

// editedExercises returns git's list of changes under exercises/, or "" when
// they are as committed (or git is not available).
func editedExercises(root string) string {
	cmd := exec.Command("git", "status", "--porcelain", "--", "exercises")
	cmd.Dir = root
	out, err := cmd.Output()
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(out))
}

func TestMutantsRejected(t *testing.T) {
	if testing.Short() {
		t.Skip("the mutants take minutes: run without -short")
	}
	var r mutantReport
	grade(t, &r, "--mutants")
	perChapter := map[string][2]int{}
	for _, m := range r.Mutants {
		counts := perChapter[m.Chapter]
		counts[1]++
		if m.Rejected {
			counts[0]++
		} else {
			t.Errorf("mutant %s / %q was not rejected: %s", m.Chapter, m.Name, m.Reason)
		}
		perChapter[m.Chapter] = counts
	}
	chapters := make([]string, 0, len(perChapter))
	for c := range perChapter {
		chapters = append(chapters, c)
	}
	slices.Sort(chapters)
	for _, c := range chapters {
		t.Logf("%s: %d of %d mutants rejected", c, perChapter[c][0], perChapter[c][1])
		if perChapter[c][1] < 5 {
			t.Errorf("%s has %d mutants; keep at least 5 plausible wrong answers per chapter", c, perChapter[c][1])
		}
	}
	t.Logf("rejection rate: %d of %d (%.0f%%)", r.Rejected, r.Total, 100*float64(r.Rejected)/float64(max(r.Total, 1)))
	if len(perChapter) != 9 {
		t.Errorf("mutants for %d chapters, want all 9", len(perChapter))
	}
}

var testFunc = regexp.MustCompile(`(?m)^func (Test\w+)\(t \*testing\.T\)`)

// TestEveryTestIsGraded checks that the manifest and the graders agree: each
// top-level test of an exercise is a task with points, and the other way round.
func TestEveryTestIsGraded(t *testing.T) {
	root := repoRoot(t)
	var r report
	grade(t, &r, "--solutions", "--list")
	listed := map[string]bool{}
	for _, c := range r.Chapters {
		for _, task := range c.Tasks {
			listed[c.Dir+"/"+task.Test] = true
			if task.MaxPoints <= 0 {
				t.Errorf("%s %s has %d points", c.Dir, task.Test, task.MaxPoints)
			}
		}
	}
	files, _ := filepath.Glob(filepath.Join(root, "exercises", "[0-9][0-9]-*", "*_test.go"))
	found := map[string]bool{}
	for _, f := range files {
		src, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		dir := filepath.Base(filepath.Dir(f))
		for _, m := range testFunc.FindAllStringSubmatch(string(src), -1) {
			found[dir+"/"+m[1]] = true
			if !listed[dir+"/"+m[1]] {
				t.Errorf("exercises/%s: %s is not in the manifest (exercises/internal/grading/chNN.go), so it earns no points", dir, m[1])
			}
		}
	}
	for name := range listed {
		if !found[name] {
			t.Errorf("the manifest lists %s, but there is no such test", name)
		}
	}
}

func TestClassroomWorkflowIsGenerated(t *testing.T) {
	root := repoRoot(t)
	cmd := exec.Command("go", "run", "./exercises/internal/grade", "--classroom")
	cmd.Dir = root
	want, err := cmd.Output()
	if err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(filepath.Join(root, ".github", "workflows", "classroom.yml"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf(".github/workflows/classroom.yml is not what the manifest gives: regenerate it with\n  scripts/grade --classroom > .github/workflows/classroom.yml")
	}
}
