package jacobians

import (
	"fmt"
	"math"
	"testing"

	. "github.com/gomlx/gomlx/core/graph" //nolint:revive
	"github.com/gomlx/gomlx/core/tensors"

	"github.com/flowbook/flowbook/exercises/internal/grading"
	"github.com/flowbook/flowbook/flowlib/flowcheck"
)

func TestJacobianSpherical(t *testing.T) {
	grading.Run(t, func(c *grading.C) {
		const batch = 4
		// 1. A linear map x ↦ M·x: its Jacobian is M at every point.
		m := [][]float64{{1, 2, 0}, {-1, 0.5, 3}, {0.25, -2, 1.5}}
		x := flowcheck.RandomInput(grading.Float64, 2, 7, batch, 3)
		linear := func(x *Node) *Node { return MatMul(x, Transpose(ConvertDType(Const(x.Graph(), m), x.DType()), 0, 1)) }
		jac := grading.Exec(c, "Jacobian of the linear map x ↦ M·x at 4 points", func(x *Node) *Node { return Jacobian(linear, x) }, x)[0]
		c.CheckDims("the Jacobian of a map R³ → R³ at 4 points", jac,
			"the Jacobian is [batchSize, outputs, inputs]: Stack the rows (one per output) on axis 1", batch, 3, 3)
		var want, wantT []float64
		for range batch {
			want = append(want, grading.Flatten(m)...)
			wantT = append(wantT, grading.Flatten(grading.Transpose(m))...)
		}
		if !c.CloseVec("Jacobian of x ↦ M·x: M = [[1, 2, 0], [−1, 0.5, 3], [0.25, −2, 1.5]] at every point (flattened)", grading.Values(jac), want, 1e-12,
			"row i of the Jacobian is the gradient of output i: Gradient(ReduceAllSum(SliceAxis(y, 1, AxisElem(i))), x)[0]",
			grading.VecMistake(wantT, "rows and columns are swapped (you got Mᵀ): J[b][i][j] = ∂f_i/∂x_j, so the gradient of output i is row i: Stack the gradients on axis 1, not 2"),
		) {
			return
		}

		// 2. A nonlinear map R³ → R² at several points.
		x = flowcheck.RandomInput(grading.Float64, 2, 8, batch, 3)
		xs := grading.Values(x)
		nonlinear := func(x *Node) *Node {
			x0, x1, x2 := SliceAxis(x, 1, AxisElem(0)), SliceAxis(x, 1, AxisElem(1)), SliceAxis(x, 1, AxisElem(2))
			return Concatenate([]*Node{Add(Mul(x0, x1), Sin(x2)), Sub(Square(x0), MulScalar(x2, 3))}, 1)
		}
		jac = grading.Exec(c, "Jacobian of f(x) = (x₀·x₁ + sin x₂, x₀² − 3·x₂), a map R³ → R², at 4 points", func(x *Node) *Node { return Jacobian(nonlinear, x) }, x)[0]
		c.CheckDims("the Jacobian of a map R³ → R² at 4 points", jac,
			"the Jacobian has one row per output and one column per input: [batchSize, 2, 3] here; take the number of rows from f(x), not from x", batch, 2, 3)
		want = nil
		for e := range batch {
			x0, x1, x2 := xs[3*e], xs[3*e+1], xs[3*e+2]
			want = append(want, x1, x0, math.Cos(x2), 2*x0, 0, -3)
		}
		if !c.CloseVec("Jacobian of f(x) = (x₀·x₁ + sin x₂, x₀² − 3·x₂): [[x₁, x₀, cos x₂], [2x₀, 0, −3]] at every point (flattened)", grading.Values(jac), want, 1e-12,
			"row i is the gradient of the batch sum of output i with respect to x") {
			return
		}

		// 3. The spherical map and its Jacobian determinant r²·sin θ.
		points := [][]float64{{1, 0.5, 0.3}, {2, 1.2, -2}, {0.5, 2.5, 1}, {3, math.Pi / 2, 4}}
		p := tensors.FromValue(points)
		outs := grading.Exec(c, "Spherical at 4 points (r, θ, φ), and Jacobian(Spherical, ·) there", func(p *Node) []*Node {
			return []*Node{Spherical(p), Jacobian(Spherical, p)}
		}, p)
		c.CheckDims("Spherical's output for 4 points", outs[0], "Spherical maps [batchSize, 3] to [batchSize, 3]: Concatenate x, y, z on axis 1", batch, 3)
		var wantXYZ, latitude []float64
		for _, q := range points {
			r, th, ph := q[0], q[1], q[2]
			wantXYZ = append(wantXYZ, r*math.Sin(th)*math.Cos(ph), r*math.Sin(th)*math.Sin(ph), r*math.Cos(th))
			latitude = append(latitude, r*math.Cos(th)*math.Cos(ph), r*math.Cos(th)*math.Sin(ph), r*math.Sin(th))
		}
		if !c.CloseVec("Spherical(r, θ, φ) = (r·sin θ·cos φ, r·sin θ·sin φ, r·cos θ) (flattened)", grading.Values(outs[0]), wantXYZ, 1e-12,
			"x = r·sin θ·cos φ, y = r·sin θ·sin φ, z = r·cos θ, with (r, θ, φ) the columns 0, 1, 2 of p",
			grading.VecMistake(latitude, "you measured θ from the xy-plane (latitude): here θ is the polar angle from the z axis, so z = r·cos θ and the others carry sin θ"),
		) {
			return
		}
		sph := grading.Values(outs[1])
		for e, q := range points {
			j := [][]float64{sph[9*e : 9*e+3], sph[9*e+3 : 9*e+6], sph[9*e+6 : 9*e+9]}
			det := j[0][0]*(j[1][1]*j[2][2]-j[1][2]*j[2][1]) - j[0][1]*(j[1][0]*j[2][2]-j[1][2]*j[2][0]) + j[0][2]*(j[1][0]*j[2][1]-j[1][1]*j[2][0])
			wantDet := q[0] * q[0] * math.Sin(q[1])
			if !c.Close(fmt.Sprintf("det of Jacobian(Spherical) at (r, θ, φ) = %v", q), det, wantDet, 1e-10,
				"det J = r²·sin θ: if Spherical and Jacobian pass the checks above this follows") {
				return
			}
			c.Logf("(r, θ, φ) = %v: det J = %.6f = r²·sin θ = %.6f", q, det, wantDet)
		}
	})
}
