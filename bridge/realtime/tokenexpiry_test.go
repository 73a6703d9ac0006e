package realtime_test

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/ledbridge/ledbridge/bridge/realtime"
	"github.com/ledbridge/ledbridge/bridge/realtime/wire"
)

func jwtWith(claims string) string {
	enc := base64.RawURLEncoding.EncodeToString
	return enc([]byte(`{"alg":"HS256","typ":"JWT"}`)) + "." + enc([]byte(claims)) + ".c2ln"
}

func TestAccessTokenExpiry(t *testing.T) {
	for _, tc := range []struct {
		token string
		want  time.Time // zero: an error
	}{
		{userToken, time.Unix(1795636721, 0)},
		{anonKey, time.Unix(1795633121, 0)},
		{jwtWith(`{"exp":1700000000.5,"sub":"u"}`), time.Unix(1700000000, 5e8)},
		{jwtWith(`{"sub":"u"}`), time.Time{}},
		{jwtWith(`{"exp":"soon"}`), time.Time{}},
		{jwtWith(`{"exp":-1}`), time.Time{}},
		{jwtWith(`{"exp":1e300}`), time.Time{}},
		{jwtWith(`[1]`), time.Time{}},
		{"sb_publishable_abc", time.Time{}},
		{"a.%%%.c", time.Time{}},
		{"", time.Time{}},
	} {
		got, err := realtime.AccessTokenExpiry(tc.token)
		switch {
		case tc.want.IsZero() && err == nil:
			t.Errorf("%q: exp %v, want an error", tc.token, got)
		case !tc.want.IsZero() && (err != nil || !got.Equal(tc.want)):
			t.Errorf("%q: exp %v (%v), want %v", tc.token, got, err, tc.want)
		}
	}
}

// TestExpiredTokenIsReportedAndReplaced: at the token's exp the real server shuts the channel down
// (system error "Token has expired …" + phx_close) and refuses every rejoin with the same token
// ("InvalidJWTToken: Token has expired …"). The status says so (ErrAccessTokenRejected), and a
// new token given with SetAccessToken is used at once, not after the (here very long) rejoin
// backoff, and for the joins after it.
func TestExpiredTokenIsReportedAndReplaced(t *testing.T) {
	srv := newFakeServer(t)
	cfg := fast(realtime.Config{AccessToken: userToken, Private: true})
	cfg.RejoinBackoff = []time.Duration{10 * time.Millisecond, time.Hour} // scaled: 0.1 ms, then 36 s
	h := startClient(t, srv, cfg)
	h.waitState(realtime.StateJoined, 10*time.Second)
	srv.mu.Lock()
	srv.joinErrors = 1000
	srv.joinErrorReason = "InvalidJWTToken: Token has expired 3 seconds ago"
	c := srv.lastConnLocked()
	jr := wire.RefOf(c.joinRef)
	srv.mu.Unlock()
	srv.send(c, jr, wire.Ref{}, "realtime:ABC123", "system", `{"extension":"system","status":"error","message":"Token has expired 0 seconds ago","channel":"ABC123"}`)
	srv.send(c, jr, jr, "realtime:ABC123", "phx_close", `{}`)
	h.waitFor("a refused rejoin and the long backoff", 10*time.Second, func() bool {
		last := h.statuses[len(h.statuses)-1]
		return last.State == realtime.StateReconnecting && last.RetryIn == time.Hour
	})
	st := h.c.Status()
	var reply *realtime.ReplyError
	if !errors.Is(st.Err, realtime.ErrAccessTokenRejected) || !errors.As(st.Err, &reply) {
		t.Errorf("status error %v: want the join refusal, matching ErrAccessTokenRejected", st.Err)
	}
	h.mu.Lock()
	var sawSystem bool
	for _, s := range h.statuses {
		var se *realtime.SystemError
		sawSystem = sawSystem || (errors.As(s.Err, &se) && errors.Is(s.Err, realtime.ErrAccessTokenRejected))
	}
	h.mu.Unlock()
	if !sawSystem {
		t.Error("the expiry shutdown (system error) did not match ErrAccessTokenRejected")
	}

	fresh := jwtWith(`{"role":"authenticated","sub":"u-1","exp":1900000000}`)
	srv.mu.Lock()
	srv.joinErrors = 0
	srv.mu.Unlock()
	h.c.SetAccessToken(fresh)
	h.waitState(realtime.StateJoined, 10*time.Second) // the backoff would take 36 s
	srv.mu.Lock()
	joins := srv.framesLocked("phx_join")
	srv.mu.Unlock()
	var p struct {
		AccessToken string `json:"access_token"`
	}
	if err := json.Unmarshal(joins[len(joins)-1].msg.Payload, &p); err != nil || p.AccessToken != fresh {
		t.Errorf("the join after SetAccessToken sent another token (%v)", err)
	}
	if errors.Is(realtime.ErrChannelClosed, realtime.ErrAccessTokenRejected) ||
		errors.Is(&realtime.ReplyError{Op: "join", Reason: "Unauthorized: You do not have permissions"}, realtime.ErrAccessTokenRejected) {
		t.Error("other refusals must not read as a token problem")
	}
}
