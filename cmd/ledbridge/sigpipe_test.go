package main

import (
	"bufio"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ledbridge/ledbridge/bridge/testlog"
)

// A daemon whose stderr reader goes away (`ledbridge join … 2>&1 | tee log` and tee dies, or a
// broken journal stream) keeps running: its log writes fail with EPIPE. Killed by SIGPIPE, it
// would count as a clean exit to systemd, which would not restart it, and the strips would stay
// dark.
func TestJoinSurvivesAClosedStderr(t *testing.T) {
	bin := buildBinary(t)
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "join", "JAM234", "--no-discovery", "--config", "/dev/null",
		"--listen", "127.0.0.1:0", "--status-addr", "127.0.0.1:0")
	var stdout testlog.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, w
	startCommand(t, cmd)
	w.Close() // the child holds the only write end now
	lines := bufio.NewScanner(r)
	joined := false
	for !joined && lines.Scan() {
		joined = strings.Contains(lines.Text(), `msg="joined room"`)
	}
	if !joined {
		r.Close()
		t.Fatal("stderr ended before the bridge joined its room")
	}
	r.Close() // the reader goes away
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	// Each reload writes a log line to the closed pipe.
	for range 3 {
		if err := cmd.Process.Signal(syscall.SIGHUP); err != nil {
			t.Fatal(err)
		}
		select {
		case <-exited:
			t.Fatalf("the daemon ended when it wrote to its closed stderr: %v", cmd.ProcessState)
		case <-time.After(300 * time.Millisecond):
		}
	}
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case <-exited:
	case <-time.After(10 * time.Second):
		t.Fatal("no exit 10 s after SIGTERM")
	}
	if code := cmd.ProcessState.ExitCode(); code != 0 {
		t.Errorf("exit status %d after SIGTERM (%v), want 0", code, cmd.ProcessState)
	}
}
