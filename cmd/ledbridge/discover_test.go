package main

import (
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Ctrl-C during discover's mDNS browse exits 130 with one line saying what was left undone,
// not "context canceled" with status 1.
func TestDiscoverInterruptedExits130(t *testing.T) {
	bin := buildBinary(t)
	cmd := exec.Command(bin, "discover", "--timeout", "30s", "--config", writeConfig(t, "discovery:\n  enabled: true\n"))
	var stdout, stderr syncBuffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	startCommand(t, cmd)
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	select {
	case <-exited:
		// The browse could not even start (no multicast-capable interface): nothing to interrupt.
		requireOrSkip(t, "mDNS browsing failed at once here: "+stderr.String())
		return
	case <-time.After(500 * time.Millisecond):
	}
	if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	select {
	case <-exited:
	case <-time.After(10 * time.Second):
		t.Fatal("discover did not stop within 10 s of SIGINT")
	}
	lines := strings.Split(strings.TrimSpace(stderr.String()), "\n")
	if code := cmd.ProcessState.ExitCode(); code != 130 || len(lines) != 1 || !strings.Contains(lines[0], "discover: stopped before") || strings.Contains(stderr.String(), "context canceled") {
		t.Errorf("after SIGINT: exit %d, stderr %q; want 130 and one line saying what was left undone", code, stderr.String())
	}
}
