package residual

import (
	"testing"

	"github.com/flowbook/flowbook/exercises/internal/grading"
)

// TestMain runs the graders under grading's supervision, which awards a
// task's points only when the test process ran to its normal end.
func TestMain(m *testing.M) { grading.Main(m) }
