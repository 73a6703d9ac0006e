package hub

import (
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"

	"github.com/ledbridge/ledbridge/bridge/testlog"
)

// TestMaxConnectionsPerAddress: one host holding its share of sockets is refused more with HTTP
// 429 and a JSON reason, while another host still gets in; closing a socket returns its slot; a
// host retrying in a loop is logged once, saying how many refusals the line stands for. Every
// host here is on loopback, which is not exempt.
func TestMaxConnectionsPerAddress(t *testing.T) {
	var logs testlog.Buffer
	// A stopped clock: every refusal falls in the log limiter's one second, however slow the machine.
	h := startHub(t, Config{MaxConnectionsPerAddress: 2, Now: newFakeClock().Now, Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	a := dial(t, h, dialOpts{from: "127.0.0.1"})
	dial(t, h, dialOpts{from: "127.0.0.1"})
	if _, err := tryDial(t, h, dialOpts{from: "127.0.0.1"}); err == nil || !strings.Contains(err.Error(), "HTTP 429") {
		t.Fatalf("third socket from one address: err %v, want HTTP 429", err)
	}
	// The refusal comes before the upgrade, so a plain GET shows the status and body a browser gets.
	client := fromClient(t, "127.0.0.1")
	const retries = 4
	for range retries {
		resp, err := client.Get(h.httpURL() + Path + "?apikey=k&vsn=2.0.0")
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusTooManyRequests || !strings.Contains(string(body), "Too many connections from this address") {
			t.Fatalf("over the per-address limit: HTTP %d %s, want 429 and the reason", resp.StatusCode, body)
		}
	}
	other := dial(t, h, dialOpts{from: "127.0.0.2"})
	other.join(topic, cfgJSON(false, false, "other-host"))

	if st := h.Stats(); st.HandshakeRefused != 1+retries || st.HandshakeRefusals != (HandshakeRefusals{AddressFull: 1 + retries}) || st.Connections != 3 {
		t.Errorf("stats %+v, want %d refusals, all by the per-address cap, and 3 sockets", st, 1+retries)
	}
	if n := strings.Count(logs.String(), "too many sockets from one address"); n != 1 {
		t.Errorf("%d refusals in one second logged %d lines, want 1:\n%s", 1+retries, n, logs.String())
	}
	if !strings.Contains(logs.String(), "remote=127.0.0.1") {
		t.Errorf("the log line does not name the address:\n%s", logs.String())
	}

	a.ws.CloseNow()
	waitFor(t, "a's socket to be released", func() bool { return h.Stats().Connections == 2 })
	dial(t, h, dialOpts{from: "127.0.0.1"}).barrier()
}

// TestFailedUpgradeReleasesAddressSlot: a request that passes the limits but fails the WebSocket
// upgrade (a plain GET here) gives its reserved slot back, so failed upgrades cannot lock a host out.
func TestFailedUpgradeReleasesAddressSlot(t *testing.T) {
	h := startHub(t, Config{MaxConnectionsPerAddress: 1})
	client := fromClient(t, "127.0.0.1")
	for range 3 {
		resp, err := client.Get(h.httpURL() + Path + "?apikey=k&vsn=2.0.0")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode == http.StatusTooManyRequests {
			t.Fatalf("a failed upgrade kept the address's only slot")
		}
	}
	dial(t, h, dialOpts{from: "127.0.0.1"}).barrier()
}
