package session

import (
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/ledbridge/ledbridge/bridge/testlog"

	"github.com/ledbridge/ledbridge/bridge/realtime"
	"github.com/ledbridge/ledbridge/bridge/room"
)

// While the server refuses the join, the log says once per reason what the operator can do about
// it, naming the setting to check (the client's own lines give only the server's words, rate
// limited): the key, URL and private flag of the config file, the project's RLS policy, or, for
// the server's rate limits, that they are the project's and the bridge backs off by itself. A
// rejoin refused for the same reason, or the socket the server closes after it, adds nothing; a
// join resets it.
func TestJoinRefusalAdviceNamesTheSetting(t *testing.T) {
	s, logs := newRefusalSession(t)
	for _, tc := range []struct {
		reason string
		level  string
		names  []string // what the advice must name
	}{
		{"Unauthorized: You do not have permissions to read from this Channel topic: RFS234", "ERROR",
			[]string{"supabase.private", "RLS policy on realtime.messages", "supabase.access_token"}},
		{"PrivateOnly: This project only allows private channels", "ERROR",
			[]string{"supabase.private: true", "supabase.access_token", "realtime.messages"}},
		{"TenantNotFound: Tenant with the given ID does not exist", "ERROR",
			[]string{"supabase.url", "--supabase-url"}},
		{"RealtimeDisabledForTenant: Realtime disabled for this tenant", "ERROR",
			[]string{"supabase.url", "Supabase dashboard"}},
		{"JwtSignatureError: Failed to validate JWT signature", "ERROR",
			[]string{"supabase.access_token", "supabase.key", "systemctl reload ledbridge"}},
		{"ConnectionRateLimitReached: Too many connected users", "WARN",
			[]string{"limit of the Supabase project", "not a ledbridge setting", "backs off"}},
		{"RealtimeRestarting: Realtime is restarting, please standby", "WARN",
			[]string{"retries"}},
	} {
		before := len(logs.String())
		s.onRealtimeStatus(joinRefused(tc.reason))
		s.onRealtimeStatus(joinRefused(tc.reason)) // the next rejoin, refused alike
		lost := &realtime.ReplyError{Op: "join", Reason: tc.reason}
		s.onRealtimeStatus(realtime.Status{State: realtime.StateReconnecting, Err: fmt.Errorf("socket closed after %w", lost)})
		line := strings.TrimSpace(logs.String()[before:])
		if line == "" || strings.Contains(line, "\n") {
			t.Errorf("%s: want one line of advice, got:\n%s", tc.reason, line)
			continue
		}
		if !strings.Contains(line, "level="+tc.level+" ") || !strings.Contains(line, `msg="room not joined: `) ||
			!strings.Contains(line, tc.reason) {
			t.Errorf("%s: want a %s line saying the room is not joined, with the server's reason:\n%s", tc.reason, tc.level, line)
		}
		for _, name := range tc.names {
			if !strings.Contains(line, name) {
				t.Errorf("%s: the advice does not name %q:\n%s", tc.reason, name, line)
			}
		}
	}

	// After a join, the same refusal is news again.
	s.onRealtimeStatus(realtime.Status{State: realtime.StateJoined})
	before := len(logs.String())
	s.onRealtimeStatus(joinRefused("PrivateOnly: This project only allows private channels"))
	if n := strings.Count(logs.String()[before:], "room not joined"); n != 1 {
		t.Errorf("a refusal after a join logged %d lines of advice, want 1", n)
	}
	// Failures that are no refusal (a lost socket) have nothing to advise.
	before = len(logs.String())
	s.onRealtimeStatus(realtime.Status{State: realtime.StateReconnecting, Err: realtime.ErrHeartbeatTimeout})
	if got := logs.String()[before:]; got != "" {
		t.Errorf("a lost socket logged advice:\n%s", got)
	}
}

// While the server refuses the join for two reasons in turn (a policy refusal, then the project's
// channel limit on the next attempt), each reason's advice is logged once, not at every retry;
// a join makes them news again. A server that sends ever new reasons without a code gets at most
// maxRefusalsAdvised lines of advice: the keys remembered are bounded.
func TestJoinRefusalAdviceOnceEachWhenReasonsAlternate(t *testing.T) {
	s, logs := newRefusalSession(t)
	alternate := func() int {
		before := len(logs.String())
		for range 5 {
			s.onRealtimeStatus(joinRefused("Unauthorized: You do not have permissions to read from this Channel topic: RFS234"))
			s.onRealtimeStatus(joinRefused("ChannelRateLimitReached: Too many channels"))
		}
		return strings.Count(logs.String()[before:], "room not joined")
	}
	if n := alternate(); n != 2 {
		t.Errorf("10 refusals alternating between 2 reasons logged %d lines of advice, want one per reason:\n%s", n, logs.String())
	}
	s.onRealtimeStatus(realtime.Status{State: realtime.StateJoined})
	if n := alternate(); n != 2 {
		t.Errorf("after a join, the alternating refusals logged %d lines of advice, want one per reason again", n)
	}

	s.onRealtimeStatus(realtime.Status{State: realtime.StateJoined})
	before := len(logs.String())
	for i := range 3 * maxRefusalsAdvised {
		s.onRealtimeStatus(joinRefused(fmt.Sprintf("Unknown Error on Channel %d", i)))
	}
	if n := strings.Count(logs.String()[before:], "room not joined"); n != maxRefusalsAdvised {
		t.Errorf("%d distinct codeless reasons logged %d lines of advice, want the first %d", 3*maxRefusalsAdvised, n, maxRefusalsAdvised)
	}
}

// newRefusalSession is a session of room RFS234, never run, whose status reports are fed by hand;
// logs gets what it logs.
func newRefusalSession(t *testing.T) (*Session, *testlog.Buffer) {
	t.Helper()
	logs := &testlog.Buffer{}
	code, err := room.ParseCode("RFS234")
	if err != nil {
		t.Fatal(err)
	}
	s, err := New(Config{Code: code, FPS: 30, Clock: &stepClock{now: time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC)},
		Realtime: realtime.Config{URL: "http://127.0.0.1:1", APIKey: "k"},
		Logger:   slog.New(slog.NewTextHandler(logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	return s, logs
}

// joinRefused is the status the client reports when the server refuses the join for reason.
func joinRefused(reason string) realtime.Status {
	return realtime.Status{State: realtime.StateReconnecting, Err: &realtime.ReplyError{Op: "join", Reason: reason}}
}
