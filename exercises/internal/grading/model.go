package grading

import (
	"regexp"
	"strconv"

	"github.com/gomlx/gomlx/ml/model"
)

var hiddenScope = regexp.MustCompile(`^(.*)/conditioner/hidden_(\d+)(/dense)?$`)

// HiddenWidths returns, for each conditioner scope in store (the scope that
// holds ".../conditioner"), the widths of flowlib.MLP's hidden layers in
// order, read from the shapes of their weights [in, out]: what a grader
// checks against an architecture a task states.
func HiddenWidths(store *model.Store) map[string][]int {
	widths := map[string][]int{}
	for v := range store.IterVariables() {
		m := hiddenScope.FindStringSubmatch(v.Scope())
		if m == nil || v.Name() != "weights" || v.Shape().Rank() != 2 {
			continue
		}
		i, _ := strconv.Atoi(m[2])
		w := widths[m[1]]
		for len(w) <= i {
			w = append(w, 0)
		}
		w[i] = v.Shape().Dimensions[1]
		widths[m[1]] = w
	}
	return widths
}
