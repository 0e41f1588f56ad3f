package changeofvariables

import (
	"math"

	. "github.com/gomlx/gomlx/core/graph" //nolint:revive // GoMLX's idiom: graph ops read like math.
)

// SinhNormalLogProb returns log p_X(x) for x = sinh(z), where z is a standard
// normal, for every element of x (any shape; the result has x's shape).
//
// Write it as a GoMLX graph, the way flowlib computes log-densities:
//
//   - the inverse map f(x) = arsinh(x) = log(x + √(x² + 1)), from graph ops
//     (Log, Sqrt, Square, Add, ...);
//   - its derivative f'(x) from automatic differentiation:
//     Gradient(ReduceAllSum(f), x)[0] is f'(x) elementwise, because each
//     element of f depends only on the same element of x;
//   - then log p_X(x) = log N(f(x); 0, 1) + log|f'(x)|.
//
// The grader evaluates it at points from −50 to 50 and compares with the
// closed form log N(arsinh x) − ½ log(1 + x²).
func SinhNormalLogProb(x *Node) *Node {
	z := Log(Add(x, Sqrt(OnePlus(Square(x))))) // arsinh(x)
	dzdx := Gradient(ReduceAllSum(z), x)[0]
	logNormal := AddScalar(MulScalar(Square(z), -0.5), -0.5*math.Log(2*math.Pi))
	return Add(logNormal, Log(Abs(dzdx)))
}
