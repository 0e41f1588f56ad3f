package training

import (
	"errors"
	"fmt"

	"github.com/gomlx/gomlx/ml/model"

	"github.com/flowbook/flowbook/flowlib"
)

// LoadCheckpoint loads the newest checkpoint that a run with
// Config.Checkpoint(dir, ...) saved in dir into store: the flow's variables
// and the hyperparameters recorded with them. Use it to evaluate or sample a
// model trained elsewhere, e.g. in an earlier notebook cell, with the flow
// built again by the same builder calls; [flowlib.Load] rebuilds the flow
// too, from a description that the builder's SetParams stored. To continue
// training, give the same directory to Config.Checkpoint instead.
func LoadCheckpoint(store *model.Store, dir string) error {
	err := flowlib.RestoreCheckpoint(store, dir)
	if errors.Is(err, flowlib.ErrNoCheckpoint) {
		return fmt.Errorf("training: %w; train a model with Checkpoint(%q, ...) first", err, dir)
	}
	if err != nil {
		return fmt.Errorf("training: %w", err)
	}
	return nil
}
