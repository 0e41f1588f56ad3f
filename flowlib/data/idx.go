package data

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"strconv"
	"strings"
)

// idxUint8 is the IDX element-type code for unsigned bytes, the only type
// ReadIDX and WriteIDX support (it is the one MNIST and Fashion-MNIST use).
const idxUint8 = 0x08

// maxIDXBytes bounds the data size an IDX header may claim, so that a
// corrupt header is reported instead of triggering a huge allocation.
// MNIST's largest file holds 47 MB of pixels.
const maxIDXBytes = 1 << 34

// IDX is the content of an IDX file, the simple format the MNIST files use
// (http://yann.lecun.com/exdb/mnist/): a 4-byte magic number 00 00 TT RR,
// where TT is the element type and RR the rank; RR big-endian int32
// dimensions; then the elements, row-major (last dimension fastest).
//
// Only unsigned bytes (type 0x08) are supported, so the magic number is
// 0x00000803 for a stack of images [count, rows, cols] and 0x00000801 for a
// vector of labels [count].
type IDX struct {
	// Dims are the dimensions, outermost first, e.g. [60000, 28, 28].
	Dims []int
	// Data holds the product of Dims bytes, row-major.
	Data []uint8
}

// ReadIDX reads an IDX file of unsigned bytes, plain or gzip-compressed: the
// compression is detected from the file's first bytes (1f 8b), not from its
// name, so a misnamed file still loads.
//
// Every error names the file and says what was expected: a missing file, a
// header cut short, a magic number that is not IDX's, an element type other
// than unsigned bytes, or data that does not match the size the header
// declares (the usual sign of an interrupted download).
func ReadIDX(path string) (*IDX, error) {
	f, err := os.Open(path)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("data: %s: no such file; check the path (a relative path starts from the working directory)", path)
		}
		return nil, fmt.Errorf("data: cannot read IDX file: %w", err)
	}
	defer f.Close() // read-only, so a Close error cannot lose data

	br := bufio.NewReader(f)
	var r io.Reader = br
	if magic, _ := br.Peek(2); bytes.Equal(magic, []byte{0x1f, 0x8b}) {
		zr, err := gzip.NewReader(br)
		if err != nil {
			return nil, fmt.Errorf("data: %s: starts like a gzip file but its gzip header is unreadable (%v); "+
				"delete it and download it again", path, err)
		}
		defer zr.Close()
		r = zr
	}
	return decodeIDX(r, path)
}

// decodeIDX reads the IDX content of r (already decompressed); name
// identifies the input in error messages.
func decodeIDX(r io.Reader, name string) (*IDX, error) {
	fail := func(format string, args ...any) (*IDX, error) {
		return nil, fmt.Errorf("data: %s: "+format, append([]any{name}, args...)...)
	}
	var magic [4]byte
	if n, err := io.ReadFull(r, magic[:]); err != nil {
		if isTruncation(err) {
			return fail("truncated header: the file holds only %d bytes, but an IDX file starts with a 4-byte magic number; "+
				"the download is probably truncated: delete it and download it again", n)
		}
		return fail("read error in the header: %v", err)
	}
	if magic[0] != 0 || magic[1] != 0 || magic[3] == 0 {
		hint := ""
		if magic[0] == '<' || magic[0] == '{' {
			hint = " (it looks like text: perhaps an error page saved by a failed download)"
		}
		return fail("not an IDX file: it starts with bytes % x%s, but an IDX file starts with 00 00, the type code and "+
			"the rank (00 00 08 03 for MNIST images, 00 00 08 01 for labels); delete it and download it again",
			magic[:], hint)
	}
	if magic[2] != idxUint8 {
		return fail("IDX element type 0x%02x (%s) is not supported; only unsigned bytes (type 0x08, as in MNIST) are",
			magic[2], idxTypeName(magic[2]))
	}

	rank := int(magic[3])
	header := make([]byte, 4*rank)
	if n, err := io.ReadFull(r, header); err != nil {
		if isTruncation(err) {
			return fail("truncated header: the magic number says rank %d, so %d bytes of dimensions follow, but only %d do; "+
				"the download is probably truncated: delete it and download it again", rank, 4*rank, n)
		}
		return fail("read error in the header: %v", err)
	}
	dims := make([]int, rank)
	size := int64(1)
	for i := range dims {
		d := binary.BigEndian.Uint32(header[4*i:])
		if d > math.MaxInt32 {
			return fail("dimension %d in the header is %d, which is not a valid size (IDX sizes are non-negative int32)", i, d)
		}
		dims[i] = int(d)
		if size = size * int64(d); size > maxIDXBytes {
			return fail("header declares dimensions starting with %s, over %d GiB of data; the header is corrupt: "+
				"delete the file and download it again", formatDims(dims[:i+1]), maxIDXBytes>>30)
		}
	}

	// Read at most one byte more than declared, to detect trailing data
	// without reading a whole oversized file.
	data, err := io.ReadAll(io.LimitReader(r, size+1))
	cutShort := errors.Is(err, io.ErrUnexpectedEOF) // only a gzip stream can end this way
	if err != nil && !cutShort {
		return fail("read error after %d bytes of data (%v); the file is probably corrupt: delete it and download it again",
			len(data), err)
	}
	what := "data"
	switch rank {
	case 1:
		what = "labels"
	case 3:
		what = "pixels"
	}
	switch {
	case int64(len(data)) < size:
		return fail("header says %s = %d bytes of %s but the file has %d; "+
			"the download is probably truncated: delete it and download it again (for MNIST: scripts/fetch-mnist DIR)",
			formatDims(dims), size, what, len(data))
	case int64(len(data)) > size:
		return fail("header says %s = %d bytes of %s but the file has more; "+
			"extra bytes after the data mean the file is not a valid IDX file: delete it and download it again",
			formatDims(dims), size, what)
	case cutShort:
		return fail("the gzip stream ends before its checksum, so the data cannot be verified; " +
			"the download is probably truncated: delete it and download it again")
	}
	return &IDX{Dims: dims, Data: data}, nil
}

// WriteIDX writes idx to path as an IDX file of unsigned bytes, compressed
// with gzip when gzipped is true (the gzip header carries no name or time,
// so the same content always gives the same bytes). ReadIDX reads it back.
// An existing file at path is replaced.
func WriteIDX(path string, idx *IDX, gzipped bool) (err error) {
	if err := checkIDX(idx); err != nil {
		return fmt.Errorf("data: WriteIDX(%s): %w", path, err)
	}
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("data: cannot write IDX file: %w; check that the directory exists and is writable", err)
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(path) // never leave a half-written file that looks like data
		}
	}()

	bw := bufio.NewWriter(f)
	w := io.Writer(bw)
	var zw *gzip.Writer
	if gzipped {
		zw, _ = gzip.NewWriterLevel(bw, gzip.BestCompression) // the level is valid, so no error
		w = zw
	}
	header := make([]byte, 4+4*len(idx.Dims))
	header[2], header[3] = idxUint8, byte(len(idx.Dims))
	for i, d := range idx.Dims {
		binary.BigEndian.PutUint32(header[4+4*i:], uint32(d))
	}
	if _, err := w.Write(header); err != nil {
		return fmt.Errorf("data: writing %s: %w", path, err)
	}
	if _, err := w.Write(idx.Data); err != nil {
		return fmt.Errorf("data: writing %s: %w", path, err)
	}
	if zw != nil {
		if err := zw.Close(); err != nil {
			return fmt.Errorf("data: writing %s: %w", path, err)
		}
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("data: writing %s: %w", path, err)
	}
	// Close can report a failed write (a full disk, say), so its error matters.
	if err := f.Close(); err != nil {
		return fmt.Errorf("data: closing %s: %w", path, err)
	}
	return nil
}

// checkIDX reports an IDX value that WriteIDX cannot write faithfully.
func checkIDX(idx *IDX) error {
	switch {
	case idx == nil:
		return errors.New("the IDX value is nil")
	case len(idx.Dims) == 0 || len(idx.Dims) > 255:
		return fmt.Errorf("IDX has rank %d; the format holds ranks 1 to 255", len(idx.Dims))
	}
	size := int64(1)
	for i, d := range idx.Dims {
		if d < 0 || d > math.MaxInt32 {
			return fmt.Errorf("IDX dimension %d is %d; sizes must be in [0, %d]", i, d, math.MaxInt32)
		}
		size = min(size*int64(d), maxIDXBytes+1) // capped so it cannot overflow
	}
	if int64(len(idx.Data)) != size {
		return fmt.Errorf("IDX has %d bytes of data but dimensions %s need %d; make Data match Dims",
			len(idx.Data), formatDims(idx.Dims), size)
	}
	return nil
}

// isTruncation reports whether err means the input ended early.
func isTruncation(err error) bool {
	return errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF)
}

// formatDims writes dimensions as 60000×28×28.
func formatDims(dims []int) string {
	parts := make([]string, len(dims))
	for i, d := range dims {
		parts[i] = strconv.Itoa(d)
	}
	return strings.Join(parts, "×")
}

// idxTypeName names an IDX element-type code, for error messages.
func idxTypeName(code byte) string {
	switch code {
	case 0x08:
		return "unsigned byte"
	case 0x09:
		return "signed byte"
	case 0x0B:
		return "int16"
	case 0x0C:
		return "int32"
	case 0x0D:
		return "float32"
	case 0x0E:
		return "float64"
	}
	return "not a type code IDX defines"
}
