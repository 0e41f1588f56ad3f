package jacobians

// This file holds the graders' own helpers, not tasks; the ones the chapters
// share are in the grading package.

// cloneMatrix copies a matrix.
func cloneMatrix(m [][]float64) [][]float64 {
	out := make([][]float64, len(m))
	for i := range m {
		out[i] = append([]float64(nil), m[i]...)
	}
	return out
}
