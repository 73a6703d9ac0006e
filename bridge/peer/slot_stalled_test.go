package peer

import (
	"testing"
	"time"

	"github.com/pion/webrtc/v4"
)

// A musician who connected and then lost her connection is a musician whose network failed, not
// a browser whose connection never comes up: past her restart budget she is overdue and
// longOverdue, as before, but never stalled, so her slot is not one that an evicted musician
// waiting behind her may take for that reason (review 254: she went stalled 9.5 s after the
// drop, the stalled bound counted from the wrong start).
func TestMusicianWhoConnectedNeverStalls(t *testing.T) {
	requireLoopback(t)
	r, s := newTestRoom(t), &sinks{}
	cfg := bridgeConfig(t, r, s)
	cfg.MaxPeers = 1
	cfg.SlotTimeout = 100 * time.Millisecond // stalled, were it armed, 8 × this after admission
	cfg.ConnectTimeout, cfg.RestartBackoff = 300*time.Millisecond, []time.Duration{100 * time.Millisecond}
	m := startManager(t, cfg, r)
	bob := newTestMusician(t, r, "bob", musicianOpts{offerFirst: true})
	if err := m.MusicianJoined("bob"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "bridge connected to bob", bridgeConnected(m, "bob"))
	bob.close() // his page's connection dies; he stays in Presence and answers nothing more
	waitFor(t, "bob's side closed", func() bool { return bob.connState() == webrtc.PeerConnectionStateClosed })
	m.mu.Lock()
	mus := m.musicians["bob"]
	m.mu.Unlock()
	waitFor(t, "bob longOverdue past his restart budget", mus.longOverdue.Load)
	// Past any bound a third firing could have had (8 × the slot timeout, from the drop even).
	time.Sleep(8*cfg.SlotTimeout + 500*time.Millisecond)
	if mus.stalled.Load() {
		t.Error("bob, who had connected, is stalled: an evicted musician may take his slot as if his browser never connected")
	}
}
