package sdnotify

import (
	"context"
	"net"
	"path/filepath"
	"regexp"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// listen makes a unix datagram socket like systemd's notify socket and points NOTIFY_SOCKET at it.
func listen(t *testing.T) *net.UnixConn {
	t.Helper()
	path := filepath.Join(t.TempDir(), "notify.sock")
	conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: path, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	t.Setenv("NOTIFY_SOCKET", path)
	return conn
}

func read(t *testing.T, conn *net.UnixConn) string {
	t.Helper()
	buf := make([]byte, 4096)
	_ = conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	n, err := conn.Read(buf)
	if err != nil {
		t.Fatal(err)
	}
	return string(buf[:n])
}

func TestMessagesReachTheNotifySocket(t *testing.T) {
	conn := listen(t)
	n := New(nil)
	n.Ready("Joined ABC123; 2 musicians; 3 strips")
	if got := read(t, conn); got != "READY=1\nSTATUS=Joined ABC123; 2 musicians; 3 strips" {
		t.Fatalf("ready = %q", got)
	}
	n.Status("Reconnecting")
	n.Status("Reconnecting") // unchanged: not sent again
	n.Status("Joined")
	if got := read(t, conn); got != "STATUS=Reconnecting" {
		t.Fatalf("status = %q", got)
	}
	if got := read(t, conn); got != "STATUS=Joined" {
		t.Fatalf("status = %q", got)
	}
	n.Reloading()
	if got := read(t, conn); !regexp.MustCompile(`^RELOADING=1\nMONOTONIC_USEC=[1-9][0-9]*$`).MatchString(got) {
		t.Fatalf("reloading = %q", got)
	}
	// READY's own status line replaces the last one: the periodic line must be sent again (it was
	// not, and `systemctl status` said "Reloaded" until something changed).
	n.Ready("Reloaded")
	if got := read(t, conn); got != "READY=1\nSTATUS=Reloaded" {
		t.Fatalf("ready after reload = %q", got)
	}
	n.Status("Joined")
	if got := read(t, conn); got != "STATUS=Joined" {
		t.Fatalf("status after reload = %q", got)
	}
	n.Stopping()
	if got := read(t, conn); got != "STOPPING=1" {
		t.Fatalf("stopping = %q", got)
	}
}

func TestWatchdogPingsOnlyWhileAlive(t *testing.T) {
	conn := listen(t)
	t.Setenv("WATCHDOG_USEC", "40000")
	t.Setenv("WATCHDOG_PID", "")
	n := New(nil)
	var alive atomic.Bool
	alive.Store(true)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); n.Watchdog(ctx, alive.Load) }()
	if got := read(t, conn); got != "WATCHDOG=1" {
		t.Fatalf("ping = %q", got)
	}
	alive.Store(false)
	time.Sleep(30 * time.Millisecond) // let an in-flight ping land
	drain := make([]byte, 64)
	_ = conn.SetReadDeadline(time.Now().Add(5 * time.Millisecond))
	for {
		if _, err := conn.Read(drain); err != nil {
			break
		}
	}
	_ = conn.SetReadDeadline(time.Now().Add(150 * time.Millisecond))
	if _, err := conn.Read(drain); err == nil {
		t.Fatal("watchdog pinged while the loop was stuck")
	}
	cancel()
	<-done
}

func TestNoSocketIsSilent(t *testing.T) {
	t.Setenv("NOTIFY_SOCKET", "")
	t.Setenv("WATCHDOG_USEC", "")
	n := New(nil)
	n.Ready("x")
	n.Watchdog(context.Background(), func() bool { return true }) // returns at once: no watchdog
}
