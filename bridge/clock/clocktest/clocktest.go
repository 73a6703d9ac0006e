// Package clocktest makes the times a test needs to show that code reads the monotonic clock:
// a time.Time as time.Now returns it after NTP has stepped the system's wall clock.
package clocktest

import (
	"time"
	"unsafe"
)

// WallStepped returns t with its wall-clock reading moved by step (whole seconds) and its
// monotonic reading kept. time.Time has no constructor for such a value, so this moves the
// seconds field of its encoding (time.go: with the hasMonotonic bit set, bits 30–62 of wall count
// the seconds since 1885, ext is the monotonic reading). It panics if the result does not read as
// stepped, so that a change of that encoding fails loudly rather than testing nothing.
func WallStepped(t time.Time, step time.Duration) time.Time {
	if t.Round(0) == t {
		panic("clocktest: WallStepped needs a time with a monotonic reading (from time.Now)")
	}
	stepped := t
	p := (*struct {
		wall uint64
		ext  int64
		loc  *time.Location
	})(unsafe.Pointer(&stepped))
	p.wall += uint64(int64(step/time.Second)) << 30
	wall := stepped.Round(0).Sub(t.Round(0))
	if wall != step.Truncate(time.Second) || stepped.Sub(t) != 0 {
		panic("clocktest: time.Time's encoding changed; WallStepped no longer steps the wall clock alone")
	}
	return stepped
}
