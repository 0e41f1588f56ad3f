package training

import (
	"cmp"
	"fmt"
	"os"

	"github.com/gomlx/gomlx/ml/model"
	"github.com/gomlx/gomlx/ml/model/checkpoint"
	"github.com/gomlx/gomlx/support/exceptions"
)

// LoadCheckpoint loads the newest checkpoint that a run with
// Config.Checkpoint(dir, ...) saved in dir into store: the flow's variables
// and the hyperparameters recorded with them. Use it to evaluate or sample a
// model trained elsewhere, e.g. in an earlier notebook cell; to continue
// training, give the same directory to Config.Checkpoint instead.
func LoadCheckpoint(store *model.Store, dir string) error {
	info, err := os.Stat(dir)
	if err != nil {
		return fmt.Errorf("training: no checkpoint in %q: %w; train a model with Checkpoint(%q, ...) first", dir, err, dir)
	}
	if !info.IsDir() {
		return fmt.Errorf("training: checkpoint %q is a file; give the directory that training wrote", dir)
	}
	var handler *checkpoint.Handler
	var loadErr error
	// GoMLX panics on some malformed checkpoint files: report those as errors too.
	panicErr := exceptions.TryCatch[error](func() {
		handler, loadErr = checkpoint.Build(store).Dir(dir).Immediate().Done()
	})
	if err := cmp.Or(panicErr, loadErr); err != nil {
		return fmt.Errorf("training: checkpoint in %q cannot be read: %w", dir, err)
	}
	if has, err := handler.HasCheckpoints(); err != nil || !has {
		return fmt.Errorf("training: %q holds no checkpoint; train a model with Checkpoint(%q, ...) first", dir, dir)
	}
	return nil
}
