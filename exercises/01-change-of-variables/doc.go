// Package changeofvariables holds the exercises for notebook 01, "Change of
// variables" (notebooks/01-change-of-variables.ipynb).
//
// If z has density p_Z and x = g(z) for an invertible, differentiable g, then
// with f = g⁻¹,
//
//	p_X(x) = p_Z(f(x)) · |f'(x)|          (1D)
//	p_X(x) = p_Z(f(x)) · |det J_f(x)|     (D dimensions)
//
// and in logs, log p_X(x) = log p_Z(f(x)) + log|det J_f(x)|. Every task below
// is this formula, applied to a different map. Write the body of each function
// (each says what to compute in its doc comment), then run its grader:
//
//	scripts/go test ./exercises/01-change-of-variables/          every task, with messages
//	scripts/go test -run TestPolarLogProb ./exercises/01-change-of-variables/   one task
//	scripts/grade 01                                     a table of points
//
// Tasks, in rising difficulty:
//
//  1. [AffineGaussianLogProb] (2 points): x = μ + σz with z standard normal.
//  2. [SquareOfUniformDensity] (2 points): x = u² with u uniform on (0, 1).
//  3. [SinhNormalLogProb] (3 points): x = sinh(z), with f' from GoMLX's Gradient.
//  4. [PolarLogProb] (3 points): a 2D change of variables through polar coordinates.
//  5. [IntegrateDensity] and [TanhNormalLogProb] (3 points): find the bug in
//     [BuggyTanhNormalLogProb] with an integral, then fix it.
//
// The reference solutions are in solutions/01-change-of-variables/: try first.
package changeofvariables
