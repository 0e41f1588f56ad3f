"""Tests of the benchmark driver (bench/run.py) with fake workers.

    python3 bench/run_test.py     (scripts/test runs it)
"""

import argparse
import sys
import tempfile
import textwrap
import unittest
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import run  # noqa: E402

# A worker that speaks the protocol: each call "takes" SECONDS_PER_CALL (it
# reports that instead of sleeping), so throughput is known exactly.
FAKE_WORKER = textwrap.dedent("""
    import json, sys
    case = sys.argv[-1]
    seconds_per_call = float(sys.argv[1])
    mode = sys.argv[2]
    if mode == "die-at-start":
        print("cannot load data", file=sys.stderr)
        sys.exit(1)
    print(json.dumps({"ready": True, "case": case, "unit": "steps", "items_per_call": 2,
                      "params": 10, "version": "fake", "threads": 1}), flush=True)
    for line in sys.stdin:
        req = json.loads(line)
        if req["op"] == "quit":
            break
        if req["op"] == "time":
            if mode == "fail-time":
                print(json.dumps({"error": "out of memory"}), flush=True)
                continue
            print(json.dumps({"seconds": seconds_per_call * req["calls"]}), flush=True)
        elif req["op"] == "learn":
            print(json.dumps({"initial": 3.0, "final": 1.0, "metric": "test NLL (nats)",
                              "steps": req["steps"], "seconds": 0.1}), flush=True)
""")


class DriverTest(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.TemporaryDirectory()
        self.worker = Path(self.dir.name) / "worker.py"
        self.worker.write_text(FAKE_WORKER)
        self.args = argparse.Namespace(rounds=3, seconds=0.5, learn=True, timeout=30)

    def tearDown(self):
        self.dir.cleanup()

    def impl(self, name, seconds_per_call, mode="ok"):
        return run.Impl(name, [sys.executable, str(self.worker), str(seconds_per_call), mode])

    def test_medians_ratios_and_learning(self):
        impls = [self.impl("flowlib go", 0.01), self.impl("torch", 0.02)]
        results = run.measure_case("realnvp2d-train", impls, self.args, log=lambda _: None)
        go, torch = results["flowlib go"], results["torch"]
        # 2 items per call: 0.01 s per call is 200 items/s.
        self.assertAlmostEqual(go["per_second"], 200)
        self.assertAlmostEqual(torch["per_second"], 100)
        self.assertEqual(len(go["rounds"]), 3)
        self.assertEqual(go["calls_per_round"], 50)  # 0.5 s of 0.01 s calls
        self.assertEqual(go["learn"]["final"], 1.0)
        report = {"impls": ["flowlib go", "torch"], "results": {"realnvp2d-train": results}}
        table = run.table(report)
        self.assertIn("| realnvp2d-train | steps/s | 200.0 (2.00×) | 100.0 (1.00×) |", table)
        self.assertIn("| realnvp2d-train | flowlib go | 1000 | test NLL (nats) | 3.000 | 1.000 |", table)

    def test_failures_are_reported_not_fatal(self):
        impls = [self.impl("flowlib go", 0.01), self.impl("torch", 0.01, "die-at-start"),
                 self.impl("jax", 0.01, "fail-time")]
        results = run.measure_case("glow-train", impls, self.args, log=lambda _: None)
        self.assertIn("per_second", results["flowlib go"])
        self.assertIn("cannot load data", results["torch"]["error"])
        self.assertIn("out of memory", results["jax"]["error"])
        report = {"impls": ["flowlib go", "torch", "jax"], "results": {"glow-train": results}}
        # No PyTorch result, so no ratios; failures show as such.
        self.assertIn("| glow-train | steps/s | 200.0 | failed | failed |", run.table(report))

    def test_hung_worker_is_killed(self):
        hang = Path(self.dir.name) / "hang.py"
        hang.write_text("import time\ntime.sleep(60)\n")
        impl = run.Impl("stuck", [sys.executable, str(hang)])
        self.args.timeout = 1
        results = run.measure_case("glow-train", [impl], self.args, log=lambda _: None)
        self.assertIn("exited while starting", results["stuck"]["error"])


class CommandLineTest(unittest.TestCase):
    def run_main(self, *argv):
        old = sys.argv
        sys.argv = ["run.py", *argv]
        try:
            with self.assertRaises(SystemExit) as exit:
                run.main()
        finally:
            sys.argv = old
        return str(exit.exception.code)

    def test_unknown_case(self):
        self.assertIn("unknown case 'resnet'; valid: realnvp2d-train", self.run_main("--cases", "resnet"))

    def test_bad_rounds(self):
        self.assertIn("--rounds must be at least 1", self.run_main("--rounds", "0"))

    def test_unknown_configuration(self):
        self.assertIn("unknown or unavailable configurations: pytorch-xl", self.run_main("--impls", "pytorch-xl"))


if __name__ == "__main__":
    unittest.main()
