package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"

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
// mutant's edit applied, overlaid on the exercise.
func (g *grader) gradeMutants(chapters []grading.Chapter) (*MutantReport, error) {
	r := &MutantReport{}
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
			res, err := g.gradeMutant(c, m, solutions)
			if err != nil {
				return nil, fmt.Errorf("mutant %q of %s: %w", m.Name, c.Dir, err)
			}
			r.Mutants = append(r.Mutants, *res)
			r.Total++
			if res.Rejected {
				r.Rejected++
			}
			fmt.Fprintf(g.out, "  %s / %s: %s\n", c.Dir, m.Name, verdict(res))
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

func (g *grader) gradeMutant(c grading.Chapter, m Mutant, solutions map[string]string) (*MutantResult, error) {
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
	mutated := filepath.Join(tmp, "mutant-"+c.Dir+"-"+m.File)
	if err := os.WriteFile(mutated, []byte(strings.Replace(string(src), m.Old, m.New, 1)), 0o644); err != nil {
		return nil, err
	}
	replace := map[string]string{}
	for k, v := range solutions {
		replace[k] = v
	}
	replace[exFile] = mutated
	cr, err := g.gradeChapter(c, replace)
	if err != nil {
		return nil, err
	}
	var outputs []string
	for _, t := range cr.Tasks {
		if t.Status == "compile-error" {
			res.Reason = "it does not compile (a mutant must be a wrong answer that builds): " + t.Hint
			return res, nil
		}
		if t.Status != "pass" {
			res.FailedBy = append(res.FailedBy, t.Test)
			outputs = append(outputs, t.Output)
			if res.Hint == "" {
				res.Hint = t.Hint
			}
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
