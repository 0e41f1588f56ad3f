package notebook

import (
	"path/filepath"
	"strings"
	"testing"
)

func TestShippedModelLoadsTheWorkbooksGlow(t *testing.T) {
	root, _ := filepath.Abs("../..")
	t.Setenv("FLOWBOOK_ROOT", root)
	glow := ShippedModel("glow-mnist")
	if !glow.Spec.IsImage() || !(glow.TestBitsPerDim > 0 && glow.TestBitsPerDim < 8) || glow.TestImages < 1 {
		t.Errorf("shipped Glow: spec %s, %v test bits/dim on %d images", glow.Spec, glow.TestBitsPerDim, glow.TestImages)
	}
}

func TestShippedModelSaysWhatIsMissing(t *testing.T) {
	t.Setenv("FLOWBOOK_ROOT", t.TempDir())
	defer func() {
		err, _ := recover().(error)
		if err == nil || !strings.Contains(err.Error(), "does not exist") {
			t.Errorf("ShippedModel of a missing model: recovered %v, want an error saying the directory does not exist", err)
		}
	}()
	ShippedModel("glow-mnist")
}
