package main

import (
	"bufio"
	"net"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"
)

// With --listen on one address (not a wildcard), ledbridge's own client must dial that address:
// it dialled 127.0.0.1 and retried for ever (review 311).
func TestJoinReachesAHubListeningOnOneAddress(t *testing.T) {
	bin := buildBinary(t)
	cmd := exec.Command(bin, "join", "JAM234", "--no-discovery", "--listen", "127.0.0.2:0", "--status-addr", "", "--config", "/dev/null")
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	startCommand(t, cmd)
	joined := make(chan bool, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		found := false
		for sc.Scan() {
			if !found && strings.Contains(sc.Text(), `msg="joined room"`) {
				found = true
				joined <- true
			}
		}
		if !found {
			joined <- false
		}
	}()
	select {
	case ok := <-joined:
		if !ok {
			t.Fatal("ledbridge exited without joining its own room")
		}
	case <-time.After(20 * time.Second):
		t.Fatal("ledbridge did not join its own room on 127.0.0.2 within 20 s")
	}
	_ = cmd.Process.Signal(syscall.SIGTERM)
	_ = cmd.Wait()
}

func TestLocalDialHost(t *testing.T) {
	for _, c := range []struct {
		ip   net.IP
		want string
	}{
		{nil, "127.0.0.1"},
		{net.IPv4zero, "127.0.0.1"},
		{net.IPv6unspecified, "127.0.0.1"},
		{net.ParseIP("192.0.2.2"), "192.0.2.2"},
		{net.ParseIP("::1"), "::1"},
	} {
		if got := localDialHost(c.ip); got != c.want {
			t.Errorf("localDialHost(%v) = %q, want %q", c.ip, got, c.want)
		}
	}
}
