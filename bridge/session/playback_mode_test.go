package session

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/ledbridge/ledbridge/analysis/effect"
	"github.com/ledbridge/ledbridge/bridge/room"
)

// A stopped transport fades every look to idle, and the status page says so.
func TestPlaybackStopShowsIdleOnTheStatusPage(t *testing.T) {
	r := newModeRig(t, effect.ModeBroadcast)
	r.send(room.EventLEDUpdate, `{"colors":["#00ff00"],"seq":1}`)
	r.run(time.Second)
	if px := r.pixels(); !shows(px, green) || r.look() != "broadcast" {
		t.Fatalf("look %q, shown %v, want the host's frame", r.look(), px[0])
	}
	r.send(room.EventPlaybackControl, `{"isPlaying":false}`)
	r.send(room.EventLEDUpdate, `{"colors":["#00ff00"],"seq":2}`)
	r.run(time.Second) // the crossfade
	if !r.idleFor(3*time.Second) || r.look() != "idle" {
		t.Fatalf("stopped: look %q, shown %v, want idle", r.look(), r.pixels()[0])
	}
	r.send(room.EventPlaybackControl, `{"isPlaying":true}`)
	r.send(room.EventLEDUpdate, `{"colors":["#00ff00"],"seq":3}`)
	r.run(time.Second)
	if px := r.pixels(); !shows(px, green) || r.look() != "broadcast" {
		t.Fatalf("playing again: look %q, shown %v, want the host's frame", r.look(), px[0])
	}
}

// Any participant can send playback-control as fast as the room relays it: the log gets a line
// per change of state, at most one per playbackLogEvery, which counts the changes held back.
func TestPlaybackControlFloodLogsLittle(t *testing.T) {
	r := newModeRig(t, effect.ModeAuto)
	lines := func() []string {
		var out []string
		for _, l := range strings.Split(r.log.String(), "\n") {
			if strings.Contains(l, "msg=playback ") {
				out = append(out, l)
			}
		}
		return out
	}
	for i := range 500 { // 5 s of 100 a second, alternating
		r.send(room.EventPlaybackControl, fmt.Sprintf(`{"isPlaying":%v}`, i%2 == 0))
		r.clock.work(playbackLogEvery / 500)
	}
	if got := lines(); len(got) != 1 || !strings.Contains(got[0], "playing=true") {
		t.Fatalf("500 changes in %v logged %d lines, want the first one:\n%s", playbackLogEvery, len(got), strings.Join(got, "\n"))
	}
	// The last one (a stop) is in force; repeating it is no change, and logs nothing.
	r.clock.work(playbackLogEvery)
	for range 100 {
		r.send(room.EventPlaybackControl, `{"isPlaying":false}`)
	}
	if got := lines(); len(got) != 1 {
		t.Fatalf("a repeated stop logged: %s", strings.Join(got, "\n"))
	}
	r.send(room.EventPlaybackControl, `{"isPlaying":true}`)
	got := lines()
	if len(got) != 2 || !strings.Contains(got[1], "playing=true") || !strings.Contains(got[1], "changes_suppressed=499") {
		t.Fatalf("the next change logged %q, want playing=true with the 499 changes held back", got[1:])
	}
}

// A Presence table read while ledbridge is not in the room (not joined yet, or reconnecting) is
// no proof that the band left: the room's state stays.
func TestRoomStateKeptWhenNotJoined(t *testing.T) {
	r := newModeRig(t, effect.ModeAuto)
	r.send(room.EventTempoChange, `{"tempo":90}`)
	r.send(room.EventPlaybackControl, `{"isPlaying":false}`)
	r.s.mu.Lock()
	r.s.roomHadMusicians = true // the band was in the room when the connection dropped
	r.s.mu.Unlock()
	r.s.syncPresence() // the client is not running: not joined, an empty table
	r.run(time.Second)
	if got := r.s.Snapshot().Room; got.Tempo != 90 || got.Playing || got.Look != "idle" {
		t.Fatalf("room state after a sync while not joined: %+v, want tempo 90 and stopped", got)
	}
	r.s.mu.Lock()
	stopped := r.s.stopped
	r.s.mu.Unlock()
	if !stopped {
		t.Fatal("the stop was cleared by a Presence table read while not joined")
	}
}
