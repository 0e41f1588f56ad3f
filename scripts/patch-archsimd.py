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

usage: python3 patch-archsimd.py GOROOT   (prints how many loads it fixed)
"""

import re
import sys
from pathlib import Path

LOAD = re.compile(
    r"\tmask := [^\n]*\n"
    r"\treturn Load(?P<vec>(?:Int|Uint|Float)(?P<bits>\d+)x(?P<lanes>\d+))Array\(pa(?P=vec)\(s\)\)\.Masked\([^\n]*\), l\n")


def element_type(vec, bits):
    kind = re.match(r"[A-Za-z]+", vec).group(0).lower()
    return f"{kind}{bits}"


def patch(source):
    def fix(m):
        return (f"\tvar a [{m['lanes']}]{element_type(m['vec'], m['bits'])}\n"
                f"\tcopy(a[:], s) // Never read past the end of s.\n"
                f"\treturn Load{m['vec']}Array(&a), l\n")
    return LOAD.subn(fix, source)


def main():
    source = Path(sys.argv[1]) / "src" / "simd" / "archsimd" / "slice_gen_amd64.go"
    if not source.exists():
        print(0)  # No archsimd for amd64 here: nothing to fix.
        return 0
    patched, n = patch(source.read_text())
    if n:  # 0: a toolchain that no longer has the bug, or one already patched.
        source.write_text(patched)
    print(n)
    return 0


if __name__ == "__main__":
    sys.exit(main())
