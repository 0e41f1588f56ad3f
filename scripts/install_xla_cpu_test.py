"""Tests of scripts/install-xla-cpu that need no network: it fails fast, with
one line saying why, when PyPI is unreachable; and it does nothing when the
pinned plugin is installed already.

    python3 scripts/install_xla_cpu_test.py      (scripts/test runs it)

Each test copies the script into a temporary repository root, so the
project's own .cache is never touched.
"""

import os
import re
import shutil
import subprocess
import tempfile
import time
import unittest
from pathlib import Path

SCRIPT = Path(__file__).resolve().parent / "install-xla-cpu"


def fake_root(tmp):
    root = Path(tmp)
    (root / "scripts").mkdir()
    shutil.copy(SCRIPT, root / "scripts" / "install-xla-cpu")
    return root


def run(root, **env):
    start = time.time()
    r = subprocess.run([str(root / "scripts" / "install-xla-cpu")], capture_output=True, text=True,
                       env=dict(os.environ, **env), timeout=300)
    return r, time.time() - start


class InstallXLACPUTest(unittest.TestCase):
    def test_unreachable_registry_fails_fast_with_one_line(self):
        with tempfile.TemporaryDirectory() as tmp:
            root = fake_root(tmp)
            # Nothing listens on port 9 of the loopback: pip's connection is refused.
            r, seconds = run(root, PIP_INDEX_URL="http://127.0.0.1:9/simple", PIP_NO_CACHE_DIR="1",
                             PIP_CONFIG_FILE=os.devnull)
            self.assertEqual(r.returncode, 1, r.stderr)
            last = r.stderr.strip().splitlines()[-1]
            self.assertRegex(last, r"^install-xla-cpu: could not download .* from PyPI")
            self.assertIn("127.0.0.1:9", last)
            self.assertLess(seconds, 120, "it must fail fast, not hang")
            self.assertFalse((root / ".cache" / "xla" / "pjrt_c_api_cpu_plugin.so").exists())

    def test_installed_plugin_is_left_alone(self):
        with tempfile.TemporaryDirectory() as tmp:
            root = fake_root(tmp)
            text = SCRIPT.read_text()
            wheel = re.search(r"^wheel_name=(\S+)", text, re.M).group(1)
            sha = re.search(r"^wheel_sha256=(\S+)", text, re.M).group(1)
            xla = root / ".cache" / "xla"
            xla.mkdir(parents=True)
            (xla / "pjrt_c_api_cpu_plugin.so").write_text("installed")
            (xla / ".installed-from").write_text(f"{wheel} {sha}\n")
            r, seconds = run(root, PIP_INDEX_URL="http://127.0.0.1:9/simple")
            self.assertEqual((r.returncode, r.stderr), (0, ""))
            self.assertEqual((xla / "pjrt_c_api_cpu_plugin.so").read_text(), "installed")
            self.assertLess(seconds, 5)


if __name__ == "__main__":
    unittest.main()
