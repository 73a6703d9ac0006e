package realtime

import "time"

// callLimiter is a sliding-window limit: at most max calls in any window. The Realtime server
// closes a channel after more than 5 track/untrack calls in 30 s, so the client stays under it.
type callLimiter struct {
	max    int
	window time.Duration
	calls  []time.Time // the most recent calls, oldest first, at most max
}

// next returns the earliest time a call is allowed (now or later).
func (l *callLimiter) next(now time.Time) time.Time {
	if len(l.calls) < l.max {
		return now
	}
	if free := l.calls[0].Add(l.window); free.After(now) {
		return free
	}
	return now
}

// record notes a call made at now.
func (l *callLimiter) record(now time.Time) {
	if len(l.calls) == l.max {
		copy(l.calls, l.calls[1:])
		l.calls = l.calls[:l.max-1]
	}
	l.calls = append(l.calls, now)
}

// reset forgets the calls made: the server counts presence calls per channel process, which a
// new join replaces, so a join starts a fresh window.
func (l *callLimiter) reset() {
	l.calls = l.calls[:0]
}
