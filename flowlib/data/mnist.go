package data

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// mnistFiles are the standard MNIST file names, in the order train images,
// train labels, test images, test labels. Fashion-MNIST uses the same names.
var mnistFiles = [4]string{
	"train-images-idx3-ubyte",
	"train-labels-idx1-ubyte",
	"t10k-images-idx3-ubyte",
	"t10k-labels-idx1-ubyte",
}

// LoadMNIST reads the MNIST training and test sets from the four standard
// files in dir:
//
//	train-images-idx3-ubyte   train-labels-idx1-ubyte
//	t10k-images-idx3-ubyte    t10k-labels-idx1-ubyte
//
// each either plain or gzip-compressed with a .gz suffix (as downloaded);
// having both versions of one file is an error, since it is unclear which is
// meant. scripts/fetch-mnist DIR downloads them. Fashion-MNIST
// (https://github.com/zalandoresearch/fashion-mnist) ships files with the same
// names and format, so LoadMNIST reads it too (scripts/fetch-mnist DIR
// --fashion); its labels 0..9 are clothing classes instead of digits.
//
// Each image becomes one example of Dim = rows·cols values with Shape
// [rows, cols, 1] and its label in Labels. Pixels are float32 grey levels
// 0..255, deliberately not rescaled: flows for images dequantize (add
// uniform noise to the integer levels, then rescale) inside the model, so
// the data must keep its integer values.
//
// LoadMNIST checks that the image files are rank 3, that each image file has
// as many images as its label file has labels, that labels are in 0..9 and
// that train and test images have the same size.
func LoadMNIST(dir string) (train, test *Samples, err error) {
	paths, err := findMNISTFiles(dir)
	if err != nil {
		return nil, nil, err
	}
	if train, err = loadMNISTPart(paths[0], paths[1]); err != nil {
		return nil, nil, err
	}
	if test, err = loadMNISTPart(paths[2], paths[3]); err != nil {
		return nil, nil, err
	}
	if train.Shape[0] != test.Shape[0] || train.Shape[1] != test.Shape[1] {
		return nil, nil, fmt.Errorf("data: %s: training images are %d×%d but test images are %d×%d; "+
			"the files come from different datasets: fetch them again into an empty directory",
			dir, train.Shape[0], train.Shape[1], test.Shape[0], test.Shape[1])
	}
	return train, test, nil
}

// findMNISTFiles returns the paths of the four MNIST files in dir, each
// plain or with a .gz suffix.
func findMNISTFiles(dir string) ([4]string, error) {
	var paths [4]string
	var missing []string
	for i, name := range mnistFiles {
		plain := filepath.Join(dir, name)
		gz := plain + ".gz"
		hasPlain, hasGz := isFile(plain), isFile(gz)
		switch {
		case hasPlain && hasGz:
			return paths, fmt.Errorf("data: %s holds both %s and %s.gz; delete one of them so that it is clear which to read",
				dir, name, name)
		case hasPlain:
			paths[i] = plain
		case hasGz:
			paths[i] = gz
		default:
			missing = append(missing, name+"[.gz]")
		}
	}
	if missing != nil {
		return paths, fmt.Errorf("data: MNIST files not found in %s: looked for %s; run scripts/fetch-mnist %s to download them",
			dir, strings.Join(missing, ", "), dir)
	}
	return paths, nil
}

// isFile reports whether path exists and is not a directory.
func isFile(path string) bool {
	info, err := os.Stat(path)
	return err == nil && !info.IsDir()
}

// loadMNISTPart reads one pair of image and label files into Samples.
func loadMNISTPart(imagesPath, labelsPath string) (*Samples, error) {
	images, err := ReadIDX(imagesPath)
	if err != nil {
		return nil, err
	}
	if len(images.Dims) != 3 {
		return nil, fmt.Errorf("data: %s: expected MNIST images, an IDX file of rank 3 [count, rows, cols] "+
			"(magic 00 00 08 03), but it has rank %d (dimensions %s); is it a label file under the wrong name?",
			imagesPath, len(images.Dims), formatDims(images.Dims))
	}
	labels, err := ReadIDX(labelsPath)
	if err != nil {
		return nil, err
	}
	if len(labels.Dims) != 1 {
		return nil, fmt.Errorf("data: %s: expected MNIST labels, an IDX file of rank 1 [count] "+
			"(magic 00 00 08 01), but it has rank %d (dimensions %s); is it an image file under the wrong name?",
			labelsPath, len(labels.Dims), formatDims(labels.Dims))
	}

	n, rows, cols := images.Dims[0], images.Dims[1], images.Dims[2]
	switch {
	case n == 0 || rows == 0 || cols == 0:
		return nil, fmt.Errorf("data: %s holds no pixels (dimensions %s); fetch the files again",
			imagesPath, formatDims(images.Dims))
	case labels.Dims[0] != n:
		return nil, fmt.Errorf("data: %s has %d images but %s has %d labels; the files do not belong together: "+
			"fetch both again into an empty directory", imagesPath, n, labelsPath, labels.Dims[0])
	}
	s := &Samples{
		Values: make([]float32, len(images.Data)),
		N:      n,
		Dim:    rows * cols,
		Shape:  []int{rows, cols, 1},
		Labels: make([]int, n),
	}
	for i, b := range images.Data {
		s.Values[i] = float32(b)
	}
	for i, l := range labels.Data {
		if l > 9 {
			return nil, fmt.Errorf("data: %s: label of example %d is %d, but MNIST labels are 0..9; "+
				"the file is corrupt or not an MNIST label file", labelsPath, i, l)
		}
		s.Labels[i] = int(l)
	}
	return s, nil
}
