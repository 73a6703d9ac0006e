package session

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/ledbridge/ledbridge/analysis/color"
	"github.com/ledbridge/ledbridge/analysis/effect"
	"github.com/ledbridge/ledbridge/bridge/room"
)

// twoSenders sends, for frames rounds at 30 fps each, one led-update of sender a (red, seq from
// aSeq on) and one of sender b (blue, seq from bSeq on), 1/60 s apart, as two host tabs do, and
// returns how many times the strip changed between red and blue.
func (r *modeRig) twoSenders(rounds int, aSeq, bSeq int64) (changes int) {
	var last color.RGB
	note := func() {
		for _, c := range []color.RGB{red, blue} {
			if shows(r.pixels(), c) {
				if last != (color.RGB{}) && last != c {
					changes++
				}
				last = c
			}
		}
	}
	for i := range int64(rounds) {
		r.send(room.EventLEDUpdate, fmt.Sprintf(`{"colors":["#ff0000"],"seq":%d}`, aSeq+i))
		r.run(time.Second / 60)
		note()
		r.send(room.EventLEDUpdate, fmt.Sprintf(`{"colors":["#0000ff"],"seq":%d}`, bSeq+i))
		r.run(time.Second / 60)
		note()
	}
	return changes
}

// Two led-update senders at once (two tabs that both think they host, or a new host while the
// old tab still sends): a broadcast names no sender, but one sender's frames arrive in order, so
// the one whose seq went back restarted last and is followed; the other's frames, far ahead of
// its seq, are dropped and counted while it keeps sending. One picture holds, not a flicker
// between the two.
func TestLEDUpdateTwoSendersOnePictureHolds(t *testing.T) {
	for _, c := range []struct {
		name       string
		aSeq, bSeq int64
	}{
		{"new host from 1 beside an old tab at 5000", 5001, 1},
		{"two tabs 31 apart", 1031, 1000},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := newModeRig(t, effect.ModeBroadcast)
			const rounds = 120 // 4 s
			changes := r.twoSenders(rounds, c.aSeq, c.bSeq)
			if changes > 1 {
				t.Fatalf("the strip changed %d times between the two senders' colours over 4 s, want at most once", changes)
			}
			if px := r.pixels(); !shows(px, blue) {
				t.Fatalf("shown %v, want blue: the sender whose seq went back (restarted) is followed", px[0])
			}
			// The first red frame was taken (nothing to compare it with); every later one dropped.
			if d := r.s.dropped.broadcasts.Load(); d != rounds-1 {
				t.Fatalf("%d frames dropped, want the other sender's %d", d, rounds-1)
			}
			if d := valueOf(t, r.s.met.dropped.WithLabelValues(room.EventLEDUpdate)); d != rounds-1 {
				t.Fatalf(`ledbridge_room_dropped_messages_total{event="led-update"} = %v, want %d`, d, rounds-1)
			}
			if !strings.Contains(r.log.String(), "level=WARN") || strings.Count(r.log.String(), "led-update") != 1 {
				t.Fatalf("want one warning about two led-update senders, log:\n%s", r.log.String())
			}
		})
	}
}

// The followed sender stops (a host tab closed) while the other keeps sending: once the followed
// sequence has paused for effect.BroadcastFresh, the other's frames are taken again; and when the
// first comes back, its seq goes back, a restart taken at once.
func TestLEDUpdateOtherSenderTakenAfterAPause(t *testing.T) {
	r := newModeRig(t, effect.ModeBroadcast)
	r.twoSenders(30, 5001, 1) // following blue, seq 1…30
	for i := range int64(3 * 30) {
		r.send(room.EventLEDUpdate, fmt.Sprintf(`{"colors":["#ff0000"],"seq":%d}`, 5031+i))
		r.run(time.Second / 30)
	}
	if px := r.pixels(); !shows(px, red) {
		t.Fatalf("3 s after the followed sender's last frame, shown %v, want the other sender's red", px[0])
	}
	r.send(room.EventLEDUpdate, `{"colors":["#0000ff"],"seq":31}`)
	r.run(time.Second / 60)
	if px := r.pixels(); !shows(px, blue) {
		t.Fatalf("the first sender back (seq 31 after 5120): shown %v, want its blue at once", px[0])
	}
}

// A restart is no reason to drop the restarted sender's own frames when they climb past the seq
// the old sequence had reached (a reloaded page, its old tab gone); nor does a sender whose seq
// jumps forward without any restart lose its picture.
func TestLEDUpdateSeqForwardFollowed(t *testing.T) {
	t.Run("reloaded page passes its old seq", func(t *testing.T) {
		r := newModeRig(t, effect.ModeBroadcast)
		r.sendFrames(60, "#ff0000", 1, 100)
		r.run(500 * time.Millisecond)
		r.sendFrames(60, "#00ff00", 1, 99)
		for seq := int64(100); seq <= 130; seq++ {
			r.send(room.EventLEDUpdate, fmt.Sprintf(`{"colors":["#0000ff"],"seq":%d}`, seq))
			r.run(time.Second / 60)
			r.s.mu.Lock()
			taken := r.s.ledSeq
			r.s.mu.Unlock()
			if taken != seq {
				t.Fatalf("the reloaded page's seq %d (its old page reached 100): the last frame taken is seq %d", seq, taken)
			}
		}
		if px := r.pixels(); !shows(px, blue) {
			t.Fatalf("shown %v, want the reloaded page's blue", px[0])
		}
		if d := r.s.dropped.broadcasts.Load(); d != 0 {
			t.Fatalf("%d frames dropped, want none", d)
		}
	})
	t.Run("jump forward", func(t *testing.T) {
		r := newModeRig(t, effect.ModeBroadcast)
		r.sendFrames(60, "#ff0000", 100, 10)
		r.sendFrames(60, "#00ff00", 5000, 1)
		r.run(time.Second / 60)
		if px := r.pixels(); !shows(px, green) {
			t.Fatalf("seq 5000 after 109: shown %v, want green", px[0])
		}
		r.sendFrames(60, "#0000ff", 5001, 1)
		if px := r.pixels(); !shows(px, blue) {
			t.Fatalf("seq 5001: shown %v, want blue", px[0])
		}
	})
}
