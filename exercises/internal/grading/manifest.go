package grading

import (
	"fmt"
	"time"
)

// Chapter is one exercise package: the directory under exercises/ (and under
// solutions/, which mirrors it) and its tasks in the order they are graded.
type Chapter struct {
	Dir   string // e.g. "01-change-of-variables"
	Title string // the notebook's title
	Tasks []Task
}

// Task is one graded task: a test function in the chapter's package.
type Task struct {
	Test   string        // the test function, e.g. "TestAffineLogDet"; unique across chapters
	Title  string        // what the learner implements, for the grade table
	Points int           // awarded when the test passes
	Limit  time.Duration // the time the check may take; 0 means DefaultLimit

	// Answer names the package-level functions and types the learner writes
	// for this task, and Forbidden the library's own versions of them
	// ("import/path.Name"): the audit rejects the task when the answer's code
	// (the declarations in Answer and whatever in the package they use)
	// refers to one of them.
	Answer    []string
	Forbidden []string
}

// DefaultLimit is how long a task's check may run before it fails as a
// probable endless loop.
const DefaultLimit = 60 * time.Second

// TimeLimit returns the task's time limit: Limit, or DefaultLimit when unset.
func (t Task) TimeLimit() time.Duration {
	if t.Limit > 0 {
		return t.Limit
	}
	return DefaultLimit
}

// Points returns the chapter's total points.
func (c Chapter) Points() int {
	total := 0
	for _, t := range c.Tasks {
		total += t.Points
	}
	return total
}

// Chapters lists every exercise chapter, in notebook order. Each chapter's
// tasks are declared in its own file, chNN.go.
var Chapters = []Chapter{ch01, ch02, ch03, ch04, ch05, ch06, ch07, ch08, ch09}

// TotalPoints returns the points of all chapters together.
func TotalPoints() int {
	total := 0
	for _, c := range Chapters {
		total += c.Points()
	}
	return total
}

// FindTask returns the task graded by the test function named test, and its
// chapter.
func FindTask(test string) (Task, Chapter, error) {
	for _, c := range Chapters {
		for _, t := range c.Tasks {
			if t.Test == test {
				return t, c, nil
			}
		}
	}
	return Task{}, Chapter{}, fmt.Errorf("grading: test %s is not listed in exercises/internal/grading (add it to its chapter's chNN.go with its points)", test)
}

// FindChapter returns the chapter whose directory is dir, or whose number is
// dir ("03" finds "03-invertibility-nice").
func FindChapter(dir string) (Chapter, error) {
	for _, c := range Chapters {
		if c.Dir == dir || (len(dir) == 2 && len(c.Dir) > 2 && c.Dir[:2] == dir) {
			return c, nil
		}
	}
	names := make([]string, len(Chapters))
	for i, c := range Chapters {
		names[i] = c.Dir
	}
	return Chapter{}, fmt.Errorf("no exercise chapter %q: the chapters are %v (or their numbers, 01 to %02d)", dir, names, len(Chapters))
}
