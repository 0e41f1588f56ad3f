package quality_test

import (
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/gomlx/compute"

	"github.com/flowbook/flowbook/flowlib/backend"
	"github.com/flowbook/flowbook/flowlib/data"
	"github.com/flowbook/flowbook/flowlib/quality"
)

// shippedDir is the repository's classifier, seen from this package.
var shippedDir = filepath.Join("..", "..", quality.DefaultDir)

// testBackend returns the process's shared backend.
func testBackend(t *testing.T) compute.Backend {
	t.Helper()
	b, err := backend.Shared()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

var shipped struct {
	once       sync.Once
	classifier *quality.Classifier
	err        error
}

// shippedClassifier loads the classifier in models/digit-classifier once.
func shippedClassifier(t *testing.T) *quality.Classifier {
	t.Helper()
	shipped.once.Do(func() { shipped.classifier, shipped.err = quality.LoadClassifier(shippedDir) })
	if shipped.err != nil {
		t.Fatalf("the shipped classifier does not load: %v", shipped.err)
	}
	return shipped.classifier
}

var mnist struct {
	once        sync.Once
	train, test *data.Samples
	err         error
	dir         string
}

// loadMNIST returns the workbook's MNIST ($FLOWBOOK_MNIST_DIR, which
// scripts/test sets, or .cache/mnist), or skips the test without it.
func loadMNIST(t *testing.T) (train, test *data.Samples) {
	t.Helper()
	mnist.once.Do(func() {
		mnist.dir = os.Getenv("FLOWBOOK_MNIST_DIR")
		if mnist.dir == "" {
			mnist.dir = filepath.Join("..", "..", ".cache", "mnist")
		}
		if _, err := os.Stat(mnist.dir); err != nil {
			mnist.err = err
			return
		}
		mnist.train, mnist.test, mnist.err = data.LoadMNIST(mnist.dir)
	})
	if mnist.err != nil {
		if os.IsNotExist(mnist.err) {
			t.Skipf("no MNIST in %s (scripts/fetch-mnist .cache/mnist, or set FLOWBOOK_MNIST_DIR)", mnist.dir)
		}
		t.Fatal(mnist.err)
	}
	return mnist.train, mnist.test
}

// images returns n images of 28×28×1 whose pixel (i, y, x) is pixel(i, y, x).
func images(n int, pixel func(i, y, x int) float32) *data.Samples {
	s := &data.Samples{N: n, Dim: 784, Shape: []int{28, 28, 1}, Values: make([]float32, n*784)}
	for i := range n {
		for y := range 28 {
			for x := range 28 {
				s.Values[i*784+y*28+x] = pixel(i, y, x)
			}
		}
	}
	return s
}

// blank is n black images.
func blank(n int) *data.Samples { return images(n, func(int, int, int) float32 { return 0 }) }

// noise is n images of independent uniform grey levels 0…255.
func noise(n int, seed uint64) *data.Samples {
	rng := rand.New(rand.NewPCG(seed, 1))
	return images(n, func(int, int, int) float32 { return float32(rng.IntN(256)) })
}

// whiteBlocks is n black images with a white 20×20 square (51% of the
// pixels), placed at a different offset in each.
func whiteBlocks(n int) *data.Samples {
	return images(n, func(i, y, x int) float32 {
		oy, ox := i%9, (i/9)%9
		if y >= oy && y < oy+20 && x >= ox && x < ox+20 {
			return 255
		}
		return 0
	})
}

// dottedBlocks is n black images with a 14×14 patch in which one pixel of
// every 2×2 cell is white (49 pixels): what a flow draws when one of the four
// channels of squeezed 2×2 patches blows up in its inverse.
func dottedBlocks(n int) *data.Samples {
	return images(n, func(i, y, x int) float32 {
		oy, ox := 2+i%10, 2+(i/10)%10
		if y >= oy && y < oy+14 && x >= ox && x < ox+14 && (y-oy)%2 == 0 && (x-ox)%2 == 0 {
			return 255
		}
		return 0
	})
}

// wantError fails unless err is an error containing every want.
func wantError(t *testing.T, err error, wants ...string) {
	t.Helper()
	if err == nil {
		t.Fatalf("no error, want one containing %q", wants)
	}
	for _, w := range wants {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("error %q does not contain %q", err, w)
		}
	}
}
