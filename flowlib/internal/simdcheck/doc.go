// Package simdcheck holds a test of the Go toolchain the project builds with:
// that SIMD partial loads, which GoMLX's pure-Go backend uses for the tails of
// its vector loops, never read past the end of a slice. Go 1.27.4's do, and
// crash when the slice ends at the end of mapped memory; scripts/go-toolchain
// prepares a toolchain with them fixed (scripts/patch-archsimd.py).
package simdcheck
