package notebook

import (
	"fmt"
	"strings"
)

// Table is a Markdown table that a cell fills row by row and then shows with
// [Table.Show] (JupyterLab and GitHub render it), e.g.
//
//	t := notebook.NewTable("layer", "returned log-det", "brute force")
//	t.Row("`00_planar`", -0.412, -0.412) // floats are written with t's float format
//	t.Show()
//
// A string cell is written as it is, so it may hold Markdown (**bold**,
// `code`); a float32 or float64 cell is written with [Table.Floats]'s format,
// "%.4f" unless changed; any other value with fmt.Sprint. A | inside a cell
// is escaped, so it cannot split the cell.
type Table struct {
	header []string
	rows   [][]string
	floats string
}

// NewTable starts a table with the given column headers.
func NewTable(header ...string) *Table {
	if len(header) == 0 {
		panic("notebook.NewTable: a table needs at least one column")
	}
	return &Table{header: header, floats: "%.4f"}
}

// Floats sets the fmt verb that float cells are written with, e.g. "%.6f" or
// "%.3g", and returns t.
func (t *Table) Floats(format string) *Table {
	t.floats = format
	return t
}

// Row appends a row; it must have one cell per column.
func (t *Table) Row(cells ...any) *Table {
	if len(cells) != len(t.header) {
		panic(fmt.Sprintf("notebook.Table: a row of %d cells in a table of %d columns", len(cells), len(t.header)))
	}
	row := make([]string, len(cells))
	for i, c := range cells {
		row[i] = t.cell(c)
	}
	t.rows = append(t.rows, row)
	return t
}

// Bold returns the float v written with t's float format, in bold: a cell
// for the row or column that the table is there to show.
func (t *Table) Bold(v float64) string { return "**" + fmt.Sprintf(t.floats, v) + "**" }

func (t *Table) cell(c any) string {
	var s string
	switch v := c.(type) {
	case string:
		s = v
	case float64:
		s = fmt.Sprintf(t.floats, v)
	case float32:
		s = fmt.Sprintf(t.floats, v)
	default:
		s = fmt.Sprint(v)
	}
	s = strings.ReplaceAll(s, "\n", " ")
	return strings.ReplaceAll(s, "|", `\|`)
}

// Markdown returns the table as Markdown text.
func (t *Table) Markdown() string {
	var b strings.Builder
	line := func(cells []string) {
		b.WriteString("|")
		for _, c := range cells {
			b.WriteString(" " + c + " |")
		}
		b.WriteString("\n")
	}
	line(t.header)
	b.WriteString("|" + strings.Repeat("---|", len(t.header)) + "\n")
	for _, r := range t.rows {
		line(r)
	}
	return b.String()
}

// Show displays the table in the notebook (outside one, it prints the
// Markdown).
func (t *Table) Show() { ShowMarkdown(t.Markdown()) }
