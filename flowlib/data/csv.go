package data

import (
	"bufio"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"slices"
	"strconv"
	"strings"
	"unsafe"
)

// maxCSVLine is the longest line ReadCSV accepts. bufio.Scanner's default
// (64 KiB) is too small for wide data: 10,000 columns of "-0.123456" are
// about 100 KB.
const maxCSVLine = 16 << 20

// LoadCSV reads N×D numeric data from the CSV file at path, one example per
// line, as float32. See ReadCSV for the format and the checks made; wantDim
// > 0 also requires exactly wantDim columns, and wantDim ≤ 0 accepts any
// width. Errors name the file, and the line and column where that makes
// sense.
func LoadCSV(path string, wantDim int) (*Samples, error) { return LoadCSVOf[float32](path, wantDim) }

// LoadCSVOf is LoadCSV with values of type T: data.LoadCSVOf[float64] keeps
// every digit a float64 model can use.
func LoadCSVOf[T Float](path string, wantDim int) (*SamplesOf[T], error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("data: cannot read CSV file: %w; check the path (a relative path starts from the working directory)", err)
	}
	defer f.Close() // read-only, so a Close error cannot lose data
	return ReadCSVOf[T](f, path, wantDim)
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
// The format covers what numeric exports produce: one example per line;
// blank lines skipped; and an optional header row, recognised when none of
// the fields of the first non-blank line is a number, which is skipped.
// Comma- and tab-separated input is tokenised by encoding/csv, so fields may
// be quoted ("1.5", "x, in m"), with a quote inside a quoted field doubled.
//
// The first non-blank line decides the separator: a comma if it holds one,
// else a tab if it holds one, else runs of spaces (as numpy.savetxt writes
// by default; no quoting there); spaces around fields are ignored. Deciding
// before looking for a header keeps a space-separated first row of numbers
// from being read as one non-numeric field, and so from being dropped as a
// header. Semicolons (spreadsheets with decimal commas) are rejected with a
// message that says so, rather than misread.
//
// Every data row must have as many fields as the first one (and as the
// header, if any), and every field must be a finite number of magnitude at
// most MaxAbsValue. NaN and ±Inf are rejected because a single non-finite
// value turns every loss and gradient of a flow into NaN, and larger values
// because they overflow float32 inside the flow (see MaxAbsValue): both are
// better caught here, with their line and column, than discovered after a
// failed training run.
func ReadCSV(r io.Reader, name string, wantDim int) (*Samples, error) {
	return ReadCSVOf[float32](r, name, wantDim)
}

// ReadCSVOf is ReadCSV with values of type T: each field is parsed at T's
// precision (strconv.ParseFloat with 32 or 64 bits).
func ReadCSVOf[T Float](r io.Reader, name string, wantDim int) (*SamplesOf[T], error) {
	if name == "" {
		name = "<input>"
	}
	fail := func(format string, args ...any) (*SamplesOf[T], error) {
		return nil, fmt.Errorf("data: %s: "+format, append([]any{name}, args...)...)
	}
	bits := bitSize[T]()

	rows, sep, sepLine, err := newRowReader(r)
	var tooLong *lineTooLongError
	switch {
	case errors.As(err, &tooLong):
		return fail("line %d is longer than %d MiB; is this really a CSV file?", tooLong.line, maxCSVLine>>20)
	case errors.Is(err, io.EOF):
		return fail("no data rows: the input is empty; add rows of numbers, one example per line")
	case err != nil:
		return fail("read error before the first line with values: %w", err)
	case sep == semicolons:
		return fail("line %d is separated by semicolons; separate values by commas, tabs or spaces, "+
			"with a point as the decimal mark (1.5, not 1,5)", sepLine)
	}
	var (
		s          = &SamplesOf[T]{Dim: -1} // Dim is set by the first data row
		lineNo     int                      // line of the row read last
		header     []string                 // the header's fields, if there is one
		headerLine int
		firstLine  int // line of the first data row
	)
	for {
		fields, line, err := rows.next()
		if err != nil {
			var quoteErr *csv.ParseError
			switch {
			case errors.Is(err, io.EOF):
			case errors.As(err, &tooLong):
				return fail("line %d is longer than %d MiB; is this really a CSV file?", tooLong.line, maxCSVLine>>20)
			case errors.As(err, &quoteErr) && (errors.Is(err, csv.ErrBareQuote) || errors.Is(err, csv.ErrQuote)):
				return fail("misplaced quote at line %d, character %d (%v); quote a whole field (\"1.5\"), "+
					"double any quote inside a quoted field, or remove the quote", quoteErr.Line, quoteErr.Column, quoteErr.Err)
			default:
				return fail("read error after line %d: %w", lineNo, err)
			}
			break
		}
		lineNo = line
		if line == sepLine && header == nil && s.Dim < 0 && isHeader(fields) {
			header, headerLine = slices.Clone(fields), line
			continue
		}

		if s.Dim < 0 {
			s.Dim, firstLine = len(fields), line
			if header != nil && len(header) != s.Dim {
				return fail("the header (line %d) has %d columns but the first data row (line %d) has %d fields; "+
					"give every column one name", headerLine, len(header), line, s.Dim)
			}
		} else if len(fields) != s.Dim {
			what := fmt.Sprintf("column %d is missing", len(fields)+1)
			if len(fields) > s.Dim {
				what = fmt.Sprintf("column %d is extra", s.Dim+1)
			}
			return fail("ragged row at line %d: expected %d fields (as on line %d) but got %d, %s%s; "+
				"every row needs the same number of columns", line, s.Dim, firstLine, len(fields), what, sep.hint(fields, sepLine))
		}

		for i, f := range fields {
			col := i + 1
			v, err := strconv.ParseFloat(f, bits)
			switch {
			case f == "":
				return fail("empty value at line %d column %d; fill it in or remove the row", line, col)
			case errors.Is(err, strconv.ErrRange), err == nil && !math.IsInf(v, 0) && math.Abs(v) > MaxAbsValue:
				return fail("value %s at line %d column %d is beyond ±%s: flows compute in float32 (max 3.4e38), "+
					"where squares of such values overflow; rescale the column (standardise it)", f, line, col, maxAbsText)
			case err != nil:
				return fail("not a number: %q at line %d column %d%s; fix the value or remove the row",
					f, line, col, sep.hint([]string{f}, sepLine))
			case math.IsNaN(v) || math.IsInf(v, 0):
				return fail("NaN/Inf at line %d column %d; flows need finite data: remove or impute these rows",
					line, col)
			}
			s.Values = append(s.Values, T(v))
		}
		s.N++
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

// bitSize is the size of T in bits, as strconv wants it.
func bitSize[T Float]() int { return int(unsafe.Sizeof(T(0))) * 8 }

// rowReader yields the rows of a CSV input that are not blank.
type rowReader interface {
	// next returns the fields of the next non-blank row, with spaces around
	// them removed, and the line it starts on; io.EOF after the last one.
	// The slice is reused by the following call.
	next() (fields []string, line int, err error)
}

// newRowReader reads up to the first non-blank line, which decides the
// separator (sep, found on line sepLine), and returns a reader of all the
// rows from that line on, tokenised by encoding/csv for commas and tabs. The
// error is io.EOF when every line is blank; rows is nil for semicolons.
func newRowReader(r io.Reader) (rows rowReader, sep separator, sepLine int, err error) {
	limited := &lineLimitReader{r: r}
	br := bufio.NewReaderSize(limited, 64<<10)
	// The lines read here are handed on as well, blank ones as empty lines,
	// so that the line numbers the tokenisers count stay those of the input.
	var prefix strings.Builder
	for {
		line, err := br.ReadString('\n')
		sepLine++
		if sepLine == 1 {
			line = strings.TrimPrefix(line, "\ufeff") // byte-order mark some editors write
		}
		if strings.TrimSpace(line) != "" {
			sep = detectSeparator(line)
			prefix.WriteString(line)
			if err == nil || errors.Is(err, io.EOF) {
				break
			}
		}
		if err != nil {
			return nil, sep, sepLine, err
		}
		prefix.WriteByte('\n')
	}
	if sep == semicolons {
		return nil, sep, sepLine, nil
	}
	rest := io.MultiReader(strings.NewReader(prefix.String()), br)
	if sep == spaces {
		sc := bufio.NewScanner(rest)
		sc.Buffer(make([]byte, 0, 64<<10), maxCSVLine)
		return &spaceRows{sc: sc}, sep, sepLine, nil
	}
	cr := csv.NewReader(rest)
	cr.FieldsPerRecord = -1 // ReadCSVOf reports ragged rows itself, with a better message
	cr.ReuseRecord = true
	if sep == tabs {
		// Not TrimLeadingSpace: a tab is space, so it would swallow the tab
		// of an empty field; the fields are trimmed afterwards instead.
		cr.Comma = '\t'
	} else {
		cr.TrimLeadingSpace = true // so that `1, "2"` has a quoted second field
	}
	return &csvRows{cr: cr}, sep, sepLine, nil
}

// csvRows is a rowReader on encoding/csv.
type csvRows struct{ cr *csv.Reader }

func (c *csvRows) next() ([]string, int, error) {
	for {
		fields, err := c.cr.Read()
		if err != nil {
			return nil, 0, err
		}
		for i, f := range fields {
			fields[i] = strings.TrimSpace(f)
		}
		line, _ := c.cr.FieldPos(0)
		// encoding/csv skips empty lines but returns a line of spaces as
		// one field.
		if len(fields) == 1 && fields[0] == "" {
			continue
		}
		return fields, line, nil
	}
}

// spaceRows is a rowReader of fields separated by runs of spaces, which
// encoding/csv cannot split (it would see an empty field between two spaces).
type spaceRows struct {
	sc   *bufio.Scanner
	line int
}

func (s *spaceRows) next() ([]string, int, error) {
	for s.sc.Scan() {
		s.line++
		if fields := strings.Fields(s.sc.Text()); len(fields) > 0 {
			return fields, s.line, nil
		}
	}
	if err := s.sc.Err(); err != nil {
		if errors.Is(err, bufio.ErrTooLong) {
			return nil, 0, &lineTooLongError{line: s.line + 1}
		}
		return nil, 0, err
	}
	return nil, 0, io.EOF
}

// lineLimitReader passes r on, failing with a *lineTooLongError at a line
// longer than maxCSVLine, so that a binary file given by mistake is
// refused instead of read into memory whole.
type lineLimitReader struct {
	r       io.Reader
	line    int // lines completed so far
	current int // bytes of the current line so far
}

func (l *lineLimitReader) Read(p []byte) (int, error) {
	n, err := l.r.Read(p)
	for _, b := range p[:n] {
		if b == '\n' {
			l.line++
			l.current = 0
		} else if l.current++; l.current > maxCSVLine {
			return 0, &lineTooLongError{line: l.line + 1}
		}
	}
	return n, err
}

// lineTooLongError reports a line longer than maxCSVLine.
type lineTooLongError struct{ line int }

func (e *lineTooLongError) Error() string {
	return fmt.Sprintf("line %d is longer than %d MiB", e.line, maxCSVLine>>20)
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
// float32 (float64 for float64 samples), so ReadCSV (ReadCSVOf[float64])
// recovers the samples exactly (a held-out set saved
// after training evaluates to the same log-likelihood when loaded again).
// Values ReadCSV rejects (NaN, ±Inf, beyond ±MaxAbsValue) are written all the
// same, so that a sampler's overflow can be inspected.
func WriteCSV[T Float](w io.Writer, s *SamplesOf[T]) error {
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
func SaveCSV[T Float](path string, s *SamplesOf[T]) error {
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
func checkWritable[T Float](s *SamplesOf[T]) error {
	if err := s.check(); err != nil {
		return err
	}
	if s.Dim == 0 {
		return errors.New("samples have Dim 0, there are no columns to write")
	}
	return nil
}

// writeCSV does the work of WriteCSV on samples already checked.
func writeCSV[T Float](w io.Writer, s *SamplesOf[T]) error {
	bits := bitSize[T]()
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
			buf = strconv.AppendFloat(buf, float64(v), 'g', -1, bits)
		}
		buf = append(buf, '\n')
		bw.Write(buf)
	}
	// A bufio.Writer remembers its first error and returns it from every
	// later call, so checking Flush is enough.
	return bw.Flush()
}
