package inference

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"

	"github.com/gomlx/compute"
	"github.com/gomlx/compute/dtypes"
	"github.com/gomlx/compute/shapes"
	. "github.com/gomlx/gomlx/core/graph" //nolint:revive
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/model"

	"github.com/flowbook/flowbook/flowlib"
	"github.com/flowbook/flowbook/flowlib/data"
	"github.com/flowbook/flowbook/flowlib/internal/graphpanic"
)

// Encode maps every example to its latent, z = f(x). For an image flow the
// latent has the image's shape, and each pixel value is dequantized with
// fresh noise first.
func Encode[T data.Float](backend compute.Backend, store *model.Store, flow *flowlib.Flow, samples *data.SamplesOf[T]) (*data.SamplesOf[T], error) {
	if err := checkData(flow, "data", samples); err != nil {
		return nil, err
	}
	return mapBatches(backend, store, samples, flow.Base.EventShape(), func(scope *model.Scope, x *Node) *Node {
		z, _ := flow.Forward(scope, x)
		return z
	})
}

// Decode maps latents back to data, x = f⁻¹(z); latents holds one latent of
// the base distribution's shape per example, as [Encode] returns them.
func Decode[T data.Float](backend compute.Backend, store *model.Store, flow *flowlib.Flow, latents *data.SamplesOf[T]) (*data.SamplesOf[T], error) {
	if err := checkLatents(flow, latents); err != nil {
		return nil, err
	}
	return mapBatches(backend, store, latents, flow.EventShape(), func(scope *model.Scope, z *Node) *Node {
		x, _ := flow.Inverse(scope, z)
		return x
	})
}

// checkLatents returns an error unless latents are finite values of the
// flow's latent shape.
func checkLatents[T data.Float](flow *flowlib.Flow, latents *data.SamplesOf[T]) error {
	event := flow.Base.EventShape()
	size := 1
	for _, d := range event {
		size *= d
	}
	switch {
	case latents == nil || latents.N < 1:
		return errors.New("inference: no latents to decode")
	case latents.Dim != size || len(latents.Values) != latents.N*latents.Dim:
		return fmt.Errorf("inference: latents of %d values each (%d in all for %d), but the flow's latent has shape %v (%d values); "+
			"give latents as Encode returns them", latents.Dim, len(latents.Values), latents.N, event, size)
	}
	for i, v := range latents.Values {
		if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
			return fmt.Errorf("inference: non-finite latent value (%v) in latent %d, coordinate %d", v, i/latents.Dim, i%latents.Dim)
		}
	}
	return nil
}

// LatentLevels returns, for each coordinate of a multi-scale flow's latent
// (row-major, in the latent's shape), the level at which it leaves the flow:
// 0 for the coordinates that the first FactorOut sets aside (fine detail,
// the finest scale), up to L−1 for those that go through every level (the
// coarse shape of the image). A flow without FactorOut has every coordinate
// at level 0.
func LatentLevels(backend compute.Backend, flow *flowlib.Flow) ([]int, error) {
	event := flow.Base.EventShape()
	out, err := model.ExecOnce(backend, model.NewStore(), func(scope *model.Scope, g *Graph) *Node {
		defer graphpanic.AsError()
		start := Zeros(g, shapes.Make(dtypes.Float32, append([]int{1}, event...)...))
		return levelsThrough(scope, flow.Bijector, start, 0)
	})
	if err != nil {
		return nil, fmt.Errorf("inference: %w", err)
	}
	values := tensors.MustCopyFlatData[float32](out)
	levels := make([]int, len(values))
	for i, v := range values {
		levels[i] = int(v)
	}
	return levels, nil
}

// levelsThrough carries a tensor of level labels through layer's Forward
// layout: FactorOut labels the half it sets aside with depth and its inner
// flow's output with deeper levels; squeezes rearrange the labels as they
// rearrange values; every other layer keeps each value in place.
func levelsThrough(scope *model.Scope, layer flowlib.Bijector, labels *Node, depth int) *Node {
	switch l := layer.(type) {
	case *flowlib.Chain:
		for _, inner := range l.Layers {
			labels = levelsThrough(scope, inner, labels, depth)
		}
		return labels
	case flowlib.Squeeze2x2, flowlib.Unsqueeze2x2:
		y, _ := l.Forward(scope, labels)
		return y
	case *flowlib.FactorOut:
		last := labels.Rank() - 1
		half := labels.Shape().Dimensions[last] / 2
		kept := AddScalar(ZerosLike(SliceAxis(labels, last, AxisRange(0, half))), float64(depth+1))
		if l.Inner != nil {
			kept = levelsThrough(scope, l.Inner, kept, depth+1)
		}
		out := AddScalar(ZerosLike(SliceAxis(labels, last, AxisRange(half))), float64(depth))
		return Concatenate([]*Node{kept, out}, last)
	default:
		return labels
	}
}

// ResampleLevels encodes each example, keeps the latent coordinates of the
// levels listed in keep (see [LatentLevels]) and draws the others afresh from
// the base distribution at the given temperature, variants times per
// example, then decodes: row i·variants + j of the result is variant j of
// example i. Keeping the coarsest level of a Glow and resampling the finer
// ones shows what each scale of the latent holds. The base must be a
// standard normal, as image flows' is; seed decides the fresh draws.
func ResampleLevels[T data.Float](backend compute.Backend, store *model.Store, flow *flowlib.Flow, samples *data.SamplesOf[T],
	keep []int, variants int, temperature float64, seed uint64) (*data.SamplesOf[T], error) {
	if _, ok := flow.Base.(*flowlib.StandardNormal); !ok {
		return nil, fmt.Errorf("inference: ResampleLevels draws latents from a standard normal base; this flow's base is %T", flow.Base)
	}
	switch {
	case variants < 1:
		return nil, fmt.Errorf("inference: ResampleLevels needs at least 1 variant per example, got %d", variants)
	case !(temperature > 0):
		return nil, fmt.Errorf("inference: temperature must be positive, got %g", temperature)
	}
	levels, err := LatentLevels(backend, flow)
	if err != nil {
		return nil, err
	}
	top := slices.Max(levels)
	for _, l := range keep {
		if l < 0 || l > top {
			return nil, fmt.Errorf("inference: level %d to keep does not exist; this flow's latent has levels 0…%d", l, top)
		}
	}
	z, err := Encode(backend, store, flow, samples)
	if err != nil {
		return nil, err
	}
	rng := rand.New(rand.NewPCG(seed, 0x1e7e1))
	mixed := &data.SamplesOf[T]{N: z.N * variants, Dim: z.Dim, Shape: z.Shape, Values: make([]T, 0, z.N*variants*z.Dim)}
	for i := range z.N {
		for range variants {
			for k, v := range z.Row(i) {
				if !slices.Contains(keep, levels[k]) {
					v = T(temperature * rng.NormFloat64())
				}
				mixed.Values = append(mixed.Values, v)
			}
		}
	}
	return Decode(backend, store, flow, mixed)
}
