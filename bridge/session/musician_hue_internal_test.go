package session

import (
	"context"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/ledbridge/ledbridge/bridge/peer"
	"github.com/ledbridge/ledbridge/bridge/realtime"
	"github.com/ledbridge/ledbridge/bridge/room"
	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"
)

// A musician's hue comes from her record's index. A page reload gives her a new peer id: her new
// record takes the index of her old one, still held away, by her name; any other new record
// takes the lowest index no record holds, so that hues stay spread over the musicians present
// however many have come and gone (an index that only grew gave every reload a new hue, and
// after a few one near a present musician's).
func TestMusicianIndexSurvivesReloadAndIsReused(t *testing.T) {
	s := newIdleSession(t)
	add := s.addPresenceRecord
	ana, bo := add("ana-tab1", "Ana"), add("bo", "Bo")
	if ana.index != 0 || bo.index != 1 {
		t.Fatalf("indexes %d, %d, want 0, 1", ana.index, bo.index)
	}

	// Ana reloads: her old record is away (its connection held) when the new one comes.
	s.mu.Lock()
	s.away[ana.id] = ana
	s.mu.Unlock()
	ana2 := add("ana-tab2", "Ana")
	if ana2.index != ana.index {
		t.Errorf("Ana after a reload has index %d, want her old %d", ana2.index, ana.index)
	}
	// Someone else arriving meanwhile does not take it, nor Bo's.
	cy := add("cy", "Cy")
	if cy.index != 2 {
		t.Errorf("Cy has index %d, want 2 (0 is Ana's, 1 Bo's)", cy.index)
	}

	// Her old record goes, then Bo leaves for good: the next musician takes Bo's place in
	// the hue order instead of a fourth.
	s.mu.Lock()
	delete(s.away, ana.id)
	s.dropMusicianLocked(ana)
	s.dropMusicianLocked(bo)
	s.mu.Unlock()
	if dee := add("dee", "Dee"); dee.index != 1 {
		t.Errorf("Dee has index %d, want 1, the lowest no record holds", dee.index)
	}
	// A name shared with a present (not away) musician is no reload: no index is shared.
	if ana3 := add("ana-other", "Ana"); ana3.index != 3 {
		t.Errorf("a second Ana, with Ana present, has index %d, want 3", ana3.index)
	}
}

// Over the room server: a musician who leaves Presence and comes back with a new key (her page
// reloaded) gets the index, so the hue, she had, with another musician present throughout.
func TestMusicianIndexAfterLeavingAndComingBack(t *testing.T) {
	s, hubURL := runJoinedSession(t)
	code := s.cfg.Code
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	join := func(key, name string) (leave func()) {
		cctx, ccancel := context.WithCancel(ctx)
		c, err := realtime.New(realtime.Config{URL: hubURL, APIKey: "anon", Channel: string(code), PresenceKey: key, Logger: slog.New(slog.DiscardHandler)})
		if err != nil {
			t.Fatal(err)
		}
		done := make(chan struct{})
		go func() { defer close(done); _ = c.Run(cctx) }()
		t.Cleanup(func() { ccancel(); <-done })
		waitUntil(t, key+" joined", func() bool { return c.State() == realtime.StateJoined })
		if err := c.Track(cctx, room.Meta{Name: name, Role: room.RoleMusician}); err != nil {
			t.Fatal(err)
		}
		return func() { ccancel(); <-done }
	}
	index := func(id string) int {
		s.mu.Lock()
		defer s.mu.Unlock()
		if m := s.musicians[id]; m != nil {
			return m.index
		}
		return -1
	}
	leaveAna := join("ana-tab1", "Ana")
	waitUntil(t, "Ana followed", func() bool { return index("ana-tab1") >= 0 })
	join("bo", "Bo")
	waitUntil(t, "Bo followed", func() bool { return index("bo") >= 0 })
	before := index("ana-tab1")

	for i, key := range []string{"ana-tab2", "ana-tab3", "ana-tab4"} {
		leaveAna()
		waitUntil(t, "Ana's old record gone", func() bool {
			for _, old := range []string{"ana-tab1", "ana-tab2", "ana-tab3"} {
				if index(old) >= 0 {
					return false
				}
			}
			return true
		})
		leaveAna = join(key, "Ana")
		waitUntil(t, "Ana followed again", func() bool { return index(key) >= 0 })
		if got := index(key); got != before {
			t.Errorf("after reload %d Ana has index %d, want %d (Bo: %d)", i+1, got, before, index("bo"))
		}
	}
}

// A record away while her audio still flows is a Realtime blip of a tab that comes back, not a
// reload: a newcomer of her name ("Guest") gets an index of his own, so that when she is back in
// Presence the two do not share a hue. Once her audio has stopped for reloadSilence, a new record
// of her name is her reloaded page and takes her index.
func TestMusicianIndexIsNotTakenFromAnAwayMusicianStillStreaming(t *testing.T) {
	clk := &steppedClock{now: time.Date(2026, 11, 27, 20, 0, 0, 0, time.UTC)}
	s := newIdleSession(t, func(c *Config) { c.Clock = clk })
	a := s.addPresenceRecord("guest-a", "Guest")
	s.addPresenceRecord("bo", "Bo")
	pcmu := webrtc.RTPCodecParameters{RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypePCMU, ClockRate: 8000}}
	sink := s.onTrack(peer.MusicianID(a.id), pcmu)
	if sink == nil {
		t.Fatal("no stream for guest-a's track")
	}
	pcm := make([]float32, 4800)
	var seq uint16
	stream := func() { // 100 ms of her audio, read as the frame loop reads it
		for range 5 {
			seq++
			sink.WriteRTP(&rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: 0, SequenceNumber: seq, Timestamp: uint32(seq) * 160, SSRC: 7},
				Payload: make([]byte, 160)})
			clk.advance(20 * time.Millisecond)
		}
		a.stream.Load().ReadPCM(pcm)
	}
	for range 10 {
		stream()
	}
	if st := a.stream.Load().Starved(); st != 0 {
		t.Fatalf("guest-a's stream starved %v while streaming", st)
	}

	s.mu.Lock()
	s.away[a.id] = a // her Realtime socket dropped; her connection is held
	s.mu.Unlock()
	c := s.addPresenceRecord("guest-c", "Guest")
	if c.index == a.index {
		t.Errorf("a newcomer named like guest-a, who still streams, took her index %d", a.index)
	}

	clk.advance(2 * reloadSilence) // her audio stops: her tab is gone
	a.stream.Load().ReadPCM(pcm)
	if d := s.addPresenceRecord("guest-d", "Guest"); d.index != a.index {
		t.Errorf("guest-d, named like guest-a whose audio stopped %v ago, has index %d, want hers %d", a.stream.Load().Starved(), d.index, a.index)
	}
}

// steppedClock is a session clock that moves only when the test advances it (never slept on here).
type steppedClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *steppedClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *steppedClock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

func (c *steppedClock) SleepUntil(ctx context.Context, _ time.Time) error {
	<-ctx.Done()
	return ctx.Err()
}
