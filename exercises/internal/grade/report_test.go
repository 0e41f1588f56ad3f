package main

import (
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
