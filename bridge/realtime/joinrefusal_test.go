package realtime_test

import (
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/ledbridge/ledbridge/bridge/testlog"

	"github.com/ledbridge/ledbridge/bridge/realtime"
)

// Join refusals as hosted Realtime words them (realtime_channel.ex, "<Code>: <message>").
const (
	refusedUnauthorized = "Unauthorized: You do not have permissions to read from this Channel topic: ABC123"
	refusedTenant       = "TenantNotFound: Tenant with the given ID does not exist"
	refusedJoinRate     = "ClientJoinRateLimitReached: Too many joins per second"
)

// TestRefusedJoinBackoffFollowsTheReason: a join refused for a reason that retrying cannot fix
// soon (a bad token or key, a private-only project, a missing RLS policy, an unknown or disabled
// project) is retried on the first steps of the rejoin schedule (one may be a passing fault: the
// server reports a failed policy query as Unauthorized), then every RefusedJoinBackoff (60 s),
// not every 10 s for ever. The server's rate limits and reasons the client does not know keep
// the schedule 1, 2, 5, 10 s.
func TestRefusedJoinBackoffFollowsTheReason(t *testing.T) {
	slow := []time.Duration{time.Second, 2 * time.Second, 5 * time.Second, time.Minute, time.Minute}
	for _, tc := range []struct {
		reason string
		want   []time.Duration
	}{
		{refusedUnauthorized, slow},
		{"PrivateOnly: This project only allows private channels", slow},
		{"RealtimeDisabledForTenant: Realtime disabled for this tenant", slow},
		{"MalformedJWT: The token provided is not a valid JWT", slow},
		{"JwtSignatureError: Failed to validate JWT signature", slow},
		{"InvalidJWTToken: Token has expired 12 seconds ago", slow},
		{"ChannelRateLimitReached: Too many channels", defaultSchedule},
		{"ConnectionRateLimitReached: Too many connected users", defaultSchedule},
		{"RealtimeRestarting: Realtime is restarting, please standby", defaultSchedule},
		{"Unknown Error on Channel", defaultSchedule},
	} {
		t.Run(strings.SplitN(tc.reason, ":", 2)[0], func(t *testing.T) {
			t.Parallel()
			srv := newFakeServer(t)
			srv.joinErrors = len(tc.want)
			srv.joinErrorReason = tc.reason
			h := startClient(t, srv, fast(realtime.Config{}))
			h.waitState(realtime.StateJoined, 20*time.Second)
			if got := h.retries(); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("rejoin delays %v, want %v", got, tc.want)
			}
		})
	}
}

// TestSocketClosedAfterRefusedJoinKeepsTheReason: after some refusals the server also closes the
// socket (TenantNotFound, ClientJoinRateLimitReached). The status of the lost socket still says
// why the room is not joined ("socket closed after join refused: TenantNotFound: …"), not only
// that the socket closed; the reconnect follows the refusal's backoff as a rejoin would.
func TestSocketClosedAfterRefusedJoinKeepsTheReason(t *testing.T) {
	for _, tc := range []struct {
		reason string
		want   []time.Duration // the reconnect delays
	}{
		{refusedTenant, []time.Duration{time.Second, 2 * time.Second, 5 * time.Second, time.Minute, time.Minute}},
		{refusedJoinRate, defaultSchedule},
	} {
		t.Run(strings.SplitN(tc.reason, ":", 2)[0], func(t *testing.T) {
			t.Parallel()
			srv := newFakeServer(t)
			srv.joinErrors = len(tc.want)
			srv.joinErrorReason = tc.reason
			srv.closeOnJoinError = true
			h := startClient(t, srv, fast(realtime.Config{}))
			h.waitState(realtime.StateJoined, 20*time.Second)
			h.mu.Lock()
			defer h.mu.Unlock()
			var lost []time.Duration
			for _, st := range h.statuses {
				if st.State != realtime.StateReconnecting || !strings.Contains(fmt.Sprint(st.Err), "socket closed") {
					continue
				}
				lost = append(lost, st.RetryIn)
				var refusal *realtime.ReplyError
				if !strings.Contains(st.Err.Error(), "socket closed after join refused: "+tc.reason) ||
					!errors.As(st.Err, &refusal) || refusal.Reason != tc.reason {
					t.Errorf("status of the lost socket: %v; want it to keep the refusal %q", st.Err, tc.reason)
				}
			}
			if !reflect.DeepEqual(lost, tc.want) {
				t.Errorf("reconnect delays after the refusals %v, want %v", lost, tc.want)
			}
		})
	}
}

// TestTokenRefusalsMatchErrAccessTokenRejected: every way hosted Realtime refuses a token (at the
// join, or when a refreshed token is pushed to a joined channel) reads as ErrAccessTokenRejected,
// for which the bridge says to replace supabase.access_token; other refusals do not.
func TestTokenRefusalsMatchErrAccessTokenRejected(t *testing.T) {
	for _, tc := range []struct {
		err   error
		token bool
	}{
		{&realtime.ReplyError{Op: "join", Reason: "InvalidJWTToken: Token has expired 12 seconds ago"}, true},
		{&realtime.ReplyError{Op: "join", Reason: "InvalidJWTToken: Fields `role` and `exp` are required in JWT"}, true},
		{&realtime.ReplyError{Op: "join", Reason: "InvalidJWTToken: Token expiration time is invalid"}, true},
		{&realtime.ReplyError{Op: "join", Reason: "MalformedJWT: The token provided is not a valid JWT"}, true},
		{&realtime.ReplyError{Op: "join", Reason: "JwtSignatureError: Failed to validate JWT signature"}, true},
		{&realtime.SystemError{Extension: "system", Message: "Token has expired 0 seconds ago"}, true},
		{&realtime.SystemError{Extension: "system", Message: "Fields `role` and `exp` are required in JWT"}, true},
		{&realtime.SystemError{Extension: "system", Message: "The token provided is not a valid JWT"}, true},
		{&realtime.ReplyError{Op: "join", Reason: refusedUnauthorized}, false},
		{&realtime.ReplyError{Op: "join", Reason: "PrivateOnly: This project only allows private channels"}, false},
		{&realtime.ReplyError{Op: "join", Reason: refusedTenant}, false},
		{&realtime.ReplyError{Op: "join", Reason: "JwtSignerError: Failed to generate JWT signer, check your JWT secret or JWKS configuration"}, false},
		{&realtime.ReplyError{Op: "track", Reason: "MalformedJWT: The token provided is not a valid JWT"}, false},
		{&realtime.SystemError{Extension: "system", Message: "Too many messages per second"}, false},
	} {
		if got := errors.Is(tc.err, realtime.ErrAccessTokenRejected); got != tc.token {
			t.Errorf("%v: errors.Is(ErrAccessTokenRejected) = %v, want %v", tc.err, got, tc.token)
		}
	}
}

// TestTokenNotOfProject: of the token refusals, those of a token no JWT signed by the project (not
// a JWT, another project's signature: a wrong token, or the key sent in its place) are told apart
// from an expired one, for which a new token of the same kind is the fix.
func TestTokenNotOfProject(t *testing.T) {
	for _, tc := range []struct {
		refusal *realtime.ReplyError
		foreign bool
	}{
		{&realtime.ReplyError{Op: "join", Reason: "MalformedJWT: The token provided is not a valid JWT"}, true},
		{&realtime.ReplyError{Op: "join", Reason: "JwtSignatureError: Failed to validate JWT signature"}, true},
		{&realtime.ReplyError{Op: "join", Reason: "InvalidJWTToken: Token has expired 12 seconds ago"}, false},
		{&realtime.ReplyError{Op: "join", Reason: "JwtSignerError: Failed to generate JWT signer, check your JWT secret or JWKS configuration"}, false},
		{&realtime.ReplyError{Op: "join", Reason: refusedUnauthorized}, false},
		{&realtime.ReplyError{Op: "track", Reason: "MalformedJWT: The token provided is not a valid JWT"}, false},
	} {
		if got := tc.refusal.TokenNotOfProject(); got != tc.foreign {
			t.Errorf("%v: TokenNotOfProject() = %v, want %v", tc.refusal, got, tc.foreign)
		}
		if tc.foreign && !errors.Is(tc.refusal, realtime.ErrAccessTokenRejected) {
			t.Errorf("%v: a token not of the project, yet not ErrAccessTokenRejected", tc.refusal)
		}
	}
}

// TestJoinRefusalsAreSummarised: a join the server refuses for good (here the RLS policy of a
// private room) is retried for as long as the bridge runs. The refusals are counted with the
// outage like lost sockets: the first few logged in full as "join refused" with the server's
// reason (never as a lost channel: it was never joined), then one summary per interval counting
// the ones held back, and the join that ends it logged once.
func TestJoinRefusalsAreSummarised(t *testing.T) {
	const refusals = 40
	log := refusedJoinsLog(t, refusals, refusedUnauthorized, false, nil)
	checkFailureLog(t, log, refusals, "realtime: join refused; rejoining", "realtime: join still refused")
	for _, line := range strings.Split(log, "\n") {
		if strings.Contains(line, "refused") && !strings.Contains(line, refusedUnauthorized) {
			t.Errorf("a refusal logged without the server's reason: %s", line)
		}
	}
	if strings.Contains(log, "channel lost") {
		t.Errorf("a refused join logged as a lost channel:\n%s", log)
	}
}

// TestRefusedJoinsWithClosedSocketsAreSummarised: a server that refuses each join and then
// closes the socket (TenantNotFound) costs a new socket per cycle. Those sockets' connects are
// logged at INFO while the outage is still logged in full, then only at DEBUG, with the refusals
// summarised: a bridge pointed at a wrong project writes a few lines an hour, not one a minute.
func TestRefusedJoinsWithClosedSocketsAreSummarised(t *testing.T) {
	const refusals = 20
	log := refusedJoinsLog(t, refusals, refusedTenant, true, nil)
	if n := countLines(log, "INFO", "realtime: socket connected"); n > 6 {
		t.Errorf("%d sockets of %d logged their connect at INFO, want the first few (at most 6):\n%s", n, refusals+1, log)
	}
	if n := countLines(log, "INFO", "realtime: joined"); n != 1 {
		t.Errorf("the join that ended the refusals logged %d times at INFO, want once:\n%s", n, log)
	}
}

// TestRefusedJoinThenClosedSocketIsOneFailure: a server that refuses the join and then closes the
// socket (TenantNotFound) has failed one attempt, not two. Each cycle counts once in the outage
// and is logged once in full with the server's reason, never as a bare lost socket, whether the
// client read the refusal before the close or after it.
func TestRefusedJoinThenClosedSocketIsOneFailure(t *testing.T) {
	const refusals = 3 // all logged in full (reconnectWarnInFull is 5)
	log := refusedJoinsLog(t, refusals, refusedTenant, true, func(cfg *realtime.Config) {
		// The close comes long before a rejoin (1 s) on a real server; the stepping clock would
		// fire the rejoin at once, so it is set beyond the clock's hour and never fires.
		cfg.RejoinBackoff = []time.Duration{2 * time.Hour}
	})
	if n := strings.Count(log, `msg="realtime: join refused`); n != refusals {
		t.Errorf("%d refusals logged for %d refused joins, want one line each:\n%s", n, refusals, log)
	}
	if strings.Contains(log, "socket lost") {
		t.Errorf("a socket closed after a refusal logged as a second failure:\n%s", log)
	}
	for _, line := range strings.Split(log, "\n") {
		if strings.Contains(line, `msg="realtime: join refused`) && !strings.Contains(line, refusedTenant) {
			t.Errorf("a refusal logged without the server's reason: %s", line)
		}
		if strings.Contains(line, `msg="realtime: connected again"`) && attr(line, "failed_attempts") != fmt.Sprint(refusals) {
			t.Errorf("the outage counted %s failed attempts for %d refused joins: %s", attr(line, "failed_attempts"), refusals, line)
		}
	}
}

// refusedJoinsLog runs a client on a stepping clock against a fake server that refuses its first
// refusals joins for reason (closing the socket after each if closeSocket) until the client joins
// and the join lasts, and returns what the client logged. tune, if not nil, adjusts the client's
// config first.
func refusedJoinsLog(t *testing.T, refusals int, reason string, closeSocket bool, tune func(*realtime.Config)) string {
	t.Helper()
	srv := newFakeServer(t)
	srv.joinErrors = refusals
	srv.joinErrorReason = reason
	srv.closeOnJoinError = closeSocket
	var logs testlog.Buffer
	clk := &steppingClock{now: time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC)}
	cfg := steppingConfig(&logs, clk)
	if tune != nil {
		tune(&cfg)
	}
	h := startClient(t, srv, cfg)
	h.waitState(realtime.StateJoined, 60*time.Second)
	joinLasts(t, clk, &logs)
	h.stop()
	return logs.String()
}
