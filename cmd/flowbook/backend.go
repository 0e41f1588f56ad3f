package main

import (
	"fmt"
	"io"
	"strings"

	"github.com/gomlx/compute"

	"github.com/flowbook/flowbook/flowlib/backend"
)

// openBackend opens the compute backend flowlib/backend chooses and says
// which one on stderr, in one line: timings mean little without it.
//
// flowlib's error for a missing XLA plugin spans several lines of install
// instructions; only its first line is kept, with a short hint, because
// flowbook reports every error in one line.
func openBackend(stderr io.Writer) (compute.Backend, error) {
	b, choice, err := backend.Open()
	if err != nil {
		first, _, _ := strings.Cut(err.Error(), "\n")
		if !strings.HasPrefix(choice.Config, "xla") {
			return nil, fmt.Errorf("%s", first) // It already lists the valid values.
		}
		return nil, fmt.Errorf("%s; install a PJRT plugin first (scripts/install-xla-cpu for XLA on CPU, or a directory named by PJRT_PLUGIN_LIBRARY_PATH), "+
			"or set %s=go to use the pure-Go backend", strings.TrimSuffix(first, "."), backend.FlowbookEnvVar)
	}
	fmt.Fprintf(stderr, "backend: %s, %s\n", choice, b.Description())
	return b, nil
}

const backendUsage = `Usage: flowbook backend

Opens the compute backend that flowlib chooses in this environment (XLA on
CPU when its plugin is installed, pure Go otherwise; FLOWBOOK_BACKEND or
GOMLX_BACKEND forces one) and prints which one it is and why, e.g.
  xla:cpu (default: XLA's CPU plugin is installed at ...), XLA backend ...
`

// cmdBackend opens the backend and prints the choice on stdout: the
// configuration, why it was chosen, and the backend's own description.
func cmdBackend(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("backend")
	if err := parseFlags(fs, backendUsage, args, stdout); err != nil {
		return err
	}
	b, choice, err := backend.Open()
	if err != nil {
		first, _, _ := strings.Cut(err.Error(), "\n")
		return fmt.Errorf("%s", first)
	}
	defer b.Finalize()
	fmt.Fprintf(stdout, "%s, %s\n", choice, b.Description())
	return nil
}
