package flowlib

import (
	. "github.com/gomlx/gomlx/core/graph" //nolint:revive
	"github.com/gomlx/gomlx/ml/model"
	"github.com/gomlx/gomlx/support/exceptions"
)

// Autoregressive is the autoregressive wrapper: an
// [AutoregressiveConditioner] (a [MADENet]) computes the parameters of
// value i from the values before it, and a [Transform] moves every value
// with them. It comes in two directions.
//
// MAF (Papamakarios et al. 2017, https://arxiv.org/abs/1705.07057), made by
// [NewMAFLayer], conditions on the data x:
//
//	Forward:  z_i = τ(x_i; θ_i(x_<i))          one pass (density)
//	Inverse:  x_i = τ⁻¹(z_i; θ_i(x_<i))        dim passes (sampling)
//
// IAF (Kingma et al. 2016, https://arxiv.org/abs/1606.04934), made by
// [NewIAFLayer], conditions on the latent z instead, so the two costs swap:
//
//	Inverse:  x_i = τ(z_i; θ_i(z_<i))          one pass (sampling)
//	Forward:  z_i = τ⁻¹(x_i; θ_i(z_<i))        dim passes (density)
//
// The Jacobian is triangular in the conditioner's order, with dτ/dx on its
// diagonal, so log|det J| is the sum of the transform's per-value log-dets.
//
// The slow direction solves for its output one coordinate at a time, as a
// fixed-point iteration: start from u = 0 and repeat u ← τ^{∓1}(v; θ(u))
// dim times. After pass r the first r coordinates in the order are exact,
// since their parameters depend only on coordinates already exact, so
// after dim passes all of u is, and so are the parameters the last pass
// used and the log-det it returns. The graph holds dim copies of the
// conditioner: fine for vectors, slow for thousands of values.
//
// With a context (see [ConditionalBijector]) the conditioner sees it at
// every pass. The layer's variables are the conditioner's, in the sub-scope
// "conditioner". It takes vector data [batchSize, dim].
type Autoregressive struct {
	Conditioner AutoregressiveConditioner
	Transform   Transform
	// IAF selects the inverse autoregressive direction: the conditioner
	// reads the latent, and Inverse (sampling) is the one-pass direction.
	IAF bool
}

// NewMAFLayer returns a masked autoregressive layer: density (Forward) in
// one pass, sampling (Inverse) in dim passes. MADE plus [Affine] is the
// layer of the MAF paper; other transforms (e.g. [RationalQuadraticSpline])
// give other flows (NSF-AR).
func NewMAFLayer(conditioner AutoregressiveConditioner, transform Transform) *Autoregressive {
	return &Autoregressive{Conditioner: conditioner, Transform: transform}
}

// NewIAFLayer returns an inverse autoregressive layer: sampling (Inverse)
// in one pass, density (Forward) in dim passes.
func NewIAFLayer(conditioner AutoregressiveConditioner, transform Transform) *Autoregressive {
	return &Autoregressive{Conditioner: conditioner, Transform: transform, IAF: true}
}

// Name implements [Named]: the transform's name and "_maf" or "_iaf",
// such as "affine_maf".
func (a *Autoregressive) Name() string {
	if a.IAF {
		return a.Transform.Name() + "_iaf"
	}
	return a.Transform.Name() + "_maf"
}

// Forward implements [Bijector].
func (a *Autoregressive) Forward(scope *model.Scope, x *Node) (y, logDet *Node) {
	return a.ForwardWithContext(scope, x, nil)
}

// Inverse implements [Bijector].
func (a *Autoregressive) Inverse(scope *model.Scope, y *Node) (x, logDet *Node) {
	return a.InverseWithContext(scope, y, nil)
}

// ForwardWithContext implements [ConditionalBijector].
func (a *Autoregressive) ForwardWithContext(scope *model.Scope, x, context *Node) (y, logDet *Node) {
	if a.IAF {
		return a.solve(scope, x, context)
	}
	return a.onePass(scope, x, context)
}

// InverseWithContext implements [ConditionalBijector].
func (a *Autoregressive) InverseWithContext(scope *model.Scope, y, context *Node) (x, logDet *Node) {
	if a.IAF {
		return a.onePass(scope, y, context)
	}
	return a.solve(scope, y, context)
}

// check panics unless the layer is complete and v is vector data.
func (a *Autoregressive) check(v *Node) {
	if a.Conditioner == nil || a.Transform == nil {
		exceptions.Panicf("flowlib: an Autoregressive layer needs a Conditioner and a Transform; build it with NewMAFLayer or NewIAFLayer")
	}
	requireVectors(a.displayName(), v, 0)
}

// displayName names the layer in error messages, e.g. "AffineMAF".
func (a *Autoregressive) displayName() string {
	c := Coupling{Transform: a.Transform}
	name := c.displayName() // e.g. "AffineCoupling"
	name = name[:len(name)-len("Coupling")]
	if a.IAF {
		return name + "IAF"
	}
	return name + "MAF"
}

// params runs the conditioner on u and cuts its output into the
// transform's parameters, each of u's shape.
func (a *Autoregressive) params(scope *model.Scope, u, context *Node) []*Node {
	n := a.Transform.ParamsPerValue()
	dim := u.Shape().Dimensions[1]
	h := a.Conditioner.Params(scope.At("conditioner"), u, context, n)
	checkConditionerOutput(a.displayName(), h, u, n*dim)
	params := make([]*Node, n)
	for j := range params {
		params[j] = SliceAxis(h, 1, AxisRange(j*dim, (j+1)*dim))
	}
	return params
}

// onePass is v ↦ τ(v; θ(v)), with θ read from v itself: MAF's Forward,
// IAF's Inverse.
func (a *Autoregressive) onePass(scope *model.Scope, v, context *Node) (*Node, *Node) {
	a.check(v)
	out, logDet := a.Transform.Forward(v, a.params(scope, v, context))
	return out, sumPerExample(logDet)
}

// solve finds u = τ⁻¹(v; θ(u)) by dim passes (see [Autoregressive]): MAF's
// Inverse and IAF's Forward.
func (a *Autoregressive) solve(scope *model.Scope, v, context *Node) (*Node, *Node) {
	a.check(v)
	dim := v.Shape().Dimensions[1]
	u := ZerosLike(v)
	var logDet *Node
	for range dim {
		u, logDet = a.Transform.Inverse(v, a.params(scope, u, context))
	}
	return u, sumPerExample(logDet)
}
