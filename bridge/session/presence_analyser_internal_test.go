package session

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/pion/webrtc/v4"

	"github.com/ledbridge/ledbridge/bridge/realtime"
	"github.com/ledbridge/ledbridge/bridge/room"
)

// A musician's analyser (with its PCM buffer, about half a MiB) is built when her audio arrives,
// not when she appears in Presence: a Presence entry costs a client nothing, a flood of them
// (new keys, unreadable metas) would otherwise build and drop one per round, and a musician who
// never sends audio never needs one. Participants that are not musicians get no record at all.
func TestPresenceBuildsNoAnalyserUntilAudioArrives(t *testing.T) {
	s, hubURL := runJoinedSession(t)
	code := s.cfg.Code
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	metas := map[string]any{
		"quiet":  map[string]any{"name": "Quiet", "role": room.RoleMusician},
		"rogue":  map[string]any{"name": 7, "role": room.RoleMusician}, // fields it cannot read
		"viewer": map[string]any{"name": "Viewer", "role": "viewer"},
	}
	for key, meta := range metas {
		c, err := realtime.New(realtime.Config{URL: hubURL, APIKey: "anon", Channel: string(code), PresenceKey: key, Logger: slog.New(slog.DiscardHandler)})
		if err != nil {
			t.Fatal(err)
		}
		done := make(chan struct{})
		go func() { defer close(done); _ = c.Run(ctx) }()
		defer func() { cancel(); <-done }()
		waitUntil(t, key+" joined", func() bool { return c.State() == realtime.StateJoined })
		if err := c.Track(ctx, meta); err != nil {
			t.Fatal(err)
		}
	}
	record := func(id string) (m *musician, analysed bool) {
		s.mu.Lock()
		defer s.mu.Unlock()
		m = s.musicians[id]
		return m, m != nil && m.analyzer != nil
	}
	waitUntil(t, "quiet and rogue followed", func() bool {
		q, _ := record("quiet")
		r, _ := record("rogue")
		return q != nil && r != nil
	})
	for _, id := range []string{"quiet", "rogue"} {
		if _, analysed := record(id); analysed {
			t.Errorf("%s, in Presence without audio, has an analyser", id)
		}
	}
	if v, _ := record("viewer"); v != nil {
		t.Error("a viewer has a musician record")
	}

	// Her audio track arrives: the analyser is built before the stream is handed to the loop,
	// which is already ticking over her record.
	opus := webrtc.RTPCodecParameters{RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2}, PayloadType: 111}
	if sink := s.onTrack("quiet", opus); sink == nil {
		t.Fatal("no sink for quiet's track")
	}
	if _, analysed := record("quiet"); !analysed {
		t.Fatal("quiet's audio arrived and she has no analyser")
	}
	before := s.ticker.Stats().Ticks
	waitUntil(t, "the loop ticked over quiet's stream", func() bool { return s.ticker.Stats().Ticks > before+2 })
}

func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); !cond(); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting until %s", what)
		}
	}
}
