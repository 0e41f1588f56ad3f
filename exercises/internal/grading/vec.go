package grading

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/gomlx/gomlx/core/tensors"
)

// VecDiagnosis is a wrong vector, one value per entry, that a plausible
// mistake produces, with the hint to show when the learner's values match it
// entirely: the vector form of [Diagnosis].
type VecDiagnosis struct {
	Values []float64
	Hint   string
}

// VecMistake returns a [VecDiagnosis]: the values a known mistake produces.
func VecMistake(values []float64, hint string) VecDiagnosis { return VecDiagnosis{values, hint} }

// AllNear reports whether got and want have the same length and every entry
// of got is [Near] the one of want.
func AllNear(got, want []float64, tol float64) bool {
	if len(got) != len(want) {
		return false
	}
	for i := range got {
		if !Near(got[i], want[i], tol) {
			return false
		}
	}
	return true
}

// Short formats up to 6 values, "[1 2.5 -3 ...]", and says how many there
// are when there are more.
func Short(v []float64) string { return shortDigits(v, 6) }

// shortDigits is [Short] with the given number of significant digits.
func shortDigits(v []float64, digits int) string {
	parts := make([]string, 0, 7)
	for i, x := range v {
		if i == 6 {
			parts = append(parts, fmt.Sprintf("... (%d values)", len(v)))
			break
		}
		parts = append(parts, strconv.FormatFloat(x, 'g', digits, 64))
	}
	return "[" + strings.Join(parts, " ") + "]"
}

// Distinct formats want and got for a failure message with 6 significant
// digits, or more (up to 17, which tells any two float64 apart) when 6 would
// print two different values alike: a float32 rounding of 8 reads
// "8.0000001", not "8".
func Distinct(want, got float64) (wantText, gotText string) {
	digits := digitsToTell([]float64{want}, []float64{got})
	return strconv.FormatFloat(want, 'g', digits, 64), strconv.FormatFloat(got, 'g', digits, 64)
}

// ShortPair formats want and got like [Short], with one number of
// significant digits for both, enough that every pair of shown entries that
// differ reads differently.
func ShortPair(want, got []float64) (wantText, gotText string) {
	digits := digitsToTell(want[:min(len(want), 6)], got[:min(len(got), 6)])
	return shortDigits(want, digits), shortDigits(got, digits)
}

// digitsToTell returns the fewest significant digits, from 6 to 17, with
// which every pair want[i], got[i] of different values prints differently.
func digitsToTell(want, got []float64) int {
	digits := 6
	for i := range min(len(want), len(got)) {
		a, b := want[i], got[i]
		if a == b || math.IsNaN(a) || math.IsNaN(b) {
			continue
		}
		for digits < 17 && strconv.FormatFloat(a, 'g', digits, 64) == strconv.FormatFloat(b, 'g', digits, 64) {
			digits++
		}
	}
	return digits
}

// precisionNote returns a note for got when it misses want (by more than
// tol, which is tighter than float32 can give) only by a rounding-sized
// amount, at most 10⁻⁵ relative; "" otherwise.
func precisionNote(got, want, tol float64) string {
	if tol >= 1e-6 || math.IsNaN(want) || math.IsInf(want, 0) || math.IsNaN(got) || math.IsInf(got, 0) || !Near(got, want, 1e-5) {
		return ""
	}
	return "close, but right to about " + agreeingDigits(got, want) + " significant digits only: float32 arithmetic (or a float32 sum), " +
		"a constant rounded by hand, or a numerically unstable formula loses precision; compute in float64"
}

// vecPrecisionNote is [precisionNote] for vectors of equal length: every
// entry within 10⁻⁵ of want's, the worst one telling the digits.
func vecPrecisionNote(got, want []float64, tol float64) string {
	worst := -1
	worstErr := 0.0
	for i := range want {
		if precisionNote(got[i], want[i], tol) == "" && !Near(got[i], want[i], tol) {
			return ""
		}
		if err := math.Abs(got[i]-want[i]) / math.Max(1, math.Abs(want[i])); err >= worstErr {
			worst, worstErr = i, err
		}
	}
	if worst < 0 {
		return ""
	}
	return precisionNote(got[worst], want[worst], tol)
}

// agreeingDigits returns how many significant digits got and want share,
// relative to max(1, |want|), as text.
func agreeingDigits(got, want float64) string {
	rel := math.Abs(got-want) / math.Max(1, math.Abs(want))
	return strconv.Itoa(int(math.Max(1, math.Floor(-math.Log10(rel)))))
}

// joinHints joins two hints with "; ", either of which may be "".
func joinHints(a, b string) string {
	switch {
	case a == "":
		return b
	case b == "":
		return a
	}
	return a + "; " + b
}

// firstDifference returns the index of the first entry of got that is not
// [Near] want's, or -1.
func firstDifference(got, want []float64, tol float64) int {
	for i := range min(len(got), len(want)) {
		if !Near(got[i], want[i], tol) {
			return i
		}
	}
	return -1
}

// CloseVec checks got against want entry by entry (tolerance relative to
// max(1, |want|), as [Near]). On a mismatch the failure shows the first
// values of both vectors ([Short]) with the hint of the first mistake that
// got matches entirely, else a note on non-finite values if got has any,
// else hint. Vectors of different lengths fail with hint. It returns
// whether the check passed.
func (c *C) CloseVec(what string, got, want []float64, tol float64, hint string, mistakes ...VecDiagnosis) bool {
	if len(got) != len(want) {
		c.Errorf("%s", Explain(what, fmt.Sprintf("%d values", len(want)), fmt.Sprintf("%d values", len(got)), hint))
		return false
	}
	if AllNear(got, want, tol) {
		return true
	}
	chosen := hint
	for _, v := range got {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			chosen = "some values are not finite: look for the log of a negative number or of 0, a division by 0, or exp of a large number"
			break
		}
	}
	matched := false
	for _, m := range mistakes {
		if AllNear(got, m.Values, tol) {
			chosen, matched = m.Hint, true
			break
		}
	}
	if note := vecPrecisionNote(got, want, tol); !matched && note != "" {
		chosen = joinHints(note, hint)
	}
	wantText, gotText := ShortPair(want, got)
	if bad := firstDifference(got, want, tol); bad >= 6 {
		// The shown values agree: say where the vectors part.
		w, g := Distinct(want[bad], got[bad])
		gotText += fmt.Sprintf(" (value %d is the first that differs: expected %s, got %s)", bad, w, g)
	}
	c.Errorf("%s", Explain(what, wantText, gotText, chosen))
	return false
}

// CloseEach checks got against want entry by entry like [C.CloseVec], but a
// failure names the first entry that differs ("what (value i of n)") and
// shows that entry alone: for long vectors whose entries are each worth
// reading. The hint is the first mistake's that got matches entirely, else,
// for a non-finite entry, [Diagnose]'s note on it, else hint. Vectors of
// different lengths fail with a hint about the output's shape.
func (c *C) CloseEach(what string, got, want []float64, tol float64, hint string, mistakes ...VecDiagnosis) bool {
	if len(got) != len(want) {
		c.Errorf("%s", Explain(what, fmt.Sprintf("%d values", len(want)), fmt.Sprintf("%d values", len(got)),
			"the output has the wrong number of values: check its shape"))
		return false
	}
	bad := -1
	for i := range want {
		if !Near(got[i], want[i], tol) {
			bad = i
			break
		}
	}
	if bad < 0 {
		return true
	}
	matched := false
	for _, m := range mistakes {
		if AllNear(got, m.Values, tol) {
			hint, matched = m.Hint, true
			break
		}
	}
	if !matched && (math.IsNaN(got[bad]) || math.IsInf(got[bad], 0)) {
		hint = Diagnose(got[bad], tol, hint)
	} else if note := vecPrecisionNote(got, want, tol); !matched && note != "" {
		hint = joinHints(note, hint)
	}
	where := what
	if len(want) > 1 {
		where = fmt.Sprintf("%s (value %d of %d)", what, bad, len(want))
	}
	wantText, gotText := Distinct(want[bad], got[bad])
	c.Errorf("%s", Explain(where, wantText, gotText, hint))
	return false
}

// LogDetShapeHint explains the shape of a log-det, for [C.CheckDims].
const LogDetShapeHint = "a log-det has one value per example, shape [batchSize]: never sum it over the batch; " +
	"broadcast a value that is the same for every example with BroadcastToDims(value, batchSize)"

// CheckDims ends the check unless t has exactly the dimensions want; the
// failure reads "checking: the shape of " + what.
func (c *C) CheckDims(what string, t *tensors.Tensor, hint string, want ...int) {
	got := t.Shape().Dimensions
	if fmt.Sprint(got) != fmt.Sprint(want) {
		c.Fatalf("%s", Explain("the shape of "+what, fmt.Sprint(want), fmt.Sprint(got), hint))
	}
}

// CheckShape ends the check unless t has exactly the dimensions want; what is
// the whole description ("the shape of y"). A log-det (what mentions
// "log-det") that should have one value per example but is a scalar gets a
// hint about summing over the batch instead of hint.
func (c *C) CheckShape(what string, t *tensors.Tensor, want []int, hint string) {
	got := t.Shape().Dimensions
	if !slices.Equal(got, want) {
		if len(want) == 1 && len(got) == 0 && strings.Contains(what, "log-det") {
			hint = "one value per example: the log-det was summed over the batch too; sum over every axis but the first"
		}
		c.Fatalf("%s", Explain(what, fmt.Sprint(want), fmt.Sprint(got), hint))
	}
}
