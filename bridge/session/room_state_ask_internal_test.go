package session

import "testing"

// The orders in which the join's state-request and the Presence tables meet, as the realtime
// client allows them (review 283 of 86defdc). syncPresence claims only from tables read after
// this join's presence_state was applied, and says whether that state listed the answerer;
// these drive the same claims in those orders.

// rejoin does what onRealtimeStatus does on StateJoined, staleAnswerer being the answerer of
// the last table read before it (the client keeps the table across a reconnect).
func rejoin(s *Session, staleAnswerer string) {
	s.mu.Lock()
	s.answerer = staleAnswerer
	s.stateAsk = roomStateAsk{}
	s.mu.Unlock()
}

// presenceRead is syncPresence's claim for a table read after the join's presence_state.
func presenceRead(s *Session, answerer string, host, inJoinState bool) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.answerer = answerer
	return s.claimStateRequestLocked(answerer, host, inJoinState)
}

func TestRoomStateAskOrders(t *testing.T) {
	for _, tc := range []struct {
		name string
		// steps: "join" is the join's own request; "read X in"/"read X later" a table whose
		// answerer X the join's presence_state listed, or did not; wantAsks the claims granted.
		steps    func(s *Session) int
		wantAsks int
	}{{
		// The host was there first; the join's request goes before the table is read: she
		// heard it.
		name: "host in the state, request first",
		steps: func(s *Session) int {
			rejoin(s, "")
			return b2i(s.claimStateRequestOnJoin()) + b2i(presenceRead(s, "host-1", true, true))
		},
		wantAsks: 1,
	}, {
		name: "host in the state, table read first",
		steps: func(s *Session) int {
			rejoin(s, "")
			return b2i(presenceRead(s, "host-1", true, true)) + b2i(s.claimStateRequestOnJoin())
		},
		wantAsks: 1,
	}, {
		// A room server restart: the bridge rejoins first and asks an empty room; the host comes
		// back after that request, and the reader, one round trip behind, reads the state and
		// her join diff as one table: she did not hear the request and must be asked.
		name: "host back after the join's request, read late",
		steps: func(s *Session) int {
			rejoin(s, "host-1") // the table before the outage named her
			return b2i(s.claimStateRequestOnJoin()) + b2i(presenceRead(s, "host-1", true, false))
		},
		wantAsks: 2,
	}, {
		// The same, read in time: the state lists nobody, then she comes.
		name: "host back after the join's request, read in time",
		steps: func(s *Session) int {
			rejoin(s, "host-1")
			return b2i(s.claimStateRequestOnJoin()) + b2i(presenceRead(s, "", false, true)) +
				b2i(presenceRead(s, "host-1", true, false))
		},
		wantAsks: 2,
	}, {
		// She comes and goes and comes again: asked once.
		name: "host back twice",
		steps: func(s *Session) int {
			rejoin(s, "")
			return b2i(s.claimStateRequestOnJoin()) + b2i(presenceRead(s, "host-1", true, false)) +
				b2i(presenceRead(s, "", false, false)) + b2i(presenceRead(s, "host-1", true, false))
		},
		wantAsks: 2,
	}} {
		t.Run(tc.name, func(t *testing.T) {
			s := newIdleSession(t)
			if got := tc.steps(s); got != tc.wantAsks {
				t.Errorf("%d state-requests, want %d", got, tc.wantAsks)
			}
		})
	}
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}
