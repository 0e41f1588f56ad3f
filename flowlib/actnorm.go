package flowlib

import (
	"fmt"
	"strings"

	"github.com/gomlx/compute/shapes"
	. "github.com/gomlx/gomlx/core/graph" //nolint:revive
	"github.com/gomlx/gomlx/ml/model"
	"github.com/gomlx/gomlx/ml/model/initializer"
	"github.com/gomlx/gomlx/support/exceptions"
)

// ActNorm is Glow's activation normalisation (Kingma & Dhariwal 2018,
// https://arxiv.org/abs/1807.03039): a per-feature affine map on the last
// axis, the features (or channels), shared over every other axis but the batch:
//
//	Forward:  y = (x − loc) · exp(−log_scale),  log|det J| = −P · Σ_c log_scale_c
//	Inverse:  x = y · exp(log_scale) + loc,     log|det J| = +P · Σ_c log_scale_c
//
// where P is the number of positions per example (1 for vectors, H·W for
// images of shape [batchSize, H, W, C]).
//
// Data-dependent initialisation: the first time Forward runs in a training
// graph, loc and log_scale are set from that batch to its per-feature mean and
// log standard deviation, so the layer's output starts with zero mean and unit
// variance; from then on they are ordinary trainable variables. A flag variable
// "initialized" records it and is saved in checkpoints with the rest.
//
// A batch whose statistics are not finite (a NaN or Inf in it, or values so
// large that their variance overflows) does not initialise the layer: loc,
// log_scale and the flag keep their values, so the next clean batch
// initialises it as if the bad one had never come. The graph cannot raise an
// error itself; [CheckActNormInit] finds layers left uninitialised after a
// training step, and the training package calls it after its first step.
type ActNorm struct {
	// Features is the size of the last axis.
	Features int
}

// NewActNorm returns an ActNorm layer for data whose last axis has the given size.
func NewActNorm(features int) *ActNorm { return &ActNorm{Features: features} }

// Name implements [Named].
func (a *ActNorm) Name() string { return "actnorm" }

// actNormEpsilon keeps log(std) finite for a constant feature.
const actNormEpsilon = 1e-6

// params returns loc and log_scale, shaped to broadcast against x, and P.
func (a *ActNorm) params(scope *model.Scope, x *Node, initFromData bool) (loc, logScale *Node, positions int) {
	requireExamples("ActNorm", x)
	if x.Shape().Dimensions[x.Rank()-1] != a.Features {
		exceptions.Panicf("flowlib: ActNorm was built for %d features (last axis) but got shape %s", a.Features, x.Shape())
	}
	g := x.Graph()
	scope = scope.WithInitializer(initializer.Zero)
	locVar := scope.VariableWithShape("loc", shapes.Make(x.DType(), a.Features))
	logScaleVar := scope.VariableWithShape("log_scale", shapes.Make(x.DType(), a.Features))
	loc, logScale = locVar.NodeValue(g), logScaleVar.NodeValue(g)
	if initFromData && scope.IsTraining(g) {
		flagVar := scope.VariableWithShape("initialized", shapes.Make(x.DType()))
		flagVar.SetTrainable(false)
		initialized := GreaterThan(flagVar.NodeValue(g), ScalarZero(g, x.DType()))
		statAxes := make([]int, x.Rank()-1)
		for i := range statAxes {
			statAxes[i] = i
		}
		data := StopGradient(x)
		mean := ReduceMean(data, statAxes...)
		logStd := Log(Sqrt(AddScalar(ReduceVariance(data, statAxes...), actNormEpsilon)))
		// Non-finite statistics would be stored for good (the flag then says
		// "done"): refuse them, keeping the old values and the flag at 0.
		finite := LogicalAnd(LogicalAll(IsFinite(mean)), LogicalAll(IsFinite(logStd)))
		useData := LogicalAnd(LogicalNot(initialized), finite)
		loc = Where(useData, mean, loc)
		logScale = Where(useData, logStd, logScale)
		// The optimizer continues from these values in the same step.
		locVar.SetNodeValue(loc)
		logScaleVar.SetNodeValue(logScale)
		flag := flagVar.NodeValue(g)
		flagVar.SetNodeValue(Where(LogicalOr(initialized, finite), OnesLike(flag), flag))
	}
	positions = 1
	for _, d := range x.Shape().Dimensions[1 : x.Rank()-1] {
		positions *= d
	}
	return ExpandLeftToRank(loc, x.Rank()), ExpandLeftToRank(logScale, x.Rank()), positions
}

// Forward implements [Bijector].
func (a *ActNorm) Forward(scope *model.Scope, x *Node) (y, logDet *Node) {
	loc, logScale, positions := a.params(scope, x, true)
	y = Mul(Sub(x, loc), Exp(Neg(logScale)))
	ld := MulScalar(Neg(ReduceAllSum(logScale)), float64(positions))
	return y, BroadcastToShape(ld, batchShape(x))
}

// Inverse implements [Bijector].
func (a *ActNorm) Inverse(scope *model.Scope, y *Node) (x, logDet *Node) {
	loc, logScale, positions := a.params(scope, y, false)
	x = Add(Mul(y, Exp(logScale)), loc)
	ld := MulScalar(ReduceAllSum(logScale), float64(positions))
	return x, BroadcastToShape(ld, batchShape(y))
}

// actNormFlag is the name of ActNorm's "initialized" flag variable.
const actNormFlag = "initialized"

// CheckActNormInit returns an error naming every [ActNorm] layer in store
// whose data-dependent initialisation ran in a training graph but was
// refused, because the batch's per-feature statistics were not finite (its
// "initialized" flag is still 0); nil if there is none. Call it after the
// first training step: before any training graph has run, layers have no
// flag yet and are not reported.
func CheckActNormInit(store *model.Store) error {
	var refused []string
	for v := range store.IterVariables() {
		if v.Name() != actNormFlag || v.Shape().Rank() != 0 || !v.DType().IsFloat() {
			continue
		}
		scope := v.Scope()
		dir := strings.TrimSuffix(scope, "/")
		if store.GetVariable(dir+"/loc") == nil || store.GetVariable(dir+"/log_scale") == nil {
			continue // Not an ActNorm's flag.
		}
		value, err := v.Value()
		if err != nil {
			continue
		}
		if vals := flatFloat64(value); len(vals) == 1 && vals[0] == 0 {
			refused = append(refused, scope)
		}
	}
	if len(refused) == 0 {
		return nil
	}
	return fmt.Errorf("flowlib: ActNorm %s: the training batch's per-feature mean or standard deviation is not "+
		"finite (NaN or Inf), so the data-dependent initialisation was refused and the layer left uninitialised; "+
		"check the data for NaN, Inf or extreme values (call Flow.CheckData on it), then train on clean data",
		listFew(refused, 5))
}

// listFew joins up to n names with commas and says how many were left out.
func listFew(names []string, n int) string {
	if len(names) <= n {
		return strings.Join(names, ", ")
	}
	return fmt.Sprintf("%s, and %d more", strings.Join(names[:n], ", "), len(names)-n)
}
