package session

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/ledbridge/ledbridge/analysis/effect"
	"github.com/ledbridge/ledbridge/bridge/room"
)

// A host whose seq or ts cannot be used (not whole, negative, past what a browser counts to
// exactly) still lights the strips: the field is ignored, the frame applied as if it had none,
// and the log says so once, at the default level.
func TestLEDUpdateUnusableSeqOrTSStillLights(t *testing.T) {
	for _, fields := range []string{`"seq":1.5`, `"seq":-1`, `"seq":9007199254740993`, `"seq":1e300`, `"seq":%d,"ts":-5`} {
		t.Run(fields, func(t *testing.T) {
			r := newModeRig(t, effect.ModeAuto)
			for i := 1; i <= 120; i++ {
				f := fields
				if strings.Contains(f, "%d") {
					f = fmt.Sprintf(f, i)
				}
				r.send(room.EventLEDUpdate, `{"colors":["#00ff00"],`+f+`}`)
				r.run(time.Second / 60)
			}
			if px := r.pixels(); !shows(px, green) || r.look() != "broadcast" {
				t.Fatalf("look %q, shown %v: want the host's green frames", r.look(), px[0])
			}
			if d := r.s.dropped.broadcasts.Load(); d != 0 {
				t.Fatalf("%d frames dropped, want none", d)
			}
			field := `\"seq\"`
			if strings.Contains(fields, "ts") {
				field = `\"ts\"`
			}
			if w := logLines(r.log.String(), "level=WARN", "led-update", field); len(w) != 1 {
				t.Fatalf("%d warnings naming the led-update's %s over 120 frames, want 1; log:\n%s", len(w), field, r.log.String())
			}
		})
	}
}

// Every dropped broadcast is said at the default level, with its event and why; a peer sending
// garbage as fast as the room relays it gets one line per badBroadcastLogEvery, which counts the
// others.
func TestDroppedBroadcastsWarnRateLimited(t *testing.T) {
	r := newModeRig(t, effect.ModeAuto)
	garbage := []struct{ event, payload, why string }{
		{room.EventLEDUpdate, `{"colors":5}`, "must be an array"},
		{room.EventTempoChange, `{"tempo":"fast"}`, "finite number"},
		{room.EventLEDUpdate, `{"colors":["red"]}`, "#rrggbb"}, // passes the room's check, not the colour parser
	}
	for _, g := range garbage {
		r.send(g.event, g.payload)
		if w := logLines(r.log.String(), "level=WARN", "event="+g.event, g.why); len(w) != 1 {
			t.Fatalf("%s %s: %d warnings saying it was dropped and why, want 1; log:\n%s", g.event, g.payload, len(w), r.log.String())
		}
		r.clock.work(badBroadcastLogEvery)
	}
	before := len(logLines(r.log.String(), "level=WARN"))
	for i := range 1000 {
		g := garbage[i%len(garbage)]
		r.send(g.event, g.payload)
	}
	if n := len(logLines(r.log.String(), "level=WARN")) - before; n != 1 {
		t.Fatalf("1000 invalid broadcasts at once: %d warnings, want 1", n)
	}
	r.clock.work(badBroadcastLogEvery)
	r.send(room.EventTempoChange, `{"tempo":"fast"}`)
	if w := logLines(r.log.String(), "level=WARN", "warnings_suppressed=999"); len(w) != 1 {
		t.Fatalf("the next warning does not count the 999 held back; log:\n%s", r.log.String())
	}
	if d := r.s.dropped.broadcasts.Load(); d != 1004 {
		t.Fatalf("%d broadcasts dropped, want 1004", d)
	}
}
