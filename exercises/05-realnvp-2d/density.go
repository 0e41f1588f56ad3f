package realnvp

import (
	"github.com/gomlx/compute"
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
	// TODO(exercise): build the n·n cell centres, evaluate log p, exponentiate, and sum the mass.
	return nil, 0, nil
}
