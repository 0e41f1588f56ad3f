// Package backend chooses the GoMLX compute backend for flowlib, in one place,
// and says which one it chose and why.
//
// The default is XLA on the CPU when XLA's CPU PJRT plugin is installed and
// loads, GoMLX's pure-Go backend otherwise (it needs no C library, no plugin
// and no network). GoMLX's own default differs: XLA whenever it is compiled
// in, downloading a plugin if there is none. Two environment variables
// force a choice; GOMLX_BACKEND (GoMLX's own) wins over FLOWBOOK_BACKEND:
//
//	GOMLX_BACKEND=go                     pure Go
//	GOMLX_BACKEND=xla:cpu                XLA through a PJRT CPU plugin
//	GOMLX_BACKEND=xla:cuda               XLA through a PJRT CUDA plugin
//	GOMLX_BACKEND=xla:/path/to/pjrt.so   XLA through the plugin at that path
//	FLOWBOOK_BACKEND=...                 the same values; "auto" (or unset) is the default
//
// XLA plugins are never downloaded automatically (a download on a closed
// network can hang): a plugin must already be installed, in a directory listed
// in PJRT_PLUGIN_LIBRARY_PATH, in /usr/local/lib/go-xla or in
// ~/.local/lib/go-xla. flowbook's scripts install XLA's CPU plugin into the
// repository's .cache/xla and point PJRT_PLUGIN_LIBRARY_PATH at it. Asking
// for XLA without a plugin returns an error that says how to install one;
// the automatic choice falls back to pure Go instead, and says so.
//
// XLA support needs cgo; build with `-tags noxla` for a pure-Go binary.
package backend

import (
	"fmt"
	"os"
	"strings"
	"sync"

	"github.com/gomlx/compute"
	"github.com/gomlx/compute/gobackend"
)

// EnvVar is the environment variable that selects the backend ("GOMLX_BACKEND",
// the same one GoMLX itself reads). It wins over FlowbookEnvVar.
const EnvVar = compute.ConfigEnvVar

// FlowbookEnvVar is flowbook's own switch ("FLOWBOOK_BACKEND"), read when
// GOMLX_BACKEND is unset: the workbook's scripts and kernel pass it on.
const FlowbookEnvVar = "FLOWBOOK_BACKEND"

// Backend configurations, in the format of GOMLX_BACKEND.
const (
	// Auto asks for the default choice: XLACPU if its plugin loads, else Go.
	Auto = "auto"
	// Go is GoMLX's pure-Go backend.
	Go = gobackend.BackendName
	// XLACPU is XLA on the CPU through a PJRT plugin named "cpu".
	XLACPU = "xla:cpu"
)

// Default is the backend configuration used when neither variable is set.
const Default = Auto

// InstallHint says how to make an XLA backend available; it ends every error
// about a missing plugin.
const InstallHint = `XLA backends need a PJRT plugin installed beforehand (flowlib never downloads one):
  - for XLA on CPU, flowbook's scripts/install-xla-cpu installs one into the repository's .cache/xla
    (scripts/lab and scripts/test run it; scripts/env.sh then sets PJRT_PLUGIN_LIBRARY_PATH);
  - put the plugin (e.g. pjrt_c_api_cpu_plugin.so) in a directory and set PJRT_PLUGIN_LIBRARY_PATH to it,
    or copy it into ~/.local/lib/go-xla or /usr/local/lib/go-xla;
  - or give its absolute path: GOMLX_BACKEND=xla:/path/to/pjrt_c_api_cpu_plugin.so;
  - for NVIDIA GPUs, pip's jax-cuda13-pjrt package ships the CUDA plugin (see docs/backends.md).
Set FLOWBOOK_BACKEND=go (or GOMLX_BACKEND=go) to use the pure-Go backend, which needs nothing.`

// The XLA hooks are set by xla.go when the binary is built with XLA support
// (cgo and without the noxla tag).
var (
	// xlaConstructor returns the XLA backend for a plugin name or path.
	xlaConstructor func(plugin string) (compute.Backend, error)
	// xlaPluginPath returns where the named plugin is installed ("" if it is
	// not), and an error if a file there does not load.
	xlaPluginPath func(name string) (string, error)
)

// Choice is a backend decision: the configuration, whether the environment
// forced it, and why it was made, for programs to report in one line.
type Choice struct {
	// Config is the backend configuration, e.g. "go" or "xla:cpu".
	Config string
	// Forced is true when GOMLX_BACKEND or FLOWBOOK_BACKEND named it.
	Forced bool
	// Reason says why, in a few words.
	Reason string
}

// String reports the choice, e.g. `xla:cpu (default: XLA's CPU plugin is
// installed at /repo/.cache/xla/...; FLOWBOOK_BACKEND=go forces pure Go)`.
func (c Choice) String() string {
	return fmt.Sprintf("%s (%s)", c.Config, c.Reason)
}

// envConfig returns the forcing variable and its value, or "", "" when
// neither GOMLX_BACKEND nor FLOWBOOK_BACKEND asks for a specific backend.
func envConfig() (name, value string) {
	for _, v := range []string{EnvVar, FlowbookEnvVar} {
		if c := strings.TrimSpace(os.Getenv(v)); c != "" && c != Auto {
			return v, c
		}
	}
	return "", ""
}

// Choose decides which backend New opens, without opening it: the one the
// environment forces, else XLACPU when XLA support is compiled in and its
// CPU plugin is installed, else Go. New may still fall back from an automatic
// XLACPU to Go, if the plugin fails to load; Open reports that.
func Choose() Choice {
	if name, value := envConfig(); name != "" {
		return Choice{Config: value, Forced: true, Reason: "set by " + name}
	}
	if xlaConstructor == nil {
		return Choice{Config: Go, Reason: "default: this program was built without XLA (-tags noxla or CGO_ENABLED=0, as the workbook's kernel builds when XLA's CPU plugin is not installed)"}
	}
	path, err := xlaPluginPath("cpu")
	switch {
	case err != nil:
		return Choice{Config: Go, Reason: "default: XLA's CPU plugin did not load (" + err.Error() + "), so pure Go"}
	case path == "":
		return Choice{Config: Go, Reason: "default: no XLA CPU plugin installed (scripts/install-xla-cpu installs one)"}
	default:
		return Choice{Config: XLACPU, Reason: "default: XLA's CPU plugin is installed at " + path + "; " + FlowbookEnvVar + "=go forces pure Go"}
	}
}

// Config returns the backend configuration that New would try first: see Choose.
func Config() string { return Choose().Config }

// Open returns a new backend for Choose's decision, with the decision as it
// was finally made: when the automatic choice of XLA fails (a plugin that
// does not load), it opens the pure-Go backend and its Choice says why. A
// forced choice that fails is an error.
func Open() (compute.Backend, Choice, error) {
	choice := Choose()
	b, err := NewWithConfig(choice.Config)
	if err == nil || choice.Forced || choice.Config == Go {
		return b, choice, err
	}
	first, _, _ := strings.Cut(err.Error(), "\n")
	fallback := Choice{Config: Go, Reason: "default: XLA's CPU plugin did not load (" + first + "), so pure Go"}
	b, err = NewWithConfig(Go)
	return b, fallback, err
}

// New returns a new backend: see Open for the choice.
func New() (compute.Backend, error) {
	b, _, err := Open()
	return b, err
}

// NewWithConfig returns a new backend for the given configuration, in the
// format of GOMLX_BACKEND: "go", "xla:cpu", "xla:cuda", "xla:/path/to/plugin.so",
// or "auto" (or "") for the automatic choice.
func NewWithConfig(config string) (compute.Backend, error) {
	if config == "" || config == Auto {
		config = Choose().Config
	}
	name, pluginConfig, _ := strings.Cut(config, ":")
	switch name {
	case gobackend.BackendName, "simplego":
		return gobackend.New("")
	case "xla", "stablehlo", "hlo", "shlo", "pjrt":
		if xlaConstructor == nil {
			return nil, fmt.Errorf("backend %q: this binary was built without XLA support (-tags noxla or CGO_ENABLED=0), so it cannot load a PJRT plugin; rebuild with cgo enabled, or set %s=go to use the pure-Go backend", config, FlowbookEnvVar)
		}
		return xlaConstructor(pluginConfig)
	default:
		return nil, fmt.Errorf("unknown backend %q: use \"go\" (pure Go), \"xla:cpu\", \"xla:cuda\", \"xla:/path/to/plugin.so\" or \"auto\" (XLA on CPU when its plugin is installed, else pure Go) in %s or %s", config, EnvVar, FlowbookEnvVar)
	}
}

var (
	sharedOnce    sync.Once
	sharedBackend compute.Backend
	sharedChoice  Choice
	sharedErr     error
)

// Shared returns one backend per process, opened by Open on the first call.
// Notebooks, tests and command-line tools use it so that all their graphs
// share the same backend.
func Shared() (compute.Backend, error) {
	sharedOnce.Do(func() { sharedBackend, sharedChoice, sharedErr = Open() })
	return sharedBackend, sharedErr
}

// SharedChoice returns the decision behind Shared's backend, opening it if
// needed.
func SharedChoice() Choice {
	_, _ = Shared()
	return sharedChoice
}

// MustShared is like Shared but panics with the error; for examples and notebooks.
func MustShared() compute.Backend {
	b, err := Shared()
	if err != nil {
		panic(err)
	}
	return b
}
