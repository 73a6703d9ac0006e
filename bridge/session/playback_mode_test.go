package session

import (
	"fmt"
	"strings"
	"testing"

	"github.com/ledbridge/ledbridge/analysis/effect"
	"github.com/ledbridge/ledbridge/bridge/room"
)

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
