package main

import (
	"net"
	"os/exec"
	"strings"
	"testing"
)

// A port in use ends join's start-up with its error alone: nothing on stdout announces a room
// server (its URLs, the room code) or a status page that will never run. The status page's port
// used to be bound only after the room server's URLs were printed. The ports are really taken,
// by a listener the test holds.
func TestJoinAnnouncesNothingWhenAPortIsTaken(t *testing.T) {
	bin := buildBinary(t)
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	taken := busy.Addr().String()

	for _, tc := range []struct {
		name, listen, status, wantErr string
	}{
		{"status page port", "127.0.0.1:0", taken, "status page: listen tcp " + taken},
		{"room server port", taken, "127.0.0.1:0", "hub: listen on " + taken},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cmd := exec.Command(bin, "join", "JAM234", "--no-discovery", "--config", "/dev/null",
				"--listen", tc.listen, "--status-addr", tc.status)
			var stdout, stderr strings.Builder
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			startCommand(t, cmd)
			_ = cmd.Wait() // the busy port ends it at once; startCommand's cleanup kills it otherwise
			if code := cmd.ProcessState.ExitCode(); code != 1 {
				t.Errorf("exit status %d, want 1; stderr:\n%s", code, stderr.String())
			}
			if stdout.Len() != 0 {
				t.Errorf("stdout announced a bridge that is not running:\n%s", stdout.String())
			}
			if !strings.Contains(stderr.String(), tc.wantErr) || !strings.Contains(stderr.String(), "address already in use") {
				t.Errorf("stderr does not name the port in use (want %q):\n%s", tc.wantErr, stderr.String())
			}
		})
	}
}
