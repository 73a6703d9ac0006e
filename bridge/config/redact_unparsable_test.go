package config

import (
	"strings"
	"testing"
)

// A URL that url.Parse refuses still hides its password: the error that says the URL is wrong
// quoted it whole, secret included, and the status page would have shown it.
func TestUnparsableURLKeepsItsPasswordHidden(t *testing.T) {
	for _, raw := range []string{
		"https://user:PW3@proxy.example/%zz",
		"https://user:PW3@proxy.example:99999x/",
		"wss://user:PW3@[::1/realtime",
		"https://user:PW3@proxy.example?x=%zz",
		"user:PW3@proxy.example/%zz",
	} {
		if got := redactURLPassword(raw); strings.Contains(got, "PW3") || !strings.Contains(got, "user:xxxxx@") {
			t.Errorf("redactURLPassword(%q) = %q", raw, got)
		}
		if got := PublicURL(raw); strings.Contains(got, "PW3") || strings.Contains(got, "user") {
			t.Errorf("PublicURL(%q) = %q", raw, got)
		}
		if !urlWithPassword(raw) {
			t.Errorf("urlWithPassword(%q) = false", raw)
		}
	}
	for _, raw := range []string{"https://proxy.example/%zz", "https://user@proxy.example/%zz", "https://x.supabase.co/a@b"} {
		if got := redactURLPassword(raw); got != raw {
			t.Errorf("redactURLPassword(%q) = %q, want it unchanged", raw, got)
		}
		if urlWithPassword(raw) {
			t.Errorf("urlWithPassword(%q) = true", raw)
		}
	}

	env := map[string]string{"LEDBRIDGE_SUPABASE_URL": "https://user:PW3@proxy.example/%zz", "LEDBRIDGE_SUPABASE_KEY": "k"}
	_, err := Load(Options{LookupEnv: func(k string) (string, bool) { v, ok := env[k]; return v, ok }, Getenv: noHome, SystemFile: t.TempDir() + "/absent.yaml"})
	if err == nil || strings.Contains(err.Error(), "PW3") || !strings.Contains(err.Error(), "supabase.url") {
		t.Fatalf("Load: %v, want a supabase.url error without the password", err)
	}
}
