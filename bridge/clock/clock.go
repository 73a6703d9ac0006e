// Package clock holds the time handling that the realtime client and the peer code share: the
// injectable Clock and Timer of the realtime client's heartbeats, timeouts and reconnect backoff
// and of the peer code's offer delay, connect timeout and ICE restart backoff (tests step a fake
// one through those schedules), and MonoStamp, a time shared between goroutines as a monotonic
// offset, which a step of the wall clock does not move. It is not the only clock: each other
// consumer declares the small interface it needs (the session's frame loop a Clock with
// SleepUntil, discovery's registry one with After).
package clock

import "time"

// Clock tells the time and makes timers.
type Clock interface {
	Now() time.Time
	NewTimer(d time.Duration) Timer
}

// Timer is the part of *time.Timer that ledbridge uses.
type Timer interface {
	C() <-chan time.Time
	Stop() bool
}

// System is the real clock. Its times carry Go's monotonic reading.
type System struct{}

// Now returns time.Now().
func (System) Now() time.Time { return time.Now() }

// NewTimer returns a *time.Timer that fires after d.
func (System) NewTimer(d time.Duration) Timer { return systemTimer{time.NewTimer(d)} }

type systemTimer struct{ t *time.Timer }

func (t systemTimer) C() <-chan time.Time { return t.t.C }
func (t systemTimer) Stop() bool          { return t.t.Stop() }
