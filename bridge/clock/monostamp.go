package clock

import (
	"math"
	"sync/atomic"
	"time"
)

// processStart is the base every MonoStamp counts from: a reading of time.Now, so it carries
// the monotonic clock's reading.
var processStart = time.Now()

// MonoStamp holds one time, or none, that goroutines Store and Load without a lock (the arrival
// of the newest audio, a loop's last tick, a deadline). The zero value holds none.
//
// It keeps the time as the nanoseconds since a reading of time.Now taken when the process
// started, and Load adds them back to that reading. So a time that carried Go's monotonic
// reading (time.Now's, and times made from one with Add) loads with it, and comparing it with
// another such time (Sub, Before, After, Equal) uses only the monotonic clock, which a step of
// the wall clock (NTP correcting a clock that was minutes out, a manual date change) does not
// move. Unix nanoseconds in an atomic would drop the monotonic reading: a step between Store and
// the comparison would make the time look that much older or fresher.
//
// Times within 292 years of the process's start are kept to the nanosecond; ones further off
// are clamped to that bound, as time.Time.Sub clamps them.
type MonoStamp struct {
	// sinceStart is the time's offset from processStart with its sign bit flipped, so that 0,
	// the zero value, is an offset of -2⁶³ ns: a time 292 years before the process started,
	// which Store clamps to one nanosecond later, leaving 0 to mean "no time".
	sinceStart atomic.Int64
}

// Store records t, replacing the time held. Storing the zero time clears the stamp.
func (s *MonoStamp) Store(t time.Time) {
	if t.IsZero() {
		s.sinceStart.Store(0)
		return
	}
	d := max(t.Sub(processStart), math.MinInt64+1)
	s.sinceStart.Store(int64(d) ^ math.MinInt64)
}

// Load returns the time held, and false (with the zero time) if there is none. The time is
// Equal to the one stored, but in the local time zone, and it carries a monotonic reading even
// if the one stored had none (an injected clock's, a parsed time's): then its wall-clock
// reading is the one stored, which comparisons with other times without a monotonic reading
// (the same injected clock's) use.
func (s *MonoStamp) Load() (time.Time, bool) {
	v := s.sinceStart.Load()
	if v == 0 {
		return time.Time{}, false
	}
	return processStart.Add(time.Duration(v ^ math.MinInt64)), true
}
