package effect

import (
	"fmt"
	"time"
)

// Look is what a strip shows in one tick.
type Look int

const (
	// LookUnknown is the zero value; a Renderer shows it as LookIdle.
	LookUnknown Look = iota
	// LookLocal renders the configured effect from the analysed audio.
	LookLocal
	// LookBroadcast shows the host's latest led-update colours.
	LookBroadcast
	// LookIdle shows the idle look.
	LookIdle
	numLooks
)

func (l Look) String() string {
	switch l {
	case LookLocal:
		return "local"
	case LookBroadcast:
		return "broadcast"
	case LookIdle:
		return "idle"
	}
	return "unknown"
}

// Mode is the LED visualisation mode of PROTOCOL.md §5.
type Mode int

const (
	// ModeUnknown is the zero value: use ModeAuto.
	ModeUnknown Mode = iota
	// ModeAuto shows local effects while audio arrives, else the host's frames
	// while they arrive, else the idle look.
	ModeAuto
	// ModeLocal renders from the analysed audio, and shows the idle look until audio arrives
	// and once none has arrived for LocalHold.
	ModeLocal
	// ModeBroadcast applies the host's led-update frames, and shows the idle look
	// once none has arrived for BroadcastHold.
	ModeBroadcast
)

func (m Mode) String() string {
	switch m {
	case ModeAuto:
		return "auto"
	case ModeLocal:
		return "local"
	case ModeBroadcast:
		return "broadcast"
	}
	return "unknown"
}

// ParseMode reads a mode name ("" = auto).
func ParseMode(s string) (Mode, error) {
	switch s {
	case "auto", "":
		return ModeAuto, nil
	case "local":
		return ModeLocal, nil
	case "broadcast":
		return ModeBroadcast, nil
	}
	return ModeUnknown, fmt.Errorf("effect: parse mode %q: %w", s, ErrBadConfig)
}

// How recent audio and host frames must be for ModeAuto (PROTOCOL.md §5).
const (
	AudioFresh     = time.Second
	BroadcastFresh = 2 * time.Second
)

// BroadcastHold is how long ModeBroadcast keeps showing the host's last led-update frame once
// frames stop coming; after it, the idle look. A host that merely pauses (a tab in the background
// sends nothing while the browser throttles it, a reconnect) keeps its picture on the strips, but
// one that has left does not leave its last frame lit for ever. It is longer than BroadcastFresh,
// since in ModeBroadcast there is nothing else to fall back to but idle.
const BroadcastHold = 10 * time.Second

// LocalHold is how long ModeLocal keeps the local look once audio stops: through a pause in the
// music the strips stay with the notes (dark between them), but a room where nobody plays, before
// the band connects or after it has left, shows the idle look, as the other modes do, rather
// than strips so dark that the bridge looks dead (review 308).
const LocalHold = 10 * time.Second

// ChooseLook picks the look for mode at now, given when audio last arrived
// and when the last led-update frame arrived (zero times mean never).
// Playback state is not considered here: the Renderer fades to idle whenever
// Input.Playing is false, whatever the look.
func ChooseLook(mode Mode, now, lastAudio, lastLEDUpdate time.Time) Look {
	switch mode {
	case ModeLocal:
		if lastAudio.IsZero() || now.Sub(lastAudio) > LocalHold {
			return LookIdle // nobody has played yet, or for a while
		}
		return LookLocal
	case ModeBroadcast:
		if lastLEDUpdate.IsZero() || now.Sub(lastLEDUpdate) > BroadcastHold {
			return LookIdle // nothing to show yet, or the host is gone
		}
		return LookBroadcast
	}
	if !lastAudio.IsZero() && now.Sub(lastAudio) <= AudioFresh {
		return LookLocal
	}
	if !lastLEDUpdate.IsZero() && now.Sub(lastLEDUpdate) <= BroadcastFresh {
		return LookBroadcast
	}
	return LookIdle
}
