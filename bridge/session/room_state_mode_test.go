package session_test

import (
	"context"
	"testing"
	"time"

	"github.com/ledbridge/ledbridge/analysis/effect"
	"github.com/ledbridge/ledbridge/bridge/room"
)

// joinBand starts a participant that tracks a musician's Presence meta, as the web app does.
func joinBand(t *testing.T, r *rig, id, name string, isHost bool) *host {
	t.Helper()
	h := startHost(t, r, id)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := h.c.Track(ctx, room.Meta{Name: name, IsHost: isHost, JoinedAt: time.Now()}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, id+" in the bridge's Presence", func() bool { _, ok := r.musicianStatus(id); return ok })
	return h
}

func (h *host) leave(t *testing.T, r *rig, id string) {
	t.Helper()
	h.cancel()
	<-h.done
	waitFor(t, 10*time.Second, id+" gone from the bridge's Presence", func() bool { _, ok := r.musicianStatus(id); return !ok })
}

// A band stops the transport and leaves. The tempo and the stop were theirs: once the last
// musician has left, the room is back at its initial state, and the next band, jamming without
// the transport, lights the strips (README "Modes"). While one of the band is still in the room,
// the stop holds. The status page says what the strips show.
func TestRoomStateResetsWhenTheLastMusicianLeaves(t *testing.T) {
	r := newRig(t, effect.ModeBroadcast)

	band1 := joinBand(t, r, "band1-host", "Band 1", true)
	bass := joinBand(t, r, "band1-bass", "Band 1 bass", false)
	stopFrames := band1.ledFrames(t, "#ff0000", "#00ff00")
	waitFor(t, 10*time.Second, "band 1's frames on the strip", func() bool {
		fr := r.ddp.Frames()
		return len(fr) > 0 && showsRedGreen(fr[len(fr)-1], 3)
	})
	band1.send(t, room.EventTempoChange, map[string]any{"tempo": 90})
	band1.send(t, room.EventPlaybackControl, map[string]any{"isPlaying": false})
	waitFor(t, 10*time.Second, "the stop applied", func() bool {
		s := r.sess.Snapshot().Room
		return s.Tempo == 90 && !s.Playing && s.Look == "idle"
	})
	stopFrames()

	// The host leaves; its bass player stays: the stop and the tempo are still the room's.
	band1.leave(t, r, "band1-host")
	if s := r.sess.Snapshot().Room; s.Tempo != 90 || s.Playing || s.Look != "idle" {
		t.Fatalf("a musician is still in the room, yet the room state changed: %+v", s)
	}

	// The last of the band leaves: the room is back at its initial state.
	bass.leave(t, r, "band1-bass")
	if s := r.sess.Snapshot().Room; s.Tempo != room.DefaultState.Tempo || s.Playing != room.DefaultState.IsPlaying {
		t.Fatalf("the room is empty, yet its state is %+v, want tempo %v, playing %v", s, room.DefaultState.Tempo, room.DefaultState.IsPlaying)
	}

	// The next band's host sends frames and never presses play: they are shown.
	band2 := joinBand(t, r, "band2-host", "Band 2", true)
	stop := band2.ledFrames(t, "#ff0000", "#00ff00")
	defer stop()
	waitFor(t, 10*time.Second, "band 2's frames on the strip", func() bool {
		fr := r.ddp.Frames()
		return len(fr) > 0 && showsRedGreen(fr[len(fr)-1], 3) && r.sess.Snapshot().Room.Look == "broadcast"
	})
}
