//go:build cgo && !noxla

package backend

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/gomlx/compute"
	"github.com/gomlx/go-xla/compute/xla"
	"github.com/gomlx/go-xla/pjrt"
)

func init() {
	// Importing go-xla's xla package (and not its autoinstall package) registers
	// no downloader; switching auto-install off as well keeps it that way even if
	// another package of the program imports the installer.
	xla.EnableAutoInstall(false)
	xlaConstructor = newXLA
	xlaPluginPath = pluginPath
}

// recovered runs f and returns a panic inside it as an error. go-xla v0.4.13
// panics (a nil dereference in pjrt.checkPlugin) when a file named like a
// plugin is not a loadable shared library, and it checks every plugin file it
// finds whenever it lists or loads plugins.
func recovered(f func() error) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("go-xla panicked while checking the PJRT plugin files (is one of them not a valid shared library?): %v", r)
		}
	}()
	return f()
}

// pluginPath returns where the named PJRT plugin is installed, searching the
// directories go-xla loads from. It does not load the plugin, but go-xla
// opens it to check it: a file there that does not load gives its path and
// an error.
func pluginPath(name string) (path string, err error) {
	err = recovered(func() error {
		for found, p := range pjrt.AvailablePlugins() {
			// go-xla also accepts versioned names: "cpu" matches "cpu_v0.83.1".
			if found == name || strings.HasPrefix(found, name+"_v") {
				path = p
			}
		}
		return nil
	})
	if err != nil {
		return pluginFile(name), err
	}
	if path == "" {
		if file := pluginFile(name); file != "" {
			return file, fmt.Errorf("%s is not a PJRT plugin that loads", file)
		}
	}
	return path, nil
}

// pluginFile returns the first file named like plugin name in go-xla's search
// directories, loadable or not, or "".
func pluginFile(name string) string {
	dirs := filepath.SplitList(os.Getenv(pjrt.PJRTPluginPathsEnv))
	if _, set := os.LookupEnv(pjrt.PJRTPluginPathsEnv); !set {
		home, _ := os.UserHomeDir()
		dirs = []string{filepath.Join(home, ".local", "lib", "go-xla"), "/usr/local/lib/go-xla"}
	}
	for _, dir := range dirs {
		file := filepath.Join(dir, "pjrt_c_api_"+name+"_plugin.so")
		if _, err := os.Stat(file); err == nil {
			return file
		}
	}
	return ""
}

// newXLA opens the XLA backend for a plugin name ("cpu", "cuda") or path.
func newXLA(plugin string) (compute.Backend, error) {
	if plugin == "" {
		plugin = "cpu"
	}
	if !filepath.IsAbs(plugin) {
		path, err := pluginPath(plugin)
		if err != nil {
			return nil, fmt.Errorf("backend \"xla:%s\": the plugin file %s does not load: %v.\n%s", plugin, path, err, InstallHint)
		}
		if path == "" {
			var available []string
			_ = recovered(func() error { available = xla.GetAvailablePlugins(); return nil })
			return nil, fmt.Errorf("backend \"xla:%s\": no PJRT plugin named %q is installed (found: %q).\n%s", plugin, plugin, available, InstallHint)
		}
	}
	var b compute.Backend
	err := recovered(func() (err error) { b, err = xla.New(plugin); return err })
	if err != nil {
		return nil, fmt.Errorf("backend \"xla:%s\": %v\n%s", plugin, err, InstallHint)
	}
	return b, nil
}
