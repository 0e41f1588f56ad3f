package autoregressive

// Conditioner computes the parameters of an affine autoregressive layer
// from a vector u of D values: mu and alpha, D values each, where mu[i] and
// alpha[i] depend only on the values that come before i in the layer's
// order (never on u[i] itself, nor on the values after it). The graders'
// conditioners are nonlinear, as a MADE is.
type Conditioner func(u []float64) (mu, alpha []float64)

// MAFInverse inverts one layer of a masked autoregressive flow (MAF,
// Papamakarios et al. 2017, https://arxiv.org/abs/1705.07057), whose
// conditioner reads the data x. Its forward (density) direction is one call
// of cond on x:
//
//	z_i = (x_i − μ_i(x))·exp(−α_i(x))
//
// Given z, return the x it came from,
//
//	x_i = μ_i(x) + z_i·exp(α_i(x)),
//
// and log|det ∂x/∂z| = Σ_i α_i(x). The parameters of x_i need the values
// before it, so find x one coordinate at a time in the layer's order (order[r]
// comes r-th): D passes, each a call of cond on the values found so far (the
// others may be anything, 0 say: the parameters you use do not read them).
// Do not change z.
func MAFInverse(z []float64, order []int, cond Conditioner) (x []float64, logDet float64) {
	// TODO(exercise): one coordinate per pass, in the order: call cond on the x found so far, then set x[order[r]].
	return nil, 0
}

// IAFSample draws one sample from one layer of an inverse autoregressive
// flow (IAF, Kingma et al. 2016, https://arxiv.org/abs/1606.04934) with a
// standard normal base. The conditioner reads the latent z, which is all
// known, so sampling is one pass: call cond exactly once, on z, and set
//
//	x_i = μ_i(z) + z_i·exp(α_i(z)).
//
// Return x and its log-density under the layer, from the same pass:
//
//	log p(x) = log N(z; 0, I) − Σ_i α_i(z),   log N(z; 0, I) = −½ Σ_i z_i² − (D/2)·log 2π.
//
// (The density of an x that the layer did not draw would need z from x: D
// passes, as in MAFInverse.) Do not change z.
func IAFSample(z []float64, cond Conditioner) (x []float64, logProb float64) {
	// TODO(exercise): one call of cond on z, then x and log p(x) from the same μ and α.
	return nil, 0
}
