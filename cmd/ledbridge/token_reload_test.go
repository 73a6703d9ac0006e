package main

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/ledbridge/ledbridge/bridge/realtime/wire"
)

// testJWT is an unsigned-looking JWT with the given exp (the bridge never checks signatures).
func testJWT(sub string, exp time.Time) string {
	enc := base64.RawURLEncoding.EncodeToString
	claims := fmt.Sprintf(`{"role":"authenticated","sub":%q,"exp":%d}`, sub, exp.Unix())
	return enc([]byte(`{"alg":"HS256","typ":"JWT"}`)) + "." + enc([]byte(claims)) + ".c2lnbmF0dXJl"
}

// tokenServer is a Supabase Realtime endpoint (vsn 2.0.0) that, like the real one, refuses every
// join whose access_token is not the one it accepts with "InvalidJWTToken: Token has expired …".
type tokenServer struct {
	accept string
	mu     sync.Mutex
	joins  []string // the access_token of every phx_join, in order
	ok     int      // joins accepted
}

func (ts *tokenServer) serveHTTP(t *testing.T) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		ws, err := websocket.Accept(w, r, nil)
		if err != nil {
			return
		}
		defer ws.CloseNow()
		ctx := r.Context()
		send := func(joinRef, ref wire.Ref, topic, event, payload string) {
			data, err := wire.V2.AppendText(nil, &wire.Message{JoinRef: joinRef, Ref: ref, Topic: topic, Event: event, Payload: json.RawMessage(payload)})
			if err != nil {
				t.Errorf("tokenServer: encode: %v", err)
				return
			}
			_ = ws.Write(ctx, websocket.MessageText, data)
		}
		for {
			typ, data, err := ws.Read(ctx)
			if err != nil {
				return
			}
			if typ != websocket.MessageText {
				continue // binary broadcasts: nobody else is in the room
			}
			var m wire.Message
			if err := wire.V2.DecodeText(data, &m); err != nil {
				t.Errorf("tokenServer: bad frame %q: %v", data, err)
				return
			}
			const ok = `{"status":"ok","response":{}}`
			switch m.Event {
			case "heartbeat":
				send(wire.Ref{}, m.Ref, "phoenix", "phx_reply", ok)
			case "phx_join":
				var p struct {
					AccessToken string `json:"access_token"`
				}
				_ = json.Unmarshal(m.Payload, &p)
				ts.mu.Lock()
				ts.joins = append(ts.joins, p.AccessToken)
				good := p.AccessToken == ts.accept
				if good {
					ts.ok++
				}
				ts.mu.Unlock()
				if !good {
					send(m.JoinRef, m.Ref, m.Topic, "phx_reply", `{"status":"error","response":{"reason":"InvalidJWTToken: Token has expired 60 seconds ago"}}`)
					continue
				}
				send(m.JoinRef, m.Ref, m.Topic, "phx_reply", `{"status":"ok","response":{"postgres_changes":[]}}`)
				send(m.JoinRef, wire.Ref{}, m.Topic, "presence_state", `{}`)
			case "presence", "phx_leave":
				send(m.JoinRef, m.Ref, m.Topic, "phx_reply", ok)
			}
		}
	}
}

// TestJoinReloadsAnExpiredAccessToken: a private room's user JWT expires; the server refuses every
// join with it. The daemon warns at start that it has expired, logs what to do when the server
// refuses it, and a SIGHUP after the operator replaced supabase.access_token joins with the new
// token at once, without a restart; neither token ever appears in the log.
func TestJoinReloadsAnExpiredAccessToken(t *testing.T) {
	bin := buildBinary(t)
	now := time.Now()
	expired := testJWT("u-expired", now.Add(-time.Hour))
	fresh := testJWT("u-fresh", now.Add(72*time.Hour)) // within the 7-day warning
	ts := &tokenServer{accept: fresh}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/realtime/v1/websocket", ts.serveHTTP(t))
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	defer func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
		_ = srv.Close()
	}()

	cfgPath := filepath.Join(t.TempDir(), "config.yaml")
	write := func(token string) {
		body := fmt.Sprintf("room:\n  code: TKN234\nsupabase:\n  url: http://%s\n  key: test-anon-key\n  private: true\n  access_token: %q\n"+
			"discovery:\n  enabled: false\nstatus:\n  addr: 127.0.0.1:0\n", ln.Addr(), token)
		if err := os.WriteFile(cfgPath, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write(expired)
	cmd, statusURL, stderr := startJoinBinary(t, bin, "TKN234", cfgPath)
	joinsWith := func(token string) int {
		ts.mu.Lock()
		defer ts.mu.Unlock()
		n := 0
		for _, j := range ts.joins {
			if j == token {
				n++
			}
		}
		return n
	}
	waitJoin(t, 15*time.Second, "two refused joins with the expired token", func() bool { return joinsWith(expired) >= 2 })
	waitJoin(t, 5*time.Second, "the log line saying what to do", func() bool {
		return strings.Contains(stderr.String(), "has expired or was refused by the server")
	})
	log := stderr.String()
	if !strings.Contains(log, "supabase.access_token expired at") {
		t.Errorf("no start-up warning that the token has expired:\n%s", log)
	}
	if n := strings.Count(log, "has expired or was refused by the server"); n != 1 {
		t.Errorf("the refusal was logged %d times, want once until the room is joined again:\n%s", n, log)
	}
	// /healthz (what the status page and a monitor read) says what to do, too.
	waitJoin(t, 5*time.Second, "/healthz naming the access token", func() bool {
		res, err := http.Get(statusURL + "/healthz")
		if err != nil {
			return false
		}
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		return res.StatusCode == http.StatusServiceUnavailable && strings.Contains(string(body), "supabase.access_token")
	})

	write(fresh)
	if err := cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	// A rejoin waits out its backoff (up to 10 s) unless the new token triggers one at once.
	waitJoin(t, 5*time.Second, "a join with the new token", func() bool { return joinsWith(fresh) >= 1 })
	waitJoin(t, 10*time.Second, "/healthz 200", func() bool {
		res, err := http.Get(statusURL + "/healthz")
		if err != nil {
			return false
		}
		res.Body.Close()
		return res.StatusCode == http.StatusOK
	})
	waitJoin(t, 5*time.Second, "the reload's log lines", func() bool {
		return strings.Contains(stderr.String(), "supabase.access_token replaced")
	})
	log = stderr.String()
	if !strings.Contains(log, "supabase.access_token expires at") {
		t.Errorf("no warning that the new token expires within 7 days:\n%s", log)
	}
	if strings.Contains(log, "take effect only after a restart") {
		t.Errorf("the reload asked for a restart:\n%s", log)
	}
	for _, tok := range []string{expired, fresh, strings.Split(fresh, ".")[1], strings.Split(expired, ".")[1]} {
		if strings.Contains(log, tok) {
			t.Errorf("the log holds a token or its claims:\n%s", log)
		}
	}
}
