package nice

import (
	. "github.com/gomlx/gomlx/core/graph" //nolint:revive // GoMLX's idiom: graph ops read like math.
	"github.com/gomlx/gomlx/ml/model"
)

// LeakyReLU is an elementwise bijector on vectors [batchSize, D], for a slope
// Alpha > 0 (below or above 1):
//
//	Forward:  y_j = x_j if x_j ≥ 0, α·x_j if x_j < 0,   log|det J| = Σ_j log α·[x_j < 0]
//	Inverse:  x_j = y_j if y_j ≥ 0, y_j/α if y_j < 0,   log|det J| = −Σ_j log α·[y_j < 0]
//
// The Jacobian is diagonal, with α where the input is negative and 1
// elsewhere; [·] is 1 when the condition holds and 0 otherwise. Each log-det
// is one value per example, shape [batchSize]. (Where, LessThan and
// ConvertDType are useful; max(x, α·x) is right only for α < 1.)
type LeakyReLU struct {
	Alpha float64
}

// Name implements flowlib.Named.
func (l LeakyReLU) Name() string { return "leaky_relu" }

// Forward implements flowlib.Bijector: see the type's documentation.
func (l LeakyReLU) Forward(_ *model.Scope, x *Node) (y, logDet *Node) {
	// TODO(exercise): y = α·x where x < 0, x elsewhere; log-det = log α × (number of negative x_j), per example.
	return nil, nil
}

// Inverse implements flowlib.Bijector: see the type's documentation.
func (l LeakyReLU) Inverse(_ *model.Scope, y *Node) (x, logDet *Node) {
	// TODO(exercise): x = y/α where y < 0, y elsewhere; log-det = −log α × (number of negative y_j), per example.
	return nil, nil
}
