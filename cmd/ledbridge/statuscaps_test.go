package main

import (
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestJoinStatusConnectionCaps: status.max_connections (from the file) and
// status.max_connections_per_client (from LEDBRIDGE_STATUS_MAX_CONNECTIONS_PER_CLIENT) reach the
// running daemon's status page: with a per-client cap of 2, a third connection from 127.0.0.1
// is closed on accept while two are held, and a request goes through again once one is closed.
// A reload that changes them says they take effect only after a restart.
func TestJoinStatusConnectionCaps(t *testing.T) {
	bin := buildBinary(t)
	cfgPath := t.TempDir() + "/config.yaml"
	write := func(max string) {
		t.Helper()
		cfg := "discovery:\n  enabled: false\nhub:\n  listen: 127.0.0.1:0\nstatus:\n  addr: 127.0.0.1:0\n  max_connections: " + max + "\n"
		if err := os.WriteFile(cfgPath, []byte(cfg), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write("3")
	cmd, statusURL, stderr := startJoinBinary(t, bin, "CAP234", cfgPath, "LEDBRIDGE_STATUS_MAX_CONNECTIONS_PER_CLIENT=2")
	u, _ := url.Parse(statusURL)
	dial := func() net.Conn {
		t.Helper()
		c, err := net.DialTimeout("tcp", u.Host, 5*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	held := []net.Conn{dial(), dial()}
	// Both held connections must have been accepted before the third: a request on each proves it.
	for i, c := range held {
		_ = c.SetDeadline(time.Now().Add(5 * time.Second))
		if _, err := io.WriteString(c, "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"); err != nil {
			t.Fatal(err)
		}
		buf := make([]byte, 12)
		if _, err := io.ReadFull(c, buf); err != nil || !strings.HasPrefix(string(buf), "HTTP/1.1 ") {
			t.Fatalf("held connection %d: %q, %v", i, buf, err)
		}
		_ = c.SetDeadline(time.Time{})
	}
	third := dial()
	defer third.Close()
	_ = third.SetReadDeadline(time.Now().Add(5 * time.Second))
	_, _ = io.WriteString(third, "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
	if n, err := third.Read(make([]byte, 64)); err == nil || strings.Contains(err.Error(), "timeout") {
		t.Errorf("a third connection from one client got %d bytes, err %v; want it closed on accept", n, err)
	}
	held[0].Close()
	client := &http.Client{Timeout: 5 * time.Second}
	waitJoin(t, 10*time.Second, "a request after a held connection closed", func() bool {
		res, err := client.Get(statusURL + "/api/status")
		if err != nil {
			return false
		}
		res.Body.Close()
		return res.StatusCode == http.StatusOK
	})
	held[1].Close()
	client.CloseIdleConnections()

	write("4")
	if err := cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	waitJoin(t, 10*time.Second, "the reload", func() bool { return strings.Contains(stderr.String(), "configuration reloaded") })
	log := stderr.String()
	if !strings.Contains(log, "level=WARN") || !strings.Contains(log, "status.max_connections") || !strings.Contains(log, "restart") {
		t.Errorf("the reload did not warn that status.max_connections needs a restart:\n%s", log)
	}
}
