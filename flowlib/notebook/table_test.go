package notebook

import (
	"strings"
	"testing"
)

func TestTableMarkdown(t *testing.T) {
	for _, tc := range []struct {
		name  string
		table func() *Table
		want  string
	}{
		{"floats with the default format", func() *Table {
			return NewTable("model", "bits/dim").Row("uniform", 8.0).Row("RealNVP", float32(2.2468))
		}, "| model | bits/dim |\n|---|---|\n| uniform | 8.0000 |\n| RealNVP | 2.2468 |\n"},
		{"a chosen float format and other values", func() *Table {
			return NewTable("k", "v", "ok").Floats("%.2g").Row(3, 0.000123, true)
		}, "| k | v | ok |\n|---|---|---|\n| 3 | 0.00012 | true |\n"},
		{"a bar in a cell is escaped, a newline becomes a space", func() *Table {
			return NewTable("expression").Row("|det J|\nof f")
		}, "| expression |\n|---|\n| \\|det J\\| of f |\n"},
		{"bold numbers keep the float format", func() *Table {
			tb := NewTable("sum").Floats("%.3f")
			return tb.Row(tb.Bold(1.23456))
		}, "| sum |\n|---|\n| **1.235** |\n"},
		{"a header with no rows", func() *Table { return NewTable("a", "b") }, "| a | b |\n|---|---|\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.table().Markdown(); got != tc.want {
				t.Errorf("Markdown() =\n%s\nwant\n%s", got, tc.want)
			}
		})
	}
}

func TestTableRejectsRowsOfTheWrongLength(t *testing.T) {
	for _, cells := range [][]any{{1}, {1, 2, 3}} {
		func() {
			defer func() {
				r := recover()
				if r == nil || !strings.Contains(r.(string), "columns") {
					t.Errorf("Row(%v) on a 2-column table: recovered %v, want a panic naming the columns", cells, r)
				}
			}()
			NewTable("a", "b").Row(cells...)
		}()
	}
}
