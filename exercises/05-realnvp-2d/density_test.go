package realnvp

import (
	"fmt"
	"math"
	"slices"
	"testing"

	"github.com/gomlx/compute/dtypes"
	"github.com/gomlx/gomlx/ml/model"

	"github.com/flowbook/flowbook/exercises/internal/grading"
	"github.com/flowbook/flowbook/flowlib"
	"github.com/flowbook/flowbook/flowlib/flowcheck"
)

// gridOf returns the values of f at the n×n points (x(i, j), y(i, j)), row-major.
func gridOf(n int, f func(i, j int) float64) []float64 {
	out := make([]float64, 0, n*n)
	for i := range n {
		for j := range n {
			out = append(out, f(i, j))
		}
	}
	return out
}

// runDensityGrid calls DensityGrid and checks the shape of its result.
func runDensityGrid(c *grading.C, what string, store *model.Store, flow *flowlib.Flow, box Box, n int) ([]float64, float64) {
	density, mass, err := DensityGrid(c.Backend(), store, flow, box, n)
	c.NoError(err, what, "read the error: the points are [n·n, 2]")
	if density == nil {
		c.Fatalf("%s", grading.Explain(what, fmt.Sprintf("%d rows of %d values", n, n), "nil",
			"DensityGrid still returns nil: is it still the stub? Write its body (see its doc comment)"))
	}
	if len(density) != n || slices.ContainsFunc(density, func(row []float64) bool { return len(row) != n }) {
		c.Fatalf("%s", grading.Explain(what+": the shape", fmt.Sprintf("%d rows of %d values", n, n),
			fmt.Sprintf("%d rows, the first of %d values", len(density), len(density[0])), "density[i][j]: n rows i (y), n columns j (x)"))
	}
	return slices.Concat(density...), mass
}

func TestDensityGrid2D(t *testing.T) {
	grading.Run(t, func(c *grading.C) {
		// 1. A linear flow z = A(x − b): p(x) = N(A(x − b); 0, I)·|det A| exactly.
		lin := linearBijector{a: [2][2]float64{{1.5, 0.4}, {-0.3, 0.8}}, b: [2]float64{0.5, -0.25}}
		box := Box{X0: -3, X1: 5, Y0: -2.5, Y1: 2}
		const n = 8
		dx, dy := (box.X1-box.X0)/n, (box.Y1-box.Y0)/n
		cx := func(j int) float64 { return box.X0 + (float64(j)+0.5)*dx }
		cy := func(i int) float64 { return box.Y0 + (float64(i)+0.5)*dy }
		p := func(x, y float64) float64 { return math.Exp(lin.logDensity([2]float64{x, y})) }
		logDetA := lin.logDetA()
		pz := func(x, y float64) float64 {
			return math.Exp(logNormal2(lin.apply([2]float64{x, y}), [2]float64{}, [2]float64{}))
		}

		what := fmt.Sprintf("DensityGrid of a linear flow z = A(x - b) (|det A| = %.2f) on [-3, 5]×[-2.5, 2] with n = 8", math.Exp(logDetA))
		got, mass := runDensityGrid(c, what, model.NewStore(), lin.flow(), box, n)
		want := gridOf(n, func(i, j int) float64 { return p(cx(j), cy(i)) })
		c.CloseVec(what+": density[i][j] = p(x) at the cell centres", got, want, 1e-5,
			"density[i][j] = exp(log p_Z(f(x)) + log|det ∂f/∂x|) at x = (X0 + (j + ½)·Δx, Y0 + (i + ½)·Δy)",
			grading.VecMistake(gridOf(n, func(i, j int) float64 { return pz(cx(j), cy(i)) / math.Exp(logDetA) }),
				"the log-det has the wrong sign: log p(x) = log p_Z(f(x)) + log|det ∂f/∂x|, with a plus sign (Forward's log-det)"),
			grading.VecMistake(gridOf(n, func(i, j int) float64 { return pz(cx(j), cy(i)) }),
				"the log-det term is missing: log p(x) = log p_Z(f(x)) + log|det ∂f/∂x|"),
			grading.VecMistake(gridOf(n, func(i, j int) float64 { return math.Log(p(cx(j), cy(i))) }),
				"these are log-densities: return p(x) = exp(log p(x))"),
			grading.VecMistake(gridOf(n, func(i, j int) float64 { return p(box.X0+float64(j)*dx, box.Y0+float64(i)*dy) }),
				"the points are cell corners: use the cell centres, X0 + (j + ½)·Δx and Y0 + (i + ½)·Δy"),
			grading.VecMistake(gridOf(n, func(i, j int) float64 { return p(cx(j), cy(n-1-i)) }),
				"the rows are upside down: row 0 is the bottom row, y = Y0 + ½·Δy"),
			grading.VecMistake(gridOf(n, func(i, j int) float64 { return p(box.X0+(float64(i)+0.5)*dx, box.Y0+(float64(j)+0.5)*dy) }),
				"x and y are swapped: density[i][j] has x from column j and y from row i"),
			grading.VecMistake(gridOf(n, func(i, j int) float64 {
				return p(box.X0+float64(j)*(box.X1-box.X0)/(n-1), box.Y0+float64(i)*(box.Y1-box.Y0)/(n-1))
			}), "the points run from the box's edges X0 to X1 (a linspace of n points): the cells' centres are X0 + (j + ½)·Δx with Δx = (X1 − X0)/n, never on the edges"),
		)
		wantMass, sumP := 0.0, 0.0
		for _, v := range want {
			wantMass += v * dx * dy
			sumP += v
		}
		c.Close(what+": mass = Σ density·Δx·Δy", mass, wantMass, 1e-5,
			"the mass is the midpoint rule for the integral: Σ_ij density[i][j]·Δx·Δy",
			grading.Mistake(sumP, "multiply each density by the cell area Δx·Δy: a density is not a probability"),
			grading.Mistake(sumP*dx, "the cell area is Δx·Δy, not Δx"),
			grading.Mistake(sumP*dy, "the cell area is Δx·Δy, not Δy"),
			grading.Mistake(sumP/(n*n), "the mass is the sum of density·Δx·Δy, not the mean density"))
		if c.Failed() {
			return
		}
		// One cell: the box's centre, and its area.
		got, mass = runDensityGrid(c, "DensityGrid of the linear flow with n = 1 (one cell, the whole box)", model.NewStore(), lin.flow(), box, 1)
		centre := p((box.X0+box.X1)/2, (box.Y0+box.Y1)/2)
		if !c.CloseVec("DensityGrid with n = 1: p at the centre of the box", got, []float64{centre}, 1e-5,
			"with n = 1 the only cell is the box itself: Δx = X1 − X0, Δy = Y1 − Y0, and its centre is the box's") ||
			!c.Close("DensityGrid with n = 1: mass = p(centre)·(X1 − X0)·(Y1 − Y0)", mass, centre*(box.X1-box.X0)*(box.Y1-box.Y0), 1e-5,
				"the mass of one cell is its density times its area") {
			return
		}

		// 2. A random nonlinear RealNVP: its density integrates to about 1.
		flow := flowlib.RealNVP(2).NumCouplings(3).Hidden(16).Done()
		store := model.NewStore()
		store.SetParam(model.ParamInitialSeed, int64(2))
		x := flowcheck.RandomInput(dtypes.Float32, 2, 4, 16, 2)
		c.NoError(flowcheck.RandomizeVariables(c.Backend(), store, flow.Bijector, x, 0.15, 3),
			"randomizing a RealNVP", "a grader problem: report it")
		big := Box{X0: -8, X1: 8, Y0: -8, Y1: 8}
		_, mass = runDensityGrid(c, "DensityGrid of a RealNVP with random weights on [-8, 8]² with n = 160", store, flow, big, 160)
		c.Logf("a random RealNVP puts %.4f of its probability in [-8, 8]² (midpoint rule, 160×160 cells)", mass)
		c.Close("the mass of a random RealNVP's density in [-8, 8]² (160×160 cells): about 1", mass, 1, 0.02,
			"a flow's density integrates to 1: check the log-det term and the cell area")
	})
}
