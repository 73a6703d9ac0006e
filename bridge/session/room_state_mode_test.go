package session_test

import (
	"context"
	"testing"
	"time"

	"github.com/ledbridge/ledbridge/analysis/effect"
	"github.com/ledbridge/ledbridge/bridge/realtime/hub"
	"github.com/ledbridge/ledbridge/bridge/room"
	"github.com/ledbridge/ledbridge/bridge/session"
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

// A band stops the transport and leaves. The tempo and the stop were theirs: once the room has
// been empty for EmptyRoomReset, the next band finds it at its initial state and, jamming without
// the transport, lights the strips (README "Modes"). While one of the band is still in the room,
// the stop holds. The status page says what the strips show.
func TestRoomStateResetsWhenTheLastMusicianLeaves(t *testing.T) {
	const emptyReset = 200 * time.Millisecond
	r := newRigWith(t, effect.ModeBroadcast, hub.Config{}, func(c *session.Config) { c.EmptyRoomReset = emptyReset })

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

	// The last of the band leaves, and the room stays empty for longer than EmptyRoomReset.
	bass.leave(t, r, "band1-bass")
	time.Sleep(2 * emptyReset)

	// The next band's host joins: the room is back at its initial state, and its frames, sent
	// without ever pressing play, are shown.
	band2 := joinBand(t, r, "band2-host", "Band 2", true)
	if s := r.sess.Snapshot().Room; s.Tempo != room.DefaultState.Tempo || s.Playing != room.DefaultState.IsPlaying {
		t.Fatalf("a new band joined an emptied room, yet its state is %+v, want tempo %v, playing %v", s, room.DefaultState.Tempo, room.DefaultState.IsPlaying)
	}
	stop := band2.ledFrames(t, "#ff0000", "#00ff00")
	defer stop()
	waitFor(t, 10*time.Second, "band 2's frames on the strip", func() bool {
		fr := r.ddp.Frames()
		return len(fr) > 0 && showsRedGreen(fr[len(fr)-1], 3) && r.sess.Snapshot().Room.Look == "broadcast"
	})
}

// The room's last musician reloads the page (Presence: a leave, then a join with the same
// peerId moments later): the room was never empty for long, and the tempo and the stop it set
// stay.
func TestRoomStateKeptWhenTheLastMusicianComesStraightBack(t *testing.T) {
	r := newRig(t, effect.ModeBroadcast) // EmptyRoomReset: the default 30 s
	solo := joinBand(t, r, "solo-host", "Solo", true)
	solo.send(t, room.EventTempoChange, map[string]any{"tempo": 90})
	solo.send(t, room.EventPlaybackControl, map[string]any{"isPlaying": false})
	waitFor(t, 10*time.Second, "the stop applied", func() bool {
		s := r.sess.Snapshot().Room
		return s.Tempo == 90 && !s.Playing
	})
	solo.leave(t, r, "solo-host")
	joinBand(t, r, "solo-host", "Solo", true)
	if s := r.sess.Snapshot().Room; s.Tempo != 90 || s.Playing || s.Look != "idle" {
		t.Fatalf("after the last musician's reload the room state is %+v, want tempo 90, stopped", s)
	}
}
