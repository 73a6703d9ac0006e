package peer

import "github.com/ledbridge/ledbridge/bridge/clock"

// Clock is the time source for the offer delay, connect timeout and ICE
// restart backoff. Tests inject a fake one to step through the schedule.
type Clock = clock.Clock

// Timer is the part of *time.Timer that the peer code uses.
type Timer = clock.Timer
