package wled

import (
	"context"
	"net/netip"
	"testing"
)

// A host name whose DNS server never answers (the late boot the retries are for) must not hold
// Run's return, which the daemon's shutdown waits on: the lookup is cancelled with Run's context.
func TestSoundSyncRunCancelsAHangingLookup(t *testing.T) {
	asked := make(chan struct{})
	lookupNetIP = func(ctx context.Context, _, _ string) ([]netip.Addr, error) {
		close(asked)
		<-ctx.Done() // a DNS server that never answers
		return nil, ctx.Err()
	}
	t.Cleanup(func() { lookupNetIP = defaultLookupNetIP })
	s, err := NewSoundSyncSender("wled-sync.venue.lan:11988")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	ran := make(chan error, 1)
	go func() { ran <- s.Run(ctx) }()
	<-asked
	cancel()
	if err := <-ran; err != nil {
		t.Fatal(err)
	}
}

// WLED's audio-reactive sound sync listens over IPv4 only, so a host name that resolves to both
// families (localhost on stock Debian: ::1 first, then 127.0.0.1; a WLED name with an AAAA record)
// is sent to over IPv4; a host with IPv6 addresses alone keeps its first.
func TestSoundSyncResolvePrefersIPv4(t *testing.T) {
	for _, tc := range []struct {
		answer []netip.Addr
		want   string
	}{
		{[]netip.Addr{netip.MustParseAddr("::1"), netip.MustParseAddr("127.0.0.1")}, "127.0.0.1:11988"},
		{[]netip.Addr{netip.MustParseAddr("fd00::7"), netip.MustParseAddr("::ffff:192.168.1.7")}, "192.168.1.7:11988"},
		{[]netip.Addr{netip.MustParseAddr("fd00::7")}, "[fd00::7]:11988"},
	} {
		lookupNetIP = func(context.Context, string, string) ([]netip.Addr, error) { return tc.answer, nil }
		t.Cleanup(func() { lookupNetIP = defaultLookupNetIP })
		s, err := NewSoundSyncSender("localhost:11988")
		if err != nil {
			t.Fatal(err)
		}
		got, err := s.resolve(context.Background())
		if err != nil || got.String() != tc.want {
			t.Errorf("resolve with answer %v = %v, %v; want %s", tc.answer, got, err, tc.want)
		}
	}
}
