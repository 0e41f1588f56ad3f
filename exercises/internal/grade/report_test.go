package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/flowbook/flowbook/exercises/internal/grading"
)

func TestStepID(t *testing.T) {
	c := grading.Chapter{Dir: "05-realnvp-2d"}
	cases := map[string]string{
		"TestVAEELBO":           "ch05-vaeelbo",
		"TestNICETrains":        "ch05-nice-trains",
		"TestLeakyReLUBijector": "ch05-leaky-re-lu-bijector",
		"TestLogAbsDet2x2":      "ch05-log-abs-det2x2",
		"TestConv1x1":           "ch05-conv1x1",
	}
	for test, want := range cases {
		if got := stepID(c, grading.Task{Test: test}); got != want {
			t.Errorf("stepID(%s) = %q, want %q", test, got, want)
		}
	}
}

func TestClassroomWorkflowHasEveryTask(t *testing.T) {
	w := classroomWorkflow()
	total := 0
	for _, c := range grading.Chapters {
		for _, task := range c.Tasks {
			id := stepID(c, task)
			if strings.Count(w, "id: "+id+"\n") != 1 {
				t.Errorf("step %s appears %d times", id, strings.Count(w, "id: "+id+"\n"))
			}
			if !strings.Contains(w, "-run '^"+task.Test+"$' ./exercises/"+c.Dir+"/") {
				t.Errorf("no step runs %s in %s", task.Test, c.Dir)
			}
			total++
		}
	}
	if got := strings.Count(w, "uses: classroom-resources/autograding-command-grader@v1"); got != total {
		t.Errorf("%d grader steps, want one per task (%d)", got, total)
	}
}

func TestShorten(t *testing.T) {
	if got := shorten("short", 10); got != "short" {
		t.Errorf("shorten kept %q", got)
	}
	if got := shorten("a sentence that is far too long for the table", 20); len([]rune(got)) > 20 || !strings.HasSuffix(got, "…") {
		t.Errorf("shorten gave %q", got)
	}
}

// Bad input to the grade tool gets errors that say what to do.
func TestBadInput(t *testing.T) {
	if _, err := selectChapters([]string{"99"}); err == nil || !strings.Contains(err.Error(), "01-change-of-variables") {
		t.Errorf("an unknown chapter: error %v, want one that lists the chapters", err)
	}
	if got, err := selectChapters([]string{"exercises/04-coupling-layers/"}); err != nil || len(got) != 1 || got[0].Dir != "04-coupling-layers" {
		t.Errorf("a chapter given as a path: %v, %v", got, err)
	}
	dir := t.TempDir()
	bad := dir + "/bad.json"
	if err := os.WriteFile(bad, []byte(`[{"name": "x",`), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := loadMutants(bad); err == nil || !strings.Contains(err.Error(), bad) {
		t.Errorf("malformed mutants file: error %v, want one naming the file", err)
	}
	if _, err := loadMutants(dir + "/missing.json"); err == nil {
		t.Error("a missing mutants file gave no error")
	}
}

// --against lists the graders' files a student changed, not their answers.
func TestChangedGraders(t *testing.T) {
	repo := t.TempDir()
	git := func(args ...string) {
		t.Helper()
		cmd := exec.Command("git", append([]string{"-C", repo, "-c", "user.name=t", "-c", "user.email=t@t"}, args...)...)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("git %v: %v\n%s", args, err, out)
		}
	}
	write := func(name, content string) {
		t.Helper()
		path := filepath.Join(repo, name)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	git("init", "-q")
	write("exercises/01-x/answer.go", "package x\n")
	write("exercises/01-x/answer_test.go", "package x\n")
	write("go.work", "go 1.27\n")
	git("add", ".")
	git("commit", "-q", "-m", "template")
	write("exercises/01-x/answer.go", "package x\n\nfunc F() {}\n")
	write("exercises/01-x/answer_test.go", "package x\n\n// weakened\n")
	changed, err := changedGraders(filepath.Join(repo, "exercises"), "", "HEAD")
	if err != nil {
		t.Fatal(err)
	}
	if len(changed) != 1 || changed[0] != "exercises/01-x/answer_test.go" {
		t.Errorf("changed graders %v, want only exercises/01-x/answer_test.go", changed)
	}
}

// The default grade table fits 80 columns; --wide keeps one row per task.
func TestNarrowTable(t *testing.T) {
	r := &Report{Source: "exercises/", Points: 2, MaxPoints: 5, Chapters: []ChapterResult{{
		Dir: "01-change-of-variables", Points: 2, MaxPoints: 5, Tasks: []TaskResult{
			{Test: "TestA", Title: "A task", Points: 2, MaxPoints: 2, Status: "pass"},
			{Test: "TestB", Title: "A task whose title is long enough to need most of the width of the line", MaxPoints: 3, Status: "fail",
				Hint: strings.Repeat("a hint with many words that has to be wrapped ", 5)},
		}}}}
	var narrow, wide strings.Builder
	printReport(&narrow, r, false)
	printReport(&wide, r, true)
	for _, line := range strings.Split(narrow.String(), "\n") {
		if n := len([]rune(line)); n > narrowWidth {
			t.Errorf("a line of %d columns: %q", n, line)
		}
	}
	for _, want := range []string{"TestB: a hint", "2/5", "FAIL"} {
		if !strings.Contains(narrow.String(), want) {
			t.Errorf("the narrow table lacks %q:\n%s", want, narrow.String())
		}
	}
	if !strings.Contains(wide.String(), "TestB") || strings.Count(wide.String(), "\n") >= strings.Count(narrow.String(), "\n") {
		t.Errorf("the wide table is not one row per task:\n%s", wide.String())
	}
}
