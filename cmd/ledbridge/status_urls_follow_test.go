package main

import (
	"bytes"
	"log/slog"
	"net"
	"slices"
	"strings"
	"testing"
	"time"
)

// The start-up line names the status page by the host's .local name and by a LAN address; with
// no LAN address yet (a Pi that starts before its DHCP lease) it says so instead of offering
// loopback, which a phone cannot open, as the page's address.
func TestStatusLineNeverOffersLoopbackAsTheAddress(t *testing.T) {
	for _, tc := range []struct {
		name         string
		urls         []string
		everyAddress bool
		want         string
	}{
		{"name and a LAN address", []string{"http://vm.local:8080", "http://10.89.0.7:8080", "http://127.0.0.1:8080", "http://[::1]:8080"}, true,
			"Status page: http://vm.local:8080/ (by address: http://10.89.0.7:8080/)"},
		{"name, no LAN address yet", []string{"http://vm.local:8080", "http://127.0.0.1:8080", "http://[::1]:8080"}, true,
			"Status page: http://vm.local:8080/ " + statusNoLANYet},
		{"no host name, a LAN address", []string{"http://10.89.0.7:8080", "http://127.0.0.1:8080", "http://[::1]:8080"}, true,
			"Status page: http://10.89.0.7:8080/"},
		{"no host name, no LAN address yet", []string{"http://127.0.0.1:8080", "http://[::1]:8080"}, true,
			"Status page: http://127.0.0.1:8080/ " + statusNoLANYet},
		{"listening on loopback only (status.addr)", []string{"http://127.0.0.1:8080"}, false,
			"Status page: http://127.0.0.1:8080/"},
		{"listening on one LAN address", []string{"http://10.89.0.7:8080"}, false,
			"Status page: http://10.89.0.7:8080/"},
	} {
		got := statusLine(tc.urls, tc.everyAddress)
		if got != tc.want {
			t.Errorf("%s: %q, want %q", tc.name, got, tc.want)
		}
		if strings.Contains(got, "by address: http://127.") || strings.Contains(got, "by address: http://[::1]") {
			t.Errorf("%s: loopback offered as the address: %q", tc.name, got)
		}
	}
}

// statusRecords are the log records about the status page's addresses.
func statusRecords(t *testing.T, logs string) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, r := range jsonRecords(t, logs) {
		if strings.HasPrefix(r["msg"].(string), "status page") {
			out = append(out, r)
		}
	}
	return out
}

// The status page's URLs follow the host's addresses on the room server's watcher: a lease that
// comes after start-up, a DHCP change and a lost lease each log the status page's URLs once, as
// the room server's are, from one listing of the host's addresses per refresh.
func TestStatusPageURLsFollowTheHostsAddress(t *testing.T) {
	host := &fakeAddrs{}
	host.set("127.0.0.1/8", "::1/128")
	listings := 0
	h := &embeddedHub{Addr: &net.TCPAddr{IP: net.IPv4zero, Port: 4111}, interfaceAddrs: func() ([]net.Addr, error) {
		listings++
		return host.interfaceAddrs()
	}}
	var logBuf bytes.Buffer
	watch := newHostAddressWatch(slog.New(slog.NewJSONHandler(&logBuf, nil)), h.interfaceAddrs)
	watch.watchRoomServer(h, "room", "JAM234")
	urls := watch.watchStatusPage(&net.TCPAddr{IP: net.IPv6unspecified, Port: 8080}, "vm")
	if want := []string{"http://vm.local:8080", "http://127.0.0.1:8080", "http://[::1]:8080"}; !slices.Equal(urls, want) {
		t.Fatalf("status page URLs at boot: %v, want %v", urls, want)
	}

	host.set("127.0.0.1/8", "10.89.0.7/24", "::1/128")
	listings = 0
	watch.refresh()
	if listings != 1 {
		t.Errorf("one refresh listed the host's addresses %d times, want once for the room server and the status page", listings)
	}
	recs := statusRecords(t, logBuf.String())
	if len(recs) != 1 || recs[0]["level"] != "INFO" {
		t.Fatalf("after the lease: want one INFO line for the status page, got:\n%s", logBuf.String())
	}
	if got, want := stringList(recs[0]["urls"]), []string{"http://vm.local:8080", "http://10.89.0.7:8080", "http://127.0.0.1:8080", "http://[::1]:8080"}; !slices.Equal(got, want) {
		t.Errorf("the status page's urls after the lease: %v, want %v", got, want)
	}
	if recs[0]["url"] != "http://10.89.0.7:8080" {
		t.Errorf("the status page's url after the lease: %v, want its address", recs[0]["url"])
	}
	if got := watch.statusPageURLs(); !slices.Contains(got, "http://10.89.0.7:8080") {
		t.Errorf("statusPageURLs after the lease: %v", got)
	}
	if len(jsonRecords(t, logBuf.String())) != 2 {
		t.Errorf("after the lease: want the room server's line and the status page's, got:\n%s", logBuf.String())
	}

	watch.refresh() // nothing changed: nothing logged

	host.set("127.0.0.1/8", "10.89.0.3/24", "::1/128") // a new DHCP lease
	watch.refresh()
	recs = statusRecords(t, logBuf.String())
	if len(recs) != 2 || recs[1]["url"] != "http://10.89.0.3:8080" {
		t.Fatalf("after the DHCP change: want a second status page line with http://10.89.0.3:8080, got:\n%s", logBuf.String())
	}

	host.set("127.0.0.1/8", "::1/128")
	watch.refresh()
	recs = statusRecords(t, logBuf.String())
	if len(recs) != 3 || recs[2]["level"] != "WARN" || !strings.Contains(recs[2]["msg"].(string), "no LAN address") {
		t.Errorf("losing the lease: want one warning for the status page, got:\n%s", logBuf.String())
	}
}

// Joining a Supabase room hosts no room server, but the status page's URLs are kept and logged
// the same way.
func TestStatusPageURLsFollowWithoutARoomServer(t *testing.T) {
	host := &fakeAddrs{}
	host.set("127.0.0.1/8", "10.89.0.2/24")
	var logBuf bytes.Buffer
	watch := newHostAddressWatch(slog.New(slog.NewJSONHandler(&logBuf, nil)), host.interfaceAddrs)
	watch.watchStatusPage(&net.TCPAddr{IP: net.IPv4zero, Port: 8080}, "")
	host.set("127.0.0.1/8", "10.89.0.3/24")
	watch.refresh()
	recs := jsonRecords(t, logBuf.String())
	if len(recs) != 1 || recs[0]["url"] != "http://10.89.0.3:8080" || recs[0]["level"] != "INFO" {
		t.Errorf("after the DHCP change: want one status page line with the new address, got:\n%s", logBuf.String())
	}
	if got := watch.URL(); got != "" {
		t.Errorf("URL with no room server: %q, want none", got)
	}
}

// A flapping link changes both lists at every refresh: they share the room server's budget, so
// the status page's lines are as few as the room server's.
func TestStatusPageURLsOnAFlappingLinkLogAFewLines(t *testing.T) {
	host := &fakeAddrs{}
	host.set("127.0.0.1/8")
	h := &embeddedHub{Addr: &net.TCPAddr{IP: net.IPv4zero, Port: 4111}, interfaceAddrs: host.interfaceAddrs}
	var logBuf bytes.Buffer
	watch := newHostAddressWatch(slog.New(slog.NewJSONHandler(&logBuf, nil)), h.interfaceAddrs)
	watch.watchRoomServer(h, "room", "JAM234")
	watch.watchStatusPage(&net.TCPAddr{IP: net.IPv4zero, Port: 8080}, "vm")
	now := time.Date(2026, 11, 27, 5, 0, 0, 0, time.UTC)
	watch.now = func() time.Time { return now }
	const refreshes = 100
	for i := range refreshes {
		now = now.Add(hostAddressRefresh)
		if i%2 == 0 {
			host.set("127.0.0.1/8", "192.168.1.20/24")
		} else {
			host.set("127.0.0.1/8")
		}
		watch.refresh()
	}
	maxChanges := hostAddressLogBurst + int(time.Duration(refreshes)*hostAddressRefresh/hostAddressLogEvery) + 1
	if got := len(statusRecords(t, logBuf.String())); got > maxChanges || got < hostAddressLogBurst {
		t.Errorf("%d status page lines for %d changes, want %d..%d", got, refreshes, hostAddressLogBurst, maxChanges)
	}
	if got := len(jsonRecords(t, logBuf.String())); got > 2*maxChanges {
		t.Errorf("%d lines in all, want at most %d (one room server line and one status page line per change logged)", got, 2*maxChanges)
	}
}
