//go:build goexperiment.simd && amd64 && linux

package simdcheck

import (
	"simd/archsimd"
	"syscall"
	"testing"
	"unsafe"
)

// guardedTail returns a slice of n float32s that ends exactly where readable
// memory ends: the page after it is made inaccessible, so reading one value
// past the slice faults.
func guardedTail(t *testing.T, n int) []float32 {
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
	floats := unsafe.Slice((*float32)(unsafe.Pointer(&mem[0])), page/4)
	tail := floats[len(floats)-n:]
	for i := range tail {
		tail[i] = float32(i + 1)
	}
	return tail
}

// TestPartialLoadsStayInBounds crashes the test binary ("unexpected fault
// address") with Go 1.27.4's own archsimd; with the patched toolchain the
// loads read only the slice and fill the other lanes with zeros.
func TestPartialLoadsStayInBounds(t *testing.T) {
	if !archsimd.X86.AVX512() {
		t.Skip("no AVX-512: the 16-lane loads are not used on this CPU")
	}
	for _, n := range []int{1, 3, 15} {
		v, loaded := archsimd.LoadFloat32x16Part(guardedTail(t, n))
		var lanes [16]float32
		v.Store(lanes[:])
		if loaded != n {
			t.Errorf("LoadFloat32x16Part of %d values reported %d loaded", n, loaded)
		}
		for i, got := range lanes {
			want := float32(0)
			if i < n {
				want = float32(i + 1)
			}
			if got != want {
				t.Errorf("LoadFloat32x16Part of %d values: lane %d = %v, want %v", n, i, got, want)
			}
		}
	}
	v, loaded := archsimd.LoadFloat32x8Part(guardedTail(t, 5))
	var lanes [8]float32
	v.Store(lanes[:])
	if loaded != 5 || lanes[4] != 5 || lanes[5] != 0 {
		t.Errorf("LoadFloat32x8Part of 5 values: %d loaded, lanes %v", loaded, lanes)
	}
}
