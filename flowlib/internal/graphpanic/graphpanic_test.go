package graphpanic_test

import (
	"strings"
	"testing"
	"time"

	"github.com/gomlx/compute/dtypes"
	. "github.com/gomlx/gomlx/core/graph" //nolint:revive
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/model"

	"github.com/flowbook/flowbook/flowlib/backend"
	"github.com/flowbook/flowbook/flowlib/internal/graphpanic"
)

// A graph function that panics with a string returns an error instead of
// hanging, once it defers AsError.
func TestStringPanicBecomesError(t *testing.T) {
	b, err := backend.Shared()
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		exec, err := model.NewExec(b, model.NewStore(), func(scope *model.Scope, x *Node) *Node {
			defer graphpanic.AsError()
			panic("a string, not an error")
		})
		if err == nil {
			defer exec.Finalize()
			_, err = exec.Call(tensors.FromScalar(float32(1)))
		}
		done <- err
	}()
	select {
	case err := <-done:
		if err == nil || !strings.Contains(err.Error(), "a string, not an error") {
			t.Errorf("got error %v, want one that says \"a string, not an error\"", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the Exec hung on a string panic")
	}
	_ = dtypes.Float32
}
