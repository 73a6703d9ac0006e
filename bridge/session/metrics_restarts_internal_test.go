package session

import (
	"testing"

	"github.com/ledbridge/ledbridge/bridge/peer"
)

// The other reason of ledbridge_webrtc_ice_restarts_total is ICERestarts - AddressGoneRestarts,
// two counts the peer bumps one after the other, an address-gone restart first: read between the
// two, or for a restart whose offer could not be made, the difference is one lower than it was,
// and the series must not go down (a reset to Prometheus) nor wrap below zero.
func TestOtherICERestartsNeverReadLower(t *testing.T) {
	var m metrics
	for i, step := range []struct {
		restarts, addressGone, want uint64
	}{
		{0, 0, 0},
		{0, 1, 0}, // an address-gone restart counted as that alone, so far
		{1, 1, 0},
		{5, 1, 4},
		{5, 2, 4}, // and again
		{6, 2, 4},
		{7, 2, 5},
	} {
		got := m.raiseOtherRestarts(peer.Stats{ICERestarts: step.restarts, AddressGoneRestarts: step.addressGone})
		if got != step.want {
			t.Errorf("step %d: ICERestarts %d, AddressGoneRestarts %d: other = %d, want %d", i, step.restarts, step.addressGone, got, step.want)
		}
	}
}
