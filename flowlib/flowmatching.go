package flowlib

import (
	. "github.com/gomlx/gomlx/core/graph" //nolint:revive
	"github.com/gomlx/gomlx/ml/model"
	"github.com/gomlx/gomlx/support/exceptions"
)

// RegressionTrained is implemented by bijectors trained by a regression
// loss rather than by maximum likelihood, like a [CNF] with
// [ObjectiveFlowMatching]. TrainsByRegression reports whether this one is;
// RegressionLoss returns the per-example loss [batchSize] of the data x1,
// given as many samples x0 of the flow's base.
type RegressionTrained interface {
	TrainsByRegression() bool
	RegressionLoss(scope *model.Scope, x1, x0 *Node) *Node
}

// TrainsByRegression implements [RegressionTrained]: a CNF with
// [ObjectiveFlowMatching] is.
func (c *CNF) TrainsByRegression() bool { return c.Objective == ObjectiveFlowMatching }

// RegressionLoss implements [RegressionTrained] with [CNF.FlowMatchingLoss].
func (c *CNF) RegressionLoss(scope *model.Scope, x1, x0 *Node) *Node {
	return c.FlowMatchingLoss(scope, x1, x0)
}

// FlowMatchingLoss is the conditional flow-matching loss with the optimal
// transport path (Lipman et al. 2023, https://arxiv.org/abs/2210.02747,
// eq. 20–23), per example [batchSize]: for data x₁, a base sample x₀ and a
// time t ~ U[0, 1] drawn here,
//
//	x_t = (1 − (1 − σ_min)·t)·x₀ + t·x₁,    u_t = x₁ − (1 − σ_min)·x₀
//	loss = Σ_d (f(t, x_t) − u_t)²
//
// whose minimiser over f is the vector field that carries the base (t = 0)
// to the data (t = 1): the same field [CNF.Forward] integrates, so the
// trained flow's exact log-likelihood is [Flow.LogProb] (or [CNFLogProb]).
// x1 and x0 are [batchSize, Dim].
func (c *CNF) FlowMatchingLoss(scope *model.Scope, x1, x0 *Node) *Node {
	c.validate()
	requireVectors("CNF flow matching", x1, c.Dim)
	if !x0.Shape().Equal(x1.Shape()) {
		exceptions.Panicf("flowlib: CNF flow matching needs one base sample per example, of shape %s; got %s",
			x1.Shape(), x0.Shape())
	}
	t := scope.RandomUniform(x1.Graph(), batchShape(x1))
	tc := Reshape(t, -1, 1)
	xt := Add(Mul(OneMinus(MulScalar(tc, 1-c.SigmaMin)), x0), Mul(tc, x1))
	target := Sub(x1, MulScalar(x0, 1-c.SigmaMin))
	return ReduceSum(Square(Sub(c.Field(scope, t, xt), target)), 1)
}

// TrainsByRegression reports whether the flow's bijector is trained by a
// regression loss ([RegressionTrained]) rather than by maximum likelihood.
func (f *Flow) TrainsByRegression() bool {
	r, ok := f.Bijector.(RegressionTrained)
	return ok && r.TrainsByRegression()
}

// TrainingLoss returns the per-example loss [batchSize] that training
// minimises: −log p(x | c) for flows trained by maximum likelihood, and
// for a flow whose bijector is trained by regression (flow matching) its
// regression loss, with base samples drawn in the graph (a conditional
// regression flow is not supported: context must be nil). The training
// package calls it; its mean is the batch loss.
func (f *Flow) TrainingLoss(scope *model.Scope, x, context *Node) *Node {
	if !f.TrainsByRegression() {
		return Neg(f.LogProbWithContext(scope, x, context))
	}
	if context != nil {
		exceptions.Panicf("flowlib: a flow trained by regression (flow matching) takes no context")
	}
	requireNonEmpty("TrainingLoss", x)
	x0 := f.Base.Sample(f.baseScope(scope), x.Graph(), x.DType(), x.Shape().Dimensions[0], 1)
	return f.Bijector.(RegressionTrained).RegressionLoss(f.bijectorScope(scope), x, x0)
}
