package room

import "testing"

// A broadcast reaches a web app's listener when the names are equal lower-cased in the browser's
// locale (supabase-js's RealtimeChannel._trigger); CanonicalEvent names the same listener.
func TestCanonicalEventFollowsSupabaseJSMatching(t *testing.T) {
	for _, c := range []struct {
		event, want string
		known       bool
	}{
		{"tempo-change", EventTempoChange, true},
		{"Tempo-Change", EventTempoChange, true},
		{"PLAYBACK-CONTROL", EventPlaybackControl, true},
		{"WebRTC-Signal", EventSignal, true},
		{"led-updat\u0130", "led-updat\u0130", false}, // İ lower-cases to "i̇" or "i": neither is "e"
		{"webrtc-s\u0130gnal", EventSignal, true},     // "i" in a Turkish locale
		{"state-\u212Aequest", "state-\u212Aequest", false},
		{"tempo-change ", "tempo-change ", false},
		{"tempo", "tempo", false},
		{"", "", false},
	} {
		got, known := CanonicalEvent(c.event)
		if got != c.want || known != c.known {
			t.Errorf("CanonicalEvent(%q) = %q, %v; want %q, %v", c.event, got, known, c.want, c.known)
		}
	}
	if n := testing.AllocsPerRun(100, func() { CanonicalEvent(EventLEDUpdate) }); n != 0 {
		t.Errorf("CanonicalEvent of a lower-case name allocates %v times", n)
	}
}
