package session

import (
	"fmt"
	"testing"
	"time"

	"github.com/ledbridge/ledbridge/analysis/color"
	"github.com/ledbridge/ledbridge/analysis/effect"
	"github.com/ledbridge/ledbridge/bridge/room"
)

// ticksShown counts, over the ticks of a run, how many showed each colour and how many times
// the strip changed from one to the other.
type ticksShown struct {
	of      map[color.RGB]int
	last    color.RGB
	changes int
}

func (c *ticksShown) note(px []color.RGB) {
	for _, col := range []color.RGB{red, blue} {
		if shows(px, col) {
			if c.of == nil {
				c.of = map[color.RGB]int{}
			}
			c.of[col]++
			if c.last != (color.RGB{}) && c.last != col {
				c.changes++
			}
			c.last = col
		}
	}
}

// Two tabs of the host: one in the foreground at 60 fps, one in the background that the browser
// throttles to a frame a second, its seq far below. The tab sending more frames is shown: the
// background tab's first frame looks like a reload and is taken, but the live tab wins back
// within a few frames, and the throttled tab's later frames are dropped as the other sender's.
func TestLEDUpdateLiveTabWinsOverAThrottledOne(t *testing.T) {
	r := newModeRig(t, effect.ModeBroadcast)
	fg, bg := int64(10000), int64(500)
	var c ticksShown
	for i := range 600 { // 10 s
		if i%60 == 30 {
			r.send(room.EventLEDUpdate, fmt.Sprintf(`{"colors":["#ff0000"],"seq":%d}`, bg))
			bg++
		}
		r.send(room.EventLEDUpdate, fmt.Sprintf(`{"colors":["#0000ff"],"seq":%d}`, fg))
		fg++
		r.run(time.Second / 60)
		c.note(r.pixels())
		if i > 90 && !shows(r.pixels(), blue) {
			t.Fatalf("tick %d, after the throttled tab's second frame: shown %v, want the live tab's blue", i, r.pixels()[0])
		}
	}
	if c.of[red] > 6 || c.changes > 2 {
		t.Fatalf("the throttled tab's red was shown %d ticks of 600 (the live tab's blue %d), the strip changed %d times; want at most 6 ticks, 2 changes",
			c.of[red], c.of[blue], c.changes)
	}
}

// Two tabs that both host at the same rate, with the jitter of a real room (now and then one tab's
// frames arrive two at a time): one picture holds, the one whose seq started again last.
func TestLEDUpdateEqualRateTabsDoNotFlicker(t *testing.T) {
	r := newModeRig(t, effect.ModeBroadcast)
	a, b := int64(5001), int64(1)
	var c ticksShown
	for i := range 600 { // 10 s
		r.send(room.EventLEDUpdate, fmt.Sprintf(`{"colors":["#ff0000"],"seq":%d}`, a))
		a++
		if i%7 == 3 { // b's frame held back a tick
			r.run(time.Second / 60)
			c.note(r.pixels())
			continue
		}
		for ; b <= int64(i)+1; b++ {
			r.send(room.EventLEDUpdate, fmt.Sprintf(`{"colors":["#0000ff"],"seq":%d}`, b))
		}
		r.run(time.Second / 60)
		c.note(r.pixels())
	}
	if c.changes > 1 || !shows(r.pixels(), blue) {
		t.Fatalf("the strip changed %d times (red %d ticks, blue %d), shows %v; want one change, to blue",
			c.changes, c.of[red], c.of[blue], r.pixels()[0])
	}
}

// A host that reloads is followed at once and for good, even though its old page had sent many
// more frames in the last seconds than the new one has.
func TestLEDUpdateReloadHoldsAgainstTheOldPagesCount(t *testing.T) {
	r := newModeRig(t, effect.ModeBroadcast)
	r.sendFrames(60, "#ff0000", 1000, 300)
	r.run(200 * time.Millisecond)
	r.liveFrames(t, "the reloaded page", "#0000ff", blue, 0, 1, 300)
	if d := r.s.dropped.broadcasts.Load(); d != 0 {
		t.Fatalf("%d frames dropped, want none", d)
	}
}
