package flowlib

import (
	"fmt"
	"math/rand/v2"

	. "github.com/gomlx/gomlx/core/graph" //nolint:revive
	"github.com/gomlx/gomlx/ml/model"
	"github.com/gomlx/gomlx/support/exceptions"
)

// ReversePermutation reverses the order of the coordinates of vector data [batchSize,
// dim]. It is its own inverse, and a permutation only moves volume around:
// log|det J| = 0. Between coupling layers with the same mask it makes the next
// layer transform what the previous one kept.
type ReversePermutation struct{}

// NewReversePermutation returns the reversing permutation.
func NewReversePermutation() ReversePermutation { return ReversePermutation{} }

// Name implements [Named].
func (ReversePermutation) Name() string { return "reverse" }

// Forward implements [Bijector].
func (ReversePermutation) Forward(_ *model.Scope, x *Node) (y, logDet *Node) {
	requireVectors("ReversePermutation", x, 0)
	return Reverse(x, 1), Zeros(x.Graph(), batchShape(x))
}

// Inverse implements [Bijector]: reversing twice is the identity.
func (r ReversePermutation) Inverse(scope *model.Scope, y *Node) (x, logDet *Node) {
	return r.Forward(scope, y)
}

// Permutation reorders the coordinates of vector data: Forward sends input
// coordinate Perm[j] to output coordinate j. It is fixed, not learned, and
// log|det J| = 0.
type Permutation struct {
	Perm []int
}

// NewPermutation returns the permutation perm, which must hold each of
// 0..len(perm)-1 exactly once.
func NewPermutation(perm []int) (*Permutation, error) {
	seen := make([]bool, len(perm))
	for _, p := range perm {
		if p < 0 || p >= len(perm) || seen[p] {
			return nil, fmt.Errorf("flowlib: %v is not a permutation of 0..%d", perm, len(perm)-1)
		}
		seen[p] = true
	}
	return &Permutation{Perm: append([]int(nil), perm...)}, nil
}

// RandomPermutation returns a fixed random permutation of dim coordinates,
// the same for the same seed (so a model rebuilt from a checkpoint's settings
// gets the same one).
func RandomPermutation(dim int, seed uint64) *Permutation {
	rng := rand.New(rand.NewPCG(seed, 0x5eed))
	return &Permutation{Perm: rng.Perm(dim)}
}

// Name implements [Named].
func (p *Permutation) Name() string { return "permutation" }

func (p *Permutation) apply(x *Node, perm []int) *Node {
	requireVectors("Permutation", x, len(perm))
	columns := make([]*Node, len(perm))
	for j, src := range perm {
		columns[j] = SliceAxis(x, 1, AxisElem(src))
	}
	return Concatenate(columns, 1)
}

// Forward implements [Bijector].
func (p *Permutation) Forward(_ *model.Scope, x *Node) (y, logDet *Node) {
	return p.apply(x, p.Perm), Zeros(x.Graph(), batchShape(x))
}

// Inverse implements [Bijector].
func (p *Permutation) Inverse(_ *model.Scope, y *Node) (x, logDet *Node) {
	inv := make([]int, len(p.Perm))
	for j, src := range p.Perm {
		inv[src] = j
	}
	if len(inv) == 0 {
		exceptions.Panicf("flowlib: empty permutation")
	}
	return p.apply(y, inv), Zeros(y.Graph(), batchShape(y))
}
