//go:build cgo && !noxla

package backend

import (
	"fmt"
	"path/filepath"
	"strings"

	"github.com/gomlx/compute"
	"github.com/gomlx/go-xla/compute/xla"
)

func init() {
	// Importing go-xla's xla package (and not its autoinstall package) registers
	// no downloader; switching auto-install off as well keeps it that way even if
	// another package of the program imports the installer.
	xla.EnableAutoInstall(false)
	xlaConstructor = newXLA
}

// newXLA opens the XLA backend for a plugin name ("cpu", "cuda") or path.
func newXLA(plugin string) (compute.Backend, error) {
	if plugin == "" {
		plugin = "cpu"
	}
	if !filepath.IsAbs(plugin) {
		available := xla.GetAvailablePlugins()
		found := false
		for _, p := range available {
			// go-xla also accepts versioned names: "cpu" matches "cpu_v0.83.1".
			if p == plugin || strings.HasPrefix(p, plugin+"_v") {
				found = true
			}
		}
		if !found {
			return nil, fmt.Errorf("backend \"xla:%s\": no PJRT plugin named %q is installed (found: %q).\n%s", plugin, plugin, available, InstallHint)
		}
	}
	b, err := xla.New(plugin)
	if err != nil {
		return nil, fmt.Errorf("backend \"xla:%s\": %v\n%s", plugin, err, InstallHint)
	}
	return b, nil
}
