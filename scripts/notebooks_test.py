"""Tests of scripts/notebooks.py: the source format and the output checks must
catch what they are there to catch. Run: python3 scripts/notebooks_test.py"""

import tempfile
import unittest
from pathlib import Path

import notebooks as nbtool

SOURCE = """# Title

Some prose.
<!-- cell -->
More prose.

```go
%%
fmt.Println("integral ≈ 1")
```
<!-- expect: integral ≈ 1 -->
<!-- expect: <svg -->

Closing words.
"""


def executed(cells_outputs, parsed):
    """The parsed cells with the given outputs on the code cells, as if run."""
    code = [c for c in parsed if c["cell_type"] == "code"]
    for cell, outputs in zip(code, cells_outputs):
        cell["outputs"], cell["execution_count"] = outputs, 1
    return {"cells": parsed}


def stdout(text):
    return {"output_type": "stream", "name": "stdout", "text": text}


SVG = {"output_type": "display_data", "data": {"image/svg+xml": "<svg xmlns='...'/>", "text/plain": "[figure]"}}


class ParseTest(unittest.TestCase):
    def setUp(self):
        with tempfile.TemporaryDirectory() as d:
            path = Path(d) / "99-test.md"
            path.write_text(SOURCE)
            self.cells = nbtool.parse_source(path)

    def test_cells_and_expects(self):
        kinds = [c["cell_type"] for c in self.cells]
        self.assertEqual(kinds, ["markdown", "markdown", "code", "markdown"])
        self.assertEqual(self.cells[2]["source"], '%%\nfmt.Println("integral ≈ 1")')
        self.assertEqual(self.cells[2]["metadata"]["flowbook"]["expect"], ["integral ≈ 1", "<svg"])
        self.assertNotIn("expect", self.cells[3]["source"])

    def test_unterminated_block_is_an_error(self):
        with tempfile.TemporaryDirectory() as d:
            path = Path(d) / "99-bad.md"
            path.write_text("```go\n%%\nfmt.Println(1)\n")
            with self.assertRaises(SystemExit) as e:
                nbtool.parse_source(path)
            self.assertIn("unterminated", str(e.exception))


class ProblemsTest(unittest.TestCase):
    def cells(self):
        with tempfile.TemporaryDirectory() as d:
            path = Path(d) / "99-test.md"
            path.write_text(SOURCE)
            return nbtool.parse_source(path)

    def test_good_outputs_pass(self):
        # Printed text split across chunks still matches.
        nb = executed([[stdout("integral "), stdout("≈ 1\n"), SVG]], self.cells())
        self.assertEqual(nbtool.problems(nb, "t", require_executed=True), [])

    def test_failures_are_caught(self):
        cases = {
            "error output": ([stdout("integral ≈ 1\n"), SVG,
                              {"output_type": "error", "ename": "ERROR", "evalue": "x", "traceback": ["boom"]}], "error output"),
            "missing text": ([stdout("integral ≈ 2\n"), SVG], "lacks 'integral ≈ 1'"),
            "missing figure": ([stdout("integral ≈ 1\n")], "lacks '<svg'"),
            "panic on stderr": ([stdout("integral ≈ 1\n"), SVG,
                                 {"output_type": "stream", "name": "stderr", "text": "panic: runtime error"}], "stderr"),
            "live display left": ([stdout("integral ≈ 1\n"), SVG,
                                   {"output_type": "display_data", "data": {"text/html": "<div id=flowbook_curve_1>"}}], "live display"),
        }
        for name, (outputs, want) in cases.items():
            with self.subTest(name):
                found = nbtool.problems(executed([outputs], self.cells()), "t", require_executed=True)
                self.assertTrue(any(want in f for f in found), f"{name}: problems {found} lack {want!r}")

    def test_unexecuted_cell_is_caught(self):
        nb = {"cells": self.cells()}
        found = nbtool.problems(nb, "t", require_executed=True)
        self.assertTrue(any("not executed" in f for f in found), found)


class SyncTest(unittest.TestCase):
    """sync may run a new cell alone only when it is shell commands."""

    def test_shell_only(self):
        self.assertTrue(nbtool.is_shell_only('!"$FLOWBOOK_ROOT/scripts/grade" 01'))
        self.assertTrue(nbtool.is_shell_only("!ls\n\n  !pwd"))
        self.assertFalse(nbtool.is_shell_only("%%\nfmt.Println(1)"))
        self.assertFalse(nbtool.is_shell_only("!ls\nfmt.Println(1)"))
        self.assertFalse(nbtool.is_shell_only(""))

    def test_merge_streams(self):
        merged = nbtool.merge_streams([stdout("a"), stdout("b"), {"output_type": "stream", "name": "stderr", "text": "c"},
                                       stdout("d")])
        self.assertEqual([(o["name"], nbtool.output_text(o)) for o in merged],
                         [("stdout", "ab"), ("stderr", "c"), ("stdout", "d")])


if __name__ == "__main__":
    unittest.main()
