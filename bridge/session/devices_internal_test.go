package session

import (
	"context"
	"log/slog"
	"net"
	"net/netip"
	"strconv"
	"testing"
	"time"

	"github.com/ledbridge/ledbridge/bridge/realtime"
	"github.com/ledbridge/ledbridge/bridge/room"
	"github.com/ledbridge/ledbridge/wled"
)

// newDeviceTestSession is a session with the given configured devices whose host names resolve
// through lookup (the system's resolver if nil).
func newDeviceTestSession(t *testing.T, devices []string, lookup func(ctx context.Context, network, host string) ([]netip.Addr, error)) *Session {
	t.Helper()
	code, _ := room.ParseCode("DEV234")
	s, err := New(Config{Code: code, Realtime: realtime.Config{URL: "http://127.0.0.1:1", APIKey: "k"}, Devices: devices, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	if lookup != nil {
		s.devices.lookup = lookup
	}
	return s
}

// TestDeviceHostNameIsLookedUpOutsideTheLock: a configured ddp:// device named by host is driven
// at the address its name resolves to, and a DNS server that never answers holds neither the
// device lock nor shutdown (wled.NewSender used to resolve the name under the lock, so a reload or
// SIGTERM waited for the resolver's timeouts).
func TestDeviceHostNameIsLookedUpOutsideTheLock(t *testing.T) {
	strip, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer strip.Close()
	port := strip.LocalAddr().(*net.UDPAddr).Port
	blocked := make(chan struct{}, 1)
	lookup := func(ctx context.Context, _, host string) ([]netip.Addr, error) {
		if host == "strip.venue.example" {
			return []netip.Addr{netip.MustParseAddr("::1"), netip.MustParseAddr("127.0.0.1")}, nil
		}
		blocked <- struct{}{}
		<-ctx.Done() // a DNS server that never answers
		return nil, ctx.Err()
	}
	s := newDeviceTestSession(t, []string{
		"ddp://strip.venue.example:" + strconv.Itoa(port) + "?leds=30",
		"ddp://silent-dns.venue.example?leds=30",
	}, lookup)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = s.devices.run(ctx) }()

	<-blocked
	locked := make(chan struct{})
	go func() {
		s.devices.mu.Lock()
		close(locked) // taking the lock at all is the check
		s.devices.mu.Unlock()
	}()
	select {
	case <-locked:
	case <-time.After(2 * time.Second):
		t.Fatal("the device lock is held while a host name is looked up")
	}
	deadline := time.Now().Add(5 * time.Second)
	for len(s.devices.current()) < 1 {
		if time.Now().After(deadline) {
			t.Fatal("the strip named by host was never driven")
		}
		time.Sleep(10 * time.Millisecond)
	}
	if st := s.devices.current()[0]; st.target.Host != "127.0.0.1" || st.name != "ddp://strip.venue.example:"+strconv.Itoa(port)+"?leds=30" {
		t.Errorf("strip %q drives %s, want 127.0.0.1 (the name's IPv4 address) under its configured name", st.name, st.target.Host)
	}
	s.devices.current()[0].out.Submit(make([]byte, 90))
	buf := make([]byte, 2048)
	_ = strip.SetReadDeadline(time.Now().Add(5 * time.Second))
	if n, _, err := strip.ReadFrom(buf); err != nil || n < 10 {
		t.Fatalf("no DDP packet at the resolved address: %d bytes, %v", n, err)
	}

	start := time.Now()
	cancel()
	select {
	case <-done:
	case <-time.After(2 * time.Second):
		t.Fatal("shutdown waits for a host name lookup")
	}
	t.Logf("devices stopped %v after cancel", time.Since(start))
}

// TestDiscoveredStripsSwappingAddresses: two discovered strips swap IP addresses (DHCP). Each
// update arrives while the other strip still holds the new address; both must follow, or each
// strip's frames go to the other one.
func TestDiscoveredStripsSwappingAddresses(t *testing.T) {
	s := newDeviceTestSession(t, nil, nil)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = s.devices.run(ctx) }()
	defer func() { cancel(); <-done }()
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(5 * time.Millisecond) {
		s.devices.mu.Lock()
		started := s.devices.ctx != nil
		s.devices.mu.Unlock()
		if started {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the device set never started")
		}
	}
	at := func(port int) wled.Target {
		return wled.Target{Protocol: wled.ProtocolDDP, Host: "127.0.0.1", Port: port, LEDs: 30}
	}
	s.devices.add("02aa00000001", "A", at(41001), true)
	s.devices.add("02aa00000002", "B", at(41002), true)
	s.devices.add("02aa00000001", "A", at(41002), true) // A moved to B's old address
	s.devices.add("02aa00000002", "B", at(41001), true) // and B to A's
	got := map[string]int{}
	for _, st := range s.devices.current() {
		got[st.name] = st.target.Port
	}
	if got["A"] != 41002 || got["B"] != 41001 || len(got) != 2 {
		t.Errorf("strips stream to %v, want A to 41002 and B to 41001", got)
	}
}

// add drives discovered device key at t, as a registry update would.
func (d *deviceSet) add(key, name string, t wled.Target, online bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.addLocked(key, name, t, online)
	d.publishLocked()
}
