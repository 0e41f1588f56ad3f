package main

import (
	"fmt"
	"io"
	"strings"

	"github.com/gomlx/compute"

	"github.com/flowbook/flowbook/flowlib/backend"
)

// openBackend creates the compute backend chosen by GOMLX_BACKEND and says
// which one on stderr, in one line: timings mean little without it.
//
// flowlib's error for a missing XLA plugin spans several lines of install
// instructions; only its first line is kept, with a short hint, because
// flowbook reports every error in one line.
func openBackend(stderr io.Writer) (compute.Backend, error) {
	b, err := backend.New()
	if err != nil {
		first, _, _ := strings.Cut(err.Error(), "\n")
		if !strings.HasPrefix(backend.Config(), "xla") {
			return nil, fmt.Errorf("%s", first) // It already lists the valid values.
		}
		return nil, fmt.Errorf("%s; install a PJRT plugin first (in a directory named by PJRT_PLUGIN_LIBRARY_PATH, "+
			"or in ~/.local/lib/go-xla), or unset %s (or set it to \"go\") to use the pure-Go backend",
			strings.TrimSuffix(first, "."), backend.EnvVar)
	}
	fmt.Fprintf(stderr, "backend: %s (%s; set %s to change it)\n", backend.Config(), b.Description(), backend.EnvVar)
	return b, nil
}
