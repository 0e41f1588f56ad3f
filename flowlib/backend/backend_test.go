package backend_test

import (
	"strings"
	"testing"

	"github.com/flowbook/flowbook/flowlib/backend"
)

func TestBackendChoice(t *testing.T) {
	cases := []struct {
		env     string
		wantErr string // "" means it must succeed
		name    string
	}{
		{"", "", "Go Backend"},
		{"go", "", "Go Backend"},
		{"bogus", `unknown backend "bogus"`, ""},
		// No plugin is installed on test machines: a clear error, never a download.
		{"xla:definitely_not_a_plugin", "PJRT plugin", ""},
		{"xla:/nonexistent/pjrt_plugin.so", "PJRT plugin", ""},
	}
	for _, c := range cases {
		t.Run(c.env, func(t *testing.T) {
			t.Setenv(backend.EnvVar, c.env)
			b, err := backend.New()
			if c.wantErr == "" {
				if err != nil {
					t.Fatalf("GOMLX_BACKEND=%q: %v", c.env, err)
				}
				if b.Name() != c.name {
					t.Errorf("GOMLX_BACKEND=%q gave backend %q, want %q", c.env, b.Name(), c.name)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), c.wantErr) {
				t.Fatalf("GOMLX_BACKEND=%q: got error %v, want one containing %q", c.env, err, c.wantErr)
			}
		})
	}
}
