package config

import (
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestMisspelledEnvironmentVariablesWarn: every LEDBRIDGE_* variable that is no setting gets one
// warning naming it and the closest setting, and changes nothing; settings, the variables read
// elsewhere (OtherEnv, LEDBRIDGE_MEASURE_*) and other programs' variables get none.
func TestMisspelledEnvironmentVariablesWarn(t *testing.T) {
	env := []string{
		"PATH=/usr/bin",
		"LEDBRIDGE_WEBRTC_MAX_PEER=4", // one letter short
		"LEDBRIDGE_WEBRTC_MAX_PEER=4", // listed twice: still one warning
		"LEDBRIDGE_SUPABASE_KEY=anon",
		"LEDBRIDGE_TIMER_SLACK=1ms",
		"LEDBRIDGE_REQUIRE_ALL=1",
		"LEDBRIDGE_MEASURE_CPU=60s",
		"ledbridge_hub_secret=s3cret", // the right name in the wrong case
		"LEDBRIDGE_FROBNICATE=yes",    // nothing close
	}
	lookup := func(k string) (string, bool) {
		for _, kv := range env {
			if name, val, _ := strings.Cut(kv, "="); name == k {
				return val, true
			}
		}
		return "", false
	}
	got, err := Load(Options{LookupEnv: lookup, Environ: func() []string { return env }, Getenv: noHome,
		SystemFile: filepath.Join(t.TempDir(), "absent.yaml")})
	if err != nil {
		t.Fatal(err)
	}
	want := []struct{ name, mentions string }{
		{"LEDBRIDGE_FROBNICATE", "the closest is LEDBRIDGE_"},
		{"LEDBRIDGE_WEBRTC_MAX_PEER", "did you mean LEDBRIDGE_WEBRTC_MAX_PEERS (webrtc.max_peers)?"},
		{"ledbridge_hub_secret", "case-sensitive, did you mean LEDBRIDGE_HUB_SECRET (hub.secret)?"},
	}
	if len(got.Warnings) != len(want) {
		t.Fatalf("%d warnings, want %d:\n%s", len(got.Warnings), len(want), strings.Join(got.Warnings, "\n"))
	}
	for i, w := range want {
		if !strings.Contains(got.Warnings[i], w.name+" ") || !strings.Contains(got.Warnings[i], w.mentions) || !strings.Contains(got.Warnings[i], "ignored") {
			t.Errorf("warning %d = %q, want it to name %s, say it is ignored and mention %q", i, got.Warnings[i], w.name, w.mentions)
		}
	}
	if got.WebRTC.MaxPeers != Default().WebRTC.MaxPeers || got.Hub.Secret != "" {
		t.Errorf("a misspelled variable took effect: max_peers %d, hub.secret %q", got.WebRTC.MaxPeers, got.Hub.Secret)
	}
	if got.Supabase.Key != "anon" {
		t.Errorf("the correctly spelled variable was not applied: supabase.key %q", got.Supabase.Key)
	}
}

// TestMisspelledVariableInProcessEnvironment: with no LookupEnv or Environ, Load checks the
// process environment, as the daemon runs it.
func TestMisspelledVariableInProcessEnvironment(t *testing.T) {
	t.Setenv("LEDBRIDGE_HUB_MAX_ROOM", "3")
	got, err := Load(Options{Getenv: noHome, SystemFile: filepath.Join(t.TempDir(), "absent.yaml")})
	if err != nil {
		t.Fatal(err)
	}
	for _, w := range got.Warnings {
		if strings.Contains(w, "LEDBRIDGE_HUB_MAX_ROOM ") && strings.Contains(w, "LEDBRIDGE_HUB_MAX_ROOMS (hub.max_rooms)") {
			return
		}
	}
	t.Fatalf("no warning for LEDBRIDGE_HUB_MAX_ROOM: %q", got.Warnings)
}

// TestOtherEnvIsComplete: every LEDBRIDGE_* name in the repository's Go code (outside this
// package, whose tests misspell on purpose) is a setting or listed in OtherEnv, so that the check
// never warns about a variable ledbridge or its tests do read.
func TestOtherEnvIsComplete(t *testing.T) {
	known := map[string]bool{}
	for key := range flatten(Default()) {
		known[EnvName(key)] = true
	}
	name := regexp.MustCompile(`LEDBRIDGE_[A-Z0-9_]*[A-Z0-9]`)
	root := filepath.Join("..", "..")
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if d.Name() == ".git" || d.Name() == "node_modules" || path == filepath.Join(root, "bridge", "config") {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") {
			return nil
		}
		src, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		for _, n := range name.FindAllString(string(src), -1) {
			if !known[n] && !isOtherEnv(n) && !isOtherEnv(n+"_") { // "LEDBRIDGE_MEASURE_*" in prose
				t.Errorf("%s reads %s, which is no setting: add it to OtherEnv, or the check will warn about it", path, n)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
