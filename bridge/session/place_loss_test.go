package session

import (
	"slices"
	"testing"
	"time"
)

// A key that keeps losing its place waits the slot timeout after its first loss, twice as long
// after each next one, up to maxPlaceWaitFactor slot timeouts.
func TestPlaceLossWaitDoubles(t *testing.T) {
	const timeout = 30 * time.Second
	var loss placeLoss
	var waits []time.Duration
	for i := range 6 {
		loss = loss.next(time.Unix(int64(i), 0), timeout)
		waits = append(waits, loss.wait)
	}
	want := []time.Duration{timeout, 2 * timeout, 4 * timeout, 8 * timeout, 8 * timeout, 8 * timeout}
	if !slices.Equal(waits, want) {
		t.Errorf("waits %v, want %v", waits, want)
	}
}
