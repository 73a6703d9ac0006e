package main

import (
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// notifySocket is a fake systemd notify socket: it records every sd_notify datagram.
type notifySocket struct {
	path string
	conn *net.UnixConn
	done chan struct{}

	mu   sync.Mutex
	msgs []string
}

func newNotifySocket(t *testing.T) *notifySocket {
	t.Helper()
	// sun_path holds 108 bytes: a short directory of our own rather than t.TempDir().
	dir, err := os.MkdirTemp("", "lbn")
	if err != nil {
		t.Fatal(err)
	}
	n := &notifySocket{path: filepath.Join(dir, "notify"), done: make(chan struct{})}
	n.conn, err = net.ListenUnixgram("unixgram", &net.UnixAddr{Name: n.path, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	go func() {
		defer close(n.done)
		buf := make([]byte, 4096)
		for {
			k, err := n.conn.Read(buf)
			if err != nil {
				return
			}
			n.mu.Lock()
			n.msgs = append(n.msgs, string(buf[:k]))
			n.mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		n.conn.Close()
		<-n.done
		os.RemoveAll(dir)
	})
	return n
}

// all returns the datagrams so far, in order, separated by "---" lines.
func (n *notifySocket) all() string {
	n.mu.Lock()
	defer n.mu.Unlock()
	return strings.Join(n.msgs, "\n---\n")
}

func (n *notifySocket) has(prefix string) bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	for _, m := range n.msgs {
		if strings.HasPrefix(m, prefix) {
			return true
		}
	}
	return false
}

// TestJoinReadyOnlyOnceTheRoomIsJoined: systemd hears READY=1 when the room is joined, and a
// reload brackets itself with RELOADING=1 … READY=1; a reload while the room is still being joined
// (Supabase unreachable) must not tell systemd that start-up is complete.
func TestJoinReadyOnlyOnceTheRoomIsJoined(t *testing.T) {
	bin := buildBinary(t)

	t.Run("room not joined yet", func(t *testing.T) {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		unreachable := "http://" + ln.Addr().String()
		ln.Close() // nothing listens there now: every join attempt is refused
		cfgPath := t.TempDir() + "/config.yaml"
		cfg := "supabase:\n  url: " + unreachable + "\n  key: test-anon-key\ndiscovery:\n  enabled: false\nstatus:\n  addr: 127.0.0.1:0\n"
		if err := os.WriteFile(cfgPath, []byte(cfg), 0o600); err != nil {
			t.Fatal(err)
		}
		notify := newNotifySocket(t)
		cmd, _, stderr := startJoinBinary(t, bin, "RDY234", cfgPath, "NOTIFY_SOCKET="+notify.path)
		waitJoin(t, 10*time.Second, "a failed join", func() bool { return strings.Contains(stderr.String(), "reconnecting") })
		if err := cmd.Process.Signal(syscall.SIGHUP); err != nil {
			t.Fatal(err)
		}
		waitJoin(t, 10*time.Second, "the reload", func() bool { return strings.Contains(stderr.String(), "configuration reloaded") })
		if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
			t.Fatal(err)
		}
		_ = cmd.Wait()
		waitJoin(t, 5*time.Second, "STOPPING=1 (the socket works)", func() bool { return notify.has("STOPPING=1") })
		if notify.has("READY=1") || notify.has("RELOADING=1") {
			t.Errorf("systemd was told READY or RELOADING before the room was joined:\n%s", notify.all())
		}
	})

	t.Run("room hosted", func(t *testing.T) {
		cfgPath := t.TempDir() + "/config.yaml"
		cfg := "discovery:\n  enabled: false\nhub:\n  listen: 127.0.0.1:0\nstatus:\n  addr: 127.0.0.1:0\n"
		if err := os.WriteFile(cfgPath, []byte(cfg), 0o600); err != nil {
			t.Fatal(err)
		}
		notify := newNotifySocket(t)
		cmd, _, _ := startJoinBinary(t, bin, "RDY234", cfgPath, "NOTIFY_SOCKET="+notify.path)
		waitJoin(t, 10*time.Second, "READY=1", func() bool { return notify.has("READY=1") })
		if err := cmd.Process.Signal(syscall.SIGHUP); err != nil {
			t.Fatal(err)
		}
		waitJoin(t, 10*time.Second, "READY=1 after the reload", func() bool { return notify.has("READY=1\nSTATUS=Reloaded") })
		msgs := notify.all()
		if r, ready := strings.Index(msgs, "RELOADING=1\nMONOTONIC_USEC="), strings.Index(msgs, "READY=1\nSTATUS=Reloaded"); r < 0 || r > ready {
			t.Errorf("the reload did not send RELOADING=1 (with MONOTONIC_USEC) before its READY=1:\n%s", msgs)
		}
	})
}
