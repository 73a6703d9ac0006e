// Package clock is the time source shared by ledbridge's timers (heartbeats, backoffs, offer
// delays, the frame loop), so that tests can replace real time with a clock they step.
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
