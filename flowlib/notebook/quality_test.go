package notebook

import (
	"math"
	"path/filepath"
	"strings"
	"testing"

	"github.com/flowbook/flowbook/flowlib/quality"
)

func TestQualityTable(t *testing.T) {
	sample := &quality.Report{Label: "T = 0.7", N: 4, Confident: 0.5, ConfidentSE: 0.25, Classes: [10]int{2},
		InkSE: math.NaN(), SaturatedSE: math.NaN(), MeanMaxSE: math.NaN()}
	unnamed := &quality.Report{N: 1}
	md := QualityTable(sample, unnamed).Markdown()
	lines := strings.Split(strings.TrimSuffix(md, "\n"), "\n")
	if len(lines) != 4 {
		t.Fatalf("want a header, a rule and 2 rows, got:\n%s", md)
	}
	if want := "| " + strings.Join(quality.Columns, " | ") + " |"; lines[0] != want {
		t.Errorf("header %q, want %q", lines[0], want)
	}
	if want := "| T = 0.7 | 4 | 0.500 ± 0.250 | 100 0 0 0 0 0 0 0 0 0 | 0.000 ± 0.000 | 0.000 |"; !strings.HasPrefix(lines[2], want) {
		t.Errorf("row %q, want it to start with %q", lines[2], want)
	}
	if !strings.HasPrefix(lines[3], "| set 2 | 1 |") {
		t.Errorf("an unnamed report's row %q should be named \"set 2\"", lines[3])
	}
	for _, line := range lines {
		if n := strings.Count(line, "|"); n != len(quality.Columns)+1 {
			t.Errorf("row %q has %d bars, want %d", line, n, len(quality.Columns)+1)
		}
	}
}

func TestDigitClassifierLoadsTheWorkbooksCopy(t *testing.T) {
	root, _ := filepath.Abs("../..")
	t.Setenv("FLOWBOOK_ROOT", root)
	if c := DigitClassifier(); c.NumWeights() == 0 {
		t.Errorf("the workbook's classifier has no weights")
	}
}

func TestDigitClassifierSaysHowToTrainIt(t *testing.T) {
	t.Setenv("FLOWBOOK_ROOT", t.TempDir())
	defer func() {
		err, _ := recover().(error)
		if err == nil || !strings.Contains(err.Error(), quality.TrainCommand) {
			t.Errorf("DigitClassifier() without the files: recovered %v, want an error naming %q", err, quality.TrainCommand)
		}
	}()
	DigitClassifier()
}
