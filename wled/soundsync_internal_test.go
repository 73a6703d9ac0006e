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
