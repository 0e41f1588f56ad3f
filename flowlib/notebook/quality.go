package notebook

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/flowbook/flowbook/flowlib/quality"
)

// DigitClassifier loads the workbook's digit classifier (quality.DefaultDir,
// models/digit-classifier, under the repository root $FLOWBOOK_ROOT), for
// quality.Measure. If it is missing it stops the cell, as [Check] does, with
// the command that trains it.
func DigitClassifier() *quality.Classifier {
	c, err := quality.LoadClassifier(filepath.Join(os.Getenv("FLOWBOOK_ROOT"), quality.DefaultDir))
	Check(err)
	return c
}

// QualityTable returns the reports as a Markdown table, one report a row
// under quality.Columns, the same table that `flowbook quality` prints:
//
//	ref := notebook.Must(quality.Reference(be, classifier, test))
//	r := notebook.Must(quality.Measure(be, classifier, samples))
//	r.Label = "T = 0.7"
//	notebook.QualityTable(r, ref).Show()
//
// A report without a Label gets "set i" (counting from 1) as its name.
func QualityTable(reports ...*quality.Report) *Table {
	t := NewTable(quality.Columns...)
	for i, r := range reports {
		cells := r.Cells()
		if cells[0] == "" {
			cells[0] = fmt.Sprintf("set %d", i+1)
		}
		row := make([]any, len(cells))
		for j, c := range cells {
			row[j] = c
		}
		t.Row(row...)
	}
	return t
}
