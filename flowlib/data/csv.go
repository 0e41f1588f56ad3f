package data

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"strconv"
	"strings"
)

// maxCSVLine is the longest line ReadCSV accepts. bufio.Scanner's default
// (64 KiB) is too small for wide data: 10,000 columns of "-0.123456" are
// about 100 KB.
const maxCSVLine = 16 << 20

// LoadCSV reads N×D numeric data from the CSV file at path, one example per
// line. See ReadCSV for the format and the checks made; wantDim > 0 also
// requires exactly wantDim columns, and wantDim ≤ 0 accepts any width.
// Errors name the file, and the line and column where that makes sense.
func LoadCSV(path string, wantDim int) (*Samples, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("data: cannot read CSV file: %w; check the path (a relative path starts from the working directory)", err)
	}
	defer f.Close() // read-only, so a Close error cannot lose data
	return ReadCSV(f, path, wantDim)
}

// MaxAbsValue is the largest magnitude ReadCSV accepts in a field: 1e6.
//
// Flows compute in float32, whose largest value is about 3.4e38, and they
// square values after scaling them: the Gaussian base's log-density adds
// -z²/2, and ActNorm's initialisation takes a variance. Each affine coupling
// may scale a coordinate by up to e³ (flowlib.DefaultScaleBound), so the
// eight of flowbook's default RealNVP by up to e²⁴ ≈ 2.6e10; a value of 1e6
// then becomes at most 2.6e16, whose square, 7e32, still leaves a factor of
// 1e5 for the sums over a batch and the coordinates. Beyond
// the bound a single value can turn the loss into +Inf, or an evaluation
// into -Inf, far from the row that caused it. Data on such scales should be
// rescaled (standardised) first, which flows fit better anyway.
const MaxAbsValue = 1e6

// maxAbsText is MaxAbsValue as messages write it: "1e6" rather than %g's "1e+06".
var maxAbsText = strings.Replace(strconv.FormatFloat(MaxAbsValue, 'g', -1, 64), "e+0", "e", 1)

// ReadCSV is LoadCSV reading from r; name identifies the input in error
// messages (usually a file name).
//
// The format is deliberately simple, covering what numeric exports produce:
// one example per line; blank lines skipped; and an optional header row,
// recognised when none of the fields of the first non-blank line is a
// number, which is skipped. Quoted fields are not supported.
//
// The first non-blank line decides the separator: a comma if it holds one,
// else a tab if it holds one, else runs of spaces (as numpy.savetxt writes
// by default); spaces around fields are ignored. Deciding before looking for
// a header keeps a space-separated first row of numbers from being read as
// one non-numeric field, and so from being dropped as a header. Semicolons
// (spreadsheets with decimal commas) are rejected with a message that says
// so, rather than misread.
//
// Every data row must have as many fields as the first one (and as the
// header, if any), and every field must be a finite number of magnitude at
// most MaxAbsValue. NaN and ±Inf are rejected because a single non-finite
// value turns every loss and gradient of a flow into NaN, and larger values
// because they overflow float32 inside the flow (see MaxAbsValue): both are
// better caught here, with their line and column, than discovered after a
// failed training run.
func ReadCSV(r io.Reader, name string, wantDim int) (*Samples, error) {
	if name == "" {
		name = "<input>"
	}
	fail := func(format string, args ...any) (*Samples, error) {
		return nil, fmt.Errorf("data: %s: "+format, append([]any{name}, args...)...)
	}

	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), maxCSVLine)
	var (
		s          = &Samples{Dim: -1} // Dim is set by the first data row
		lineNo     int
		sep        separator // decided by the first non-blank line, sepLine
		sepLine    int
		sawContent bool     // whether a non-blank line was seen yet
		header     []string // the header's fields, if there is one
		headerLine int
		firstLine  int // line of the first data row
	)
	for sc.Scan() {
		lineNo++
		line := sc.Text()
		if lineNo == 1 {
			line = strings.TrimPrefix(line, "\ufeff") // byte-order mark some editors write
		}
		if strings.TrimSpace(line) == "" {
			continue
		}
		first := !sawContent
		if first {
			sawContent, sepLine = true, lineNo
			sep = detectSeparator(line)
			if sep == semicolons {
				return fail("line %d is separated by semicolons; separate values by commas, tabs or spaces, "+
					"with a point as the decimal mark (1.5, not 1,5)", lineNo)
			}
		}
		fields := sep.split(line)
		if first && isHeader(fields) {
			header, headerLine = fields, lineNo
			continue
		}

		if s.Dim < 0 {
			s.Dim, firstLine = len(fields), lineNo
			if header != nil && len(header) != s.Dim {
				return fail("the header (line %d) has %d columns but the first data row (line %d) has %d fields; "+
					"give every column one name", headerLine, len(header), lineNo, s.Dim)
			}
		} else if len(fields) != s.Dim {
			what := fmt.Sprintf("column %d is missing", len(fields)+1)
			if len(fields) > s.Dim {
				what = fmt.Sprintf("column %d is extra", s.Dim+1)
			}
			return fail("ragged row at line %d: expected %d fields (as on line %d) but got %d, %s%s; "+
				"every row needs the same number of columns", lineNo, s.Dim, firstLine, len(fields), what, sep.hint(fields, sepLine))
		}

		for i, f := range fields {
			col := i + 1
			v, err := strconv.ParseFloat(f, 32)
			switch {
			case f == "":
				return fail("empty value at line %d column %d; fill it in or remove the row", lineNo, col)
			case errors.Is(err, strconv.ErrRange), err == nil && !math.IsInf(v, 0) && math.Abs(v) > MaxAbsValue:
				return fail("value %s at line %d column %d is beyond ±%s: flows compute in float32 (max 3.4e38), "+
					"where squares of such values overflow; rescale the column (standardise it)", f, lineNo, col, maxAbsText)
			case err != nil:
				return fail("not a number: %q at line %d column %d%s; fix the value or remove the row",
					f, lineNo, col, sep.hint([]string{f}, sepLine))
			case math.IsNaN(v) || math.IsInf(v, 0):
				return fail("NaN/Inf at line %d column %d; flows need finite data: remove or impute these rows",
					lineNo, col)
			}
			s.Values = append(s.Values, float32(v))
		}
		s.N++
	}
	if err := sc.Err(); err != nil {
		if errors.Is(err, bufio.ErrTooLong) {
			return fail("line %d is longer than %d MiB; is this really a CSV file?", lineNo+1, maxCSVLine>>20)
		}
		return fail("read error after line %d: %w", lineNo, err)
	}

	if s.N == 0 {
		if header != nil {
			return fail("no data rows: only a header row (line %d); add rows of numbers below it", headerLine)
		}
		return fail("no data rows: the input is empty; add rows of numbers, one example per line")
	}
	if wantDim > 0 && s.Dim != wantDim {
		return fail("data has %d columns but the model expects %d; load the matching file or build the model with dimension %d",
			s.Dim, wantDim, s.Dim)
	}
	return s, nil
}

// separator is how the fields of a line are split.
type separator int

const (
	commas     separator = iota
	tabs                 // the first line has tabs but no comma
	spaces               // runs of spaces: the first line has neither commas nor tabs
	semicolons           // rejected: likely a spreadsheet export with decimal commas
)

// detectSeparator decides the separator from the first non-blank line. A
// line with a single field and no separator is read as comma-separated,
// which splits it the same way.
func detectSeparator(line string) separator {
	switch {
	case strings.Contains(line, ";"):
		return semicolons
	case strings.Contains(line, ","):
		return commas
	case strings.Contains(line, "\t"):
		return tabs
	case len(strings.Fields(line)) > 1:
		return spaces
	}
	return commas
}

// split returns the fields of line, with spaces around them removed.
func (sep separator) split(line string) []string {
	var fields []string
	switch sep {
	case spaces:
		return strings.Fields(line)
	case tabs:
		fields = strings.Split(line, "\t")
	default:
		fields = strings.Split(line, ",")
	}
	for i, f := range fields {
		fields[i] = strings.TrimSpace(f)
	}
	return fields
}

// hint explains a bad row whose fields hold spaces or tabs, which suggests
// the row uses another separator than the first line (sepLine) set: "" when
// none does.
func (sep separator) hint(fields []string, sepLine int) string {
	for _, f := range fields {
		if strings.ContainsAny(f, " \t") {
			return fmt.Sprintf(" (values are separated by %s, as on line %d)", sep, sepLine)
		}
	}
	return ""
}

// String names the separator in messages.
func (sep separator) String() string {
	return [...]string{"commas", "tabs", "spaces", "semicolons"}[sep]
}

// isHeader reports whether the first row is a header: no field is a
// number. Requiring all fields to be non-numeric (rather than any) means a
// typo in the first data row, such as "1.5,2,x", is reported as a bad value
// instead of being silently dropped as a "header".
func isHeader(fields []string) bool {
	for _, f := range fields {
		_, err := strconv.ParseFloat(f, 64)
		if err == nil || errors.Is(err, strconv.ErrRange) {
			return false
		}
	}
	return true
}

// WriteCSV writes s as CSV: a header row "x0,x1,...", then one row per
// example, each value as the shortest decimal that reads back as the same
// float32, so ReadCSV recovers the samples exactly (a held-out set saved
// after training evaluates to the same log-likelihood when loaded again).
// Values ReadCSV rejects (NaN, ±Inf, beyond ±MaxAbsValue) are written all the
// same, so that a sampler's overflow can be inspected.
func WriteCSV(w io.Writer, s *Samples) error {
	if err := checkWritable(s); err != nil {
		return fmt.Errorf("data: WriteCSV: %w", err)
	}
	if err := writeCSV(w, s); err != nil {
		return fmt.Errorf("data: WriteCSV: %w", err)
	}
	return nil
}

// SaveCSV writes s to the file at path in the format of WriteCSV, creating
// or truncating it.
func SaveCSV(path string, s *Samples) error {
	// Check first, so that invalid samples do not leave an empty file behind.
	if err := checkWritable(s); err != nil {
		return fmt.Errorf("data: SaveCSV(%s): %w", path, err)
	}
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("data: cannot create CSV file: %w", err)
	}
	if err := writeCSV(f, s); err != nil {
		f.Close()
		return fmt.Errorf("data: writing %s: %w", path, err)
	}
	// Close can report a failed write (a full disk, say), so its error matters.
	if err := f.Close(); err != nil {
		return fmt.Errorf("data: closing %s: %w", path, err)
	}
	return nil
}

// checkWritable reports samples that WriteCSV cannot write.
func checkWritable(s *Samples) error {
	if err := s.check(); err != nil {
		return err
	}
	if s.Dim == 0 {
		return errors.New("samples have Dim 0, there are no columns to write")
	}
	return nil
}

// writeCSV does the work of WriteCSV on samples already checked.
func writeCSV(w io.Writer, s *Samples) error {
	bw := bufio.NewWriter(w)
	for j := range s.Dim {
		if j > 0 {
			bw.WriteByte(',')
		}
		fmt.Fprintf(bw, "x%d", j)
	}
	bw.WriteByte('\n')
	var buf []byte // reused for every row, to avoid an allocation per value
	for i := range s.N {
		buf = buf[:0]
		for j, v := range s.Row(i) {
			if j > 0 {
				buf = append(buf, ',')
			}
			buf = strconv.AppendFloat(buf, float64(v), 'g', -1, 32)
		}
		buf = append(buf, '\n')
		bw.Write(buf)
	}
	// A bufio.Writer remembers its first error and returns it from every
	// later call, so checking Flush is enough.
	return bw.Flush()
}
