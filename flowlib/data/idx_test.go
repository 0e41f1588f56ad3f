package data_test

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/flowbook/flowbook/flowlib/data"
)

// idxBytes builds the raw bytes of an IDX file: magic 00 00 typ rank, the
// big-endian dimensions, then payload.
func idxBytes(typ byte, dims []int, payload []byte) []byte {
	b := []byte{0, 0, typ, byte(len(dims))}
	for _, d := range dims {
		b = append(b, byte(d>>24), byte(d>>16), byte(d>>8), byte(d))
	}
	return append(b, payload...)
}

// gzipBytes compresses b.
func gzipBytes(t *testing.T, b []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	if _, err := zw.Write(b); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// wantErr fails the test unless err is non-nil and its message contains
// every one of wants.
func wantErr(t *testing.T, err error, wants ...string) {
	t.Helper()
	if err == nil {
		t.Fatalf("got no error, want one mentioning %q", wants)
	}
	for _, w := range wants {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("error %q does not mention %q", err, w)
		}
	}
}

func TestIDXRoundTrip(t *testing.T) {
	counting := func(n int) []byte {
		b := make([]byte, n)
		for i := range b {
			b[i] = byte(i * 7)
		}
		return b
	}
	tests := []struct {
		name string
		dims []int
	}{
		{"labels", []int{10}},
		{"images", []int{5, 4, 3}},
		{"rank 4", []int{2, 3, 4, 2}},
		{"empty", []int{0, 28, 28}},
		{"mnist-sized image", []int{1, 28, 28}},
	}
	for _, tt := range tests {
		for _, gz := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/gzip=%v", tt.name, gz), func(t *testing.T) {
				size := 1
				for _, d := range tt.dims {
					size *= d
				}
				in := &data.IDX{Dims: tt.dims, Data: counting(size)}
				path := filepath.Join(t.TempDir(), "file")
				if err := data.WriteIDX(path, in, gz); err != nil {
					t.Fatalf("WriteIDX: %v", err)
				}
				raw, _ := os.ReadFile(path)
				if isGz := bytes.HasPrefix(raw, []byte{0x1f, 0x8b}); isGz != gz {
					t.Errorf("file starts with % x, gzip=%v", raw[:2], gz)
				}
				if !gz && !bytes.Equal(raw, idxBytes(0x08, tt.dims, in.Data)) {
					t.Errorf("plain file is not the expected IDX bytes:\n got % x\nwant % x", raw, idxBytes(0x08, tt.dims, in.Data))
				}
				out, err := data.ReadIDX(path)
				if err != nil {
					t.Fatalf("ReadIDX: %v", err)
				}
				if !slices.Equal(out.Dims, in.Dims) || !bytes.Equal(out.Data, in.Data) {
					t.Errorf("read back Dims %v and %d bytes, want Dims %v and %d bytes equal to those written",
						out.Dims, len(out.Data), in.Dims, len(in.Data))
				}

				// Writing the same content again gives the same bytes.
				again := filepath.Join(t.TempDir(), "again")
				if err := data.WriteIDX(again, in, gz); err != nil {
					t.Fatal(err)
				}
				if raw2, _ := os.ReadFile(again); !bytes.Equal(raw, raw2) {
					t.Error("writing the same IDX twice gave different bytes")
				}
			})
		}
	}
}

// TestReadIDXDetectsGzipByContent reads files whose names lie about their
// compression.
func TestReadIDXDetectsGzipByContent(t *testing.T) {
	dir := t.TempDir()
	want := &data.IDX{Dims: []int{3}, Data: []byte{1, 2, 3}}
	for name, gz := range map[string]bool{"plain.gz": false, "compressed-without-suffix": true} {
		path := filepath.Join(dir, name)
		if err := data.WriteIDX(path, want, gz); err != nil {
			t.Fatal(err)
		}
		got, err := data.ReadIDX(path)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if !slices.Equal(got.Data, want.Data) {
			t.Errorf("%s: read %v, want %v", name, got.Data, want.Data)
		}
	}
}

func TestReadIDXErrors(t *testing.T) {
	images := idxBytes(0x08, []int{3, 2, 2}, make([]byte, 12))
	gzImages := gzipBytes(t, images)
	tests := []struct {
		name    string
		content []byte // nil: the file does not exist
		wants   []string
	}{
		{"missing", nil, []string{"no such file", "check the path"}},
		{"empty", []byte{}, []string{"truncated header", "only 0 bytes", "4-byte magic number"}},
		{"magic cut short", []byte{0, 0, 8}, []string{"truncated header", "only 3 bytes"}},
		{"dimensions cut short", images[:9], []string{"truncated header", "rank 3", "12 bytes of dimensions", "only 5"}},
		{"bad magic", []byte("PK\x03\x04 a zip file, say"),
			[]string{"not an IDX file", "50 4b 03 04", "00 00 08 03"}},
		{"error page", []byte("<html>404</html>"), []string{"not an IDX file", "error page"}},
		{"rank 0", []byte{0, 0, 8, 0}, []string{"not an IDX file"}},
		{"float32 elements", idxBytes(0x0D, []int{2}, make([]byte, 8)),
			[]string{"element type 0x0d (float32)", "only unsigned bytes (type 0x08"}},
		{"unknown type", idxBytes(0x42, []int{2}, make([]byte, 2)), []string{"0x42", "not a type code"}},
		{"short pixels", images[:len(images)-5],
			[]string{"header says 3×2×2 = 12 bytes of pixels but the file has 7", "probably truncated", "scripts/fetch-mnist"}},
		{"short labels", idxBytes(0x08, []int{10}, make([]byte, 4)),
			[]string{"header says 10 = 10 bytes of labels but the file has 4"}},
		{"extra data", append(slices.Clone(images), 0), []string{"12 bytes of pixels but the file has more", "extra bytes"}},
		{"huge header", idxBytes(0x08, []int{1 << 30, 1 << 30}, nil), []string{"header is corrupt"}},
		{"gzip cut short", gzImages[:len(gzImages)-12], []string{"probably truncated"}},
		{"gzip without checksum", gzImages[:len(gzImages)-4], []string{"ends before its checksum"}},
		{"gzip garbage", []byte{0x1f, 0x8b, 1, 2, 3}, []string{"gzip header is unreadable"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "train-images-idx3-ubyte.gz")
			if tt.content != nil {
				if err := os.WriteFile(path, tt.content, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			idx, err := data.ReadIDX(path)
			if err == nil {
				t.Fatalf("got Dims %v and %d bytes, want an error", idx.Dims, len(idx.Data))
			}
			wantErr(t, err, append([]string{"data: " + path + ": "}, tt.wants...)...)
		})
	}
}

func TestWriteIDXErrors(t *testing.T) {
	tests := []struct {
		name  string
		idx   *data.IDX
		wants []string
	}{
		{"nil", nil, []string{"nil"}},
		{"rank 0", &data.IDX{Data: []byte{1}}, []string{"rank 0", "ranks 1 to 255"}},
		{"negative dimension", &data.IDX{Dims: []int{-1}}, []string{"dimension 0 is -1"}},
		{"data too short", &data.IDX{Dims: []int{2, 3}, Data: make([]byte, 5)},
			[]string{"5 bytes of data but dimensions 2×3 need 6"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "out")
			wantErr(t, data.WriteIDX(path, tt.idx, false), append([]string{"data: WriteIDX(" + path + ")"}, tt.wants...)...)
			if _, err := os.Stat(path); err == nil {
				t.Error("a failed WriteIDX left a file behind")
			}
		})
	}
	t.Run("missing directory", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "no-such-dir", "out")
		wantErr(t, data.WriteIDX(path, &data.IDX{Dims: []int{1}, Data: []byte{1}}, true), path, "directory exists")
	})
}

func ExampleWriteIDX() {
	dir, err := os.MkdirTemp("", "idx-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)

	// Two 2×3 "images".
	images := &data.IDX{Dims: []int{2, 2, 3}, Data: []byte{0, 1, 2, 3, 4, 5, 10, 20, 30, 40, 50, 60}}
	path := filepath.Join(dir, "tiny-images-idx3-ubyte.gz")
	if err := data.WriteIDX(path, images, true); err != nil {
		log.Fatal(err)
	}
	back, err := data.ReadIDX(path)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("dims:", back.Dims)
	fmt.Println("second image:", back.Data[6:])
	// Output:
	// dims: [2 2 3]
	// second image: [10 20 30 40 50 60]
}
