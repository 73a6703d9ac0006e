package hub

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"strings"
	"testing"

	"github.com/coder/websocket"
	"github.com/prometheus/client_golang/prometheus"
)

// viaName returns an HTTP client that sends every request to h whatever host its URL names, as a
// browser does once a page's domain resolves to the hub (DNS rebinding): Host is then that name.
func viaName(t *testing.T, h *testHub) *http.Client {
	tr := &http.Transport{DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, network, h.addr)
	}}
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr}
}

// upgradeAs opens a WebSocket to h with Host and Origin both naming hostPort, as a page served
// from http://hostPort does; it returns the upgrade's HTTP status.
func upgradeAs(t *testing.T, h *testHub, hostPort string) int {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	ws, resp, err := websocket.Dial(ctx, fmt.Sprintf("ws://%s%s?apikey=x&vsn=2.0.0", hostPort, Path), &websocket.DialOptions{
		HTTPClient: viaName(t, h), HTTPHeader: http.Header{"Origin": {"http://" + hostPort}},
	})
	if err != nil {
		if resp == nil {
			t.Fatalf("dial as %s: %v", hostPort, err)
		}
		return resp.StatusCode
	}
	ws.CloseNow()
	return resp.StatusCode
}

// requestAs sends method to path on h with Host and Origin both naming hostPort and returns the status.
func requestAs(t *testing.T, h *testHub, method, hostPort, path, body string) int {
	t.Helper()
	req, err := http.NewRequest(method, "http://"+hostPort+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Origin", "http://"+hostPort)
	req.Header.Set("Content-Type", "application/json")
	resp, err := viaName(t, h).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// TestAllowedOriginsResistDNSRebinding: with hub.allowed_origins set, a page whose domain was
// rebound to the hub (Origin == Host == the attacker's name) is refused at upgrade, on the REST
// endpoints and on the metrics page; a page served by the machine itself under a LAN name (an IP,
// localhost, a single-label or .local name) still passes as same-origin, and an empty list still
// takes any origin.
func TestAllowedOriginsResistDNSRebinding(t *testing.T) {
	reg := prometheus.NewRegistry()
	h := startHub(t, Config{AllowedOrigins: []string{"jam.example.org"}, Metrics: reg, MetricsPath: "/metrics"})
	member := dial(t, h, dialOpts{})
	member.join(topic, cfgJSON(false, false, "bridge-peer"))

	const rebound = "evil.example.net:4000"
	if code := upgradeAs(t, h, rebound); code != http.StatusForbidden {
		t.Errorf("upgrade with Origin = Host = %s: HTTP %d, want 403", rebound, code)
	}
	if st := h.Stats(); st.HandshakeRefusals.BadUpgrade != 1 {
		t.Errorf("BadUpgrade = %d, want 1", st.HandshakeRefusals.BadUpgrade)
	}
	if code := requestAs(t, h, http.MethodPost, rebound, BroadcastAPIPath, ledUpdateBatch); code != http.StatusForbidden {
		t.Errorf("REST broadcast from %s: HTTP %d, want 403", rebound, code)
	}
	if code := requestAs(t, h, http.MethodGet, rebound, "/metrics", ""); code != http.StatusForbidden {
		t.Errorf("metrics from %s: HTTP %d, want 403", rebound, code)
	}
	member.barrier() // the REST broadcast was not delivered

	for _, lan := range []string{"192.168.1.20:4000", "[fd00::20]:4000", "localhost:4000", "raspberrypi:4000", "ledbridge.local:4000", "pi.home.arpa:4000"} {
		if code := upgradeAs(t, h, lan); code != http.StatusSwitchingProtocols {
			t.Errorf("upgrade with Origin = Host = %s: HTTP %d, want 101", lan, code)
		}
	}

	open := startHub(t, Config{})
	if code := upgradeAs(t, open, rebound); code != http.StatusSwitchingProtocols {
		t.Errorf("no allowed_origins, Origin = Host = %s: HTTP %d, want 101 (any origin)", rebound, code)
	}
}
