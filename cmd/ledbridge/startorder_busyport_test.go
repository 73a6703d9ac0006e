package main

import (
	"bufio"
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ledbridge/ledbridge/bridge/testlog"
)

// A port in use holds join's start-up until it is free, announcing nothing meanwhile: no room
// server URLs, no room code, no status page that is not running yet. It used to end start-up at
// once (exit 1), which systemd restarted every second for as long as another program held the
// port (review 324). The ports are really taken, by a listener the test holds and then closes.
func TestJoinWaitsForAPortInUse(t *testing.T) {
	bin := buildBinary(t)
	for _, tc := range []struct {
		name, what string
		room       bool // the room server's port is the taken one
	}{
		{"status page port", "status page", false},
		{"room server port", "room server", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			busy, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			defer busy.Close()
			taken := busy.Addr().String()
			listen, status := "127.0.0.1:0", taken
			if tc.room {
				listen, status = taken, "127.0.0.1:0"
			}
			cmd := exec.Command(bin, "join", "JAM234", "--no-discovery", "--config", "/dev/null",
				"--listen", listen, "--status-addr", status)
			stdout, err := cmd.StdoutPipe()
			if err != nil {
				t.Fatal(err)
			}
			var stderr testlog.Buffer // exec copies stderr on its own goroutine while the test reads it
			cmd.Stderr = &stderr
			startCommand(t, cmd)
			lines := make(chan string, 64)
			go func() {
				defer close(lines)
				sc := bufio.NewScanner(stdout)
				for sc.Scan() {
					lines <- sc.Text()
				}
				_, _ = io.Copy(io.Discard, stdout)
			}()

			waitJoin(t, 10*time.Second, "the waiting line", func() bool {
				return strings.Contains(stderr.String(), tc.what+": cannot listen yet")
			})
			if !strings.Contains(stderr.String(), "address already in use") {
				t.Errorf("the waiting line does not say why:\n%s", stderr.String())
			}
			select {
			case line := <-lines:
				t.Fatalf("stdout announced a bridge that is not running yet: %q", line)
			case <-time.After(1500 * time.Millisecond):
			}

			busy.Close()
			var announced []string
			timeout := time.After(15 * time.Second)
			for !slicesContainsPrefix(announced, "Status page") || !slicesContainsPrefix(announced, "Room code") {
				select {
				case line, ok := <-lines:
					if !ok {
						t.Fatalf("join ended; stdout %q, stderr:\n%s", announced, stderr.String())
					}
					announced = append(announced, line)
				case <-timeout:
					t.Fatalf("nothing announced after the port was freed; stdout %q, stderr:\n%s", announced, stderr.String())
				}
			}
			// stderr reaches the buffer through exec's copying goroutine, possibly after stdout.
			waitJoin(t, 5*time.Second, "a line saying the wait is over", func() bool {
				return strings.Contains(stderr.String(), tc.what+": listening after waiting")
			})
			if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
				t.Fatal(err)
			}
			if err := cmd.Wait(); err != nil {
				t.Errorf("join after SIGTERM: %v; stderr:\n%s", err, stderr.String())
			}
		})
	}
}

func slicesContainsPrefix(lines []string, prefix string) bool {
	for _, l := range lines {
		if strings.HasPrefix(l, prefix) {
			return true
		}
	}
	return false
}

// A port that stays taken ends the wait with the error, exit status 1 (systemd restarts it), and
// a signal ends it at once.
func TestListenTCPGivesUpOnAPortThatStaysTaken(t *testing.T) {
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	log := slog.New(slog.DiscardHandler)

	start := time.Now()
	ln, err := listenTCP(context.Background(), busy.Addr().String(), "status page", time.Now().Add(1500*time.Millisecond), log, nil)
	if err == nil {
		ln.Close()
		t.Fatal("listened on a port another listener holds")
	}
	if waited := time.Since(start); waited < time.Second {
		t.Errorf("gave up after %v, before its wait", waited)
	}
	if !errors.Is(err, syscall.EADDRINUSE) || !strings.Contains(err.Error(), "status page: ") || !strings.Contains(err.Error(), "waited") {
		t.Errorf("error %q does not say what waited for which port", err)
	}
	if got := exitStatus(err); got != 1 {
		t.Errorf("exit status %d, want 1 (restartable)", got)
	}

	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(200*time.Millisecond, cancel)
	_, err = listenTCP(ctx, busy.Addr().String(), "room server", time.Now().Add(time.Minute), log, nil)
	if !errors.Is(err, errStoppedWaiting) {
		t.Errorf("stopped while waiting: %v, want errStoppedWaiting (main then exits 0)", err)
	}
}

// A port below 1024 that the daemon may not bind (ledbridge.service grants no capability) is a
// configuration error, exit status 78, which systemd does not restart: the unit shows failed with
// the reason, instead of a start a second for ever. Run as nobody when the test runs as root.
func TestJoinRefusesAPrivilegedPortItMayNotBind(t *testing.T) {
	bin := buildBinary(t)
	var cred *syscall.Credential
	if os.Getuid() == 0 {
		// nobody must be able to reach the binary: a copy in a directory open to all.
		dir, err := os.MkdirTemp("", "ledbridge-nobody-")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { os.RemoveAll(dir) })
		if err := os.Chmod(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		data, err := os.ReadFile(bin)
		if err != nil {
			t.Fatal(err)
		}
		bin = filepath.Join(dir, "ledbridge")
		if err := os.WriteFile(bin, data, 0o755); err != nil {
			t.Fatal(err)
		}
		cred = &syscall.Credential{Uid: 65534, Gid: 65534}
	} else if ln, err := net.Listen("tcp", "127.0.0.1:1"); err == nil {
		ln.Close()
		requireOrSkip(t, "this user may bind port 1 (net.ipv4.ip_unprivileged_port_start is 0)")
	}
	for _, tc := range []struct{ name, listen, status, what string }{
		{"status page", "127.0.0.1:0", "127.0.0.1:1", "status page"},
		{"room server", "127.0.0.1:1", "127.0.0.1:0", "room server"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cmd := exec.Command(bin, "join", "JAM234", "--no-discovery", "--config", "/dev/null",
				"--listen", tc.listen, "--status-addr", tc.status)
			cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
			var stdout, stderr strings.Builder
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			startCommand(t, cmd)
			_ = cmd.Wait()
			if code := cmd.ProcessState.ExitCode(); code != exitConfig {
				t.Errorf("exit status %d, want %d; stderr:\n%s", code, exitConfig, stderr.String())
			}
			if !strings.Contains(stderr.String(), tc.what+": ") || !strings.Contains(stderr.String(), "permission denied") ||
				!strings.Contains(stderr.String(), "CAP_NET_BIND_SERVICE") {
				t.Errorf("stderr does not say why:\n%s", stderr.String())
			}
			if stdout.Len() != 0 {
				t.Errorf("stdout announced a bridge that is not running:\n%s", stdout.String())
			}
		})
	}
}

// SIGTERM while start-up waits for a port is a normal stop, status 0: with 130, `systemctl stop`
// during the wait left the unit failed (review 329).
func TestJoinStoppedWhileWaitingForAPortExitsZero(t *testing.T) {
	bin := buildBinary(t)
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	cmd := exec.Command(bin, "join", "JAM234", "--no-discovery", "--config", "/dev/null",
		"--listen", busy.Addr().String(), "--status-addr", "127.0.0.1:0")
	var stdout, stderr testlog.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	startCommand(t, cmd)
	waitJoin(t, 10*time.Second, "the waiting line", func() bool {
		return strings.Contains(stderr.String(), "room server: cannot listen yet")
	})
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()
	if code := cmd.ProcessState.ExitCode(); code != 0 {
		t.Errorf("exit status %d after SIGTERM during the wait, want 0; stderr:\n%s", code, stderr.String())
	}
	if stdout.String() != "" {
		t.Errorf("stdout announced a bridge that never ran:\n%s", stdout.String())
	}
}
