package session

import (
	"fmt"
	"testing"
	"time"

	"github.com/ledbridge/ledbridge/analysis/effect"
	"github.com/ledbridge/ledbridge/bridge/room"
)

// sendFrames sends n led-updates of one colour at fps, seq from first on, ticking the loop
// between them.
func (r *modeRig) sendFrames(fps int, hex string, first, n int) {
	for seq := first; seq < first+n; seq++ {
		r.send(room.EventLEDUpdate, fmt.Sprintf(`{"colors":[%q],"seq":%d}`, hex, seq))
		r.run(time.Second / time.Duration(fps))
	}
}

// A host that reloads its page starts its seq again from 0 or 1, within a second or two of its
// old page's last frame. One sender's frames never arrive out of order beyond a REST fallback's
// interleave, so its first new frame is a restart, shown at once (README "Modes"), not held back
// as "overtaken" until the old page's frames are 2 s old.
func TestLEDUpdateReloadedHostIsFollowedAtOnce(t *testing.T) {
	for _, c := range []struct {
		fps, frames int // the old page's
		pause       time.Duration
		firstSeq    int
	}{
		{60, 300, 800 * time.Millisecond, 1}, // 5 s of frames at 60 fps
		{30, 300, 800 * time.Millisecond, 0}, // 10 s at 30 fps
		{60, 600, 1500 * time.Millisecond, 1},
		{30, 450, 500 * time.Millisecond, 1},
	} {
		t.Run(fmt.Sprintf("%dfps_%dframes_%v", c.fps, c.frames, c.pause), func(t *testing.T) {
			for _, mode := range []effect.Mode{effect.ModeBroadcast, effect.ModeAuto} {
				r := newModeRig(t, mode)
				r.sendFrames(c.fps, "#ff0000", 1, c.frames)
				if px := r.pixels(); !shows(px, red) {
					t.Fatalf("mode %v: the old page's frames not shown: %v", mode, px[0])
				}
				r.run(c.pause)
				r.sendFrames(c.fps, "#00ff00", c.firstSeq, 1)
				r.run(time.Second / 60)
				if px := r.pixels(); !shows(px, green) {
					t.Fatalf("mode %v: the reloaded page's first frame (seq %d, %v after the old page's seq %d): shown %v, want green at once",
						mode, c.firstSeq, c.pause, c.frames, px[0])
				}
				if d := r.s.dropped.broadcasts.Load(); d != 0 {
					t.Fatalf("mode %v: %d frames dropped, want none", mode, d)
				}
			}
		})
	}
}

// A frame that goes back a little is a straggler of the same host (a duplicate, or one sent over
// the REST fallback): it is dropped, and that is counted where every dropped broadcast is, on the
// status page and in /metrics.
func TestLEDUpdateOvertakenFramesAreCounted(t *testing.T) {
	r := newModeRig(t, effect.ModeBroadcast)
	r.sendFrames(60, "#ff0000", 5000, 10) // 5000…5009
	r.send(room.EventLEDUpdate, `{"colors":["#00ff00"],"seq":5009}`)
	r.send(room.EventLEDUpdate, `{"colors":["#00ff00"],"seq":5009}`)
	r.send(room.EventLEDUpdate, fmt.Sprintf(`{"colors":["#00ff00"],"seq":%d}`, 5009-ledSeqRestart))
	r.run(time.Second / 2)
	if px := r.pixels(); !shows(px, red) {
		t.Fatalf("shown %v, want the red frames: a straggler was taken", px[0])
	}
	if d := r.s.dropped.broadcasts.Load(); d != 3 {
		t.Fatalf("status page counts %d dropped broadcasts, want 3 stragglers", d)
	}
	if d := valueOf(t, r.s.met.dropped.WithLabelValues(room.EventLEDUpdate)); d != 3 {
		t.Fatalf(`ledbridge_room_dropped_messages_total{event="led-update"} = %v, want 3`, d)
	}
	// The tolerance is a REST round trip's interleave (half a second at 60 fps), no more.
	if ledSeqRestart > 30 {
		t.Fatalf("ledSeqRestart = %d: a reload is held back for up to that many frames", ledSeqRestart)
	}
}
