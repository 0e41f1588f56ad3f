"""Builds, executes and checks the workbook's notebooks.

Each notebook is written as Markdown in notebooks/src/NN-name.md: ```go fenced
blocks become code cells, the text between them markdown cells (a line
`<!-- cell -->` starts a new markdown cell). HTML comments right after a code
block state what its output must contain, and are kept in the cell's metadata:

    <!-- expect: held-out NLL -->      text the outputs must contain
    <!-- expect: <svg -->              a figure (image/svg+xml) was shown
    <!-- expect: image/png -->         a PNG was shown

notebooks/NN-name.ipynb is the same notebook stored with the outputs of a full
run, so that it reads well on GitHub and in JupyterLab before anything runs.

    python3 scripts/notebooks.py check               stored notebooks: built from their sources,
                                                     fully executed, no error outputs (no kernel needed)
    scripts/notebooks run [--quick] [--save] [N...]  execute notebooks with the "Go (flowbook)" kernel,
                                                     check outputs, print times; --save stores them
    scripts/notebooks sync [N...]                    store edits that need no full re-run: markdown
                                                     from the source, unchanged code cells keep their
                                                     outputs, new shell-only cells (`!` lines) run alone
"""

import argparse
import json
import os
import re
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = ROOT / "notebooks"
SOURCES = NOTEBOOKS / "src"
KERNEL = {"name": "flowbook", "display_name": "Go (flowbook)", "language": "go"}
LANGUAGE_INFO = {"name": "go", "file_extension": ".go", "mimetype": "text/x-go"}

EXPECT = re.compile(r"^<!--\s*expect:\s*(.*?)\s*-->$")
SPLIT = "<!-- cell -->"


def parse_source(path):
    """Returns the cells of a Markdown notebook source as nbformat-4 dicts."""
    cells, text = [], []
    lines = path.read_text().splitlines()
    i = 0

    def flush_markdown():
        body = "\n".join(text).strip("\n")
        text.clear()
        if body.strip():
            cells.append({"cell_type": "markdown", "metadata": {}, "source": body})

    while i < len(lines):
        line = lines[i]
        if line.strip() == "```go":
            flush_markdown()
            code = []
            i += 1
            while i < len(lines) and lines[i].strip() != "```":
                code.append(lines[i])
                i += 1
            if i == len(lines):
                sys.exit(f"{path}: unterminated ```go block")
            i += 1
            expect = []
            while i < len(lines) and (EXPECT.match(lines[i].strip()) or not lines[i].strip()):
                m = EXPECT.match(lines[i].strip())
                if m:
                    expect.append(m.group(1))
                i += 1
            meta = {"flowbook": {"expect": expect}} if expect else {}
            cells.append({"cell_type": "code", "metadata": meta, "source": "\n".join(code),
                          "execution_count": None, "outputs": []})
            continue
        if line.strip() == SPLIT:
            flush_markdown()
        else:
            text.append(line)
        i += 1
    flush_markdown()
    return cells


def build(path):
    """The notebook (a dict) built from a source, without outputs."""
    return {
        "nbformat": 4, "nbformat_minor": 5,
        "metadata": {"kernelspec": KERNEL, "language_info": LANGUAGE_INFO},
        "cells": [dict(cell, id=f"c{i:03d}") for i, cell in enumerate(parse_source(path))],
    }


def sources(names):
    """Source files, all or those whose names start with one of names (e.g. "03")."""
    found = sorted(SOURCES.glob("[0-9][0-9]-*.md"))
    if names:
        found = [p for p in found if any(p.stem.startswith(n) for n in names)]
        if not found:
            sys.exit(f"no notebook source in {SOURCES} matches {names}")
    return found


def output_text(output):
    """Everything an output shows, as one string, for the expect checks."""
    if output["output_type"] == "stream":
        return output["text"] if isinstance(output["text"], str) else "".join(output["text"])
    if output["output_type"] == "error":
        return "\n".join(output.get("traceback", []))
    parts = []
    for mime, value in output.get("data", {}).items():
        value = value if isinstance(value, str) else "".join(value)
        parts.append(mime if mime == "image/png" else value)
    return "\n".join(parts)


def problems(nb, name, require_executed):
    """What is wrong with an executed notebook: errors, missing outputs."""
    found = []
    for i, cell in enumerate(nb["cells"]):
        if cell["cell_type"] != "code":
            continue
        where = f"{name}, code cell {i} ({first_line(cell)})"
        if require_executed and cell.get("execution_count") is None:
            found.append(f"{where}: not executed")
        shown = ""
        for out in cell.get("outputs", []):
            text = output_text(out)
            # Printed text arrives in chunks that may split a line: join them as printed.
            shown += text if out["output_type"] == "stream" else "\n" + text + "\n"
            if out["output_type"] == "error":
                found.append(f"{where}: error output:\n{indent(text)}")
            elif out["output_type"] == "stream" and out.get("name") == "stderr" and is_failure(text):
                found.append(f"{where}: stderr reports a failure:\n{indent(text)}")
            elif "flowbook_curve_" in text or (out["output_type"] == "display_data" and not out.get("data")):
                found.append(f"{where}: a live display was left behind")
        for want in cell.get("metadata", {}).get("flowbook", {}).get("expect", []):
            if want not in shown:
                found.append(f"{where}: output lacks {want!r}; it was:\n{indent(shown[:1500])}")
    return found


def is_failure(text):
    return bool(re.search(r"panic:|\berror\b|\bfailed\b|exit status", text, re.IGNORECASE))


def first_line(cell):
    src = cell["source"] if isinstance(cell["source"], str) else "".join(cell["source"])
    for line in src.splitlines():
        if line.strip() and not line.startswith("%%"):
            return line.strip()[:60]
    return "empty"


def indent(text):
    return "\n".join("    " + line for line in text.rstrip().splitlines()[-40:])


def cell_sources(nb):
    return [(c["cell_type"], c["source"] if isinstance(c["source"], str) else "".join(c["source"]))
            for c in nb["cells"]]


def check(args):
    """Stored notebooks match their sources, are fully executed and error free."""
    failures = []
    srcs = sources(args.names)
    for src in srcs:
        stored = NOTEBOOKS / (src.stem + ".ipynb")
        if not stored.exists():
            failures.append(f"{stored.name}: missing; run scripts/notebooks run --save {src.stem[:2]}")
            continue
        nb = json.loads(stored.read_text())
        if cell_sources(nb) != cell_sources(build(src)):
            failures.append(f"{stored.name}: its cells differ from {src.relative_to(ROOT)}; "
                            f"edit the source and run scripts/notebooks run --save {src.stem[:2]}")
        if nb.get("metadata", {}).get("flowbook", {}).get("mode") != "full":
            failures.append(f"{stored.name}: not stored from a full run")
        failures += problems(nb, stored.name, require_executed=True)
    orphans = {p.stem for p in NOTEBOOKS.glob("*.ipynb")} - {p.stem for p in sources([])}
    failures += [f"{o}.ipynb has no source in notebooks/src" for o in sorted(orphans) if not args.names]
    for f in failures:
        print("FAIL", f)
    print(f"checked {len(srcs)} stored notebooks: {'ok' if not failures else f'{len(failures)} problems'}")
    return 1 if failures else 0


def run(args):
    """Executes notebooks with the real kernel and checks their outputs."""
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError
    import nbformat

    os.environ["FLOWBOOK_QUICK"] = "1" if args.quick else "0"
    os.environ.setdefault("FLOWBOOK_KERNEL_RAW_ERRORS", "1")
    mode = "quick" if args.quick else "full"
    out_dir = Path(args.out) if args.out else None
    if out_dir:
        out_dir.mkdir(parents=True, exist_ok=True)
    results, failed = [], False
    for src in sources(args.names):
        nb = nbformat.from_dict(build(src))
        client = NotebookClient(nb, kernel_name=KERNEL["name"], timeout=args.cell_timeout,
                                resources={"metadata": {"path": str(NOTEBOOKS)}},
                                record_timing=False, startup_timeout=120)
        print(f"--- {src.stem} ({mode})", flush=True)
        start = time.time()
        error = None
        try:
            client.execute()
        except CellExecutionError as e:
            error = str(e)
        except Exception as e:  # a timeout or a dead kernel
            error = f"{type(e).__name__}: {e}"
        seconds = time.time() - start
        found = problems(nb, src.stem, require_executed=error is None)
        if error and not found:
            found = [error[-3000:]]
        for f in found:
            print("FAIL", f, flush=True)
        failed |= bool(found)
        results.append((src.stem, seconds, "FAIL" if found else "ok"))
        nb.metadata["flowbook"] = {"mode": mode, "seconds": round(seconds, 1)}
        if out_dir:
            nbformat.write(nb, out_dir / (src.stem + ".ipynb"))
        if args.save and not found:
            nbformat.write(nb, NOTEBOOKS / (src.stem + ".ipynb"))
    print(f"\n{'notebook':34s} {mode + ' run':>10s}  result")
    for name, seconds, status in results:
        print(f"{name:34s} {seconds:9.1f}s  {status}")
    print(f"{'total':34s} {sum(r[1] for r in results):9.1f}s")
    return 1 if failed else 0


def is_shell_only(source):
    """A cell of GoNB shell commands only (`!` lines): it depends on no Go state."""
    lines = [l for l in source.splitlines() if l.strip()]
    return bool(lines) and all(l.lstrip().startswith("!") for l in lines)


def merge_streams(outputs):
    """Joins consecutive stream outputs of the same name (a shell command's
    output arrives in many small pieces)."""
    merged = []
    for out in outputs:
        if (merged and out["output_type"] == "stream" and merged[-1]["output_type"] == "stream"
                and merged[-1]["name"] == out["name"]):
            merged[-1] = dict(merged[-1], text=output_text(merged[-1]) + output_text(out))
        else:
            merged.append(out)
    return merged


def sync(args):
    """Stores edits to a notebook's source that do not need a full re-run.

    Markdown cells come from the source; a code cell whose source is unchanged
    keeps its stored outputs; a new or changed code cell must be shell-only
    (GoNB `!` lines, which depend on nothing the notebook computed), and is
    executed on its own by the real kernel. Anything else needs
    `scripts/notebooks run --save`. The synced cells are listed in the
    notebook's metadata (flowbook.synced).
    """
    from nbclient import NotebookClient
    import nbformat

    os.environ["FLOWBOOK_QUICK"] = "0"
    os.environ.setdefault("FLOWBOOK_KERNEL_RAW_ERRORS", "1")
    failed = False
    for src in sources(args.names):
        path = NOTEBOOKS / (src.stem + ".ipynb")
        stored = json.loads(path.read_text())
        if stored.get("metadata", {}).get("flowbook", {}).get("mode") != "full":
            sys.exit(f"{path.name}: not stored from a full run; use scripts/notebooks run --save {src.stem[:2]}")
        kept = {}
        for cell in stored["cells"]:
            if cell["cell_type"] == "code":
                kept.setdefault("".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"], cell)
        nb = build(src)
        new = []
        for cell in nb["cells"]:
            if cell["cell_type"] != "code":
                continue
            old = kept.get(cell["source"])
            if old is not None:
                cell["outputs"], cell["execution_count"] = old["outputs"], old["execution_count"]
            elif is_shell_only(cell["source"]):
                new.append(cell)
            else:
                sys.exit(f"{path.name}: the code cell starting {first_line(cell)!r} is new or changed and is not "
                         f"shell-only; run scripts/notebooks run --save {src.stem[:2]}")
        if new:
            mini = nbformat.from_dict(dict(nb, cells=[dict(c) for c in new]))
            client = NotebookClient(mini, kernel_name=KERNEL["name"], timeout=600,
                                    resources={"metadata": {"path": str(NOTEBOOKS)}}, startup_timeout=120)
            client.execute()
            for cell, done in zip(new, mini.cells):
                cell["outputs"] = merge_streams([dict(o) for o in done.outputs])
                cell["execution_count"] = done.execution_count
        flowbook = dict(stored["metadata"].get("flowbook", {}))
        flowbook["synced"] = sorted(set(flowbook.get("synced", [])) | {c["id"] for c in new})
        nb["metadata"]["flowbook"] = flowbook
        found = problems(nbformat.from_dict(nb), path.name, require_executed=True)
        for f in found:
            print("FAIL", f)
        failed |= bool(found)
        if not found:
            nbformat.write(nbformat.from_dict(nb), path)
        print(f"{path.name}: {len(new)} cells executed, {'not saved' if found else 'saved'}")
    return 1 if failed else 0


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    c = sub.add_parser("check", help="check the stored notebooks (no kernel needed)")
    c.add_argument("names", nargs="*")
    r = sub.add_parser("run", help="execute notebooks with the Go (flowbook) kernel")
    r.add_argument("names", nargs="*", help="notebook number prefixes, e.g. 01 05 (default all)")
    r.add_argument("--quick", action="store_true", help="short heavy cells (FLOWBOOK_QUICK=1)")
    r.add_argument("--save", action="store_true", help="store executed notebooks in notebooks/ (full runs)")
    r.add_argument("--out", help="also write executed notebooks into this directory")
    r.add_argument("--cell-timeout", type=int, default=1800, help="seconds per cell")
    y = sub.add_parser("sync", help="store markdown edits and new shell-only cells without a full re-run")
    y.add_argument("names", nargs="*")
    args = parser.parse_args()
    if args.command == "run" and args.save and args.quick:
        sys.exit("--save stores full runs only; drop --quick")
    sys.exit({"check": check, "run": run, "sync": sync}[args.command](args))


if __name__ == "__main__":
    main()
