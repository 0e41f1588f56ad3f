package flowlib

import (
	"cmp"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/gomlx/gomlx/ml/model"
	"github.com/gomlx/gomlx/ml/model/checkpoint"
	"github.com/gomlx/gomlx/ml/train/optimizer"
	"github.com/gomlx/gomlx/support/exceptions"
)

// modelScopes are the top-level scopes of a flow's own variables: its
// layers ([Flow]'s "bijector") and its base distribution ("base").
var modelScopes = []string{"bijector", "base"}

// SaveModel writes the model held in store (its weights, its description,
// which [SetParams] must have written, and the training step) to dir as a
// checkpoint that [Load] reads, leaving out what only training needs: the
// optimizer's moments, the learning-rate schedule and the metrics. That
// makes a shipped model about a third of the size of a training checkpoint.
// dir must not already hold a checkpoint.
func SaveModel(store *model.Store, dir string) error {
	if _, err := ReadSpec(store.RootScope()); err != nil {
		return fmt.Errorf("flowlib: SaveModel needs the model's description in the store (call SetParams before training): %w", err)
	}
	if existing, _ := filepath.Glob(filepath.Join(dir, "checkpoint-*")); len(existing) > 0 {
		return fmt.Errorf("flowlib: %s already holds a checkpoint (%s); save the model in an empty directory",
			dir, filepath.Base(existing[0]))
	}
	var handler *checkpoint.Handler
	var err error
	panicErr := exceptions.TryCatch[error](func() { handler, err = checkpoint.Build(store).Dir(dir).Done() })
	if err := cmp.Or(panicErr, err); err != nil {
		return fmt.Errorf("flowlib: saving the model in %s: %w", dir, err)
	}
	globalStep := model.JoinPath(model.ScopeSeparator, optimizer.GlobalStepVariableName)
	var trainingOnly []*model.Variable
	kept := 0
	for v := range store.IterVariables() {
		if v.Path() == globalStep || isModelVariable(v.Path()) {
			kept++
			continue
		}
		trainingOnly = append(trainingOnly, v)
	}
	if kept == 0 {
		return fmt.Errorf("flowlib: the store holds no model variables to save (under /%s); train or load the model first",
			strings.Join(modelScopes, ", /"))
	}
	handler.ExcludeVarsFromSaving(trainingOnly...)
	if err := handler.Save(); err != nil {
		// Leave no half-written checkpoint behind for Load to trip on.
		written, _ := filepath.Glob(filepath.Join(dir, "checkpoint-*"))
		for _, f := range written {
			_ = os.Remove(f)
		}
		return fmt.Errorf("flowlib: saving the model in %s: %w", dir, err)
	}
	return nil
}

// isModelVariable reports whether the variable at path belongs to a flow
// rather than to its training.
func isModelVariable(path string) bool {
	for _, scope := range modelScopes {
		if strings.HasPrefix(path, model.ScopeSeparator+scope+model.ScopeSeparator) {
			return true
		}
	}
	return false
}
