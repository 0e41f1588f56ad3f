package notebook

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"

	"github.com/flowbook/flowbook/flowlib"
)

// ModelsDir is where the workbook keeps its trained models, under the
// repository root.
const ModelsDir = "models"

// Shipped is a trained model shipped with the workbook (models/NAME), with
// the test bits/dim that flowbook export measured and wrote beside it.
type Shipped struct {
	*flowlib.Model
	// TestBitsPerDim was measured on TestImages test digits.
	TestBitsPerDim float64 `json:"test_bits_per_dim"`
	TestImages     int     `json:"test_images"`
}

// ShippedModel loads models/name under $FLOWBOOK_ROOT, such as
// "glow-mnist". If it is missing or broken it stops the cell, as [Check]
// does, with the reason.
func ShippedModel(name string) *Shipped {
	dir := filepath.Join(os.Getenv("FLOWBOOK_ROOT"), ModelsDir, name)
	m, err := flowlib.Load(dir)
	Check(err)
	s := &Shipped{Model: m}
	text, err := os.ReadFile(filepath.Join(dir, "expected.json"))
	Check(err)
	if err := json.Unmarshal(text, s); err != nil {
		Check(fmt.Errorf("notebook: %s/expected.json: %w", dir, err))
	}
	return s
}
