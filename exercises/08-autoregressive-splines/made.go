package autoregressive

// Degrees returns the degrees of MADE's units (Germain et al. 2015,
// https://arxiv.org/abs/1502.03509) for data of dimension dim = len(order)
// ≥ 2, contextDim context features (0 for none) and hidden layers of the
// sizes hidden. order is the autoregressive order, a permutation of
// 0 … dim−1: order[r] is the coordinate that comes r-th.
//
//   - input has dim + contextDim entries. Data coordinate order[r] gets
//     degree r + 1 (input[order[r]] = r + 1: the first in the order has
//     degree 1, the last dim), and the context inputs, which come after the
//     data (input[dim] … input[dim+contextDim−1]), get degree 0.
//   - hiddenDeg[l] has hidden[l] entries: unit j of hidden layer l gets
//     degree lowest + j mod (dim − lowest), where lowest is 1 without a
//     context and 0 with one. The units cycle through 1 … dim−1: a unit of
//     degree dim could feed no output, and one of degree 0 would see no
//     input, unless there is a context: then degree-0 units see only the
//     context and carry it to the first value in the order, which sees no
//     data.
//
// This is what flowlib.MADENet.Degrees computes: write it yourself.
func Degrees(order []int, contextDim int, hidden []int) (input []int, hiddenDeg [][]int) {
	// TODO(exercise): the degrees of the inputs (by position in the order; 0 for the context), then of each hidden layer.
	return nil, nil
}

// Masks returns MADE's masks from the degrees of its units: input (the
// degrees of the dim data inputs followed by those of the context inputs, as
// Degrees returns them), hidden (the degrees of each hidden layer's units)
// and paramsPerValue outputs per value. masks[l][i][j] is true when unit i of
// the layer below (the inputs, for l = 0) is connected to unit j of layer l:
//
//   - for hidden layer l (masks[0] … masks[len(hidden)−1]): connected when
//     the hidden unit's degree is ≥ the degree of the unit below it;
//   - for the output layer (the last mask; len(hidden) + 1 masks in all):
//     output unit j = p·dim + v is parameter p of value v and has the degree
//     of data input v, input[v]; it is connected to unit i of the last hidden
//     layer (of the inputs, when there are no hidden layers) when its degree
//     is strictly greater than unit i's.
//
// Each mask is [units below][units of the layer]: len(masks[l]) is the
// number of units below, len(masks[l][i]) the number of units of layer l.
// Then the parameters of value v depend only on the data inputs of degree
// < input[v] (the values before v in the order) and on the whole context.
func Masks(input []int, hidden [][]int, dim, paramsPerValue int) [][][]bool {
	// TODO(exercise): one mask per hidden layer (degree ≥ the unit below), then the output mask (degree > the unit below).
	return nil
}
