package wled

import (
	"context"
	"net/netip"
	"testing"
)

// A host name whose DNS server never answers (the late boot the background dialer is for) must
// not hold Close, which the daemon's shutdown waits on: the lookup is cancelled.
func TestSoundSyncCloseCancelsAHangingLookup(t *testing.T) {
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
	<-asked
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil { // a second Close does nothing
		t.Fatal(err)
	}
}
