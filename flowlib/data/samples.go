package data

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
)

// Float is the element type of data on the host: float32, what the toy
// datasets, MNIST and the models train on by default, or float64, for a model
// whose variables are float64 (see package inference).
type Float interface{ float32 | float64 }

// Samples is float32 data, the kind every loader of this package returns
// and training takes. It is [SamplesOf] float32, so everything documented
// there applies; [Convert] makes a float64 copy for a float64 model.
type Samples = SamplesOf[float32]

// SamplesOf is N×Dim float data stored row-major: Values[i*Dim+j] is
// coordinate j of example i. One flat slice (rather than [][]T) is what
// tensor libraries expect, so it can be handed to the model without copying.
//
// Shape and Labels are optional. Images keep their Dim = height·width·channels
// numbers per example in Values, and say how to fold them back in Shape.
type SamplesOf[T Float] struct {
	Values []T
	N, Dim int

	// Shape is the shape of one example when it is not a flat vector, for
	// example [28, 28, 1] ([height, width, channels], row-major) for MNIST.
	// nil means [Dim]. When set, the product of its entries must equal Dim.
	// Use EventShape to read it without the nil case.
	Shape []int

	// Labels optionally holds a class label for each example (len N), such
	// as the digit of an MNIST image; nil when the data is unlabelled.
	Labels []int
}

// EventShape returns the shape of one example: a copy of Shape, or [Dim]
// when Shape is nil. Changing the result does not change s.
func (s *SamplesOf[T]) EventShape() []int {
	if s.Shape == nil {
		return []int{s.Dim}
	}
	return slices.Clone(s.Shape)
}

// Row returns example i as a view into s.Values: changing it changes s.
// The slice's capacity is capped at Dim, so appending to it can never
// overwrite the next example.
func (s *SamplesOf[T]) Row(i int) []T {
	start := i * s.Dim
	return s.Values[start : start+s.Dim : start+s.Dim]
}

// Split shuffles the examples with a generator seeded by seed and returns
// the last round(testFraction·N) of them as test and the rest as train.
// Both are fresh copies, with each example's label (if Labels is set) and
// the Shape; s is left unchanged. The same seed always gives the same split. When N ≥ 2 each part gets at least one example, so neither
// can be empty by accident of rounding.
//
// Split panics if testFraction is not strictly between 0 and 1: that is a
// programming error, not a property of the data.
func (s *SamplesOf[T]) Split(testFraction float64, seed uint64) (train, test *SamplesOf[T]) {
	if !(testFraction > 0 && testFraction < 1) { // also rejects NaN
		panic(fmt.Sprintf("data: Samples.Split: testFraction must be in (0, 1), got %v", testFraction))
	}
	nTest := int(math.Round(testFraction * float64(s.N)))
	if s.N >= 2 {
		nTest = min(max(nTest, 1), s.N-1)
	}
	order := newRNG(seed).Perm(s.N)
	train = s.gather(order[:s.N-nTest])
	test = s.gather(order[s.N-nTest:])
	return train, test
}

// gather copies the listed rows, in that order, into new Samples, with
// their labels (if any) and a copy of the shape.
func (s *SamplesOf[T]) gather(rows []int) *SamplesOf[T] {
	out := &SamplesOf[T]{
		Values: make([]T, 0, len(rows)*s.Dim),
		N:      len(rows),
		Dim:    s.Dim,
		Shape:  slices.Clone(s.Shape),
	}
	for _, i := range rows {
		out.Values = append(out.Values, s.Row(i)...)
	}
	if s.Labels != nil {
		out.Labels = make([]int, len(rows))
		for k, i := range rows {
			out.Labels[k] = s.Labels[i]
		}
	}
	return out
}

// Float64 returns a copy of the data as one []float64 per example, the shape
// plotting libraries usually want.
func (s *SamplesOf[T]) Float64() [][]float64 {
	rows := make([][]float64, s.N)
	for i := range rows {
		row := make([]float64, s.Dim)
		for j, v := range s.Row(i) {
			row[j] = float64(v)
		}
		rows[i] = row
	}
	return rows
}

// Convert returns a copy of s with its values converted to To, with the same
// N, Dim, Shape and labels: data.Convert[float64](s) for a float64 model.
// float32 → float64 is exact; float64 → float32 rounds to nearest.
func Convert[To, From Float](s *SamplesOf[From]) *SamplesOf[To] {
	if s == nil {
		return nil
	}
	values := make([]To, len(s.Values))
	for i, v := range s.Values {
		values[i] = To(v)
	}
	return &SamplesOf[To]{Values: values, N: s.N, Dim: s.Dim, Shape: slices.Clone(s.Shape), Labels: slices.Clone(s.Labels)}
}

// check reports whether s is internally consistent, so that functions taking
// user-built Samples fail with a message instead of an index panic.
func (s *SamplesOf[T]) check() error {
	switch {
	case s == nil:
		return fmt.Errorf("samples are nil")
	case s.N < 0 || s.Dim < 0:
		return fmt.Errorf("samples have negative size N=%d Dim=%d", s.N, s.Dim)
	case len(s.Values) != s.N*s.Dim:
		return fmt.Errorf("samples have %d values but N×Dim = %d×%d = %d", len(s.Values), s.N, s.Dim, s.N*s.Dim)
	case s.Labels != nil && len(s.Labels) != s.N:
		return fmt.Errorf("samples have %d labels for N=%d examples; give one label per example, or set Labels to nil",
			len(s.Labels), s.N)
	}
	if s.Shape != nil {
		size := 1
		for _, d := range s.Shape {
			if d <= 0 {
				return fmt.Errorf("samples have Shape %v with a non-positive dimension; every dimension must be ≥ 1", s.Shape)
			}
			if d > s.Dim {
				size = s.Dim + 1 // already too big; stopping here also avoids overflow
				break
			}
			size *= d
		}
		if size != s.Dim {
			return fmt.Errorf("samples have Shape %v but Dim=%d; the product of Shape must equal Dim", s.Shape, s.Dim)
		}
	}
	return nil
}

// newRNG returns the generator used for everything random in this package.
// PCG is fast and has a specified algorithm, so a seed gives the same stream
// on every platform and Go version; the second word is just a scrambled copy
// of the seed, so that one number is all a learner has to remember.
func newRNG(seed uint64) *rand.Rand {
	return rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
}
