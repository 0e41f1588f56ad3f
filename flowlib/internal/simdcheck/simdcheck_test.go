//go:build goexperiment.simd && amd64 && linux

package simdcheck

import (
	"simd/archsimd"
	"syscall"
	"testing"
	"unsafe"
)

// guardedTail returns a slice of n values that ends exactly where readable
// memory ends: the page after it is made inaccessible, so reading one byte
// past the slice faults. The values are 1, 2, ..., n.
func guardedTail[T int32 | int64 | float32 | float64](t *testing.T, n int) []T {
	t.Helper()
	page := syscall.Getpagesize()
	mem, err := syscall.Mmap(-1, 0, 2*page, syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_ANON|syscall.MAP_PRIVATE)
	if err != nil {
		t.Fatalf("mmap: %v", err)
	}
	t.Cleanup(func() { _ = syscall.Munmap(mem) })
	if err := syscall.Mprotect(mem[page:], syscall.PROT_NONE); err != nil {
		t.Fatalf("mprotect: %v", err)
	}
	var zero T
	values := unsafe.Slice((*T)(unsafe.Pointer(&mem[0])), page/int(unsafe.Sizeof(zero)))
	tail := values[len(values)-n:]
	for i := range tail {
		tail[i] = T(i + 1)
	}
	return tail
}

// partialLoad is one of archsimd's Load*Part functions, wrapped to take n
// guarded values and return the vector's lanes as float64s and the count it
// reports loaded.
type partialLoad struct {
	name  string
	lanes int
	needs string // the CPU feature the vector width needs
	load  func(t *testing.T, n int) ([]float64, int)
}

// partial wraps load, an archsimd Load*Part function for vectors of the
// given number of lanes, as a partialLoad's load.
func partial[T int32 | int64 | float32 | float64, V interface{ Store([]T) }](lanes int, load func([]T) (V, int)) func(*testing.T, int) ([]float64, int) {
	return func(t *testing.T, n int) ([]float64, int) {
		v, loaded := load(guardedTail[T](t, n))
		stored := make([]T, lanes)
		v.Store(stored)
		out := make([]float64, lanes)
		for i, x := range stored {
			out[i] = float64(x)
		}
		return out, loaded
	}
}

// partialLoads covers each vector width (128, 256 and 512 bits) with 32- and
// 64-bit lanes, floats and integers: 9 of the 22 loads that
// scripts/patch-archsimd.py rewrites, all generated from one template.
var partialLoads = []partialLoad{
	{"LoadFloat32x4Part", 4, "AVX2", partial[float32](4, archsimd.LoadFloat32x4Part)},
	{"LoadFloat64x2Part", 2, "AVX2", partial[float64](2, archsimd.LoadFloat64x2Part)},
	{"LoadInt32x4Part", 4, "AVX2", partial[int32](4, archsimd.LoadInt32x4Part)},
	{"LoadFloat32x8Part", 8, "AVX2", partial[float32](8, archsimd.LoadFloat32x8Part)},
	{"LoadFloat64x4Part", 4, "AVX2", partial[float64](4, archsimd.LoadFloat64x4Part)},
	{"LoadInt64x4Part", 4, "AVX2", partial[int64](4, archsimd.LoadInt64x4Part)},
	{"LoadFloat32x16Part", 16, "AVX512", partial[float32](16, archsimd.LoadFloat32x16Part)},
	{"LoadFloat64x8Part", 8, "AVX512", partial[float64](8, archsimd.LoadFloat64x8Part)},
	{"LoadInt32x16Part", 16, "AVX512", partial[int32](16, archsimd.LoadInt32x16Part)},
}

// TestPartialLoadsStayInBounds loads 1, about half, and all but one of a
// vector's lanes from a slice that ends at an inaccessible page. Go 1.27.4's
// own archsimd crashes the test binary here ("unexpected fault address");
// with the patched toolchain the loads read only the slice and fill the other
// lanes with zeros. The 128- and 256-bit loads run on every CPU with AVX2,
// the 512-bit ones only where AVX-512 is present; the test says which it
// skipped.
func TestPartialLoadsStayInBounds(t *testing.T) {
	has := map[string]bool{"AVX2": archsimd.X86.AVX2(), "AVX512": archsimd.X86.AVX512()}
	ran := 0
	for _, pl := range partialLoads {
		t.Run(pl.name, func(t *testing.T) {
			if !has[pl.needs] {
				t.Skipf("this CPU has no %s, which %d-lane loads need", pl.needs, pl.lanes)
			}
			ran++
			for _, n := range []int{1, pl.lanes / 2, pl.lanes - 1} {
				lanes, loaded := pl.load(t, n)
				if loaded != n {
					t.Errorf("%s of %d values reported %d loaded", pl.name, n, loaded)
				}
				for i, got := range lanes {
					want := 0.0
					if i < n {
						want = float64(i + 1)
					}
					if got != want {
						t.Errorf("%s of %d values: lane %d = %v, want %v", pl.name, n, i, got, want)
					}
				}
			}
		})
	}
	if ran == 0 {
		t.Skip("this CPU has neither AVX2 nor AVX-512: GoMLX's SIMD kernels do not run on it")
	}
}
