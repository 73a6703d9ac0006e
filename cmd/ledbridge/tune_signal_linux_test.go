package main

import (
	"errors"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Ctrl-C in the first milliseconds of `join` must stop it. The daemon used to re-execute itself
// for its timer slack, and a signal caught by the process image about to be replaced was lost: the
// new image joined the room and ran until killed. Each delay below lands the signal in a different
// part of start-up: before the handler exists, while the process is tuned, while the room starts.
func TestJoinStopsOnASignalDuringStartUp(t *testing.T) {
	bin := buildBinary(t)
	home := t.TempDir()
	// A test run started with SIGINT ignored (nohup, `cmd &` in a script) passes that on through
	// exec, and the child would ignore a SIGINT sent before its handler exists. While this test
	// has a handler of its own, its children start with the default action, as from a terminal.
	interrupts := make(chan os.Signal, 1)
	signal.Notify(interrupts, os.Interrupt)
	defer signal.Stop(interrupts)
	for _, delay := range []time.Duration{0, 1, 2, 3, 4, 5, 6, 8, 10, 13, 16, 20, 30, 50} {
		delay *= time.Millisecond
		cmd := exec.Command(bin, "join", "JAM234", "--no-discovery", "--listen", "127.0.0.1:0", "--status-addr", "")
		// No config file but the test's; the default timer slack, so that the binary sets its own.
		cmd.Env = append(filteredEnv("LEDBRIDGE_", "HOME=", "XDG_CONFIG_HOME="), "HOME="+home, "XDG_CONFIG_HOME="+filepath.Join(home, "cfg"))
		var stderr strings.Builder
		cmd.Stderr = &stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		time.Sleep(delay)
		if err := cmd.Process.Signal(os.Interrupt); err != nil {
			t.Fatalf("after %v: %v", delay, err)
		}
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		select {
		case err := <-done:
			// Killed by the signal (before the handler), or a clean interrupted exit after it.
			var ee *exec.ExitError
			if err != nil && !errors.As(err, &ee) {
				t.Fatalf("after %v: %v", delay, err)
			}
		case <-time.After(15 * time.Second): // a liveness bound, far above the 2 s shutdown grace
			_ = cmd.Process.Signal(syscall.SIGKILL)
			<-done
			t.Fatalf("SIGINT %v after start was lost: still running 15 s later\n%s", delay, lastLinesOf(stderr.String(), 8))
		}
	}
}

// filteredEnv returns the environment without the variables whose "NAME=" starts with one of
// prefixes.
func filteredEnv(prefixes ...string) []string {
	var env []string
next:
	for _, kv := range os.Environ() {
		for _, p := range prefixes {
			if strings.HasPrefix(kv, p) {
				continue next
			}
		}
		env = append(env, kv)
	}
	return env
}

func lastLinesOf(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}
