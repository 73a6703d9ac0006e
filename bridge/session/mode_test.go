package session

import (
	"testing"
	"time"
)

func TestChooseLook(t *testing.T) {
	now := time.Unix(1000, 0)
	never := time.Time{}
	ago := func(d time.Duration) time.Time { return now.Add(-d) }
	cases := []struct {
		name         string
		mode         Mode
		audio, frame time.Time
		stopped      bool
		want         Look
	}{
		{"auto nothing yet", ModeAuto, never, never, false, LookIdle},
		{"auto audio fresh", ModeAuto, ago(100 * time.Millisecond), ago(10 * time.Millisecond), false, LookLocal},
		{"auto audio stale, frames fresh", ModeAuto, ago(1500 * time.Millisecond), ago(500 * time.Millisecond), false, LookBroadcast},
		{"auto audio just under a second", ModeAuto, ago(999 * time.Millisecond), never, false, LookLocal},
		{"auto audio a second old", ModeAuto, ago(time.Second), never, false, LookIdle},
		{"auto frames two seconds old", ModeAuto, never, ago(2 * time.Second), false, LookIdle},
		{"auto stopped", ModeAuto, ago(10 * time.Millisecond), never, true, LookIdle},
		{"local without audio stays local", ModeLocal, never, ago(10 * time.Millisecond), false, LookLocal},
		{"local stopped", ModeLocal, ago(10 * time.Millisecond), never, true, LookIdle},
		{"broadcast ignores audio", ModeBroadcast, ago(10 * time.Millisecond), ago(100 * time.Millisecond), false, LookBroadcast},
		{"broadcast without frames is idle", ModeBroadcast, ago(10 * time.Millisecond), never, false, LookIdle},
		{"broadcast plays frames even when stopped", ModeBroadcast, never, ago(10 * time.Millisecond), true, LookBroadcast},
	}
	for _, tc := range cases {
		if got := chooseLook(tc.mode, now, tc.audio, tc.frame, tc.stopped); got != tc.want {
			t.Errorf("%s: got %v, want %v", tc.name, got, tc.want)
		}
	}
}

func TestParseMode(t *testing.T) {
	for _, s := range []string{"auto", "local", "broadcast"} {
		m, err := ParseMode(s)
		if err != nil || m.String() != s {
			t.Errorf("ParseMode(%q) = %v, %v", s, m, err)
		}
	}
	if _, err := ParseMode("disco"); err == nil {
		t.Error("ParseMode accepted disco")
	}
}
