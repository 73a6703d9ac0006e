package wled

import "time"

// ErrorLogInterval is how often a device that keeps failing is logged again, for the tests.
const ErrorLogInterval = errorLogInterval

// NewOutputWithClock is NewOutput with a test's clock for the send outcomes and Stats: a test
// that follows a strip across more than ErrorLogInterval moves the clock on instead of waiting.
func NewOutputWithClock(cfg OutputConfig, now func() time.Time) (*Output, error) {
	o, err := NewOutput(cfg)
	if err == nil {
		o.now = now
	}
	return o, err
}
