package main

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ledbridge/ledbridge/bridge/config"
	"github.com/ledbridge/ledbridge/bridge/room"
	"github.com/ledbridge/ledbridge/bridge/session"
)

// fakeAddrs is a host's interface addresses that a test changes, as DHCP does.
type fakeAddrs struct {
	mu    sync.Mutex
	addrs []net.Addr
}

func (f *fakeAddrs) set(cidrs ...string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.addrs = nil
	for _, c := range cidrs {
		ip, ipn, err := net.ParseCIDR(c)
		if err != nil {
			panic(err)
		}
		ipn.IP = ip
		f.addrs = append(f.addrs, ipn)
	}
}

func (f *fakeAddrs) interfaceAddrs() ([]net.Addr, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.addrs), nil
}

// TestLANRoomURLFollowsTheHostsAddress: a Pi that boots before DHCP has only loopback when the
// embedded room server starts. Once the lease brings a LAN address, the status page shows the URL
// musicians reach the room at, and one log line gives the new URLs; an unchanged address list
// logs nothing more, and losing the lease is said once too.
func TestLANRoomURLFollowsTheHostsAddress(t *testing.T) {
	host := &fakeAddrs{}
	host.set("127.0.0.1/8", "::1/128")
	h := &embeddedHub{Addr: &net.TCPAddr{IP: net.IPv4zero, Port: 4111}, interfaceAddrs: host.interfaceAddrs}
	var logBuf bytes.Buffer
	log := slog.New(slog.NewJSONHandler(&logBuf, nil))

	c := config.Default()
	code, _ := room.ParseCode("LAN234")
	sc, err := sessionConfig(c, code, "test", false, slog.New(slog.NewTextHandler(io.Discard, nil)), nil)
	if err != nil {
		t.Fatal(err)
	}
	watch := newHostAddressWatch(log, h.interfaceAddrs)
	watch.watchRoomServer(h, "room", code.String())
	hostOnLAN(&sc, h, c.Hub.Secret, watch)
	sess, err := session.New(sc)
	if err != nil {
		t.Fatal(err)
	}
	roomURL := func() string { return sess.Snapshot().Room.URL }
	if got, want := roomURL(), "http://127.0.0.1:4111"; got != want {
		t.Fatalf("room URL at boot: %q, want %q", got, want)
	}

	host.set("127.0.0.1/8", "192.168.77.2/24", "::1/128", "fe80::1/64")
	if got := roomURL(); got != "http://127.0.0.1:4111" {
		t.Errorf("room URL before the refresh: %q (a snapshot must not list the interfaces itself)", got)
	}
	watch.refresh()
	if got, want := roomURL(), "http://192.168.77.2:4111"; got != want {
		t.Errorf("room URL after the DHCP lease: %q, want %q", got, want)
	}
	watch.refresh() // nothing changed: nothing logged
	records := jsonRecords(t, logBuf.String())
	if len(records) != 1 {
		t.Fatalf("%d log records after the lease, want 1:\n%s", len(records), logBuf.String())
	}
	rec := records[0]
	if urls := stringList(rec["urls"]); !slices.Equal(urls, []string{"http://192.168.77.2:4111", "http://127.0.0.1:4111", "http://[::1]:4111"}) {
		t.Errorf("the log record's urls: %v", rec["urls"])
	}
	if ws := stringList(rec["websockets"]); len(ws) == 0 || ws[0] != "ws://192.168.77.2:4111/realtime/v1/websocket" {
		t.Errorf("the log record's websockets: %v", rec["websockets"])
	}
	if rec["room"] != "LAN234" || rec["level"] != "INFO" {
		t.Errorf("the log record: %v", rec)
	}

	host.set("127.0.0.1/8")
	watch.refresh()
	watch.refresh()
	records = jsonRecords(t, logBuf.String())
	if len(records) != 2 || records[1]["level"] != "WARN" || !strings.Contains(records[1]["msg"].(string), "no LAN address") {
		t.Errorf("losing the LAN address: want one warning, got:\n%s", logBuf.String())
	}
	if got, want := roomURL(), "http://127.0.0.1:4111"; got != want {
		t.Errorf("room URL after the lease is gone: %q, want %q", got, want)
	}

	// The periodic refresh has an owner: it stops when its context ends (goleak checks the rest).
	ctx, cancel := context.WithCancel(context.Background())
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		watch.run(ctx, time.Hour)
	}()
	cancel()
	<-stopped
}

// countingHandler counts the records that reach it, by level, and keeps the last one's attributes.
type countingHandler struct {
	mu     sync.Mutex
	levels map[slog.Level]int
	last   map[string]any
}

func (h *countingHandler) Enabled(context.Context, slog.Level) bool { return true }
func (h *countingHandler) WithAttrs([]slog.Attr) slog.Handler       { return h }
func (h *countingHandler) WithGroup(string) slog.Handler            { return h }
func (h *countingHandler) Handle(_ context.Context, r slog.Record) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.levels == nil {
		h.levels = map[slog.Level]int{}
	}
	h.levels[r.Level]++
	h.last = map[string]any{"msg": r.Message}
	r.Attrs(func(a slog.Attr) bool { h.last[a.Key] = a.Value.Any(); return true })
	return nil
}

func (h *countingHandler) total() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	n := 0
	for _, c := range h.levels {
		n += c
	}
	return n
}

// TestLANRoomURLWatchOnAFlappingLinkLogsAFewLines: a Wi-Fi link that drops and comes back at
// every 5 s refresh changes the URLs each time. The URL stays current on every refresh, but the log
// gets the first changes in full and then one line per hostAddressLogEvery, saying how many it held back.
func TestLANRoomURLWatchOnAFlappingLinkLogsAFewLines(t *testing.T) {
	host := &fakeAddrs{}
	host.set("127.0.0.1/8")
	h := &embeddedHub{Addr: &net.TCPAddr{IP: net.IPv4zero, Port: 4111}, interfaceAddrs: host.interfaceAddrs}
	logs := &countingHandler{}
	watch := newHostAddressWatch(slog.New(logs), h.interfaceAddrs)
	watch.watchRoomServer(h, "room", "LAN234")
	now := time.Date(2026, 11, 26, 20, 0, 0, 0, time.UTC)
	watch.now = func() time.Time { return now }

	const refreshes = 100 // 500 s of flapping at one refresh each hostAddressRefresh
	for i := range refreshes {
		now = now.Add(hostAddressRefresh)
		up := i%2 == 0
		if up {
			host.set("127.0.0.1/8", "192.168.1.20/24")
		} else {
			host.set("127.0.0.1/8")
		}
		watch.refresh()
		want := "http://127.0.0.1:4111"
		if up {
			want = "http://192.168.1.20:4111"
		}
		if got := watch.URL(); got != want {
			t.Fatalf("refresh %d: URL %q, want %q (the URL must follow every change)", i, got, want)
		}
	}
	flapping := time.Duration(refreshes) * hostAddressRefresh
	maxLines := hostAddressLogBurst + int(flapping/hostAddressLogEvery) + 1
	if got := logs.total(); got > maxLines {
		t.Fatalf("%d log lines for %d address changes in %v, want at most %d", got, refreshes, flapping, maxLines)
	}
	if got := logs.total(); got < hostAddressLogBurst {
		t.Fatalf("%d log lines, want the first %d changes in full", got, hostAddressLogBurst)
	}

	// After a quiet spell the next change is logged at once, with the count held back before.
	now = now.Add(hostAddressLogEvery)
	watch.refresh() // unchanged: nothing logged
	before := logs.total()
	host.set("127.0.0.1/8", "10.0.0.9/24")
	now = now.Add(hostAddressRefresh)
	watch.refresh()
	if logs.total() != before+1 {
		t.Fatalf("the first change after a quiet spell was not logged (%d lines, was %d)", logs.total(), before)
	}
	logs.mu.Lock()
	held, _ := logs.last["suppressed"].(int64)
	logs.mu.Unlock()
	if held == 0 {
		t.Errorf("the line after the flapping does not say how many changes were held back: %v", logs.last)
	}
}
