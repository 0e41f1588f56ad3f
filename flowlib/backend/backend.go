// Package backend chooses the GoMLX compute backend for flowlib, in one place.
//
// The default is GoMLX's pure-Go backend ("go"): it needs no C library, no
// plugin and no network, so every program, test and notebook runs out of the
// box. Set GOMLX_BACKEND to choose another one:
//
//	GOMLX_BACKEND=go                     pure Go (the default)
//	GOMLX_BACKEND=xla:cpu                XLA through a PJRT CPU plugin
//	GOMLX_BACKEND=xla:cuda               XLA through a PJRT CUDA plugin
//	GOMLX_BACKEND=xla:/path/to/pjrt.so   XLA through the plugin at that path
//
// XLA plugins are never downloaded automatically (a download on a closed
// network can hang): a plugin must already be installed, in a directory listed
// in PJRT_PLUGIN_LIBRARY_PATH, in /usr/local/lib/go-xla or in
// ~/.local/lib/go-xla. Asking for XLA without one returns an error that says
// how to install one.
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
// the same one GoMLX itself reads).
const EnvVar = compute.ConfigEnvVar

// Default is the backend configuration used when EnvVar is unset or empty.
const Default = gobackend.BackendName

// InstallHint says how to make an XLA backend available; it ends every error
// about a missing plugin.
const InstallHint = `XLA backends need a PJRT plugin installed beforehand (flowlib never downloads one):
  - for XLA on CPU, flowbook's scripts/install-xla-cpu installs one into ~/.local/lib/go-xla;
  - put the plugin (e.g. pjrt_c_api_cpu_plugin.so) in a directory and set PJRT_PLUGIN_LIBRARY_PATH to it,
    or copy it into ~/.local/lib/go-xla or /usr/local/lib/go-xla;
  - or give its absolute path: GOMLX_BACKEND=xla:/path/to/pjrt_c_api_cpu_plugin.so;
  - for NVIDIA GPUs, pip's jax-cuda13-pjrt package ships the CUDA plugin (see docs/backends.md).
Unset GOMLX_BACKEND (or set it to "go") to use the pure-Go backend, which needs nothing.`

// xlaConstructor is set by xla.go when the binary is built with XLA support
// (cgo and without the noxla tag). It returns the backend or an error.
var xlaConstructor func(config string) (compute.Backend, error)

// Config returns the backend configuration that New would use: the value of
// GOMLX_BACKEND, or Default when it is unset or empty.
func Config() string {
	if c := strings.TrimSpace(os.Getenv(EnvVar)); c != "" {
		return c
	}
	return Default
}

// New returns a new backend for the configuration in GOMLX_BACKEND (see the
// package documentation), or for the pure-Go backend when it is unset.
func New() (compute.Backend, error) {
	return NewWithConfig(Config())
}

// NewWithConfig returns a new backend for the given configuration, in the
// format of GOMLX_BACKEND: "go", "xla:cpu", "xla:cuda" or "xla:/path/to/plugin.so".
func NewWithConfig(config string) (compute.Backend, error) {
	name, pluginConfig, _ := strings.Cut(config, ":")
	switch name {
	case "", gobackend.BackendName, "simplego":
		return gobackend.New("")
	case "xla", "stablehlo", "hlo", "shlo", "pjrt":
		if xlaConstructor == nil {
			return nil, fmt.Errorf("backend %q: this binary was built without XLA support (-tags noxla or CGO_ENABLED=0), so it cannot load a PJRT plugin; rebuild with cgo enabled, or unset %s to use the pure-Go backend", config, EnvVar)
		}
		return xlaConstructor(pluginConfig)
	default:
		return nil, fmt.Errorf("unknown backend %q in %s: use \"go\" (pure Go, the default), \"xla:cpu\", \"xla:cuda\" or \"xla:/path/to/plugin.so\"", config, EnvVar)
	}
}

var (
	defaultOnce    sync.Once
	defaultBackend compute.Backend
	defaultErr     error
)

// Shared returns one backend per process, created by New on the first call.
// Notebooks and command-line tools use it so that all their graphs share the
// same backend.
func Shared() (compute.Backend, error) {
	defaultOnce.Do(func() { defaultBackend, defaultErr = New() })
	return defaultBackend, defaultErr
}

// MustShared is like Shared but panics with the error; for examples and notebooks.
func MustShared() compute.Backend {
	b, err := Shared()
	if err != nil {
		panic(err)
	}
	return b
}
