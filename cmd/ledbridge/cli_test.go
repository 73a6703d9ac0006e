package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

func TestVersionAndInvalidConfigExitStatus(t *testing.T) {
	bin := buildBinary(t)
	out, err := exec.Command(bin, "version").CombinedOutput()
	if err != nil || !strings.HasPrefix(string(out), "ledbridge ") || !strings.Contains(string(out), "go1.") {
		t.Fatalf("version: %v %q", err, out)
	}

	bad := filepath.Join(t.TempDir(), "bad.yaml")
	if err := os.WriteFile(bad, []byte("effects:\n  brightness_cap: 3\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "config", "check", "--config", bad)
	out, err = cmd.CombinedOutput()
	if cmd.ProcessState.ExitCode() != 2 {
		t.Fatalf("exit status %d (%v), want 2", cmd.ProcessState.ExitCode(), err)
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	if len(lines) != 1 || !strings.Contains(lines[0], "effects.brightness_cap") {
		t.Fatalf("want one line naming effects.brightness_cap, got %q", out)
	}

	// An environment variable overrides the file; secrets never show.
	good := filepath.Join(t.TempDir(), "good.yaml")
	if err := os.WriteFile(good, []byte("supabase:\n  url: https://x.supabase.co\n  key: sekrit-anon\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd = exec.Command(bin, "config", "show", "--config", good)
	cmd.Env = append(os.Environ(), "LEDBRIDGE_WEBRTC_MAX_PEERS=3")
	out, err = cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("config show: %v %s", err, out)
	}
	if !strings.Contains(string(out), "max_peers: 3") || strings.Contains(string(out), "sekrit") {
		t.Fatalf("config show output wrong or leaks a secret:\n%s", out)
	}
}
