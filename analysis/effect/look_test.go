package effect

import (
	"testing"
	"time"
)

// ModeBroadcast keeps the host's last frame through a pause of up to BroadcastHold, then, the host
// being gone, shows the idle look rather than that frame for ever. Audio never matters to it.
func TestBroadcastModeHoldsTheLastFrame(t *testing.T) {
	lastFrame := t0
	audio := t0 // fresh audio does not pull broadcast mode to the local look
	for _, c := range []struct {
		after time.Duration
		want  Look
	}{
		{0, LookBroadcast},
		{BroadcastFresh + time.Second, LookBroadcast}, // past auto mode's freshness, still held
		{BroadcastHold, LookBroadcast},
		{BroadcastHold + time.Millisecond, LookIdle},
		{24 * time.Hour, LookIdle},
	} {
		now := lastFrame.Add(c.after)
		if got := ChooseLook(ModeBroadcast, now, audio, lastFrame); got != c.want {
			t.Errorf("%v after the last frame: %v, want %v", c.after, got, c.want)
		}
	}
	if BroadcastHold <= BroadcastFresh {
		t.Errorf("BroadcastHold %v is not longer than auto mode's BroadcastFresh %v", BroadcastHold, BroadcastFresh)
	}
}

// Auto mode keeps PROTOCOL.md §5's 2 s rule for the host's frames: the hold is broadcast mode's.
func TestAutoModeDropsHostFramesAfterTwoSeconds(t *testing.T) {
	never := time.Time{}
	if got := ChooseLook(ModeAuto, t0.Add(BroadcastFresh), never, t0); got != LookBroadcast {
		t.Errorf("auto, frame %v old: %v, want broadcast", BroadcastFresh, got)
	}
	if got := ChooseLook(ModeAuto, t0.Add(BroadcastFresh+time.Millisecond), never, t0); got != LookIdle {
		t.Errorf("auto, frame just over %v old: %v, want idle", BroadcastFresh, got)
	}
}
