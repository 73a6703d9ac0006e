package room

import (
	"strings"
	"unicode/utf8"
)

// eventNames are the events CanonicalEvent knows.
var eventNames = [...]string{EventSignal, EventTempoChange, EventPlaybackControl, EventStateRequest, EventStateResponse, EventLEDUpdate}

// CanonicalEvent returns the PROTOCOL.md §3 event whose listeners a broadcast named event reaches
// in a web app, and whether there is one. supabase-js hands a broadcast to
// on('broadcast', {event}) when the two names are equal lower-cased in the browser's locale
// (toLocaleLowerCase in RealtimeChannel._trigger), so "Tempo-Change" changes every web client's
// tempo: the bridge must follow it too. Go's ToLower maps as JavaScript's toLowerCase does for
// these names, and FoldTurkicI adds what a Turkish or Azerbaijani locale maps besides.
func CanonicalEvent(event string) (string, bool) {
	lower := strings.ToLower(event) // no allocation when event has no upper case
	turkic := lower
	if folded := FoldTurkicI(event); folded != event {
		turkic = strings.ToLower(folded)
	}
	for _, name := range eventNames {
		if lower == name || turkic == name {
			return name, true
		}
	}
	return event, false
}

// FoldTurkicI is event with what toLocaleLowerCase turns into a plain "i" in a Turkish or
// Azerbaijani locale only (Unicode's SpecialCasing.txt: İ, and I followed by a combining dot
// above) replaced by "i". An ASCII name is returned as it is, without allocating.
func FoldTurkicI(event string) string {
	if isASCII(event) {
		return event
	}
	return turkicDottedI.Replace(event)
}

var turkicDottedI = strings.NewReplacer("\u0130", "i", "I\u0307", "i")

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}
