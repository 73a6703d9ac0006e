package session

import (
	"context"
	"log/slog"
	"testing"

	"github.com/ledbridge/ledbridge/bridge/realtime"
	"github.com/ledbridge/ledbridge/bridge/room"
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
