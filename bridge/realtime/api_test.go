package realtime_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/ledbridge/ledbridge/bridge/realtime"
	"github.com/ledbridge/ledbridge/bridge/realtime/wire"
	"github.com/ledbridge/ledbridge/bridge/testlog"
)

func TestBroadcastNotJoined(t *testing.T) {
	srv := newFakeServer(t)
	srv.joinErrors = 1000
	h := startClient(t, srv, fast(realtime.Config{}))
	h.waitState(realtime.StateReconnecting, 10*time.Second)
	if err := h.c.Broadcast(context.Background(), "state-request", map[string]string{"fromPeerId": "x"}); !errors.Is(err, realtime.ErrNotJoined) {
		t.Errorf("Broadcast while not joined: %v, want ErrNotJoined", err)
	}
	// Track while not joined is remembered, not an error.
	if err := h.c.Track(context.Background(), map[string]string{"name": "x"}); err != nil {
		t.Errorf("Track while not joined: %v", err)
	}
	if err := h.c.Run(context.Background()); !errors.Is(err, realtime.ErrAlreadyRunning) {
		t.Errorf("second Run: %v", err)
	}
	h.stop()
	if h.c.State() != realtime.StateClosed {
		t.Errorf("state after Run returned: %v", h.c.State())
	}
	if err := h.c.Broadcast(context.Background(), "e", 1); !errors.Is(err, realtime.ErrClosed) {
		t.Errorf("Broadcast after Run: %v, want ErrClosed", err)
	}
}

func TestInvalidPayloads(t *testing.T) {
	srv := newFakeServer(t)
	h := startClient(t, srv, realtime.Config{})
	h.waitState(realtime.StateJoined, 5*time.Second)
	ctx := context.Background()
	for name, err := range map[string]error{
		"track array":     h.c.Track(ctx, []int{1}),
		"track bad raw":   h.c.Track(ctx, json.RawMessage("{")),
		"track chan":      h.c.Track(ctx, make(chan int)),
		"broadcast empty": h.c.Broadcast(ctx, "", 1),
		"broadcast long":  h.c.Broadcast(ctx, strings.Repeat("e", 256), 1),
		"broadcast big":   h.c.Broadcast(ctx, "e", strings.Repeat("x", realtime.MaxFrameSize)),
	} {
		if !errors.Is(err, realtime.ErrInvalidPayload) {
			t.Errorf("%s: %v, want ErrInvalidPayload", name, err)
		}
	}
}

// TestTextBroadcastAndAckError: BroadcastText sends JSON text on vsn 2.0.0, and an ack error
// reply comes back as a ReplyError.
func TestTextBroadcastAndAckError(t *testing.T) {
	srv := newFakeServer(t)
	h := startClient(t, srv, realtime.Config{BroadcastText: true, BroadcastAck: true})
	h.waitState(realtime.StateJoined, 5*time.Second)
	if err := h.c.Broadcast(context.Background(), "state-request", map[string]string{"fromPeerId": "led"}); err != nil {
		t.Fatal(err)
	}
	srv.mu.Lock()
	b := srv.framesLocked("broadcast")
	srv.mu.Unlock()
	if len(b) != 1 || string(b[0].msg.Payload) != `{"type":"broadcast","event":"state-request","payload":{"fromPeerId":"led"}}` {
		t.Fatalf("text broadcast frames: %+v", b)
	}
	// Make the server refuse the next broadcast ack: answer it by hand.
	c := srv.lastConn()
	srv.mu.Lock()
	c.ack = false
	srv.mu.Unlock()
	errc := make(chan error, 1)
	go func() { errc <- h.c.Broadcast(context.Background(), "big", map[string]int{"n": 1}) }()
	srv.waitFor("second broadcast", 5*time.Second, func() bool { return srv.countLocked("broadcast") == 2 })
	srv.mu.Lock()
	m := srv.framesLocked("broadcast")[1].msg
	srv.mu.Unlock()
	srv.send(c, m.JoinRef, m.Ref, m.Topic, "phx_reply", `{"status":"error","response":{"reason":"Payload too large"}}`)
	var rerr *realtime.ReplyError
	if err := <-errc; !errors.As(err, &rerr) || rerr.Op != "broadcast" || rerr.Reason != "Payload too large" {
		t.Errorf("acked broadcast refused: %v", err)
	}
}

// TestPrivateJoinAndTokenRefresh: a private join carries the user JWT; SetAccessToken before the
// join changes the join's token, after it sends access_token.
func TestPrivateJoinAndTokenRefresh(t *testing.T) {
	srv := newFakeServer(t)
	h := newHarness(t, srv, realtime.Config{Private: true, AccessToken: "user-jwt-1", ClientVersion: "ledbridge/1.2.3"})
	h.c.SetAccessToken("user-jwt-2")
	h.run()
	h.waitState(realtime.StateJoined, 5*time.Second)
	srv.mu.Lock()
	join := srv.framesLocked("phx_join")[0].msg
	srv.mu.Unlock()
	var p struct {
		Config struct {
			Private bool `json:"private"`
		} `json:"config"`
		AccessToken string `json:"access_token"`
		Version     string `json:"version"`
	}
	if err := json.Unmarshal(join.Payload, &p); err != nil {
		t.Fatal(err)
	}
	if !p.Config.Private || p.AccessToken != "user-jwt-2" || p.Version != "ledbridge/1.2.3" {
		t.Errorf("join payload %s", join.Payload)
	}
	h.c.SetAccessToken("user-jwt-2") // unchanged: nothing sent
	h.c.SetAccessToken("user-jwt-3")
	srv.waitFor("access_token", 5*time.Second, func() bool { return srv.countLocked("access_token") == 1 })
	srv.mu.Lock()
	at := srv.framesLocked("access_token")[0].msg
	srv.mu.Unlock()
	if string(at.Payload) != `{"access_token":"user-jwt-3"}` || at.JoinRef != join.JoinRef {
		t.Errorf("access_token frame %+v", at)
	}
}

// TestBinaryPayloadBroadcast: a kind-4 frame with binary encoding is delivered with Binary set.
func TestBinaryPayloadBroadcast(t *testing.T) {
	srv := newFakeServer(t)
	h := startClient(t, srv, realtime.Config{})
	h.waitState(realtime.StateJoined, 5*time.Second)
	b := wire.UserBroadcast{Kind: wire.KindUserBroadcast, Topic: "realtime:ABC123", Event: "raw", Encoding: wire.EncodingBinary, Payload: []byte{0, 1, 2, 0xff}}
	data, _ := wire.AppendBinary(nil, &b)
	other := b
	other.Topic = "realtime:OTHER1"
	odata, _ := wire.AppendBinary(nil, &other)
	srv.sendToLast(websocket.MessageBinary, odata) // another topic: ignored
	srv.sendToLast(websocket.MessageBinary, data)
	h.waitFor("binary broadcast", 5*time.Second, func() bool {
		for _, e := range h.events {
			if e.Kind == realtime.EventBroadcast {
				return true
			}
		}
		return false
	})
	ev := h.eventsOf(realtime.EventBroadcast)
	if len(ev) != 1 || ev[0].Event != "raw" || !ev[0].Binary || !bytes.Equal(ev[0].Payload, []byte{0, 1, 2, 0xff}) {
		t.Errorf("events %+v", ev)
	}
}

// TestLogsCarryNoSecrets runs join errors, refused upgrades, a failed dial and a token refresh
// with debug logging and checks that neither the API key nor a token appears in the logs or errors.
func TestLogsCarryNoSecrets(t *testing.T) {
	srv := newFakeServer(t)
	srv.rejectUpgrades = 1
	srv.joinErrors = 1
	var logs testlog.Buffer
	logger := testlog.NewLogger(&logs, slog.LevelDebug)
	// A reverse proxy's password in the URL is a secret too.
	h := newHarness(t, srv, fast(realtime.Config{URL: "http://venue:proxy-pass-secret@" + srv.addr,
		Logger: logger, AccessToken: "user-secret-token", Private: true}))
	h.run()
	h.waitState(realtime.StateJoined, 10*time.Second)
	h.c.SetAccessToken("user-secret-token-2")
	srv.waitFor("access_token", 5*time.Second, func() bool { return srv.countLocked("access_token") == 1 })
	srv.kill() // and never restart: dials fail with "connection refused", quoting the URL
	h.waitFor("a dial failure", 10*time.Second, func() bool {
		n := 0
		for _, s := range h.statuses {
			if s.State == realtime.StateReconnecting {
				n++
			}
		}
		return n >= 3
	})
	h.stop()
	all := logs.String()
	h.mu.Lock()
	for _, s := range h.statuses {
		all += s.String() + "\n"
	}
	h.mu.Unlock()
	for _, secret := range []string{anonKey, "user-secret-token", "proxy-pass-secret"} {
		if strings.Contains(all, secret) {
			t.Errorf("secret %q… leaked:\n%s", secret[:10], all)
		}
	}
	if !strings.Contains(all, "apikey=REDACTED") {
		t.Errorf("expected the redacted URL in the logs:\n%s", all)
	}
}
