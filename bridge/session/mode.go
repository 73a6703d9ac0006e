package session

import (
	"fmt"
	"time"
)

// Mode is how the strips are driven (PROTOCOL.md §5).
type Mode int

const (
	ModeUnknown   Mode = iota
	ModeAuto           // local while audio flows, else the host's frames, else idle
	ModeLocal          // always analyse the received audio
	ModeBroadcast      // always apply the host's led-update frames
)

// Look is what the strips show at a given moment; in ModeAuto it changes with the room.
type Look int

const (
	LookUnknown   Look = iota
	LookLocal          // rendered from the analysed audio
	LookBroadcast      // the host's latest led-update frame
	LookIdle           // the idle look (no audio, no frames, or playback stopped)
)

// ParseMode reads a configured mode name.
func ParseMode(s string) (Mode, error) {
	switch s {
	case "auto", "":
		return ModeAuto, nil
	case "local":
		return ModeLocal, nil
	case "broadcast":
		return ModeBroadcast, nil
	}
	return ModeUnknown, fmt.Errorf("session: unknown mode %q (want auto, local or broadcast)", s)
}

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

// Windows of PROTOCOL.md §5.
const (
	// AudioFreshness is how recently audio must have arrived for auto to stay local.
	AudioFreshness = time.Second
	// BroadcastFreshness is how recently a led-update must have arrived for auto to apply it.
	BroadcastFreshness = 2 * time.Second
)

// chooseLook picks what the strips show. lastAudio and lastFrame are zero when nothing has arrived.
// stopped is true after the room sent playback-control false (and no true since).
func chooseLook(mode Mode, now, lastAudio, lastFrame time.Time, stopped bool) Look {
	audioFresh := !lastAudio.IsZero() && now.Sub(lastAudio) < AudioFreshness
	frameFresh := !lastFrame.IsZero() && now.Sub(lastFrame) < BroadcastFreshness
	switch mode {
	case ModeLocal:
		if stopped {
			return LookIdle
		}
		return LookLocal
	case ModeBroadcast:
		if frameFresh {
			return LookBroadcast
		}
		return LookIdle
	}
	switch {
	case stopped:
		return LookIdle
	case audioFresh:
		return LookLocal
	case frameFresh:
		return LookBroadcast
	}
	return LookIdle
}
