package session

import "github.com/ledbridge/ledbridge/bridge/realtime"

// PresenceView is the Presence table of the session's Realtime client, as syncPresence reads it:
// what a test waits on when an event must have reached the bridge's table and not yet its loop.
func (s *Session) PresenceView() realtime.PresenceView { return s.client.PresenceView() }
