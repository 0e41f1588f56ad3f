"""Fixes Go 1.27's archsimd partial loads in a private copy of the toolchain.

Go 1.27.4's simd/archsimd Load*Part functions (slice_gen_amd64.go) load a
whole vector from a slice shorter than a vector and then mask the lanes
beyond its end: the load reads past the slice, and when the slice ends at the
end of mapped memory the program dies with "unexpected fault address".
GoMLX's pure-Go backend uses these loads for the tails of its SIMD loops, so
a notebook or test built with GOEXPERIMENT=simd crashes now and then.

This script rewrites each such load in GOROOT's slice_gen_amd64.go to copy
the slice into a zeroed array first (the documented result: the lanes past
the end are zero). `go build -overlay` cannot do it, because it refuses to
replace files in the module cache, where GOTOOLCHAIN downloads toolchains;
so scripts/go-toolchain runs this on a copy of the toolchain that the
project's scripts then use. flowlib/internal/simdcheck tests the fix.

It fails (exit status 1, saying why) rather than patch something it does not
recognise: for a Go version it knows, it must find exactly the loads it
expects; for any version, no whole-vector partial load may be left
unpatched. On success it writes GOROOT/FLOWBOOK-PATCHED, which says what was
changed, and prints the number of loads it fixed.

usage: python3 patch-archsimd.py GOROOT
"""

import re
import sys
from pathlib import Path

# A partial load that reads a whole vector, then masks it.
LOAD = re.compile(
    r"\tmask := [^\n]*\n"
    r"\treturn Load(?P<vec>(?:Int|Uint|Float)(?P<bits>\d+)x(?P<lanes>\d+))Array\(pa(?P=vec)\(s\)\)\.Masked\([^\n]*\), l\n")
# Any whole-vector load of a partial slice, matched or not by LOAD.
ANY_WHOLE_LOAD = re.compile(r"Load\w+Array\(pa\w+\(s\)\)\.Masked\(")
# The number of such loads in each Go version this script was written for.
EXPECTED = {"go1.27.4": 22}
MARKER = "FLOWBOOK-PATCHED"
FIXED = "copy(a[:], s) // Never read past the end of s."


def element_type(vec, bits):
    kind = re.match(r"[A-Za-z]+", vec).group(0).lower()
    return f"{kind}{bits}"


def patch(source):
    """Returns the source with every whole-vector partial load rewritten, and
    how many there were."""
    def fix(m):
        return (f"\tvar a [{m['lanes']}]{element_type(m['vec'], m['bits'])}\n"
                f"\t{FIXED}\n"
                f"\treturn Load{m['vec']}Array(&a), l\n")
    return LOAD.subn(fix, source)


def fail(message):
    print(f"patch-archsimd: {message}", file=sys.stderr)
    return 1


def main():
    goroot = Path(sys.argv[1])
    version = (goroot / "VERSION").read_text().split()[0] if (goroot / "VERSION").exists() else "unknown"
    source = goroot / "src" / "simd" / "archsimd" / "slice_gen_amd64.go"
    want = EXPECTED.get(version)
    if not source.exists():
        if want:
            return fail(f"{version} should have {source}, and it is missing: is {goroot} a Go toolchain?")
        print(0)  # No archsimd for amd64 in this Go: nothing to fix.
        return 0
    text = source.read_text()
    if FIXED in text:
        return fail(f"{source} is patched already; run this on a fresh copy of the toolchain")
    patched, n = patch(text)
    left = ANY_WHOLE_LOAD.findall(patched)
    if left:
        return fail(f"{len(left)} partial loads in {source} read a whole vector in a form this script does not "
                    f"recognise (it rewrote {n}); update scripts/patch-archsimd.py for {version}")
    if want is not None and n != want:
        return fail(f"{version} should have {want} whole-vector partial loads in {source}, found {n}: "
                    f"the file changed; check it and update EXPECTED in scripts/patch-archsimd.py")
    if n:
        source.write_text(patched)
    (goroot / MARKER).write_text(
        f"{version}: {n} SIMD partial loads patched by flowbook's scripts/patch-archsimd.py\n"
        f"In src/simd/archsimd/slice_gen_amd64.go they copy the slice into a zeroed array instead of\n"
        f"reading a whole vector past its end (see docs/backends.md, \"SIMD\").\n")
    print(n)
    return 0


if __name__ == "__main__":
    sys.exit(main())
