package main

import (
	"context"
	"io"
	"net"
	"net/http"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
)

// TestHubHTTPConnectionCaps: hub.max_http_connections_per_address (from the file) and
// hub.max_http_connections (from LEDBRIDGE_HUB_MAX_HTTP_CONNECTIONS) bound the room server's plain
// HTTP connections the same way under `ledbridge hub` and under `ledbridge join`, which runs it
// in-process: with a per-address cap of 8 (the least the config allows), eight idle keep-alive
// connections from 127.0.0.1 are served and a ninth is served in place of one of them; at the cap
// in all, a new client is served and the oldest idle keep-alive is closed to make room for it (so
// that idle sockets from a host with many addresses cannot keep musicians out). Under join the bridge's
// own WebSocket to the hub, from the same address, takes none of the eight.
func TestHubHTTPConnectionCaps(t *testing.T) {
	bin := buildBinary(t)
	cfg := "discovery:\n  enabled: false\nhub:\n  listen: 127.0.0.1:0\n  max_http_connections_per_address: 8\nstatus:\n  addr: 127.0.0.1:0\n"
	env := "LEDBRIDGE_HUB_MAX_HTTP_CONNECTIONS=12"
	t.Run("hub", func(t *testing.T) {
		cfgPath := t.TempDir() + "/config.yaml"
		if err := os.WriteFile(cfgPath, []byte(cfg), 0o600); err != nil {
			t.Fatal(err)
		}
		base, _, _ := startHubBinary(t, bin, cfgPath, env)
		checkHubHTTPCaps(t, strings.TrimPrefix(base, "http://"), 8, 12)
	})
	t.Run("join", func(t *testing.T) {
		cfgPath := t.TempDir() + "/config.yaml"
		if err := os.WriteFile(cfgPath, []byte(cfg), 0o600); err != nil {
			t.Fatal(err)
		}
		_, statusURL, stderr := startJoinBinary(t, bin, "HTC234", cfgPath, env)
		client := &http.Client{Timeout: 5 * time.Second}
		defer client.CloseIdleConnections()
		// Wait for the bridge's own socket to the hub, so that its upgrade is over.
		joined := regexp.MustCompile(`(?m)^ledbridge_hub_channels 1$`)
		waitJoin(t, 15*time.Second, "the bridge's channel in ledbridge_hub_channels", func() bool {
			res, err := client.Get(statusURL + "/metrics")
			if err != nil {
				return false
			}
			defer res.Body.Close()
			body, _ := io.ReadAll(res.Body)
			return joined.Match(body)
		})
		hubAddr := regexp.MustCompile(`LAN room server listening.* addr=(127\.0\.0\.1:\d+)`).FindStringSubmatch(stderr.String())
		if hubAddr == nil {
			t.Fatalf("no listening line for the embedded hub in stderr:\n%s", stderr.String())
		}
		checkHubHTTPCaps(t, hubAddr[1], 8, 12)
	})
}

// checkHubHTTPCaps holds perAddress idle keep-alive connections to the hub at addr from
// 127.0.0.1, each served one request, and requires the next one to be served in place of one of
// them (a client with every connection busy is refused: bridge/connlimit's tests); then fills the
// hub's total of max from 127.0.0.2 and requires one more, from 127.0.0.3, to be served and
// another held connection to be closed for it.
func checkHubHTTPCaps(t *testing.T, addr string, perAddress, max int) {
	t.Helper()
	const req = "GET /realtime/v1/api/broadcast HTTP/1.1\r\nHost: hub\r\n\r\n"
	dial := func(from string) net.Conn {
		t.Helper()
		d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(from)}, Timeout: 5 * time.Second}
		c, err := d.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		return c
	}
	hold := func(from string, n int) (held []net.Conn) {
		t.Helper()
		for i := range n {
			c := dial(from)
			_ = c.SetDeadline(time.Now().Add(5 * time.Second))
			if _, err := io.WriteString(c, req); err != nil {
				t.Fatal(err)
			}
			buf := make([]byte, 12)
			if _, err := io.ReadFull(c, buf); err != nil || string(buf) != "HTTP/1.1 405" {
				t.Fatalf("held connection %d from %s: %q, %v; want HTTP/1.1 405", i, from, buf, err)
			}
			_ = c.SetDeadline(time.Time{})
			held = append(held, c)
		}
		return held
	}
	// Which one is the oldest idle depends on when the server marked each idle after its answer
	// (under -race, sometimes after the next connection came). What is left of a closed one's
	// answer may still be unread: read to the end, which must come.
	closed := func(c net.Conn) bool {
		_ = c.SetReadDeadline(time.Now().Add(10 * time.Millisecond))
		_, err := io.Copy(io.Discard, c)
		return err == nil || !strings.Contains(err.Error(), "timeout")
	}
	waitClosed := func(held []net.Conn, want int, what string) {
		t.Helper()
		for deadline := time.Now().Add(5 * time.Second); ; {
			n := 0
			for _, c := range held {
				if closed(c) {
					n++
				}
			}
			if n >= want {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("%d held idle keep-alives closed; want %d (%s)", n, want, what)
			}
		}
	}
	held := hold("127.0.0.1", perAddress)
	held = append(held, hold("127.0.0.1", 1)...) // served past the per-address cap
	waitClosed(held, 1, "one of 127.0.0.1's closed for its new one")
	held = append(held, hold("127.0.0.2", max-perAddress)...)
	hold("127.0.0.3", 1) // served: the oldest idle keep-alive makes room
	waitClosed(held, 2, "another closed for the new client at the cap in all")
}

// TestHubRoomsPerAddress: hub.max_rooms_per_address reaches the running `ledbridge hub`: with 1,
// a client's join that would start a second room is refused with the per-address reason, and the
// refusal is counted under its reason on /metrics.
func TestHubRoomsPerAddress(t *testing.T) {
	bin := buildBinary(t)
	cfgPath := t.TempDir() + "/config.yaml"
	if err := os.WriteFile(cfgPath, []byte("hub:\n  listen: 127.0.0.1:0\n  max_rooms_per_address: 1\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	baseURL, _, _ := startHubBinary(t, bin, cfgPath)
	tr := &http.Transport{}
	t.Cleanup(tr.CloseIdleConnections)
	client := &http.Client{Transport: tr, Timeout: 10 * time.Second}
	ws := dialHub(t, client, baseURL, "any")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	join := func(ref, topic string) string {
		t.Helper()
		msg := `["` + ref + `","` + ref + `","realtime:` + topic + `","phx_join",{"config":{"broadcast":{"self":false,"ack":false},"presence":{"key":"","enabled":false},"postgres_changes":[],"private":false}}]`
		if err := ws.Write(ctx, websocket.MessageText, []byte(msg)); err != nil {
			t.Fatal(err)
		}
		_, reply, err := ws.Read(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return string(reply)
	}
	if reply := join("1", "ROOM01"); !strings.Contains(reply, `"status":"ok"`) {
		t.Fatalf("first room: %s", reply)
	}
	if reply := join("2", "ROOM02"); !strings.Contains(reply, "Too many rooms started from this address (limit 1)") {
		t.Fatalf("second room: %s, want the per-address refusal", reply)
	}
	_, _, metrics := get(t, client, baseURL+"/metrics")
	if !regexp.MustCompile(`(?m)^ledbridge_hub_joins_refused_total\{reason="address_rooms"\} 1$`).MatchString(metrics) {
		t.Errorf("/metrics does not count the refusal under address_rooms:\n%s", metrics)
	}
}
