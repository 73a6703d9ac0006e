package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestShortStatusTokenWarns: a status.token under 12 characters gets a warning (not an error:
// it validates) that gives its length and never the token; a long one, or none, gets none.
func TestShortStatusTokenWarns(t *testing.T) {
	for _, tc := range []struct {
		token string
		warn  bool
	}{
		{"", false}, // controls off
		{"Q7", true},
		{"hunter2", true},
		{"elevenchars", true},
		{"twelve-chars", false},
		{"3b1f0c9e2d4a7b6c5e8f9a0b1c2d3e4f", false},
	} {
		c := Default()
		c.Status.Token = tc.token
		if err := c.Validate(); err != nil {
			t.Errorf("token %q: Validate: %v, want no error (a short token is a warning)", tc.token, err)
		}
		got := statusTokenWarnings(tc.token)
		if (len(got) > 0) != tc.warn {
			t.Errorf("token %q (%d characters): warnings %q, want a warning: %v", tc.token, len(tc.token), got, tc.warn)
			continue
		}
		for _, w := range got {
			if !strings.Contains(w, "status.token") || !strings.Contains(w, "12") || strings.Contains(w, tc.token) {
				t.Errorf("token %q: warning %q must name the key and the minimum, and not quote the token", tc.token, w)
			}
		}
	}
}

// TestLoadWarnsOfAShortStatusToken: the warning reaches what `join` and `config check` print,
// whether the token came from the file or the environment.
func TestLoadWarnsOfAShortStatusToken(t *testing.T) {
	p := filepath.Join(t.TempDir(), "c.yaml")
	if err := os.WriteFile(p, []byte("room:\n  code: JAM234\nstatus:\n  token: \"0042\"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for name, env := range map[string]map[string]string{
		"file": {},
		"env":  {"LEDBRIDGE_STATUS_TOKEN": "hunter2"},
		"long": {"LEDBRIDGE_STATUS_TOKEN": "3b1f0c9e2d4a7b6c"},
	} {
		got, err := Load(Options{File: p, LookupEnv: func(k string) (string, bool) { v, ok := env[k]; return v, ok }})
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		warned := false
		for _, w := range got.Warnings {
			warned = warned || strings.Contains(w, "status.token")
		}
		if warned != (name != "long") {
			t.Errorf("%s: warnings %q; a warning about status.token: %v, want %v", name, got.Warnings, warned, name != "long")
		}
	}
}
