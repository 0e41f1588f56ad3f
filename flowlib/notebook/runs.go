package notebook

import (
	"encoding/csv"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"

	"github.com/flowbook/flowbook/flowlib/plot"
)

// RunsDir is where the workbook keeps the records of training runs it made,
// relative to the repository root: CSV files that docs/image-recipes.md
// explains and the notebooks draw.
const RunsDir = "docs/runs"

// Runs is a CSV file of recorded training runs: a header row, then one row
// per run or per evaluation of a run.
type Runs struct {
	// Path is the file the runs were read from.
	Path   string
	Header []string
	Rows   [][]string
}

// ReadRuns reads RunsDir/name under the repository root (FLOWBOOK_ROOT), e.g.
// notebook.ReadRuns("image-curves.csv"). Every row must have the header's
// number of cells.
func ReadRuns(name string) *Runs {
	path := filepath.Join(os.Getenv("FLOWBOOK_ROOT"), RunsDir, name)
	r, err := readRuns(path)
	Check(err)
	return r
}

func readRuns(path string) (*Runs, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("notebook: the run records %s: %w", path, err)
	}
	defer f.Close()
	records, err := csv.NewReader(f).ReadAll() // ReadAll rejects rows of the wrong length
	if err != nil {
		return nil, fmt.Errorf("notebook: the run records %s: %w", path, err)
	}
	if len(records) < 2 {
		return nil, fmt.Errorf("notebook: the run records %s hold no runs (a header and at least one row are needed)", path)
	}
	return &Runs{Path: path, Header: records[0], Rows: records[1:]}, nil
}

// column returns the index of the named column, or an error naming the ones
// there are.
func (r *Runs) column(name string) (int, error) {
	if i := slices.Index(r.Header, name); i >= 0 {
		return i, nil
	}
	return 0, fmt.Errorf("notebook: %s has no column %q; its columns are %q", r.Path, name, r.Header)
}

// Table returns the named columns of every row as a [Table], headed by
// titles (one per column; the column names where titles is nil).
func (r *Runs) Table(columns []string, titles []string) *Table {
	if titles == nil {
		titles = columns
	}
	if len(titles) != len(columns) {
		Check(fmt.Errorf("notebook: Runs.Table: %d titles for %d columns", len(titles), len(columns)))
	}
	index := make([]int, len(columns))
	for k, c := range columns {
		index[k] = Must(r.column(c))
	}
	t := NewTable(titles...)
	for _, row := range r.Rows {
		cells := make([]any, len(index))
		for k, i := range index {
			cells[k] = row[i]
		}
		t.Row(cells...)
	}
	return t
}

// Curves draws column y against column x with one line per value of the
// series column, in the order the series first appear, on fig.
func (r *Runs) Curves(fig *plot.Figure, series, x, y string) *plot.Figure {
	fig, err := r.curves(fig, series, x, y)
	Check(err)
	return fig
}

func (r *Runs) curves(fig *plot.Figure, series, x, y string) (*plot.Figure, error) {
	is, err := r.column(series)
	if err != nil {
		return nil, err
	}
	ix, err := r.column(x)
	if err != nil {
		return nil, err
	}
	iy, err := r.column(y)
	if err != nil {
		return nil, err
	}
	var names []string
	xs, ys := map[string][]float64{}, map[string][]float64{}
	for n, row := range r.Rows {
		vx, errX := strconv.ParseFloat(row[ix], 64)
		vy, errY := strconv.ParseFloat(row[iy], 64)
		if errX != nil || errY != nil {
			return nil, fmt.Errorf("notebook: %s, row %d: %s = %q and %s = %q must both be numbers", r.Path, n+2, x, row[ix], y, row[iy])
		}
		name := row[is]
		if _, ok := xs[name]; !ok {
			names = append(names, name)
		}
		xs[name] = append(xs[name], vx)
		ys[name] = append(ys[name], vy)
	}
	for _, name := range names {
		fig.Line(xs[name], ys[name], plot.Label(name))
	}
	return fig, nil
}
