// Package lograte keeps a problem that can repeat many times a second (a remote peer's garbage, a
// strip that cannot be rendered) from flooding the log: a Limiter lets one line through per
// interval and counts the occurrences it held back, so the next line can say how many there were;
// a Budget lets a burst through first.
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

// Reset ends the current episode (the problem went away): the next Allow logs at once, whenever
// it comes, and reports nothing held back.
func (l *Limiter) Reset() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.last, l.suppressed = time.Time{}, 0
}

// Budget lets Burst lines through at once and then one per Every (a token bucket), counting the
// occurrences it held back: for events that come in legitimate groups (a band joining together)
// as well as in floods. Burst and Every must be positive. It is safe for concurrent use.
type Budget struct {
	Burst int
	Every time.Duration

	mu sync.Mutex
	// next is when the budget is whole again: each line let through moves it on by Every, from
	// now at the latest.
	next       time.Time
	suppressed int
}

// Allow reports whether to log at now and, if so, how many occurrences were held back since the
// last line that was let through.
func (b *Budget) Allow(now time.Time) (suppressed int, ok bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.next.Before(now) {
		b.next = now
	}
	if b.next.Sub(now) > time.Duration(b.Burst-1)*b.Every {
		b.suppressed++
		return 0, false
	}
	b.next = b.next.Add(b.Every)
	suppressed, b.suppressed = b.suppressed, 0
	return suppressed, true
}
