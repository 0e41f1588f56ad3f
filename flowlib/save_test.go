package flowlib_test

import (
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/gomlx/gomlx/ml/model"

	"github.com/flowbook/flowbook/flowlib"
	"github.com/flowbook/flowbook/flowlib/data"
	"github.com/flowbook/flowbook/flowlib/training"
)

// TestSaveModel trains a tiny Glow, saves it with SaveModel and checks that
// Load gives back the same model from a checkpoint without the optimizer's
// state, and that SaveModel refuses a store without description and a
// directory that already holds a checkpoint.
func TestSaveModel(t *testing.T) {
	be := testBackend(t)
	rng := rand.New(rand.NewPCG(5, 6))
	images := &data.Samples{N: 16, Dim: 16, Shape: []int{4, 4, 1}, Values: make([]float32, 16*16)}
	for i := range images.Values {
		images.Values[i] = float32(rng.IntN(256))
	}
	config := flowlib.Glow(4, 4, 1).Levels(2).Steps(1).Hidden(8)
	store := model.NewStore()
	if err := config.SetParams(store.RootScope()); err != nil {
		t.Fatal(err)
	}
	flow := config.Done()
	trainDir, shipDir := t.TempDir(), t.TempDir()
	if _, err := training.New(be, store, flow, images).Steps(3).BatchSize(8).Checkpoint(trainDir, 0).Log(nil).Run(); err != nil {
		t.Fatal(err)
	}
	if err := flowlib.SaveModel(store, shipDir); err != nil {
		t.Fatal(err)
	}
	m, err := flowlib.Load(shipDir)
	if err != nil {
		t.Fatal(err)
	}
	if err := m.CheckComplete(); err != nil {
		t.Error(err)
	}
	if m.Step != 3 {
		t.Errorf("step %d after Load, want 3", m.Step)
	}
	for v := range m.Store.IterVariables() {
		if p := v.Path(); !strings.HasPrefix(p, "/bijector/") && !strings.HasPrefix(p, "/base/") && p != "/global_step" {
			t.Errorf("SaveModel kept the training variable %s", p)
		}
	}
	z := fixedLatent(2, 4, 4, 1)
	x0, ld0, _ := inverseOf(t, be, store, flow, z)
	x1, ld1, _ := inverseOf(t, be, m.Store, m.Flow, z)
	if !reflect.DeepEqual(x0, x1) || !reflect.DeepEqual(ld0, ld1) {
		t.Errorf("Inverse of a fixed latent differs after SaveModel and Load")
	}
	if shipped, trained := binSize(t, shipDir), binSize(t, trainDir); shipped*2 > trained {
		t.Errorf("the shipped model takes %d bytes, the training checkpoint %d: the optimizer's state was not left out", shipped, trained)
	}

	if err := flowlib.SaveModel(store, shipDir); err == nil || !strings.Contains(err.Error(), "already holds a checkpoint") {
		t.Errorf("saving into a directory with a checkpoint: got %v", err)
	}
	if err := flowlib.SaveModel(model.NewStore(), t.TempDir()); err == nil || !strings.Contains(err.Error(), "call SetParams") {
		t.Errorf("saving a store without description: got %v", err)
	}
}

// binSize returns the size of the newest checkpoint's variables in dir.
func binSize(t *testing.T, dir string) int64 {
	t.Helper()
	files, _ := filepath.Glob(filepath.Join(dir, "checkpoint-*.bin"))
	if len(files) == 0 {
		t.Fatalf("no checkpoint in %s", dir)
	}
	info, err := os.Stat(files[len(files)-1])
	if err != nil {
		t.Fatal(err)
	}
	return info.Size()
}
