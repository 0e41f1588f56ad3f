package residual

// VectorField is the right-hand side of an ordinary differential equation
// dy/dt = f(t, y): it returns a new slice of len(y) values and does not
// change y.
type VectorField func(t float64, y []float64) []float64

// RK4Step returns one step of the classic fourth-order Runge–Kutta method
// for dy/dt = f(t, y) from y at time t to time t + h:
//
//	k1 = f(t, y)
//	k2 = f(t + h/2, y + (h/2)·k1)
//	k3 = f(t + h/2, y + (h/2)·k2)
//	k4 = f(t + h, y + h·k3)
//	y(t + h) ≈ y + (h/6)·(k1 + 2·k2 + 2·k3 + k4)
//
// four calls of f per step, the function evaluations (NFE) an ODE solver
// is measured in. h may be negative: the step then goes back in time. Its
// error is O(h⁵) per step and O(h⁴) over a fixed interval, as flowlib.RK4's
// (which does the same in graph ops). Do not change y.
func RK4Step(f VectorField, t float64, y []float64, h float64) []float64 {
	// TODO(exercise): k1 … k4 (four calls of f), then y + (h/6)·(k1 + 2k2 + 2k3 + k4) in a new slice.
	return nil
}

// Jacobian returns ∂f/∂z of a vector field at (t, z): jac[i][j] = ∂f_i/∂z_j.
type Jacobian func(t float64, z []float64) [][]float64

// CNFLogDensity returns log p(x) of a continuous normalizing flow (Chen et
// al. 2018, https://arxiv.org/abs/1806.07366; FFJORD, Grathwohl et al.
// 2019) with the vector field f, whose Jacobian is jacobian, at the data
// point x, and z0, the latent x maps to. As in flowlib.CNF, time runs from
// the base at t = 0, a standard normal N(0, I), to the data at t = 1: a
// point moves along dz/dt = f(t, z), and its log-density along the path
// follows the instantaneous change of variables
//
//	d log p(z(t))/dt = −tr(∂f/∂z (t, z(t))).
//
// Integrate the augmented state [z, ℓ] (D + 1 values) with
//
//	dz/dt = f(t, z),   dℓ/dt = tr(∂f/∂z (t, z))
//
// from t = 1, where z = x and ℓ = 0, back to t = 0, in steps RK4 steps of
// h = −1/steps (RK4Step on the augmented state does it: write a
// VectorField for it; step i starts at t = 1 + i·h). Then z0 = z(0),
// ℓ(0) = ∫₁⁰ tr dt = −∫₀¹ tr dt = log|det ∂z0/∂x|, and
//
//	log p(x) = log N(z0; 0, I) + ℓ(0),   log N(z; 0, I) = −½ Σ_i z_i² − (D/2)·log 2π.
//
// Do not change x.
func CNFLogDensity(f VectorField, jacobian Jacobian, x []float64, steps int) (z0 []float64, logProb float64) {
	// TODO(exercise): RK4 steps of h = −1/steps from t = 1 on the state [z, ℓ] (dz/dt = f, dℓ/dt = tr ∂f/∂z), then log N(z0) + ℓ.
	return nil, 0
}
