package flowlib

import (
	"math"

	"github.com/gomlx/compute/dtypes"
	"github.com/gomlx/compute/shapes"
	. "github.com/gomlx/gomlx/core/graph" //nolint:revive
	"github.com/gomlx/gomlx/ml/model"
	"github.com/gomlx/gomlx/ml/model/initializer"
	"github.com/gomlx/gomlx/support/exceptions"
)

// Distribution is a base distribution of a flow: a density on the latent
// space that is easy to evaluate and to sample.
//
// LogProb returns log p(z) for z of shape [batchSize, EventShape...], one value
// per example, shape [batchSize]. Sample draws n samples of shape [n,
// EventShape...] and the given dtype; temperature T scales the spread (T = 1 is the distribution
// itself; T < 1 gives more typical, less varied samples, as in Glow).
type Distribution interface {
	EventShape() []int
	LogProb(scope *model.Scope, z *Node) *Node
	Sample(scope *model.Scope, g *Graph, dtype dtypes.DType, n int, temperature float64) *Node
}

// log2Pi is log(2π), the constant of Gaussian log-densities.
var log2Pi = math.Log(2 * math.Pi)

// checkEvent panics unless z has shape [batchSize, event...] with batchSize ≥ 1.
func checkEvent(name string, event []int, z *Node) {
	dims := z.Shape().Dimensions
	ok := len(dims) == len(event)+1
	for i := 0; ok && i < len(event); i++ {
		ok = dims[i+1] == event[i]
	}
	if !ok {
		exceptions.Panicf("flowlib: %s has event shape %v, so it expects [batchSize, %v], got %s",
			name, event, event, z.Shape())
	}
	requireNonEmpty(name, z)
}

// sampleShape is [n, event...].
func sampleShape(dtype dtypes.DType, n int, event []int) shapes.Shape {
	return shapes.Make(dtype, append([]int{n}, event...)...)
}

// StandardNormal is the standard normal N(0, I) on the event shape:
//
//	log p(z) = −½ Σ_i (z_i² + log 2π)
type StandardNormal struct {
	Event []int
}

// NewStandardNormal returns N(0, I) on events of the given shape (e.g. 2 for
// points in the plane, or 28, 28, 1 for images).
func NewStandardNormal(event ...int) *StandardNormal { return &StandardNormal{Event: event} }

// EventShape implements [Distribution].
func (d *StandardNormal) EventShape() []int { return d.Event }

// LogProb implements [Distribution].
func (d *StandardNormal) LogProb(_ *model.Scope, z *Node) *Node {
	checkEvent("StandardNormal", d.Event, z)
	return MulScalar(sumPerExample(AddScalar(Square(z), log2Pi)), -0.5)
}

// Sample implements [Distribution].
func (d *StandardNormal) Sample(scope *model.Scope, g *Graph, dtype dtypes.DType, n int, temperature float64) *Node {
	requireSampleCount("StandardNormal.Sample", n)
	return MulScalar(scope.RandomNormal(g, sampleShape(dtype, n, d.Event)), temperature)
}

// DiagonalGaussian is N(μ, diag(σ²)) with learnable mean μ ("mean") and log
// standard deviation log σ ("log_std"), both of the event shape and starting at
// N(0, I):
//
//	log p(z) = −½ Σ_i (((z_i − μ_i)/σ_i)² + 2·log σ_i + log 2π)
type DiagonalGaussian struct {
	Event []int
}

// NewDiagonalGaussian returns a learnable diagonal Gaussian on events of the given shape.
func NewDiagonalGaussian(event ...int) *DiagonalGaussian { return &DiagonalGaussian{Event: event} }

// EventShape implements [Distribution].
func (d *DiagonalGaussian) EventShape() []int { return d.Event }

func (d *DiagonalGaussian) params(scope *model.Scope, g *Graph, dtype dtypes.DType) (mean, logStd *Node) {
	scope = scope.WithInitializer(initializer.Zero)
	shape := sampleShape(dtype, 1, d.Event)
	return scope.VariableWithShape("mean", shape).NodeValue(g), scope.VariableWithShape("log_std", shape).NodeValue(g)
}

// LogProb implements [Distribution].
func (d *DiagonalGaussian) LogProb(scope *model.Scope, z *Node) *Node {
	checkEvent("DiagonalGaussian", d.Event, z)
	mean, logStd := d.params(scope, z.Graph(), z.DType())
	standardized := Mul(Sub(z, mean), Exp(Neg(logStd)))
	perCoord := Add(AddScalar(Square(standardized), log2Pi), MulScalar(logStd, 2))
	return MulScalar(sumPerExample(perCoord), -0.5)
}

// Sample implements [Distribution].
func (d *DiagonalGaussian) Sample(scope *model.Scope, g *Graph, dtype dtypes.DType, n int, temperature float64) *Node {
	requireSampleCount("DiagonalGaussian.Sample", n)
	mean, logStd := d.params(scope, g, dtype)
	eps := MulScalar(scope.RandomNormal(g, sampleShape(dtype, n, d.Event)), temperature)
	return Add(mean, Mul(eps, Exp(logStd)))
}

// GaussianMixture is a mixture of K diagonal Gaussians on vectors of size Dim,
// with learnable weights (softmax of "logits"), means "means" [K, Dim] and log
// standard deviations "log_stds" [K, Dim]:
//
//	log p(z) = logsumexp_k ( log π_k + log N(z; μ_k, diag σ_k²) )
//
// A flow is a continuous bijection, so it cannot tear one connected mode of a
// standard normal into several separate ones without stretching thin bridges
// of density between them; a mixture base gives it the modes to start from.
// The means start spread out at random (standard deviation InitSpread) so
// that the components do not all learn the same thing.
type GaussianMixture struct {
	Components, Dim int
	// InitSpread is the standard deviation of the random initial means (default 1).
	InitSpread float64
}

// NewGaussianMixture returns a learnable mixture of k Gaussians on vectors of size dim.
func NewGaussianMixture(k, dim int) *GaussianMixture {
	return &GaussianMixture{Components: k, Dim: dim, InitSpread: 1}
}

// EventShape implements [Distribution].
func (d *GaussianMixture) EventShape() []int { return []int{d.Dim} }

func (d *GaussianMixture) params(scope *model.Scope, g *Graph, dtype dtypes.DType) (logWeights, means, logStds *Node) {
	if d.Components < 1 {
		exceptions.Panicf("flowlib: GaussianMixture needs at least one component, got %d", d.Components)
	}
	zero := scope.WithInitializer(initializer.Zero)
	spread := d.InitSpread
	if spread <= 0 {
		spread = 1
	}
	random := scope.WithInitializer(initializer.RandomNormalFn(scope, spread))
	logits := zero.VariableWithShape("logits", shapes.Make(dtype, d.Components)).NodeValue(g)
	means = random.VariableWithShape("means", shapes.Make(dtype, d.Components, d.Dim)).NodeValue(g)
	logStds = zero.VariableWithShape("log_stds", shapes.Make(dtype, d.Components, d.Dim)).NodeValue(g)
	return LogSoftmax(logits), means, logStds
}

// LogProb implements [Distribution].
func (d *GaussianMixture) LogProb(scope *model.Scope, z *Node) *Node {
	checkEvent("GaussianMixture", []int{d.Dim}, z)
	logWeights, means, logStds := d.params(scope, z.Graph(), z.DType())
	// Broadcast z [B, 1, D] against the components [1, K, D].
	diff := Sub(InsertAxes(z, 1), InsertAxes(means, 0))
	standardized := Mul(diff, InsertAxes(Exp(Neg(logStds)), 0))
	perCoord := Add(AddScalar(Square(standardized), log2Pi), InsertAxes(MulScalar(logStds, 2), 0))
	logComponent := MulScalar(ReduceSum(perCoord, 2), -0.5) // [B, K]
	return logSumExp(Add(logComponent, InsertAxes(logWeights, 0)), 1)
}

// Sample implements [Distribution]: pick a component k with probability π_k,
// then draw from N(μ_k, (T·σ_k)²).
func (d *GaussianMixture) Sample(scope *model.Scope, g *Graph, dtype dtypes.DType, n int, temperature float64) *Node {
	requireSampleCount("GaussianMixture.Sample", n)
	logWeights, means, logStds := d.params(scope, g, dtype)
	// Inverse-CDF sampling of the component: k = #{j : cdf_j < u}.
	cdf := CumSum(Exp(logWeights), 0)                             // [K]
	u := scope.RandomUniform(g, shapes.Make(dtype, n, 1))         // [n, 1]
	below := ConvertDType(LessThan(InsertAxes(cdf, 0), u), dtype) // [n, K]
	k := ReduceSum(below, 1)
	k = MinScalar(k, float64(d.Components-1))                            // Guards against rounding in cdf_K ≈ 1.
	oneHot := OneHot(ConvertDType(k, dtypes.Int32), d.Components, dtype) // [n, K]
	mu := MatMul(oneHot, means)
	sigma := MatMul(oneHot, Exp(logStds))
	eps := MulScalar(scope.RandomNormal(g, shapes.Make(dtype, n, d.Dim)), temperature)
	return Add(mu, Mul(eps, sigma))
}

// StandardLogistic is the standard logistic distribution, independently in
// every coordinate of the event shape, the prior of NICE (Dinh et al. 2014):
//
//	log p(z) = Σ_i −z_i − 2·log(1 + e^{−z_i})
//
// Its density is σ(z)(1 − σ(z)), exactly the derivative of the sigmoid, so a
// [Logit] layer followed by this base is the uniform distribution on [0, 1]:
// a handy exact reference for bits/dim.
type StandardLogistic struct {
	Event []int
}

// NewStandardLogistic returns the standard logistic on events of the given shape.
func NewStandardLogistic(event ...int) *StandardLogistic { return &StandardLogistic{Event: event} }

// EventShape implements [Distribution].
func (d *StandardLogistic) EventShape() []int { return d.Event }

// LogProb implements [Distribution].
func (d *StandardLogistic) LogProb(_ *model.Scope, z *Node) *Node {
	checkEvent("StandardLogistic", d.Event, z)
	return sumPerExample(Sub(Neg(z), MulScalar(Softplus(Neg(z)), 2)))
}

// Sample implements [Distribution]: logit(u) for u uniform, scaled by the
// temperature.
func (d *StandardLogistic) Sample(scope *model.Scope, g *Graph, dtype dtypes.DType, n int, temperature float64) *Node {
	requireSampleCount("StandardLogistic.Sample", n)
	u := scope.RandomUniform(g, sampleShape(dtype, n, d.Event))
	u = ClipScalar(u, 1e-7, 1-1e-7) // RandomUniform may return exactly 0.
	return MulScalar(Sub(Log(u), Log1p(Neg(u))), temperature)
}
