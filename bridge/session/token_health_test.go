package session

import (
	"fmt"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/ledbridge/ledbridge/bridge/realtime"
	"github.com/ledbridge/ledbridge/bridge/room"
)

// While the server refuses the access token (a join refused "InvalidJWTToken: …", or the joined
// channel shut down at the token's exp), /healthz says the token must be replaced and how, not
// merely "reconnecting": rejoining with the same token never succeeds. Other failures keep the
// plain state.
func TestHealthSaysWhenTheAccessTokenIsRefused(t *testing.T) {
	clock := &stepClock{now: time.Date(2026, 11, 26, 20, 0, 0, 0, time.UTC)}
	code, err := room.ParseCode("TKN234")
	if err != nil {
		t.Fatal(err)
	}
	s, err := New(Config{Code: code, FPS: 30, Clock: clock,
		Realtime: realtime.Config{URL: "http://127.0.0.1:1", APIKey: "k"},
		Logger:   slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	s.ticker.recordTick(clock.Now())
	expiredJoin := &realtime.ReplyError{Op: "join", Reason: "InvalidJWTToken: Token has expired 12 seconds ago"}
	expiredShutdown := fmt.Errorf("%w: %w", realtime.ErrChannelClosed,
		&realtime.SystemError{Extension: "system", Message: "Token has expired 0 seconds ago"})
	for _, tc := range []struct {
		st        realtime.Status
		ok, token bool
	}{
		{realtime.Status{State: realtime.StateReconnecting, Err: expiredJoin}, false, true},
		{realtime.Status{State: realtime.StateConnecting, Err: expiredJoin}, false, true},
		{realtime.Status{State: realtime.StateReconnecting, Err: expiredShutdown}, false, true},
		{realtime.Status{State: realtime.StateReconnecting, Err: realtime.ErrHeartbeatTimeout}, false, false},
		{realtime.Status{State: realtime.StateReconnecting, Err: &realtime.ReplyError{Op: "join", Reason: "Unauthorized: You do not have permissions to read from this Channel topic: TKN234"}}, false, false},
		{realtime.Status{State: realtime.StateJoined, Err: expiredJoin}, true, false}, // recovered; Err stays as the last one
	} {
		h := s.health(clock.Now(), realtimeHealthState(tc.st))
		says := strings.Contains(h.Reason, "access token (supabase.access_token) has expired") &&
			strings.Contains(h.Reason, "systemctl reload ledbridge")
		if h.OK != tc.ok || says != tc.token {
			t.Errorf("%v: /healthz %+v, want OK %v, token advice %v", tc.st, h, tc.ok, tc.token)
		}
	}
}
