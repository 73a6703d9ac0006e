// Package lograte keeps a problem that can repeat many times a second (a remote peer's garbage, a
// strip that cannot be rendered) from flooding the log: a Limiter lets one line through per
// interval and counts the occurrences it held back, so the next line can say how many there were.
package lograte

import (
	"sync"
	"time"
)

// Limiter lets one log line through per Every. The zero value lets every line through; it is safe
// for concurrent use.
type Limiter struct {
	Every time.Duration

	mu         sync.Mutex
	last       time.Time
	suppressed int
}

// Allow reports whether to log at now and, if so, how many occurrences were held back since the
// last line that was let through. The first call always logs.
func (l *Limiter) Allow(now time.Time) (suppressed int, ok bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if !l.last.IsZero() && now.Sub(l.last) < l.Every {
		l.suppressed++
		return 0, false
	}
	suppressed, l.suppressed, l.last = l.suppressed, 0, now
	return suppressed, true
}
