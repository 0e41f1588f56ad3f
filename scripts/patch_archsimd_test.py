"""Tests of scripts/patch-archsimd.py on small made-up GOROOTs: it rewrites the
whole-vector partial loads, marks the toolchain, and refuses (exit status 1,
nothing written) a file it does not fully recognise.

    python3 scripts/patch_archsimd_test.py      (scripts/test runs it)
"""

import subprocess
import sys
import tempfile
import unittest
from pathlib import Path

SCRIPT = Path(__file__).resolve().parent / "patch-archsimd.py"

# One load as Go 1.27.4 writes it, for a vector type and its lane count.
LOAD = """// Load{vec}Part loads a {vec} from the slice s.
func Load{vec}Part(s []{elem}) ({vec}, int) {{
	l := len(s)
	if l >= {lanes} {{
		return Load{vec}(s), {lanes}
	}}
	if l == 0 {{
		var x {vec}
		return x, 0
	}}
	mask := Mask32x{lanes}FromBits(0xffff >> ({lanes} - l))
	return Load{vec}Array(pa{vec}(s)).Masked(mask), l
}}
"""


def goroot(tmp, version, loads, extra=""):
    root = Path(tmp) / "go"
    src = root / "src" / "simd" / "archsimd"
    src.mkdir(parents=True)
    (root / "VERSION").write_text(version + "\ntime 2026-01-01\n")
    body = "".join(LOAD.format(vec=v, elem=e, lanes=n) for v, e, n in loads)
    (src / "slice_gen_amd64.go").write_text("package archsimd\n\n" + body + extra)
    return root


def run(root):
    return subprocess.run([sys.executable, str(SCRIPT), str(root)], capture_output=True, text=True)


TWO = [("Float32x16", "float32", 16), ("Int32x8", "int32", 8)]


class PatchArchsimdTest(unittest.TestCase):
    def test_rewrites_every_load_and_marks_the_toolchain(self):
        with tempfile.TemporaryDirectory() as tmp:
            root = goroot(tmp, "go0.0-test", TWO)
            r = run(root)
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertEqual(r.stdout.strip(), "2")
            text = (root / "src/simd/archsimd/slice_gen_amd64.go").read_text()
            self.assertNotIn(".Masked(", text)
            self.assertIn("var a [16]float32\n\tcopy(a[:], s)", text)
            self.assertIn("var a [8]int32\n\tcopy(a[:], s)", text)
            self.assertIn("return LoadFloat32x16Array(&a), l", text)
            self.assertIn("2 SIMD partial loads", (root / "FLOWBOOK-PATCHED").read_text())

    def test_refuses_a_second_patch(self):
        with tempfile.TemporaryDirectory() as tmp:
            root = goroot(tmp, "go0.0-test", TWO)
            self.assertEqual(run(root).returncode, 0)
            r = run(root)
            self.assertEqual(r.returncode, 1)
            self.assertIn("patched already", r.stderr)

    def test_refuses_an_unrecognised_load(self):
        odd = "func LoadOddPart(s []float32) (Odd, int) {\n\tv := LoadFloat32x4Array(paFloat32x4(s)).Masked(m)\n\treturn v, 1\n}\n"
        with tempfile.TemporaryDirectory() as tmp:
            root = goroot(tmp, "go0.0-test", TWO, extra=odd)
            before = (root / "src/simd/archsimd/slice_gen_amd64.go").read_text()
            r = run(root)
            self.assertEqual(r.returncode, 1)
            self.assertIn("does not recognise", r.stderr)
            self.assertEqual((root / "src/simd/archsimd/slice_gen_amd64.go").read_text(), before)
            self.assertFalse((root / "FLOWBOOK-PATCHED").exists())

    def test_a_known_version_needs_exactly_its_loads(self):
        with tempfile.TemporaryDirectory() as tmp:
            root = goroot(tmp, "go1.27.4", TWO)  # Go 1.27.4 has 22.
            r = run(root)
            self.assertEqual(r.returncode, 1)
            self.assertIn("should have 22", r.stderr)
            self.assertFalse((root / "FLOWBOOK-PATCHED").exists())

    def test_a_go_without_the_file_is_left_alone(self):
        with tempfile.TemporaryDirectory() as tmp:
            root = Path(tmp)
            (root / "VERSION").write_text("go0.0-test\n")
            r = run(root)
            self.assertEqual((r.returncode, r.stdout.strip()), (0, "0"))


if __name__ == "__main__":
    unittest.main()
