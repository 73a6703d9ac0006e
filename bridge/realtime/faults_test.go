package realtime_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/ledbridge/ledbridge/bridge/realtime"
	"github.com/ledbridge/ledbridge/bridge/realtime/wire"
)

var defaultSchedule = []time.Duration{time.Second, 2 * time.Second, 5 * time.Second, 10 * time.Second, 10 * time.Second}

// fast returns a config whose default schedules run 100× faster (1 s backoff → 10 ms), with no
// jitter. Heartbeats and push timeouts default to 10 and 5 min (6 and 3 s scaled) so that a loaded
// machine cannot time them out by accident; tests of those timeouts set them.
func fast(cfg realtime.Config) realtime.Config {
	cfg.Clock = newScaledClock(100)
	cfg.Rand = noJitter
	if cfg.PushTimeout == 0 {
		cfg.PushTimeout = 5 * time.Minute
	}
	if cfg.HeartbeatInterval == 0 {
		cfg.HeartbeatInterval = 10 * time.Minute
	}
	return cfg
}

// framesOnConn returns the text frames with event on connection conn.
func framesOnConn(s *fakeServer, conn int, event string) []recvFrame {
	var out []recvFrame
	for _, f := range s.framesLocked(event) {
		if f.conn == conn {
			out = append(out, f)
		}
	}
	return out
}

func presenceOps(s *fakeServer, conn int) []string {
	var out []string
	for _, f := range framesOnConn(s, conn, "presence") {
		var p struct{ Event string }
		_ = json.Unmarshal(f.msg.Payload, &p)
		out = append(out, p.Event)
	}
	return out
}

// TestServerRestart: the server dies and comes back; the client reconnects, rejoins and re-tracks
// within 5 s (with the real 1 s first backoff).
func TestServerRestart(t *testing.T) {
	srv := newFakeServer(t)
	h := newHarness(t, srv, realtime.Config{Rand: noJitter})
	if err := h.c.Track(context.Background(), map[string]any{"name": "LED Bridge"}); err != nil {
		t.Fatal(err)
	}
	h.run()
	srv.waitFor("first track", 5*time.Second, func() bool { return len(presenceOps(srv, 0)) == 1 })

	killed := time.Now()
	srv.kill()
	srv.restart()
	srv.waitFor("rejoin and re-track on a new socket", 5*time.Second, func() bool {
		return len(srv.conns) >= 2 && len(framesOnConn(srv, len(srv.conns)-1, "phx_join")) == 1 &&
			reflect.DeepEqual(presenceOps(srv, len(srv.conns)-1), []string{"track"})
	})
	t.Logf("server kill → re-tracked on a new socket: %v (first backoff 1 s)", time.Since(killed).Round(time.Millisecond))
	h.waitState(realtime.StateJoined, 5*time.Second)
	if got := h.retries(); len(got) == 0 || got[0] != time.Second {
		t.Errorf("reconnect delays %v, want first 1s", got)
	}
	if st := h.c.Stats(); st.Reconnects < 1 {
		t.Errorf("stats %+v: no reconnect counted", st)
	}
	// Our own meta is back in the Presence table.
	h.waitFor("own presence after restart", 5*time.Second, func() bool {
		return len(h.c.Presence()["led-bridge-1"]) == 1
	})
}

// TestReconnectBackoffSchedule: refused upgrades walk the socket schedule 1, 2, 5, 10, 10 s, and the
// handshake error is reported.
func TestReconnectBackoffSchedule(t *testing.T) {
	srv := newFakeServer(t)
	srv.rejectUpgrades = 5
	h := startClient(t, srv, fast(realtime.Config{}))
	h.waitState(realtime.StateJoined, 10*time.Second)
	if got := h.retries(); !reflect.DeepEqual(got, defaultSchedule) {
		t.Errorf("reconnect delays %v, want %v", got, defaultSchedule)
	}
	var herr *realtime.HandshakeError
	if err := h.c.Status().Err; !errors.As(err, &herr) || herr.StatusCode != 503 || herr.Message != "RealtimeRestarting" {
		t.Errorf("last error %v, want HandshakeError 503 RealtimeRestarting", err)
	}
}

// TestReconnectJitter: jitter adds at most ReconnectJitter of each delay.
func TestReconnectJitter(t *testing.T) {
	srv := newFakeServer(t)
	srv.rejectUpgrades = 2
	cfg := fast(realtime.Config{})
	cfg.Rand = func() float64 { return 0.5 }
	h := startClient(t, srv, cfg)
	h.waitState(realtime.StateJoined, 10*time.Second)
	want := []time.Duration{1100 * time.Millisecond, 2200 * time.Millisecond} // + 0.5 × 20 %
	if got := h.retries(); !reflect.DeepEqual(got, want) {
		t.Errorf("reconnect delays %v, want %v", got, want)
	}
}

// TestHeartbeatTimeout: unanswered heartbeats close the socket ("heartbeat timeout", 1000) and
// the client reconnects and rejoins.
func TestHeartbeatTimeout(t *testing.T) {
	srv := newFakeServer(t)
	srv.ignoreHeartbeats = true
	h := startClient(t, srv, fast(realtime.Config{HeartbeatInterval: realtime.DefaultHeartbeatInterval})) // 250 ms scaled
	srv.waitFor("a second socket with a join", 10*time.Second, func() bool {
		return len(srv.conns) >= 2 && len(framesOnConn(srv, 1, "phx_join")) == 1 && srv.conns[0].closed
	})
	srv.mu.Lock()
	first := srv.conns[0]
	hb := framesOnConn(srv, 0, "heartbeat")
	srv.mu.Unlock()
	if first.closeCode != websocket.StatusNormalClosure || first.closeText != "heartbeat timeout" {
		t.Errorf("first socket closed with %d %q, want 1000 \"heartbeat timeout\"", first.closeCode, first.closeText)
	}
	if len(hb) != 1 || hb[0].msg.Topic != "phoenix" || hb[0].msg.JoinRef.Valid || string(hb[0].msg.Payload) != "{}" {
		t.Errorf("heartbeats on the first socket: %+v", hb)
	}
	if got := h.retries(); len(got) == 0 || got[0] != time.Second {
		t.Errorf("reconnect delays %v, want first 1s", got)
	}
	if st := h.c.Stats(); st.HeartbeatTimeouts < 1 {
		t.Errorf("stats %+v: no heartbeat timeout counted", st)
	}
	h.mu.Lock()
	var sawTimeout bool
	for _, s := range h.statuses {
		sawTimeout = sawTimeout || errors.Is(s.Err, realtime.ErrHeartbeatTimeout)
	}
	h.mu.Unlock()
	if !sawTimeout {
		t.Error("no status reported ErrHeartbeatTimeout")
	}
}

// TestJoinErrorBackoff: refused joins are retried on the same socket with the schedule 1, 2, 5, 10,
// 10 s, each with a new join_ref, as recorded in join-error-rejoin.log (for a reason that may
// pass; see TestRefusedJoinBackoffFollowsTheReason for the others).
func TestJoinErrorBackoff(t *testing.T) {
	const restarting = "RealtimeRestarting: Realtime is restarting, please standby"
	srv := newFakeServer(t)
	srv.joinErrors = 5
	srv.joinErrorReason = restarting
	h := startClient(t, srv, fast(realtime.Config{}))
	h.waitState(realtime.StateJoined, 10*time.Second)
	if got := h.retries(); !reflect.DeepEqual(got, defaultSchedule) {
		t.Errorf("rejoin delays %v, want %v", got, defaultSchedule)
	}
	srv.mu.Lock()
	joins := framesOnConn(srv, 0, "phx_join")
	nconns := len(srv.conns)
	srv.mu.Unlock()
	if len(joins) != 6 || nconns != 1 {
		t.Fatalf("%d joins on %d sockets, want 6 on 1", len(joins), nconns)
	}
	seen := map[string]bool{}
	for _, j := range joins {
		if j.msg.JoinRef != j.msg.Ref || seen[j.msg.JoinRef.Value] {
			t.Errorf("join refs %v/%v: want a new join_ref equal to ref", j.msg.JoinRef, j.msg.Ref)
		}
		seen[j.msg.JoinRef.Value] = true
	}
	var rerr *realtime.ReplyError
	if err := h.c.Status().Err; !errors.As(err, &rerr) || rerr.Op != "join" || rerr.Reason != restarting {
		t.Errorf("last error %v, want the join ReplyError", err)
	}
	if st := h.c.Stats(); st.Rejoins != 5 {
		t.Errorf("rejoins %d, want 5", st.Rejoins)
	}
}

// TestSystemErrorThenClose: a system error followed by phx_close (server-shutdown.log) makes the
// client rejoin with backoff and re-track.
func TestSystemErrorThenClose(t *testing.T) {
	srv := newFakeServer(t)
	srv.shutdownOnTrack = 1
	h := newHarness(t, srv, fast(realtime.Config{}))
	if err := h.c.Track(context.Background(), map[string]any{"name": "LED Bridge"}); err != nil {
		t.Fatal(err)
	}
	h.run()
	srv.waitFor("rejoin and re-track", 10*time.Second, func() bool {
		return len(framesOnConn(srv, 0, "phx_join")) == 2 && len(presenceOps(srv, 0)) == 2
	})
	h.waitState(realtime.StateJoined, 10*time.Second)
	if got := h.retries(); !reflect.DeepEqual(got, []time.Duration{time.Second}) {
		t.Errorf("rejoin delays %v, want [1s]", got)
	}
	var serr *realtime.SystemError
	err := h.c.Status().Err
	if !errors.As(err, &serr) || serr.Message != "Client presence rate limit exceeded" {
		t.Errorf("last error %v, want the SystemError", err)
	}
	h.waitFor("own presence", 5*time.Second, func() bool { return len(h.c.Presence()["led-bridge-1"]) == 1 })
}

// TestPresenceRateLimit: eight quick Track calls never exceed 5 pushes per window; the excess is
// deferred and coalesced so the server ends with the last meta.
func TestPresenceRateLimit(t *testing.T) {
	srv := newFakeServer(t)
	h := startClient(t, srv, fast(realtime.Config{}))
	h.waitState(realtime.StateJoined, 10*time.Second)
	ctx := context.Background()
	for i := range 8 {
		if err := h.c.Track(ctx, map[string]int{"n": i}); err != nil {
			t.Fatal(err)
		}
	}
	srv.waitFor("the last meta tracked", 10*time.Second, func() bool {
		f := framesOnConn(srv, 0, "presence")
		return len(f) > 0 && bytes.Contains(f[len(f)-1].msg.Payload, []byte(`{"n":7}`))
	})
	srv.mu.Lock()
	n := len(framesOnConn(srv, 0, "presence"))
	srv.mu.Unlock()
	if n != 6 {
		t.Errorf("%d track pushes, want 5 then 1 coalesced", n)
	}
	if st := h.c.Stats(); st.PresenceDeferred < 1 {
		t.Errorf("stats %+v: nothing deferred", st)
	}
}

// TestMalformedInput: garbage from the server is dropped and counted, never fatal; the
// connection stays up and a valid broadcast after it is delivered.
func TestMalformedInput(t *testing.T) {
	for _, vsn := range []string{"2.0.0", "1.0.0"} {
		t.Run(vsn, func(t *testing.T) {
			srv := newFakeServer(t)
			h := startClient(t, srv, realtime.Config{Vsn: vsn})
			h.waitState(realtime.StateJoined, 10*time.Second)
			c := srv.lastConn()
			text := func(s string) { srv.sendRaw(c, websocket.MessageText, []byte(s)) }
			bin := func(b []byte) { srv.sendRaw(c, websocket.MessageBinary, b) }
			topic := "realtime:ABC123"
			msg := func(event, payload string) {
				srv.send(c, wire.RefOf(c.joinRef), wire.Ref{}, topic, event, payload)
			}
			text("not json")
			text(`{"topic":5}`)
			text(`[1,2,3]`)
			text(`[null,null,"` + topic + `","broadcast",{"type":"broadcast"}`)
			text(strings.Repeat(" ", realtime.MaxFrameSize+10))
			bin([]byte{9, 1, 2})
			bin([]byte{4, 200, 1, 0, 1, 'x'})
			push := wire.UserBroadcast{Kind: wire.KindUserBroadcastPush, Topic: topic, Event: "e", Encoding: wire.EncodingJSON, Payload: []byte("{}")}
			pb, _ := wire.AppendBinary(nil, &push)
			bin(pb)
			msg("broadcast", `{"type":"broadcast","payload":{}}`)
			msg("broadcast", `[1]`)
			msg("presence_state", `{"k":{"metas":[5]}}`)
			msg("presence_diff", `{"joins":7}`)
			msg("presence_diff", `{"joins":{"k":{"metas":"x"}},"leaves":{}}`)
			msg("phx_reply", `{"response":{}}`)
			msg("system", `"text"`)
			msg("broadcast", `{"type":"broadcast","event":"ok-after-garbage","payload":{"v":1}}`)
			h.waitFor("the valid broadcast", 10*time.Second, func() bool {
				for _, e := range h.events {
					if e.Kind == realtime.EventBroadcast && e.Event == "ok-after-garbage" {
						return true
					}
				}
				return false
			})
			st := h.c.Stats()
			// 15 bad inputs above, the oversize frame among them; each is counted once.
			if st.Malformed != 15 || st.Oversize != 1 {
				t.Errorf("stats %+v, want 15 malformed, 1 of them oversize", st)
			}
			if n := len(h.eventsOf(realtime.EventBroadcast)); n != 1 {
				t.Errorf("%d broadcasts delivered, want only the valid one", n)
			}
			srv.mu.Lock()
			nconns := len(srv.conns)
			srv.mu.Unlock()
			if nconns != 1 || h.c.State() != realtime.StateJoined {
				t.Errorf("%d sockets, state %v: garbage must not cost the connection", nconns, h.c.State())
			}
		})
	}
}

// TestChannelLossRejoins: phx_error, phx_close or a system error alone each make the client rejoin
// on the same socket with the first backoff step; frames for an earlier join are ignored.
func TestChannelLossRejoins(t *testing.T) {
	for _, tc := range []struct {
		name, event, payload string
		rejoin               bool
	}{
		{"phx_error", "phx_error", `{}`, true},
		{"phx_close", "phx_close", `{}`, true},
		{"system error", "system", `{"extension":"system","status":"error","message":"Too many messages per second","channel":"ABC123"}`, true},
		{"system ok", "system", `{"extension":"system","status":"ok","message":"Replication connection established"}`, false},
		{"stale phx_close", "stale", `{}`, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := newFakeServer(t)
			h := startClient(t, srv, fast(realtime.Config{}))
			h.waitState(realtime.StateJoined, 10*time.Second)
			c := srv.lastConn()
			jr := wire.RefOf(c.joinRef)
			switch tc.event {
			case "stale":
				srv.send(c, wire.RefOf("999"), wire.RefOf("999"), "realtime:ABC123", "phx_close", tc.payload)
			case "system":
				srv.send(c, jr, wire.Ref{}, "realtime:ABC123", "system", tc.payload)
			default:
				srv.send(c, jr, jr, "realtime:ABC123", tc.event, tc.payload)
			}
			srv.send(c, wire.Ref{}, wire.Ref{}, "realtime:ABC123", "broadcast", `{"type":"broadcast","event":"marker","payload":{}}`)
			h.waitFor("the marker broadcast", 10*time.Second, func() bool {
				for _, e := range h.events {
					if e.Event == "marker" {
						return true
					}
				}
				return false
			})
			if !tc.rejoin {
				srv.mu.Lock()
				n := len(framesOnConn(srv, 0, "phx_join"))
				srv.mu.Unlock()
				if n != 1 || h.c.State() != realtime.StateJoined || len(h.retries()) != 0 {
					t.Errorf("%d joins, state %v, retries %v: want no rejoin", n, h.c.State(), h.retries())
				}
				return
			}
			srv.waitFor("a rejoin on the same socket", 10*time.Second, func() bool {
				return len(framesOnConn(srv, 0, "phx_join")) == 2
			})
			h.waitState(realtime.StateJoined, 10*time.Second)
			if got := h.retries(); !reflect.DeepEqual(got, []time.Duration{time.Second}) {
				t.Errorf("rejoin delays %v, want [1s]", got)
			}
		})
	}
}

// TestJoinTimeout: an unanswered join is abandoned after PushTimeout with phx_leave, then retried
// with the rejoin schedule.
func TestJoinTimeout(t *testing.T) {
	srv := newFakeServer(t)
	srv.ignoreJoins = 2
	cfg := fast(realtime.Config{})
	cfg.PushTimeout = 100 * time.Second // 1 s scaled
	h := startClient(t, srv, cfg)
	h.waitState(realtime.StateJoined, 10*time.Second)
	srv.mu.Lock()
	joins, leaves := framesOnConn(srv, 0, "phx_join"), framesOnConn(srv, 0, "phx_leave")
	srv.mu.Unlock()
	if len(joins) != 3 || len(leaves) != 2 {
		t.Fatalf("%d joins and %d leaves, want 3 and 2", len(joins), len(leaves))
	}
	for i, l := range leaves {
		if l.msg.JoinRef != joins[i].msg.JoinRef {
			t.Errorf("leave %d has join_ref %v, want the timed-out join's %v", i, l.msg.JoinRef, joins[i].msg.JoinRef)
		}
	}
	if got := h.retries(); !reflect.DeepEqual(got, []time.Duration{time.Second, 2 * time.Second}) {
		t.Errorf("rejoin delays %v, want [1s 2s]", got)
	}
}

// TestTrackRefused: a refused track returns the server's reason and stays the last error; the
// channel stays joined.
func TestTrackRefused(t *testing.T) {
	srv := newFakeServer(t)
	srv.trackErrors = 1
	h := startClient(t, srv, realtime.Config{})
	// The presence_state sync comes after the join is fully handled (nothing tracked yet).
	h.waitFor("presence sync", 5*time.Second, func() bool {
		for _, e := range h.events {
			if e.Kind == realtime.EventPresenceSync {
				return true
			}
		}
		return false
	})
	err := h.c.Track(context.Background(), map[string]string{"name": "x"})
	var rerr *realtime.ReplyError
	if !errors.As(err, &rerr) || rerr.Op != "track" || !strings.HasPrefix(rerr.Reason, "Unauthorized") {
		t.Fatalf("Track: %v, want the refusal", err)
	}
	if st := h.c.Status(); st.State != realtime.StateJoined || !errors.As(st.Err, &rerr) {
		t.Errorf("status %v", st)
	}
	// A later Track is pushed again (the refused one did not count as tracked).
	if err := h.c.Track(context.Background(), map[string]string{"name": "x"}); err != nil {
		t.Fatal(err)
	}
	srv.mu.Lock()
	n := len(framesOnConn(srv, 0, "presence"))
	srv.mu.Unlock()
	if n != 2 {
		t.Errorf("%d track pushes, want 2", n)
	}
}

// TestAckTimeout: an acknowledged broadcast the server never acks fails with ErrTimeout.
func TestAckTimeout(t *testing.T) {
	srv := newFakeServer(t)
	cfg := fast(realtime.Config{BroadcastAck: true})
	cfg.PushTimeout = 100 * time.Second // 1 s scaled
	h := startClient(t, srv, cfg)
	h.waitState(realtime.StateJoined, 10*time.Second)
	srv.mu.Lock()
	srv.lastConnLocked().ack = false
	srv.mu.Unlock()
	if err := h.c.Broadcast(context.Background(), "state-request", map[string]string{"fromPeerId": "led"}); !errors.Is(err, realtime.ErrTimeout) {
		t.Errorf("Broadcast: %v, want ErrTimeout", err)
	}
}
