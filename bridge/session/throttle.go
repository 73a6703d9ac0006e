package session

import "time"

// logThrottle lets a problem that can repeat many times a second (a frame that cannot be
// rendered, a sound sync packet that cannot be sent, a crowded Presence) reach the log once and
// then at most once a minute, with the number of repeats it held back. It is owned by one
// goroutine (or guarded by its owner's lock).
type logThrottle struct {
	last       time.Time
	suppressed int
}

// logThrottleInterval is the shortest gap between two log lines for one problem.
const logThrottleInterval = time.Minute

// allow reports whether to log now and how many occurrences were held back since the last line.
func (t *logThrottle) allow(now time.Time) (suppressed int, ok bool) {
	if !t.last.IsZero() && now.Sub(t.last) < logThrottleInterval {
		t.suppressed++
		return 0, false
	}
	suppressed, t.suppressed, t.last = t.suppressed, 0, now
	return suppressed, true
}
