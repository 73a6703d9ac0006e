package main

import (
	"context"
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
// running daemon's status page: with a per-client cap of 8 (the least the config allows), a
// ninth connection from 127.0.0.1 is served in place of one of the eight idle keep-alives held
// (one with every connection busy is refused: bridge/connlimit's tests), and a request goes
// through again once one is closed.
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
	write("9")
	cmd, statusURL, stderr := startJoinBinary(t, bin, "CAP234", cfgPath, "LEDBRIDGE_STATUS_MAX_CONNECTIONS_PER_CLIENT=8")
	u, _ := url.Parse(statusURL)
	dial := func() net.Conn {
		t.Helper()
		c, err := net.DialTimeout("tcp", u.Host, 5*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	var held []net.Conn
	for range 8 {
		held = append(held, dial())
	}
	defer func() {
		for _, c := range held {
			c.Close()
		}
	}()
	// Every held connection must have been accepted before the ninth: a request on each proves it.
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
	ninth := dial()
	defer ninth.Close()
	_ = ninth.SetReadDeadline(time.Now().Add(5 * time.Second))
	_, _ = io.WriteString(ninth, "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
	answer := make([]byte, 12)
	if _, err := io.ReadFull(ninth, answer); err != nil || !strings.HasPrefix(string(answer), "HTTP/1.1 ") {
		t.Errorf("a ninth connection from one client got %q, %v; want it served in place of an idle one", answer, err)
	}
	evicted := 0
	for _, c := range held {
		_ = c.SetReadDeadline(time.Now().Add(10 * time.Millisecond))
		if _, err := io.Copy(io.Discard, c); err == nil || !strings.Contains(err.Error(), "timeout") {
			evicted++
		}
	}
	if evicted != 1 {
		t.Errorf("%d of the eight held idle keep-alives closed for the ninth; want 1", evicted)
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
	for _, c := range held[1:] {
		c.Close()
	}
	client.CloseIdleConnections()

	write("10")
	if err := cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	waitJoin(t, 10*time.Second, "the reload", func() bool { return strings.Contains(stderr.String(), "configuration reloaded") })
	log := stderr.String()
	if !strings.Contains(log, "level=WARN") || !strings.Contains(log, "status.max_connections") || !strings.Contains(log, "restart") {
		t.Errorf("the reload did not warn that status.max_connections needs a restart:\n%s", log)
	}
}

// TestJoinStatusStreamCaps: status.max_streams (from the file) and status.max_streams_per_client
// (from LEDBRIDGE_STATUS_MAX_STREAMS_PER_CLIENT) reach the running daemon's status page, as an
// operator behind a same-machine reverse proxy (every viewer 127.0.0.1) needs: with caps of 6 and
// 5, five live streams from 127.0.0.1 are served and a sixth gets 429; one from 127.0.0.2 is
// served and a second gets 503 (six in all). A reload that changes status.max_streams says it
// takes effect only after a restart, and does not name hub.metrics, which join does not use.
func TestJoinStatusStreamCaps(t *testing.T) {
	bin := buildBinary(t)
	cfgPath := t.TempDir() + "/config.yaml"
	write := func(max, hubMetrics string) {
		t.Helper()
		cfg := "discovery:\n  enabled: false\nhub:\n  listen: 127.0.0.1:0\n  metrics: " + hubMetrics +
			"\nstatus:\n  addr: 127.0.0.1:0\n  max_streams: " + max + "\n"
		if err := os.WriteFile(cfgPath, []byte(cfg), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write("6", "true")
	cmd, statusURL, stderr := startJoinBinary(t, bin, "STR234", cfgPath, "LEDBRIDGE_STATUS_MAX_STREAMS_PER_CLIENT=5")

	// from returns a client whose connections come from the loopback address ip.
	from := func(ip string) *http.Client {
		d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}, Timeout: 5 * time.Second}
		tr := &http.Transport{DialContext: d.DialContext}
		t.Cleanup(tr.CloseIdleConnections)
		return &http.Client{Transport: tr}
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	// open starts a stream and returns its status; a served stream stays open until the test ends.
	open := func(c *http.Client) int {
		t.Helper()
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, statusURL+"/api/events", nil)
		res, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		if res.StatusCode != http.StatusOK {
			res.Body.Close()
		} else {
			t.Cleanup(func() { res.Body.Close() })
		}
		return res.StatusCode
	}
	proxy, other := from("127.0.0.1"), from("127.0.0.2")
	for i := range 5 {
		if code := open(proxy); code != http.StatusOK {
			t.Fatalf("stream %d from 127.0.0.1: %d, want 200 (status.max_streams_per_client is 5)", i+1, code)
		}
	}
	if code := open(proxy); code != http.StatusTooManyRequests {
		t.Errorf("a sixth stream from 127.0.0.1: %d, want 429", code)
	}
	if code := open(other); code != http.StatusOK {
		t.Errorf("a stream from 127.0.0.2, the sixth in all: %d, want 200", code)
	}
	if code := open(other); code != http.StatusServiceUnavailable {
		t.Errorf("a seventh stream in all (status.max_streams is 6): %d, want 503", code)
	}

	write("7", "false")
	if err := cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	waitJoin(t, 10*time.Second, "the reload", func() bool { return strings.Contains(stderr.String(), "configuration reloaded") })
	var warning string
	for _, line := range strings.Split(stderr.String(), "\n") {
		if strings.Contains(line, "configuration reloaded") {
			warning = line
		}
	}
	if !strings.Contains(warning, "level=WARN") || !strings.Contains(warning, "status.max_streams") || !strings.Contains(warning, "restart") {
		t.Errorf("the reload did not warn that status.max_streams needs a restart: %s", warning)
	}
	if _, restart, _ := strings.Cut(warning, " keys="); strings.Contains(restart, "hub.metrics") {
		t.Errorf("the reload names hub.metrics as needing a restart, but join does not use it: %s", warning)
	}
}

// TestRestartKeysLeavesOutWhatJoinIgnores: hub.metrics, read only by `ledbridge hub`, is never
// reported as needing a restart of join; the status page's caps, read once, always are.
func TestRestartKeysLeavesOutWhatJoinIgnores(t *testing.T) {
	changed := []string{"hub.metrics", "status.max_connections", "status.max_streams", "status.max_streams_per_client", "status.token"}
	got := strings.Join(restartKeys(changed, false), ",")
	if want := "status.max_connections,status.max_streams,status.max_streams_per_client"; got != want {
		t.Errorf("restartKeys(%q) = %s, want %s", changed, got, want)
	}
}
