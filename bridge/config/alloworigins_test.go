package config

import (
	"errors"
	"strings"
	"testing"
)

// TestAllowedOriginPatternIsCheckedByConfigCheck: a pattern the room server cannot use (path.Match
// refuses "[") is refused by the configuration, naming the key and the entry, so that `config check`
// refuses what `join` and `hub` would (before, it passed and they exited with "AllowedOrigins").
func TestAllowedOriginPatternIsCheckedByConfigCheck(t *testing.T) {
	p := write(t, "hub:\n  allowed_origins: [\"jam.example.com\", \"[\"]\n", 0o600)
	_, err := Load(Options{File: p, LookupEnv: noEnv})
	var ce *Error
	if !errors.As(err, &ce) {
		t.Fatalf("Load: %v, want a *config.Error", err)
	}
	if ce.Key != "hub.allowed_origins[1]" || !strings.Contains(err.Error(), "pattern") || strings.Contains(err.Error(), "AllowedOrigins") {
		t.Errorf("Load: key %q, %v; want hub.allowed_origins[1] and a line about its pattern in the file's words", ce.Key, err)
	}

	good := write(t, "hub:\n  allowed_origins: [\"jam.example.com\", \"*.example.com\", \"https://*.venue.example\"]\n", 0o600)
	if _, err := Load(Options{File: good, LookupEnv: noEnv}); err != nil {
		t.Errorf("Load refused good patterns: %v", err)
	}
}

// TestAllowedOriginThatMatchesNoOriginIsRefused: ["jam.example.org"] written inside the string
// (or LEDBRIDGE_HUB_ALLOWED_ORIGINS='["jam.example.org"]') is a path.Match character class, which
// path.Match takes, and which no browser's Origin matches: the hub answered every page 403. It is
// refused, naming the entry and what a pattern may be.
func TestAllowedOriginThatMatchesNoOriginIsRefused(t *testing.T) {
	p := write(t, "hub:\n  allowed_origins: ['[\"jam.example.org\"]']\n", 0o600)
	_, err := Load(Options{File: p, LookupEnv: noEnv})
	wantKeyError(t, err, "hub.allowed_origins[0]", `'['`, "jam.example.com", "*.example.com")
}
