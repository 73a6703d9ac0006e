package peer

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/pion/logging"
	"github.com/pion/webrtc/v4"

	"github.com/ledbridge/ledbridge/bridge/clock"
	"github.com/ledbridge/ledbridge/bridge/lograte"
)

// slogFactory routes pion's logs into the daemon's slog logger instead of
// pion's default stderr writer. pion's Error level reports faults of one
// connection (a bad candidate, a dropped packet) that this package already
// handles and counts, so it becomes Warn; Info is pion's chatter and becomes
// Debug; Trace is dropped.
//
// Some warnings are what a musician leaving, an ICE restart, or a connection still gathering
// candidates does in the ordinary course (isRoutineWarning); they ask nothing of the operator
// and become Debug.
//
// A remote peer can make pion warn once per bad candidate or unknown SSRC, so warnings are limited
// to one line a second per scope, with the number suppressed in between.
//
// pion reports an RTP or RTCP SSRC it cannot place only by logging it (and keeps its streams until
// the PeerConnection closes), so onUnhandledSSRC, if set, is called for each such line of the
// PeerConnection's own ("pc") logger, whatever the log level.
type slogFactory struct {
	log             *slog.Logger
	onUnhandledSSRC func()
}

func (f slogFactory) NewLogger(scope string) logging.LeveledLogger {
	l := slogLeveled{log: f.log.With("pion", scope), limit: &lograte.Limiter{Every: time.Second}}
	if scope == "pc" {
		l.onUnhandledSSRC = f.onUnhandledSSRC
	}
	return l
}

type slogLeveled struct {
	log             *slog.Logger
	limit           *lograte.Limiter
	onUnhandledSSRC func()
}

// isUnhandledSSRC reports whether a pion warning (its format string) says that an SSRC was
// discarded: pion v4.2.26 logs "Incoming unhandled RTP ssrc(%d), …" or "Incoming unhandled
// RTCP ssrc(%d), …" once per SSRC, or ErrSimulcastProbeOverflow when too many are being probed.
func isUnhandledSSRC(format string) bool {
	return strings.HasPrefix(format, "Incoming unhandled RTP ssrc(") ||
		strings.HasPrefix(format, "Incoming unhandled RTCP ssrc(") ||
		format == webrtc.ErrSimulcastProbeOverflow.Error()
}

// isRoutineWarning reports whether a pion v4.2.26 warning (its format string and arguments) is
// one that an ordinary connection produces:
//   - ice's "Failed to ping without candidate pairs": connectivity checks ran before the first
//     remote candidate came, as they do at every start;
//   - ice's "Discard request with wrong username" (ice v4.4.8) for a "username mismatch" within
//     staleCheckWindow of an ICE restart by this process (staleCheckExpected): a connectivity
//     check for the ufrag the restart has just replaced, as the other side keeps sending for a
//     moment after every restart. ice says so for any binding request with a wrong or missing
//     USERNAME, before checking its integrity: at any other time, or with none at all
//     ("attribute not found"), it is a stranger probing the bridge's port, and stays a warning;
//   - pc's "Failed to accept RTP" or "Failed to accept RTCP" with "stream is already closed": the
//     SRTP or SRTCP session closed under the reader, as it does when she leaves;
//   - pc's "Could not determine PayloadType for SSRC": a track's first packet did not come before
//     its connection closed.
func isRoutineWarning(format string, args []any) bool {
	switch {
	case strings.HasPrefix(format, "Failed to ping without candidate pairs"),
		strings.HasPrefix(format, "Could not determine PayloadType"):
		return true
	case strings.HasPrefix(format, "Discard request with wrong username"):
		return strings.Contains(fmt.Sprint(args...), "username mismatch") && staleCheckExpected(time.Now())
	case strings.HasPrefix(format, "Failed to accept RTP"), strings.HasPrefix(format, "Failed to accept RTCP"):
		return strings.Contains(fmt.Sprint(args...), "stream is already closed")
	}
	return false
}

// staleCheckWindow is how long after an ICE restart by this process a binding request for
// another ufrag is taken for one of the other side's checks of the replaced ufrag. Those keep
// coming until our restart offer reaches her through the room and her side applies it: a
// signalling round trip, well under a second on a good day and a few seconds on a slow one, and
// checks already sent (a browser paces its checks at most a few seconds apart). 10 s covers
// that with room to spare, and is short enough that a stranger scanning the port is seldom
// hidden: her probes outside the window still warn.
const staleCheckWindow = 10 * time.Second

// lastICERestart is when this process last restarted ICE (noteICERestart; none for never), for
// any musician: pion's loggers cannot tell whose connection a check was for. Monotonic: an NTP
// step of the wall clock must neither hide strangers' checks for hours nor warn of our own.
var lastICERestart clock.MonoStamp

// noteICERestart records an ICE restart by this process at now.
func noteICERestart(now time.Time) { lastICERestart.Store(now) }

// staleCheckExpected reports whether this process restarted ICE within staleCheckWindow of now.
func staleCheckExpected(now time.Time) bool {
	at, ok := lastICERestart.Load()
	return ok && now.Sub(at) < staleCheckWindow
}

// logMsg logs a message pion passed whole (Warn, Error): it is what isUnhandledSSRC must see,
// not the "%s" it is formatted with (pion reports ErrSimulcastProbeOverflow so).
func (l slogLeveled) logMsg(level slog.Level, msg string) {
	l.emit(l.levelOf(level, msg, nil), "%s", msg)
}

func (l slogLeveled) logf(level slog.Level, format string, args ...any) {
	l.emit(l.levelOf(level, format, args), format, args...)
}

// levelOf counts a warning about an unhandled SSRC, and returns the level to log a message
// at: pion's, or Debug for a routine warning.
func (l slogLeveled) levelOf(level slog.Level, format string, args []any) slog.Level {
	if level < slog.LevelWarn {
		return level
	}
	if l.onUnhandledSSRC != nil && isUnhandledSSRC(format) {
		l.onUnhandledSSRC()
	}
	if isRoutineWarning(format, args) {
		return slog.LevelDebug
	}
	return level
}

func (l slogLeveled) emit(level slog.Level, format string, args ...any) {
	ctx := context.Background()
	if !l.log.Enabled(ctx, level) {
		return // skip the formatting too
	}
	if level >= slog.LevelWarn && l.limit != nil {
		suppressed, ok := l.limit.Allow(time.Now())
		if !ok {
			return
		}
		if suppressed > 0 {
			l.log.Log(ctx, level, fmt.Sprintf(format, args...), "suppressed", suppressed)
			return
		}
	}
	l.log.Log(ctx, level, fmt.Sprintf(format, args...))
}

func (l slogLeveled) Trace(string)                      {}
func (l slogLeveled) Tracef(string, ...any)             {}
func (l slogLeveled) Debug(msg string)                  { l.logf(slog.LevelDebug, "%s", msg) }
func (l slogLeveled) Debugf(format string, args ...any) { l.logf(slog.LevelDebug, format, args...) }
func (l slogLeveled) Info(msg string)                   { l.logf(slog.LevelDebug, "%s", msg) }
func (l slogLeveled) Infof(format string, args ...any)  { l.logf(slog.LevelDebug, format, args...) }
func (l slogLeveled) Warn(msg string)                   { l.logMsg(slog.LevelWarn, msg) }
func (l slogLeveled) Warnf(format string, args ...any)  { l.logf(slog.LevelWarn, format, args...) }
func (l slogLeveled) Error(msg string)                  { l.logMsg(slog.LevelWarn, msg) }
func (l slogLeveled) Errorf(format string, args ...any) { l.logf(slog.LevelWarn, format, args...) }
