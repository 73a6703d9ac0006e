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

// sendSeq sends one led-update of one colour with seq, then ticks the loop for one frame.
func (r *modeRig) sendSeq(hex string, seq int64) {
	r.send(room.EventLEDUpdate, fmt.Sprintf(`{"colors":[%q],"seq":%d}`, hex, seq))
	r.run(time.Second / 60)
}

// liveFrames sends n frames of one colour at 60 fps, seq going up by step from after on, and
// fails the test at the first that is not shown at once. It returns the last seq sent.
func (r *modeRig) liveFrames(t *testing.T, what, hex string, want color.RGB, after, step int64, n int) int64 {
	t.Helper()
	seq := after
	for i := range n {
		seq += step
		r.sendSeq(hex, seq)
		if px := r.pixels(); !shows(px, want) {
			t.Fatalf("%s: frame %d (seq %d) not shown: %v", what, i, seq, px[0])
		}
	}
	return seq
}

// noSecondSender fails the test if a second led-update sender was warned about.
func (r *modeRig) noSecondSender(t *testing.T) {
	t.Helper()
	if strings.Contains(r.log.String(), "two participants send led-update") {
		t.Fatalf("one host was taken for two senders:\n%s", r.log.String())
	}
}

// PROTOCOL.md §3 says only that seq is an increasing integer: a host may count frames, or use
// the milliseconds of performance.now() or Date.now() (+16 or 17 a frame at 60 fps). Distances
// are measured in the host's own step, so one REST straggler three frames (51 ms) late is a
// straggler, dropped, not a restart after which every live frame is "the other sender's".
func TestLEDUpdateMillisecondSeqStragglerIsDropped(t *testing.T) {
	r := newModeRig(t, effect.ModeBroadcast)
	seq := r.liveFrames(t, "ms host", "#ff0000", red, 60000, 17, 60)
	r.sendSeq("#00ff00", seq-51)
	if px := r.pixels(); !shows(px, red) {
		t.Fatalf("a straggler 3 frames (51 ms) late was shown: %v", px[0])
	}
	r.liveFrames(t, "after the straggler", "#0000ff", blue, seq, 17, 240)
	if d := r.s.dropped.broadcasts.Load(); d != 1 {
		t.Fatalf("%d frames dropped, want the straggler only", d)
	}
	r.noSecondSender(t)
}

// A host counting milliseconds reloads (its seq starts again), then misses one animation frame
// (+34): the jump is within its own rate, every live frame is shown.
func TestLEDUpdateMillisecondSeqReloadThenAMissedFrame(t *testing.T) {
	r := newModeRig(t, effect.ModeBroadcast)
	r.liveFrames(t, "before the reload", "#ff0000", red, 60000, 17, 60)
	r.run(300 * time.Millisecond)
	seq := r.liveFrames(t, "the reloaded page", "#00ff00", green, 300, 17, 30)
	r.liveFrames(t, "after a missed frame", "#0000ff", blue, seq+17, 17, 240)
	if d := r.s.dropped.broadcasts.Load(); d != 0 {
		t.Fatalf("%d frames dropped, want none", d)
	}
	r.noSecondSender(t)
}

// A reloaded page goes to the background at once: the browser throttles it to one frame a
// second, and a page whose seq follows time jumps 60 a frame. The jump is what its rate covers
// in the time since its last frame: followed, not dropped as the other sender's.
func TestLEDUpdateReloadedPageThrottledIsFollowed(t *testing.T) {
	r := newModeRig(t, effect.ModeBroadcast)
	r.sendFrames(60, "#ff0000", 1, 600)
	r.sendFrames(60, "#00ff00", 1, 10)
	seq := int64(10)
	for i := range 8 {
		r.run(time.Second - time.Second/60)
		seq += 60
		r.sendSeq("#0000ff", seq)
		if px := r.pixels(); !shows(px, blue) {
			t.Fatalf("the throttled page's frame %d (seq %d) not shown: %v", i, seq, px[0])
		}
	}
	if d := r.s.dropped.broadcasts.Load(); d != 0 {
		t.Fatalf("%d frames dropped, want none", d)
	}
	r.noSecondSender(t)
}

// The other sender is forgotten 2 s after its own last frame: the followed sender's frames do not
// keep it alive. A host that reloaded, whose old page then stopped, may later jump its seq
// forward (a counter reset to the clock): once the old page has been silent 2 s, that is
// followed.
func TestLEDUpdateOtherSenderForgottenAfterItsOwnLastFrame(t *testing.T) {
	r := newModeRig(t, effect.ModeBroadcast)
	r.sendFrames(60, "#ff0000", 5000, 60) // the old page, stopped at 5059
	seq := r.liveFrames(t, "the reloaded page", "#00ff00", green, 0, 1, 180)
	r.liveFrames(t, "a jump past the old page's seq", "#0000ff", blue, seq+6000, 1, 60)
	if d := r.s.dropped.broadcasts.Load(); d != 0 {
		t.Fatalf("%d frames dropped, want none", d)
	}
}

// Decoding and taking a led-update allocates nothing, whatever the host's seq: a frame counter,
// milliseconds (with a straggler now and then), or performance.now() unrounded, a fractional seq
// applied as if there were none.
func TestLEDUpdateAnySeqAllocatesNothing(t *testing.T) {
	if raceDetectorOn {
		// encoding/json keeps its scanners in a sync.Pool, which the race detector empties at
		// random; .ci/test runs this test again on a normal build.
		t.Skip("allocation counts are not meaningful under the race detector")
	}
	r := newModeRig(t, effect.ModeBroadcast)
	var seq float64 = 60000
	next := map[string]func() string{
		"counter":      func() string { seq++; return fmt.Sprintf("%d", int64(seq)) },
		"milliseconds": func() string { seq += 17; return fmt.Sprintf("%d", int64(seq)) },
		"fractional":   func() string { seq += 16.667; return fmt.Sprintf("%.3f", seq) },
	}
	for name, step := range next {
		payloads := make([][]byte, 64)
		for i := range payloads {
			s := step()
			if i%8 == 7 { // a straggler (or, for the counter, a restart)
				s = fmt.Sprintf("%d", int64(seq)-34)
			}
			payloads[i] = []byte(`{"colors":["#12ab34","#000000"],"seq":` + s + `}`)
		}
		for _, p := range payloads[:8] { // warm up
			u, err := room.DecodeLEDUpdate(p)
			if err != nil {
				t.Fatal(err)
			}
			r.clock.work(time.Second / 60)
			r.s.applyLEDUpdate(u)
		}
		i := 8
		allocs := testing.AllocsPerRun(len(payloads)-9, func() {
			u, err := room.DecodeLEDUpdate(payloads[i])
			if err != nil {
				t.Fatal(err)
			}
			i++
			r.clock.work(time.Second / 60)
			r.s.applyLEDUpdate(u)
		})
		if allocs > 0 {
			t.Errorf("%s seq: %.1f allocations per frame", name, allocs)
		}
	}
}

// A reloaded page whose seq then jumps forward, not as far as its old page had reached (a page
// that derives its seq from time, throttled the moment it loaded), while the old page's frames
// are still recent: the jump does not continue the old page's sequence, so it is the followed
// page's own, shown, not dropped as another sender's.
func TestLEDUpdateReloadedPageJumpingBelowItsOldSeqIsFollowed(t *testing.T) {
	r := newModeRig(t, effect.ModeBroadcast)
	r.sendFrames(60, "#ff0000", 1, 600)
	r.sendFrames(60, "#00ff00", 1, 10)
	seq := int64(10)
	for i := range 8 {
		seq += 60
		r.sendSeq("#0000ff", seq)
		if px := r.pixels(); !shows(px, blue) {
			t.Fatalf("the reloaded page's frame %d (seq %d, its old page reached 600) not shown: %v", i, seq, px[0])
		}
		r.run(time.Second - time.Second/60)
	}
	if d := r.s.dropped.broadcasts.Load(); d != 0 {
		t.Fatalf("%d frames dropped, want none", d)
	}
	r.noSecondSender(t)
}
