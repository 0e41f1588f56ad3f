package realnvp

import (
	"math"

	"github.com/gomlx/compute"
	. "github.com/gomlx/gomlx/core/graph" //nolint:revive
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/model"

	"github.com/flowbook/flowbook/flowlib"
)

// Box is the rectangle [X0, X1] × [Y0, Y1] of the plane.
type Box struct{ X0, X1, Y0, Y1 float64 }

// DensityGrid evaluates the density of a flow on 2D points, p(x), at the
// centres of an n×n grid of cells covering box, and returns it with the
// probability mass the flow puts inside the box.
//
// The cells have width Δx = (X1 − X0)/n and height Δy = (Y1 − Y0)/n.
// density[i][j] is p at the centre of the cell in row i (from the bottom: y
// grows with i) and column j (x grows with j):
//
//	(X0 + (j + ½)·Δx,  Y0 + (i + ½)·Δy)
//
// (the layout plot.Heatmap expects), and mass = Σ_ij density[i][j]·Δx·Δy, the
// midpoint rule for ∫_box p(x) dx, which is close to 1 when the box holds
// nearly all of the flow's probability.
//
// Write the change of variables yourself: in one graph run with store,
// z, logDet := flow.Forward(scope, x), and log p(x) = log p_Z(z) + logDet,
// with log p_Z(z) = flow.Base.LogProb(scope.At("base"), z) (the base's
// variables, if any, are in the sub-scope "base").
func DensityGrid(be compute.Backend, store *model.Store, flow *flowlib.Flow, box Box, n int) (density [][]float64, mass float64, err error) {
	dx, dy := (box.X1-box.X0)/float64(n), (box.Y1-box.Y0)/float64(n)
	centres := make([]float32, 0, 2*n*n)
	for i := range n {
		for j := range n {
			centres = append(centres, float32(box.X0+(float64(j)+0.5)*dx), float32(box.Y0+(float64(i)+0.5)*dy))
		}
	}
	logp, err := model.CallOnce(be, store, func(scope *model.Scope, x *Node) *Node {
		z, logDet := flow.Forward(scope, x)
		return Add(flow.Base.LogProb(scope.At("base"), z), logDet)
	}, tensors.FromFlatDataAndDimensions(centres, n*n, 2))
	if err != nil {
		return nil, 0, err
	}
	values := tensors.MustCopyFlatData[float32](logp)
	density = make([][]float64, n)
	for i := range density {
		density[i] = make([]float64, n)
		for j := range density[i] {
			density[i][j] = math.Exp(float64(values[i*n+j]))
			mass += density[i][j] * dx * dy
		}
	}
	return density, mass, nil
}
