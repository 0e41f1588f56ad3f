package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"github.com/flowbook/flowbook/exercises/internal/grading"
)

// Mutant is a plausible wrong answer: a solution file with one edit. The
// chapter's graders must reject it, and their output must contain Expect (the
// hint that names the mistake), compared without case.
type Mutant struct {
	Name   string `json:"name"`
	File   string `json:"file"`
	Old    string `json:"old"`
	New    string `json:"new"`
	Expect string `json:"expect"`
}

// MutantResult is the verdict on one mutant.
type MutantResult struct {
	Chapter  string   `json:"chapter"`
	Name     string   `json:"name"`
	Rejected bool     `json:"rejected"`         // some task failed and the output names the mistake
	FailedBy []string `json:"failed_by"`        // the tasks that failed
	Hint     string   `json:"hint,omitempty"`   // the first failing task's hint
	Reason   string   `json:"reason,omitempty"` // why the mutant counts as not rejected
}

// MutantReport is what --mutants prints and writes.
type MutantReport struct {
	Total    int            `json:"total"`
	Rejected int            `json:"rejected"`
	Mutants  []MutantResult `json:"mutants"`
}

// gradeMutants grades each mutant of each chapter: the solution with the
// mutant's edit applied, overlaid on the exercise. Mutants are graded jobs at
// a time (each builds its own test binary, which is most of the cost), and
// reported in their files' order.
func (g *grader) gradeMutants(chapters []grading.Chapter, jobs int) (*MutantReport, error) {
	type job struct {
		chapter   grading.Chapter
		mutant    Mutant
		solutions map[string]string
	}
	var all []job
	for _, c := range chapters {
		mutants, err := loadMutants(filepath.Join(g.root, "solutions", "testdata", "mutants", c.Dir+".json"))
		if err != nil {
			return nil, err
		}
		solutions, err := g.solutionFiles(c)
		if err != nil {
			return nil, err
		}
		for _, m := range mutants {
			all = append(all, job{c, m, solutions})
		}
	}
	if _, err := g.tempDir(); err != nil { // created once, before the workers share it
		return nil, err
	}
	results := make([]*MutantResult, len(all))
	errs := make([]error, len(all))
	next := make(chan int)
	var wg sync.WaitGroup
	var printMu sync.Mutex
	for range max(jobs, 1) {
		wg.Go(func() {
			for i := range next {
				j := all[i]
				results[i], errs[i] = g.gradeMutant(j.chapter, j.mutant, j.solutions, i)
				if errs[i] == nil {
					printMu.Lock()
					fmt.Fprintf(g.out, "  %s / %s: %s\n", j.chapter.Dir, j.mutant.Name, verdict(results[i]))
					printMu.Unlock()
				}
			}
		})
	}
	for i := range all {
		next <- i
	}
	close(next)
	wg.Wait()
	r := &MutantReport{}
	for i, res := range results {
		if errs[i] != nil {
			return nil, fmt.Errorf("mutant %q of %s: %w", all[i].mutant.Name, all[i].chapter.Dir, errs[i])
		}
		r.Mutants = append(r.Mutants, *res)
		r.Total++
		if res.Rejected {
			r.Rejected++
		}
	}
	return r, nil
}

func verdict(m *MutantResult) string {
	if m.Rejected {
		return "rejected by " + strings.Join(m.FailedBy, ", ")
	}
	return "NOT REJECTED: " + m.Reason
}

// tasksForFile returns the chapter's tasks with those graded in file's test
// file (coupling.go: coupling_test.go) first, each group in manifest order.
func tasksForFile(root string, c grading.Chapter, file string) []grading.Task {
	src, _ := os.ReadFile(filepath.Join(root, "exercises", c.Dir, strings.TrimSuffix(file, ".go")+"_test.go"))
	var first, rest []grading.Task
	for _, t := range c.Tasks {
		if strings.Contains(string(src), "func "+t.Test+"(") {
			first = append(first, t)
		} else {
			rest = append(rest, t)
		}
	}
	return append(first, rest...)
}

func loadMutants(path string) ([]Mutant, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading the chapter's mutants: %w", err)
	}
	var mutants []Mutant
	if err := json.Unmarshal(data, &mutants); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return mutants, nil
}

func (g *grader) gradeMutant(c grading.Chapter, m Mutant, solutions map[string]string, index int) (*MutantResult, error) {
	res := &MutantResult{Chapter: c.Dir, Name: m.Name}
	exFile := filepath.Join(g.root, "exercises", c.Dir, m.File)
	solFile, ok := solutions[exFile]
	if !ok {
		return nil, fmt.Errorf("file %q is not a file of the chapter", m.File)
	}
	src, err := os.ReadFile(solFile)
	if err != nil {
		return nil, err
	}
	if n := strings.Count(string(src), m.Old); n != 1 {
		return nil, fmt.Errorf("the text to replace occurs %d times in solutions/%s/%s (it must occur once): %q", n, c.Dir, m.File, m.Old)
	}
	tmp, err := g.tempDir()
	if err != nil {
		return nil, err
	}
	mutated := filepath.Join(tmp, fmt.Sprintf("mutant-%03d-%s", index, m.File))
	if err := os.WriteFile(mutated, []byte(strings.Replace(string(src), m.Old, m.New, 1)), 0o644); err != nil {
		return nil, err
	}
	replace := map[string]string{}
	for k, v := range solutions {
		replace[k] = v
	}
	replace[exFile] = mutated
	binary, buildOutput, err := g.build(c, replace, fmt.Sprintf("mutant-%03d", index))
	if err != nil {
		return nil, err
	}
	if binary == "" {
		res.Reason = "it does not compile (a mutant must be a wrong answer that builds): " + firstLine(buildOutput)
		return res, nil
	}
	// The tasks whose graders sit in the mutated file's test file run first,
	// and grading stops at the first failure that names the mistake: most
	// mutants are then judged without the chapter's training tasks.
	findings, err := g.audit(c, replace)
	if err != nil {
		return nil, err
	}
	var outputs []string
	for _, t := range tasksForFile(g.root, c, m.File) {
		tr := TaskResult{Test: t.Test}
		g.runTask(c, t, binary, findings, &tr)
		if tr.Status == "pass" {
			continue
		}
		res.FailedBy = append(res.FailedBy, t.Test)
		outputs = append(outputs, tr.Output+"\n"+tr.Hint)
		if res.Hint == "" {
			res.Hint = tr.Hint
		}
		if strings.Contains(strings.ToLower(tr.Output), strings.ToLower(m.Expect)) {
			break
		}
	}
	switch {
	case len(res.FailedBy) == 0:
		res.Reason = "every task passed"
	case !strings.Contains(strings.ToLower(strings.Join(outputs, "\n")), strings.ToLower(m.Expect)):
		res.Reason = fmt.Sprintf("rejected, but no failure message mentions %q (first hint: %s)", m.Expect, res.Hint)
	default:
		res.Rejected = true
	}
	return res, nil
}
