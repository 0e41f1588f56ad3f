package changeofvariables

// PolarLogProb returns log p(x, y) for a point of the plane built from polar
// coordinates, (x, y) = (r cos θ, r sin θ), where r > 0 has the log-density
// logPR and θ is independent of r and uniform on [0, 2π).
//
// The map g(r, θ) = (r cos θ, r sin θ) has |det J_g| = r (work it out: the
// Jacobian is [[cos θ, −r sin θ], [sin θ, r cos θ]]). Going from (x, y) back
// to (r, θ) is the inverse map, whose |det J| is 1/r, so
//
//	log p(x, y) = log p_R(r) + log p_Θ(θ) − log r,   r = √(x² + y²).
//
// The grader checks that with r Rayleigh-distributed (log p_R(r) = log r −
// r²/2) the result is the standard normal in the plane, and that with other
// radial densities it integrates to 1 over the plane.
func PolarLogProb(x, y float64, logPR func(r float64) float64) float64 {
	// TODO(exercise): convert to (r, θ), add the two log-densities and the log-det.
	return 0
}
