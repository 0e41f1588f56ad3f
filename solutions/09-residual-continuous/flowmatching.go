package residual

// FlowMatchingPath returns x_t, the point at time t of the conditional
// optimal-transport path of flow matching (Lipman et al. 2023,
// https://arxiv.org/abs/2210.02747, eq. 20–23; flowlib.CNF.FlowMatchingLoss)
// from a base sample x0 (at t = 0) to a data point x1 (at t = 1), and u_t,
// the velocity the field is trained to match there, for t in [0, 1] and
// sigmaMin = σ_min in [0, 1):
//
//	x_t = (1 − (1 − σ_min)·t)·x₀ + t·x₁,   u_t = d x_t/dt = x₁ − (1 − σ_min)·x₀
//
// The path is a straight line walked at constant speed (u_t does not depend
// on t): it starts at x₀ and ends at x₁ + σ_min·x₀, which for x₀ ~ N(0, I)
// is a Gaussian of standard deviation σ_min around the data point. Return
// new slices; do not change x0 or x1.
func FlowMatchingPath(x0, x1 []float64, t, sigmaMin float64) (xt, ut []float64) {
	xt, ut = make([]float64, len(x0)), make([]float64, len(x0))
	for i := range x0 {
		xt[i] = (1-(1-sigmaMin)*t)*x0[i] + t*x1[i]
		ut[i] = x1[i] - (1-sigmaMin)*x0[i]
	}
	return xt, ut
}

// FlowMatchingLoss returns the conditional flow-matching loss of the
// vector field f for one pair (x0, x1) at time t: with x_t and u_t from
// FlowMatchingPath,
//
//	loss = Σ_d (f(t, x_t)_d − (u_t)_d)²,
//
// a plain regression, with no ODE to solve and no trace: its minimiser
// over f, averaged over x₀ ~ N(0, I), the data and t ~ U[0, 1], is the
// field that carries the base to the data. Do not change x0 or x1.
func FlowMatchingLoss(f VectorField, x0, x1 []float64, t, sigmaMin float64) float64 {
	xt, ut := FlowMatchingPath(x0, x1, t, sigmaMin)
	v := f(t, xt)
	loss := 0.0
	for i := range ut {
		diff := v[i] - ut[i]
		loss += diff * diff
	}
	return loss
}
