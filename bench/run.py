"""flowbook's benchmark driver: flowlib on every backend against PyTorch and JAX.

scripts/bench runs this (it builds the Go workers first); see bench/README.md.
Each implementation of a case runs in a worker process of its own that
builds the model once and then answers requests on stdin (JSON lines):
flowlib's is cmd/flowbench, the references are bench/reference/*_ref.py.
For each case the driver starts one worker per implementation, sizes a timing
request so that it takes about --seconds, and then asks every worker in turn,
round after round (the order rotates), so that the machine's noise falls on
all of them alike. It reports the median throughput of the rounds, its ratio
to the fastest PyTorch configuration, the workers' peak memory, and, with
--learn, a short training run of each training case from a fresh model with
its held-out metric before and after.

Only the standard library is used, so that flowlib alone can be measured
without the references' virtual environment.
"""

import argparse
import datetime
import json
import os
import platform
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

CASES = [
    "realnvp2d-train",
    "realnvp2d-logprob",
    "realnvp2d-sample",
    "coupling-train",
    "glow-train",
    "glow-logprob",
    "glow-sample",
]

# Steps of the learning check ("learn" requests) per training case.
LEARN_STEPS = {"realnvp2d-train": 1000, "coupling-train": 200, "glow-train": 200}


class Impl:
    """One configuration: a program that speaks the worker protocol."""

    def __init__(self, name, argv, env=None, note="", learn=True):
        self.name, self.argv, self.env, self.note = name, argv, env or {}, note
        # learn=False skips the learning check (for a build whose math is the same as another's).
        self.learn = learn

    def is_torch(self):
        return self.name.startswith("torch")


class Worker:
    """A running worker process for one (implementation, case)."""

    def __init__(self, impl, case, timeout):
        self.impl, self.case, self.timeout = impl, case, timeout
        env = dict(os.environ, **impl.env)
        self.proc = subprocess.Popen(
            impl.argv + [case], cwd=ROOT, env=env, text=True,
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        try:
            self.info = self._read("starting")
            if not self.info.get("ready"):
                raise WorkerError(f"{impl.name} {case}: unexpected first line {self.info}")
        except (WorkerError, json.JSONDecodeError):
            self.close()
            raise

    def request(self, req):
        self.proc.stdin.write(json.dumps(req) + "\n")
        self.proc.stdin.flush()
        answer = self._read(req["op"])
        if "error" in answer:
            raise WorkerError(f"{self.impl.name} {self.case}: {req['op']}: {answer['error']}")
        return answer

    def _read(self, what):
        # A worker that dies says why on stderr; one that hangs is killed after the timeout.
        watchdog = threading.Timer(self.timeout, self.proc.kill)
        watchdog.start()
        try:
            line = self.proc.stdout.readline()
        finally:
            watchdog.cancel()
        if not line:
            err = self.proc.stderr.read().strip()
            raise WorkerError(f"{self.impl.name} {self.case}: the worker exited while {what}: {err or 'no message'}")
        return json.loads(line)

    def peak_rss_mb(self):
        """The process's peak resident memory (VmHWM), in MB."""
        try:
            for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
        except OSError:
            pass
        return None

    def close(self):
        if self.proc.poll() is None:
            try:
                self.proc.stdin.write(json.dumps({"op": "quit"}) + "\n")
                self.proc.stdin.flush()
            except OSError:
                pass
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        for pipe in (self.proc.stdin, self.proc.stdout, self.proc.stderr):
            try:
                pipe.close()
            except OSError:
                pass


class WorkerError(Exception):
    pass


def available_impls(args):
    """The configurations this machine can run, and notes on those it cannot."""
    impls, skipped = [], []
    bin_dir = ROOT / "bin"
    flowbench = [str(bin_dir / "flowbench"), "--mnist", str(args.mnist)]
    nosimd = [str(bin_dir / "flowbench-nosimd"), "--mnist", str(args.mnist)]
    impls.append(Impl("flowlib go", flowbench, {"GOMLX_BACKEND": "go"}, "pure Go, GOEXPERIMENT=simd"))
    if (bin_dir / "flowbench-nosimd").exists():
        impls.append(Impl("flowlib go-nosimd", nosimd, {"GOMLX_BACKEND": "go"},
                          "pure Go, no SIMD; the same computation as flowlib go, so no learning check", learn=False))
    for backend, why in xla_backends():
        if why:
            skipped.append(f"flowlib {backend}: {why}")
        else:
            impls.append(Impl(f"flowlib {backend}", flowbench, {"GOMLX_BACKEND": backend}, "XLA through go-xla"))
    if args.conv_forms:
        # Each flowlib configuration with Conv2D's forms forced, beside its
        # default (flowlib.ParamConvForm).
        for impl in [i for i in impls if i.name.startswith("flowlib") and i.learn]:
            for form in ("matmul", "builtin"):
                impls.append(Impl(f"{impl.name} conv={form}", impl.argv + ["--conv-form", form], impl.env,
                                  f"{impl.note}, Conv2D as {form}", learn=False))
    python = ROOT / ".venv-bench" / "bin" / "python"
    if python.exists():
        ref = ROOT / "bench" / "reference"
        mnist = ["--mnist", str(args.mnist)]
        impls.append(Impl("torch", [str(python), str(ref / "torch_ref.py")] + mnist, {}, "PyTorch, default threads"))
        if args.torch_threads:
            for n in args.torch_threads:
                impls.append(Impl(f"torch {n}t", [str(python), str(ref / "torch_ref.py")] + mnist,
                                  {"FLOWBOOK_TORCH_THREADS": str(n)}, f"PyTorch, {n} threads"))
        impls.append(Impl("jax", [str(python), str(ref / "jax_ref.py")] + mnist, {}, "JAX (XLA CPU)"))
    else:
        skipped.append("torch, jax: the references are not installed (scripts/bench-setup installs them)")
    wanted = set(args.impls) if args.impls else None
    if wanted:
        unknown = wanted - {i.name for i in impls} - {s.split(":")[0] for s in skipped}
        if unknown:
            sys.exit(f"bench: unknown or unavailable configurations: {', '.join(sorted(unknown))}; "
                     f"available: {', '.join(i.name for i in impls)}")
        impls = [i for i in impls if i.name in wanted]
    return impls, skipped


def xla_backends():
    """XLA backends to try: CPU when a PJRT CPU plugin is installed, CUDA when
    one is, and any named in FLOWBOOK_BENCH_BACKENDS (comma-separated GoMLX
    backend configurations, e.g. xla:/path/to/xla_cuda_plugin.so)."""
    dirs = [Path(d) for d in os.environ.get("PJRT_PLUGIN_LIBRARY_PATH", "").split(":") if d]
    dirs += [Path.home() / ".local" / "lib" / "go-xla", Path("/usr/local/lib/go-xla")]
    found = {p.name for d in dirs if d.is_dir() for p in d.glob("pjrt_c_api_*_plugin.so")}
    out = []
    if "pjrt_c_api_cpu_plugin.so" in found:
        out.append(("xla:cpu", ""))
    else:
        out.append(("xla:cpu", "no PJRT CPU plugin installed (scripts/install-xla-cpu installs one)"))
    if "pjrt_c_api_cuda_plugin.so" in found:
        out.append(("xla:cuda", ""))
    for config in os.environ.get("FLOWBOOK_BENCH_BACKENDS", "").split(","):
        if config.strip() and config.strip() not in [c for c, _ in out]:
            out.append((config.strip(), ""))
    return out


def machine():
    cpu = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = ""
    try:
        kb = int(Path("/proc/meminfo").read_text().split()[1])
        mem = f"{kb / 1024 / 1024:.0f} GiB"
    except (OSError, ValueError, IndexError):
        pass
    return {"cpu": cpu, "cores": os.cpu_count(), "memory": mem, "os": platform.platform(),
            "python": platform.python_version(), "date": datetime.datetime.now().isoformat(timespec="seconds")}


def measure_case(case, impls, args, log):
    """Runs one case on every implementation, interleaved; returns a result per implementation."""
    workers, results = [], {}
    for impl in impls:
        t0 = time.time()
        try:
            workers.append(Worker(impl, case, args.timeout))
        except (WorkerError, OSError, json.JSONDecodeError) as e:
            results[impl.name] = {"error": str(e)}
            log(f"  {impl.name}: failed to start: {e}")
            continue
        log(f"  {impl.name}: ready in {time.time() - t0:.1f}s")
    # Size each worker's timing request so that it takes about args.seconds.
    calls = {}
    for w in list(workers):
        try:
            one = w.request({"op": "time", "calls": 1})["seconds"]
            calls[w] = max(1, round(args.seconds / max(one, 1e-6)))
        except WorkerError as e:
            results[w.impl.name] = {"error": str(e)}
            workers.remove(w)
            w.close()
    rounds = {w: [] for w in workers}
    for r in range(args.rounds):
        order = workers[r % len(workers):] + workers[:r % len(workers)] if workers else []
        for w in order:
            if w not in rounds:
                continue
            try:
                s = w.request({"op": "time", "calls": calls[w]})["seconds"]
            except WorkerError as e:
                results[w.impl.name] = {"error": str(e)}
                del rounds[w]
                continue
            rounds[w].append(w.info["items_per_call"] * calls[w] / s)
    for w in workers:
        if w not in rounds:
            w.close()
            continue
        res = {"unit": w.info["unit"], "per_second": statistics.median(rounds[w]),
               "rounds": rounds[w], "calls_per_round": calls[w], "items_per_call": w.info["items_per_call"],
               "params": w.info.get("params"), "setup_seconds": w.info.get("setup_seconds"),
               "version": w.info.get("version"), "threads": w.info.get("threads")}
        if args.learn and case in LEARN_STEPS and w.impl.learn:
            try:
                res["learn"] = w.request({"op": "learn", "steps": LEARN_STEPS[case]})
            except WorkerError as e:
                res["learn"] = {"error": str(e)}
        res["peak_rss_mb"] = w.peak_rss_mb()
        results[w.impl.name] = res
        w.close()
    return results


def ratio_base(case_results):
    """The fastest PyTorch configuration's throughput, the reference for ratios."""
    torch = [r["per_second"] for name, r in case_results.items() if name.startswith("torch") and "per_second" in r]
    return max(torch) if torch else None


def table(report):
    impls = report["impls"]
    lines = []
    head = "| case | unit | " + " | ".join(impls) + " |"
    lines += [head, "|" + "---|" * (len(impls) + 2)]
    for case, res in report["results"].items():
        base = ratio_base(res)
        cells = []
        for name in impls:
            r = res.get(name)
            if r is None:
                cells.append("")
            elif "error" in r:
                cells.append("failed")
            else:
                cell = fmt(r["per_second"])
                if base:
                    cell += f" ({r['per_second'] / base:.2f}×)"
                cells.append(cell)
        unit = next((r["unit"] for r in res.values() if "unit" in r), "")
        lines.append(f"| {case} | {unit}/s | " + " | ".join(cells) + " |")
    lines.append("")
    lines.append("Peak memory (MB, the worker process's VmHWM):")
    lines.append("")
    lines += [head.replace("| unit ", ""), "|" + "---|" * (len(impls) + 1)]
    for case, res in report["results"].items():
        cells = []
        for name in impls:
            r = res.get(name) or {}
            rss = r.get("peak_rss_mb")
            cells.append(f"{rss:.0f}" if rss else "")
        lines.append(f"| {case} | " + " | ".join(cells) + " |")
    learned = [(case, name, r["learn"]) for case, res in report["results"].items()
               for name, r in res.items() if "learn" in r]
    if learned:
        lines += ["", "Learning check (fresh model, held-out data):", "",
                  "| case | configuration | steps | metric | before | after | seconds |", "|---|---|---|---|---|---|---|"]
        for case, name, l in learned:
            if "error" in l:
                lines.append(f"| {case} | {name} | | failed: {l['error']} | | | |")
            else:
                lines.append(f"| {case} | {name} | {l['steps']} | {l['metric']} | {l['initial']:.3f} | "
                             f"{l['final']:.3f} | {l['seconds']:.1f} |")
    return "\n".join(lines)


def fmt(v):
    if v >= 1000:
        return f"{v:,.0f}"
    if v >= 10:
        return f"{v:.1f}"
    return f"{v:.2f}"


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--cases", type=lambda s: s.split(","), default=CASES, help="comma-separated cases (default: all)")
    p.add_argument("--impls", type=lambda s: s.split(","), help="comma-separated configurations (default: all available)")
    p.add_argument("--rounds", type=int, default=5, help="interleaved rounds per case (default 5)")
    p.add_argument("--seconds", type=float, default=2.0, help="target seconds per timing request (default 2)")
    p.add_argument("--learn", action="store_true", help="also run the learning check of each training case")
    p.add_argument("--conv-forms", action="store_true",
                   help="also run each flowlib configuration with Conv2D's forms forced (conv=matmul, conv=builtin)")
    p.add_argument("--torch-threads", type=lambda s: [int(x) for x in s.split(",")],
                   help="also run PyTorch with these thread counts, e.g. 1")
    p.add_argument("--mnist", type=Path, default=ROOT / ".cache" / "mnist", help="MNIST IDX directory")
    p.add_argument("--json", type=Path, default=ROOT / "out" / "bench.json", help="where to write the results")
    p.add_argument("--timeout", type=float, default=600, help="seconds a worker may take per request")
    args = p.parse_args()
    for c in args.cases:
        if c not in CASES:
            sys.exit(f"bench: unknown case {c!r}; valid: {', '.join(CASES)}")
    if args.rounds < 1 or args.seconds <= 0:
        sys.exit("bench: --rounds must be at least 1 and --seconds positive")

    def log(msg):
        print(msg, file=sys.stderr, flush=True)

    impls, skipped = available_impls(args)
    for s in skipped:
        log(f"skipping {s}")
    report = {"machine": machine(), "settings": {"rounds": args.rounds, "seconds": args.seconds, "learn": args.learn},
              "impls": [i.name for i in impls], "notes": {i.name: i.note for i in impls}, "skipped": skipped,
              "results": {}}
    t0 = time.time()
    for case in args.cases:
        log(f"{case}:")
        report["results"][case] = measure_case(case, impls, args, log)
    report["seconds"] = time.time() - t0
    versions = {}
    for res in report["results"].values():
        for name, r in res.items():
            if r.get("version"):
                versions[name] = f"{r['version']}, {r.get('threads')} threads"
    report["versions"] = versions
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(report, indent=1) + "\n")
    m = report["machine"]
    print(f"flowbook benchmark, {m['date']}: {m['cpu']}, {m['cores']} cores, {m['memory']}; "
          f"median of {args.rounds} interleaved rounds of ~{args.seconds:g}s; ratios to the fastest PyTorch configuration")
    print()
    print(table(report))
    print()
    for name, v in versions.items():
        print(f"- {name}: {v} ({report['notes'].get(name, '')})")
    for s in skipped:
        print(f"- skipped {s}")
    print(f"\nJSON: {args.json} ({report['seconds']:.0f}s in all)")
    failed = [f"{case} {name}" for case, res in report["results"].items() for name, r in res.items() if "error" in r]
    if failed:
        print("failed: " + "; ".join(failed), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
