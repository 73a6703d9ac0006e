package peer

import (
	"errors"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pion/webrtc/v4"
)

// holdsSlot reports whether id has a musician in Presence, i.e. a peer-cap slot.
func holdsSlot(m *Manager, id MusicianID) bool {
	s, ok := musicianStats(m, id)
	return ok && s.InPresence
}

// Room members that join Presence and never answer an offer (no browser behind them: the
// bridge's offers go nowhere) fill every slot; a real musician who joins after them is admitted
// once their slots have been held unconnected for the slot timeout, and connects. Each silent
// member goes to the back of the queue and its PeerConnection is closed; the musician who
// connected is never the one whose slot goes, and the evicted member, waiting, takes no slot
// back. Before, the squatters held the slots for good and the musician waited for ever.
func TestSilentMembersGiveTheirSlotsToAWaitingMusician(t *testing.T) {
	requireLoopback(t)
	r, s := newTestRoom(t), &sinks{}
	cfg := bridgeConfig(t, r, s)
	cfg.MaxPeers = 2
	cfg.OfferDelay = 50 * time.Millisecond
	cfg.SlotTimeout = time.Second
	m := startManager(t, cfg, r)
	squatters := []MusicianID{"squat-1", "squat-2"}
	for _, id := range squatters {
		if err := m.MusicianJoined(id); err != nil {
			t.Fatal(err)
		}
	}
	newTestMusician(t, r, "ana", musicianOpts{})
	if err := m.MusicianJoined("ana"); !errors.Is(err, ErrPeerCap) {
		t.Fatalf("ana joined past the cap of two squatters: %v", err)
	}
	waitFor(t, "bridge connected to ana", bridgeConnected(m, "ana"))
	waitFor(t, "ana's audio", func() bool { return s.fromMic("ana") >= 25 })

	st := m.Stats()
	if st.SlotsReclaimed < 1 || len(st.Waiting) != 1 || !slices.Contains(squatters, st.Waiting[0]) {
		t.Fatalf("slots reclaimed %d, waiting %v: want a squatter waiting behind ana", st.SlotsReclaimed, st.Waiting)
	}
	if holdsSlot(m, st.Waiting[0]) {
		t.Errorf("the evicted %s still has a PeerConnection", st.Waiting[0])
	}
	// The evicted squatter waits: it takes no slot back from the other, nor from ana.
	before := s.fromMic("ana")
	waitFor(t, "ana's audio still arriving", func() bool { return s.fromMic("ana") >= before+25 })
	if !bridgeConnected(m, "ana")() {
		t.Fatal("ana lost her connection")
	}
	if now := m.Stats(); now.SlotsReclaimed != st.SlotsReclaimed || !slices.Equal(now.Waiting, st.Waiting) || len(now.Musicians) != 2 {
		t.Errorf("slots reclaimed %d, waiting %v, musicians %+v: want still %d, %v, ana and the other squatter holding the slots",
			now.SlotsReclaimed, now.Waiting, now.Musicians, st.SlotsReclaimed, st.Waiting)
	}
}

// With no one waiting, a slot held unconnected past the slot timeout stays as it is; when a
// musician then joins, that slot is hers at once.
func TestOverdueSlotIsKeptUntilSomeoneWaitsThenGoesAtOnce(t *testing.T) {
	requireLoopback(t)
	r, s := newTestRoom(t), &sinks{}
	cfg := bridgeConfig(t, r, s)
	cfg.MaxPeers = 1
	cfg.OfferDelay = 50 * time.Millisecond
	cfg.SlotTimeout = 200 * time.Millisecond
	m := startManager(t, cfg, r)
	if err := m.MusicianJoined("squat"); err != nil {
		t.Fatal(err)
	}
	m.mu.Lock()
	squat := m.musicians["squat"]
	m.mu.Unlock()
	waitFor(t, "squat's slot timeout", squat.overdue.Load)
	if st := m.Stats(); st.SlotsReclaimed != 0 || len(st.Waiting) != 0 || !holdsSlot(m, "squat") {
		t.Fatalf("with no one waiting: slots reclaimed %d, waiting %v, squat holds its slot %v", st.SlotsReclaimed, st.Waiting, holdsSlot(m, "squat"))
	}

	newTestMusician(t, r, "ana", musicianOpts{})
	if err := m.MusicianJoined("ana"); err != nil {
		t.Fatalf("ana refused although squat's slot was overdue: %v", err)
	}
	if st := m.Stats(); st.SlotsReclaimed != 1 || !slices.Equal(st.Waiting, []MusicianID{"squat"}) {
		t.Fatalf("slots reclaimed %d, waiting %v; want 1, [squat]", st.SlotsReclaimed, st.Waiting)
	}
	waitFor(t, "bridge connected to ana", bridgeConnected(m, "ana"))
	waitFor(t, "ana's audio", func() bool { return s.fromMic("ana") >= 25 })
}

// A musician who has connected and loses her connection (her network drops) keeps her slot
// while the bridge restarts ICE within her restart budget, however short the slot timeout and
// whoever waits; once she is back she plays on, and the one waiting still waits.
func TestReconnectingMusicianKeepsHerSlotWhileOthersWait(t *testing.T) {
	states := &stateLog{}
	m, s, cut := startCuttableIvy(t, func(cfg *Config) {
		cfg.OnStateChange = states.record
		cfg.SlotTimeout = time.Millisecond
	})
	waitFor(t, "ivy's audio", func() bool { return s.fromMic("ivy") >= 10 })
	if err := m.MusicianJoined("bob"); !errors.Is(err, ErrPeerCap) {
		t.Fatalf("bob joined past the cap: %v", err)
	}

	cut.Store(true)
	waitFor(t, "bridge to see the failure", func() bool { return slices.Contains(states.get("ivy"), webrtc.PeerConnectionStateFailed) })
	cut.Store(false)
	waitFor(t, "bridge reconnected to ivy", bridgeConnected(m, "ivy"))
	before := s.fromMic("ivy")
	waitFor(t, "ivy's audio after the restart", func() bool { return s.fromMic("ivy") >= before+25 })
	if st := m.Stats(); st.SlotsReclaimed != 0 || !slices.Equal(st.Waiting, []MusicianID{"bob"}) {
		t.Errorf("slots reclaimed %d, waiting %v; want 0, [bob]", st.SlotsReclaimed, st.Waiting)
	}
}

// Past her restart budget (the whole backoff once, then ConnectTimeout) a musician whose
// connection is gone gives her slot to the one waiting, and waits behind.
func TestMusicianGoneForHerWholeRestartBudgetGivesHerSlotUp(t *testing.T) {
	m, _, cut := startCuttableIvy(t, func(cfg *Config) {
		cfg.ConnectTimeout = time.Second
		cfg.SlotTimeout = time.Hour // her restart budget binds, not a new musician's
	})
	if err := m.MusicianJoined("bob"); !errors.Is(err, ErrPeerCap) {
		t.Fatalf("bob joined past the cap: %v", err)
	}
	cut.Store(true)
	waitFor(t, "ivy's slot given to bob", func() bool { return holdsSlot(m, "bob") })
	if st := m.Stats(); st.SlotsReclaimed != 1 || !slices.Equal(st.Waiting, []MusicianID{"ivy"}) || holdsSlot(m, "ivy") {
		t.Errorf("slots reclaimed %d, waiting %v, ivy holds a slot %v; want 1, [ivy], false", st.SlotsReclaimed, st.Waiting, holdsSlot(m, "ivy"))
	}
}

// startCuttableIvy starts a bridge with a cap of one musician on cuttableNetwork (set up by tune
// beyond that), ivy offering over it, and waits until the bridge is connected to her: cut drops
// every packet between them while set.
func startCuttableIvy(t *testing.T, tune func(*Config)) (*Manager, *sinks, *atomic.Bool) {
	t.Helper()
	bridgeNet, musicianNet, cut := cuttableNetwork(t)
	r, s := newTestRoom(t), &sinks{}
	cfg := bridgeConfig(t, r, s)
	cfg.Interfaces = nil
	cfg.net = bridgeNet
	cfg.MaxPeers = 1
	cfg.ICEDisconnectedTimeout, cfg.ICEFailedTimeout = 500*time.Millisecond, time.Second
	cfg.RestartBackoff = []time.Duration{100 * time.Millisecond}
	tune(&cfg)
	m := startManager(t, cfg, r)
	newTestMusician(t, r, "ivy", musicianOpts{offerFirst: true, net: musicianNet})
	if err := m.MusicianJoined("ivy"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "bridge connected to ivy", bridgeConnected(m, "ivy"))
	return m, s, cut
}
