package quality_test

import (
	"fmt"
	"log"
	"path/filepath"

	"github.com/flowbook/flowbook/flowlib/backend"
	"github.com/flowbook/flowbook/flowlib/data"
	"github.com/flowbook/flowbook/flowlib/quality"
)

// Measure four white squares, the blobs an unstable flow draws: no digit,
// and saturated. Samples of a trained flow (inference.Sample) are measured
// the same way, next to quality.Reference of the test digits.
func ExampleMeasure() {
	be, err := backend.Shared()
	if err != nil {
		log.Fatal(err)
	}
	// From the repository root this is quality.LoadClassifier(quality.DefaultDir).
	classifier, err := quality.LoadClassifier(filepath.Join("..", "..", quality.DefaultDir))
	if err != nil {
		log.Fatal(err)
	}
	squares := &data.Samples{N: 4, Dim: 784, Shape: []int{28, 28, 1}, Values: make([]float32, 4*784)}
	for i := range squares.N {
		for y := 4 + i; y < 24+i; y++ { // a 20×20 square, a row lower in each image
			for x := 4; x < 24; x++ {
				squares.Values[i*784+y*28+x] = 255
			}
		}
	}
	r, err := quality.Measure(be, classifier, squares)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("confident digits: %.1f, not a digit: %.1f\n", r.Confident, r.NotDigit)
	fmt.Printf("ink %.3f, saturated %.3f, mean max %.0f, blocks %.1f\n", r.Ink, r.Saturated, r.MeanMax, r.Blocks)
	// Output:
	// confident digits: 0.0, not a digit: 1.0
	// ink 0.510, saturated 0.510, mean max 255, blocks 1.0
}
