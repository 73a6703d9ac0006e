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

// Auto mode follows PROTOCOL.md §5's rules, written here as the spec states them and not as the
// package's constants (a test reading AudioFresh would follow any value it were changed to):
// local while audio has arrived in the last second; otherwise the host's frames if one arrived
// in the last 2 s; otherwise idle. Each edge is checked a millisecond inside and outside.
func TestAutoModeKeepsTheProtocolsOneAndTwoSecondRules(t *testing.T) {
	const (
		audioRule = time.Second     // PROTOCOL.md §5: "local while audio has arrived in the last second"
		frameRule = 2 * time.Second // "the latest led-update frames if any arrived in the last 2 s"
		ms        = time.Millisecond
	)
	never := time.Time{}
	now := t0
	for _, c := range []struct {
		name        string
		audio, leds time.Time
		want        Look
	}{
		{"audio just inside 1 s, no frames", now.Add(-audioRule + ms), never, LookLocal},
		{"audio just outside 1 s, no frames", now.Add(-audioRule - ms), never, LookIdle},
		{"audio just inside 1 s, a fresh frame", now.Add(-audioRule + ms), now, LookLocal},
		{"audio just outside 1 s, a fresh frame", now.Add(-audioRule - ms), now, LookBroadcast},
		{"no audio, frame just inside 2 s", never, now.Add(-frameRule + ms), LookBroadcast},
		{"no audio, frame just outside 2 s", never, now.Add(-frameRule - ms), LookIdle},
		{"stale audio, frame just inside 2 s", now.Add(-audioRule - ms), now.Add(-frameRule + ms), LookBroadcast},
		{"stale audio, frame just outside 2 s", now.Add(-audioRule - ms), now.Add(-frameRule - ms), LookIdle},
	} {
		if got := ChooseLook(ModeAuto, now, c.audio, c.leds); got != c.want {
			t.Errorf("%s: %v, want %v", c.name, got, c.want)
		}
	}
}

// ModeLocal shows the idle look before any audio and once none has arrived for LocalHold, and the
// local look through shorter pauses. Host frames never matter to it.
func TestLocalModeShowsIdleWithoutAudio(t *testing.T) {
	lastAudio := t0
	frame := t0 // a fresh led-update does not pull local mode to the broadcast look
	if got := ChooseLook(ModeLocal, t0, time.Time{}, frame); got != LookIdle {
		t.Errorf("before any audio: %v, want %v", got, LookIdle)
	}
	for _, c := range []struct {
		after time.Duration
		want  Look
	}{
		{0, LookLocal},
		{AudioFresh + time.Second, LookLocal}, // past auto mode's freshness, still local
		{LocalHold, LookLocal},
		{LocalHold + time.Millisecond, LookIdle},
		{24 * time.Hour, LookIdle},
	} {
		now := lastAudio.Add(c.after)
		if got := ChooseLook(ModeLocal, now, lastAudio, frame); got != c.want {
			t.Errorf("%v after the last audio: %v, want %v", c.after, got, c.want)
		}
	}
}
