package status

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/ledbridge/ledbridge/bridge/testenv"
)

// TestLANPhonesOverIPv6EachGetAView: on a venue LAN with SLAAC every phone takes an address in
// the same /64. Six phones, more than the per-client stream cap of 4, each open the live view and
// each gets it: a LAN host is a client of its own, as with IPv4. It runs in a network namespace
// whose loopback carries the LAN's prefix fd00:1::/64.
func TestLANPhonesOverIPv6EachGetAView(t *testing.T) {
	// The server's address carries the LAN's /64; the phones' are single addresses to bind to.
	if !testenv.InNetworkNamespace(t, `ip -6 addr add fd00:1::1/64 dev lo nodad &&
		for i in 11 12 13 14 15 16; do ip -6 addr add fd00:1::$i/128 dev lo nodad || exit 1; done`) {
		return
	}
	srv, err := New(Config{Provider: &fakeProvider{snap: Snapshot{Room: Room{Code: "XYZ789"}}},
		StatusInterval: 50 * time.Millisecond, PreviewInterval: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "[fd00:1::1]:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, ln) }()
	defer func() { cancel(); <-done }()
	for i := 1; i <= 6; i++ {
		phone := fmt.Sprintf("fd00:1::%x", 0x10+i)
		tr := &http.Transport{DialContext: (&net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(phone)}}).DialContext}
		defer tr.CloseIdleConnections()
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+ln.Addr().String()+"/api/events", nil)
		req.Host = "ledbridge.local:8080"
		resp, err := (&http.Client{Transport: tr}).Do(req)
		if err != nil {
			t.Fatalf("phone %d (%s): %v", i, phone, err)
		}
		defer resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("phone %d (%s): live view refused with HTTP %d", i, phone, resp.StatusCode)
		}
	}
}
