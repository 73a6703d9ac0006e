package realtime

import (
	"fmt"
	"time"
)

// State is the connection state of the room channel.
type State uint8

// States. The zero value is StateUnknown (before Run).
const (
	StateUnknown      State = iota
	StateConnecting         // dialing the socket or waiting for the join reply
	StateJoined             // the channel is joined; Presence and Broadcast work
	StateReconnecting       // waiting out a backoff before reconnecting the socket or rejoining
	StateClosed             // Run has returned
)

// String returns the state's name as the status page shows it.
func (s State) String() string {
	switch s {
	case StateConnecting:
		return "connecting"
	case StateJoined:
		return "joined"
	case StateReconnecting:
		return "reconnecting"
	case StateClosed:
		return "closed"
	}
	return "unknown"
}

// Status is a snapshot of the connection state for the daemon and the status page.
type Status struct {
	State State
	// Since is when State was entered.
	Since time.Time
	// Err is the most recent error (join refused, socket lost, heartbeat timeout, system error, ...).
	// It stays set after recovery so the status page can show what last went wrong; nil if none yet.
	Err error
	// RetryIn is the backoff chosen when State is StateReconnecting.
	RetryIn time.Duration
}

// String renders a one-line status, e.g. "reconnecting in 2s: realtime: heartbeat timeout".
func (s Status) String() string {
	out := s.State.String()
	if s.State == StateReconnecting {
		out += fmt.Sprintf(" in %v", s.RetryIn)
	}
	if s.Err != nil {
		out += ": " + s.Err.Error()
	}
	return out
}
