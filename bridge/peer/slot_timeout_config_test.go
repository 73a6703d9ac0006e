package peer

import (
	"errors"
	"testing"
	"time"
)

// Config.SlotTimeout is the bound on a peer-cap slot held unconnected while others wait:
// DefaultSlotTimeout when zero, else the value given, so that an operator (and a test) can
// shorten it.
func TestSlotTimeoutComesFromTheConfig(t *testing.T) {
	r, s := newTestRoom(t), &sinks{}
	for _, tc := range []struct {
		set, want time.Duration
	}{{0, DefaultSlotTimeout}, {-time.Second, DefaultSlotTimeout}, {3 * time.Second, 3 * time.Second}} {
		cfg := bridgeConfig(t, r, s)
		cfg.SlotTimeout = tc.set
		m, err := NewManager(cfg)
		if err != nil {
			t.Fatal(err)
		}
		if m.slotTimeout != tc.want {
			t.Errorf("SlotTimeout %v: the manager bounds a slot held unconnected at %v, want %v", tc.set, m.slotTimeout, tc.want)
		}
	}
}

// With Config.SlotTimeout shortened, a musician waiting behind a member that never answers an
// offer gets its slot within that bound, and connects.
func TestSlotTimeoutConfigGivesTheSlotToTheWaitingMusician(t *testing.T) {
	requireLoopback(t)
	r, s := newTestRoom(t), &sinks{}
	cfg := bridgeConfig(t, r, s)
	cfg.MaxPeers = 1
	cfg.OfferDelay = 50 * time.Millisecond
	cfg.SlotTimeout = time.Second
	m := startManager(t, cfg, r)
	if err := m.MusicianJoined("squatter"); err != nil {
		t.Fatal(err)
	}
	newTestMusician(t, r, "ana", musicianOpts{})
	if err := m.MusicianJoined("ana"); !errors.Is(err, ErrPeerCap) {
		t.Fatalf("ana joined past the cap of one squatter: %v", err)
	}
	waitFor(t, "bridge connected to ana", bridgeConnected(m, "ana"))
	if st := m.Stats(); st.SlotsReclaimed < 1 {
		t.Errorf("slots reclaimed %d, want at least 1", st.SlotsReclaimed)
	}
}
