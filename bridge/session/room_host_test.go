package session_test

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ledbridge/ledbridge/analysis/effect"
	"github.com/ledbridge/ledbridge/bridge/room"
)

// PROTOCOL.md §3: state-response is sent by the host, or by any musician when there is no host
// (§2 elects the host). While the room has a host, another musician's state-response, or one that
// does not say who sent it, must not override the host's; once the host has left, any musician's
// is taken again. Each check is ordered after a tempo-change from the same sender, which any
// musician may send: that tempo showing means the state-response before it was handled.
func TestStateResponseIsTakenFromTheHostOnly(t *testing.T) {
	r := newRig(t, effect.ModeLocal)
	hostH := joinBand(t, r, "host-h", "Host", true)
	mus := joinBand(t, r, "mus-m", "Musician", false)

	hostH.send(t, room.EventStateResponse, map[string]any{
		"fromPeerId": "host-h", "targetPeerId": r.sess.PeerID(),
		"state": map[string]any{"tempo": 140, "isPlaying": true},
	})
	waitFor(t, 10*time.Second, "the host's state applied", func() bool {
		s := r.sess.Snapshot().Room
		return s.Tempo == 140 && s.Playing
	})

	for i, payload := range []map[string]any{
		{"fromPeerId": "mus-m", "state": map[string]any{"tempo": 120, "isPlaying": false}},
		{"fromPeerId": "mus-m", "targetPeerId": r.sess.PeerID(), "state": map[string]any{"tempo": 120, "isPlaying": false}},
		{"state": map[string]any{"tempo": 120, "isPlaying": false}}, // no fromPeerId: not shown to be the host's
	} {
		mus.send(t, room.EventStateResponse, payload)
		marker := float64(150 + i)
		mus.send(t, room.EventTempoChange, map[string]any{"tempo": marker})
		waitFor(t, 10*time.Second, fmt.Sprintf("the marker tempo %v", marker), func() bool { return r.sess.Snapshot().Room.Tempo == marker })
		if s := r.sess.Snapshot().Room; !s.Playing {
			t.Fatalf("a non-host's state-response %v was applied while host-h is the host: %+v", payload, s)
		}
	}

	// The host leaves: with no host, a musician's state-response is the room's state.
	hostH.leave(t, r, "host-h")
	mus.send(t, room.EventStateResponse, map[string]any{
		"fromPeerId": "mus-m", "targetPeerId": r.sess.PeerID(),
		"state": map[string]any{"tempo": 100, "isPlaying": false},
	})
	waitFor(t, 10*time.Second, "the musician's state applied once there is no host", func() bool {
		s := r.sess.Snapshot().Room
		return s.Tempo == 100 && !s.Playing
	})
}

// PROTOCOL.md §2: only a participant with no role, or role "musician", is a musician. A viewer
// whose meta the hub relays but that differs from what ledbridge itself sends (joinedAt in
// another ISO-8601 form or as a number, a meta of several KiB) keeps its role: it is neither
// followed as a musician nor given one of the places the session keeps for musicians.
func TestViewersWithUnusualMetasAreNotMusicians(t *testing.T) {
	r := newRig(t, effect.ModeLocal)
	viewers := map[string]string{
		"viewer-local-time": `{"name":"V1","isHost":false,"role":"viewer","joinedAt":"2026-11-26T19:17:08.381"}`,
		"viewer-hhmm":       `{"name":"V2","isHost":false,"role":"viewer","joinedAt":"2026-11-26T19:17:08+0100"}`,
		"viewer-number":     `{"name":"V3","isHost":false,"role":"viewer","joinedAt":1795720637000}`,
		"viewer-large":      `{"name":"V4","isHost":false,"role":"viewer","joinedAt":"2026-11-26T19:17:08.381Z","avatar":"` + strings.Repeat("A", 6<<10) + `"}`,
	}
	for id, meta := range viewers {
		v := startHost(t, r, id)
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		err := v.c.Track(ctx, json.RawMessage(meta))
		cancel()
		if err != nil {
			t.Fatalf("%s: track: %v", id, err)
		}
	}
	// Track returned once the room server had each viewer's meta, so the musician's join reaches
	// the session after all of them.
	joinBand(t, r, "mus-m", "Musician", false)
	if got := r.followed(); !slices.Equal(got, []string{"mus-m"}) {
		t.Fatalf("the session follows %v, want only mus-m", got)
	}
	// The numeric joinedAt is the one field that could not be read: counted once, as a bad meta.
	if d := r.sess.Snapshot().Dropped.Broadcasts; d != 1 {
		t.Errorf("dropped broadcasts %d, want 1 (viewer-number's joinedAt)", d)
	}
}
