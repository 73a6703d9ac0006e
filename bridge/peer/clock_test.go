package peer

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/ledbridge/ledbridge/bridge/room"
)

// fakeClock is a Clock whose time moves only when the test advances it.
type fakeClock struct {
	mu     sync.Mutex
	now    time.Time
	timers []*fakeTimer
}

type fakeTimer struct {
	fc   *fakeClock
	c    chan time.Time
	when time.Time
	done bool // fired or stopped; guarded by fc.mu
}

func newFakeClock() *fakeClock { return &fakeClock{now: time.Unix(1_764_000_000, 0)} }

// startFakeClockManager starts a manager on a test room with its timers on a fake clock; tweak,
// if not nil, adjusts the config first.
func startFakeClockManager(t *testing.T, tweak func(*Config)) (*Manager, *testRoom, *fakeClock) {
	t.Helper()
	requireLoopback(t)
	r, s := newTestRoom(t), &sinks{}
	fc := newFakeClock()
	cfg := bridgeConfig(t, r, s)
	cfg.Clock = fc
	if tweak != nil {
		tweak(&cfg)
	}
	return startManager(t, cfg, r), r, fc
}

func (f *fakeClock) Now() time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.now
}

func (f *fakeClock) NewTimer(d time.Duration) Timer {
	f.mu.Lock()
	defer f.mu.Unlock()
	t := &fakeTimer{fc: f, c: make(chan time.Time, 1), when: f.now.Add(d)}
	f.timers = append(f.timers, t)
	return t
}

func (t *fakeTimer) C() <-chan time.Time { return t.c }

func (t *fakeTimer) Stop() bool {
	t.fc.mu.Lock()
	defer t.fc.mu.Unlock()
	was := !t.done
	t.done = true
	return was
}

// Advance moves time on and fires the timers that are due.
func (f *fakeClock) Advance(d time.Duration) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.now = f.now.Add(d)
	for _, t := range f.timers {
		if !t.done && !t.when.After(f.now) {
			t.done = true
			t.c <- f.now
		}
	}
	f.timers = slices.DeleteFunc(f.timers, func(t *fakeTimer) bool { return t.done })
}

// hasTimer reports whether a pending timer fires exactly d from now.
func (f *fakeClock) hasTimer(d time.Duration) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, t := range f.timers {
		if !t.done && t.when.Sub(f.now) == d {
			return true
		}
	}
	return false
}

// The bridge offers OfferDelay after a musician appears; an offer that goes
// unanswered for ConnectTimeout is replaced by a fresh one. Stepped with a
// fake clock: nothing here waits for real time to pass.
func TestOfferDelayAndRetryWithFakeClock(t *testing.T) {
	m, r, fc := startFakeClockManager(t, func(c *Config) { c.OfferDelay = 0 }) // default, 2 s
	if err := m.MusicianJoined("fay"); err != nil {
		t.Fatal(err)
	}
	offers := func() []room.Signal {
		var out []room.Signal
		for _, sig := range r.bridgeSignals() {
			if sig.Type == room.SignalOffer {
				out = append(out, sig)
			}
		}
		return out
	}
	waitFor(t, "the offer-delay timer", func() bool { return fc.hasTimer(DefaultOfferDelay) })
	fc.Advance(DefaultOfferDelay - time.Millisecond)
	if !fc.hasTimer(time.Millisecond) || len(offers()) != 0 {
		t.Fatalf("offered before the delay: %d offers", len(offers()))
	}
	fc.Advance(time.Millisecond)
	waitFor(t, "the first offer", func() bool { return len(offers()) == 1 })
	waitFor(t, "the connect timeout", func() bool { return fc.hasTimer(DefaultConnectTimeout) })
	fc.Advance(DefaultConnectTimeout)
	waitFor(t, "a second offer", func() bool { return len(offers()) == 2 })
	o := offers()
	if u0, u1 := ufragOf(o[0].Description.SDP), ufragOf(o[1].Description.SDP); u0 == u1 {
		t.Errorf("the retry reused ICE ufrag %q", u0)
	}
	if st, _ := musicianStats(m, "fay"); st.ICERestarts != 0 {
		t.Errorf("an unanswered first offer counts as %d ICE restarts", st.ICERestarts)
	}
}

// A musician known only from its offer loses its slot if it never appears in
// Presence within PresenceGrace, its offer unanswered; one that appears keeps
// it and gets its answer then.
func TestPresenceGraceWithFakeClock(t *testing.T) {
	m, r, fc := startFakeClockManager(t, nil)
	sdp := anOffer(t)
	for _, id := range []string{"ghost", "late"} {
		m.HandleSignal(room.Signal{Type: room.SignalOffer, FromPeerID: id, TargetPeerID: bridgeID,
			Description: &room.SessionDescription{Type: "offer", SDP: withUfrag(sdp, id+"ufrag")}})
	}
	waitFor(t, "both slots taken", func() bool { return len(m.Stats().Musicians) == 2 })
	if err := m.MusicianJoined("late"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "late marked present and answered", func() bool {
		st, _ := musicianStats(m, "late")
		return st.InPresence && countSignals(r.bridgeSignals(), room.SignalAnswer, "late") == 1
	})
	fc.Advance(DefaultPresenceGrace)
	waitFor(t, "ghost released", func() bool { _, ok := musicianStats(m, "ghost"); return !ok })
	if _, ok := musicianStats(m, "late"); !ok {
		t.Error("late lost its slot although it is in Presence")
	}
	if n := countSignals(r.bridgeSignals(), room.SignalAnswer, "ghost"); n != 0 {
		t.Errorf("ghost, never in Presence, was answered %d times", n)
	}
}

func TestRestartBackoffSchedule(t *testing.T) {
	m, err := NewManager(Config{SelfID: "b", SendSignal: func(context.Context, room.Signal) error { return nil }})
	if err != nil {
		t.Fatal(err)
	}
	mus := newMusician(m, "x", true)
	var got []time.Duration
	for mus.attempt = 0; mus.attempt < 8; mus.attempt++ {
		got = append(got, mus.backoff())
	}
	want := []time.Duration{1, 2, 4, 8, 16, 30, 30, 30}
	for i := range want {
		want[i] *= time.Second
	}
	if !slices.Equal(got, want) {
		t.Fatalf("backoff = %v, want %v", got, want)
	}
}

// An offer that is never answered (a stuck or outdated tab that stays in Presence) is made
// again after ConnectTimeout, then at doubling intervals up to maxRetryWait, not every
// ConnectTimeout for ever.
func TestUnansweredOffersBackOff(t *testing.T) {
	m, r, fc := startFakeClockManager(t, func(c *Config) { c.OfferDelay = time.Millisecond })
	if err := m.MusicianJoined("tab"); err != nil {
		t.Fatal(err)
	}
	offers := func() int { return countSignals(r.bridgeSignals(), room.SignalOffer, "tab") }
	waitFor(t, "the offer-delay timer", func() bool { return fc.hasTimer(time.Millisecond) })
	fc.Advance(time.Millisecond)
	waitFor(t, "the first offer", func() bool { return offers() == 1 })
	var waits []time.Duration
	for n := 2; n <= 7; n++ {
		var wait time.Duration
		waitFor(t, "the retry timer", func() bool {
			for _, d := range []time.Duration{15, 30, 60, 120} {
				if fc.hasTimer(d * time.Second) {
					wait = d * time.Second
					return true
				}
			}
			return false
		})
		waits = append(waits, wait)
		fc.Advance(wait)
		waitFor(t, "the next offer", func() bool { return offers() == n })
	}
	want := []time.Duration{15 * time.Second, 15 * time.Second, 30 * time.Second, time.Minute, 2 * time.Minute, 2 * time.Minute}
	if !slices.Equal(waits, want) {
		t.Errorf("waits between unanswered offers %v, want %v", waits, want)
	}
}
