package realtime_test

import (
	"context"
	"testing"
	"time"

	"github.com/ledbridge/ledbridge/bridge/realtime"
)

// broadcastWhenJoined sends one broadcast as soon as the channel is joined.
func broadcastWhenJoined(t *testing.T, h *harness, event string) {
	t.Helper()
	h.waitState(realtime.StateJoined, 10*time.Second)
	if err := h.c.Broadcast(context.Background(), event, map[string]string{"fromPeerId": "led-bridge-1"}); err != nil {
		t.Fatalf("broadcast %s: %v", event, err)
	}
}

// TestBinaryBroadcastFallsBackToText: a Realtime server before v2.63 cannot decode a binary kind-3
// broadcast and its socket crashes (close 1011) before it sends anything else. The client
// reconnects and from then on sends broadcasts as JSON text arrays, instead of crashing the socket
// again after every rejoin's state-request.
func TestBinaryBroadcastFallsBackToText(t *testing.T) {
	srv := newFakeServer(t)
	srv.crashOnBinary = true
	h := startClient(t, srv, fast(realtime.Config{}))
	// The client usually reads the crash's 1011 and falls back at once; when its read ends before
	// that close frame arrives, it falls back after the second such loss. Either way a later
	// socket gets text broadcasts and is not crashed again.
	broadcastWhenJoined(t, h, "state-request")
	text := 0
	for sockets := 2; text == 0; sockets++ {
		if sockets > 3 {
			t.Fatal("no text broadcast after two crashes")
		}
		srv.waitFor("the crash and a new socket", 10*time.Second, func() bool { return len(srv.conns) >= sockets })
		conn := sockets - 1
		broadcastWhenJoined(t, h, "state-request")
		srv.waitFor("a broadcast on the new socket", 10*time.Second, func() bool {
			if len(framesOnConn(srv, conn, "broadcast")) == 1 {
				text = conn
				return true
			}
			for _, f := range srv.frames {
				if f.conn == conn && f.binary {
					return true
				}
			}
			return false
		})
	}
	broadcastWhenJoined(t, h, "led-update")
	srv.waitFor("a second text broadcast", 10*time.Second, func() bool { return len(framesOnConn(srv, text, "broadcast")) == 2 })
	srv.mu.Lock()
	defer srv.mu.Unlock()
	f := framesOnConn(srv, text, "broadcast")[0]
	if f.msg.Topic != "realtime:ABC123" || !f.msg.JoinRef.Valid || f.msg.JoinRef.Value != srv.conns[text].joinRef ||
		string(f.msg.Payload) != `{"type":"broadcast","event":"state-request","payload":{"fromPeerId":"led-bridge-1"}}` {
		t.Errorf("text broadcast %s: want [join_ref, ref, topic, \"broadcast\", {type, event, payload}]", f.data)
	}
	if len(srv.conns) != text+1 {
		t.Errorf("%d sockets: the text broadcasts must not crash it again", len(srv.conns))
	}
}

// TestBinaryBroadcastKeptAfterUnrelatedDrop: a socket lost after the server answered something
// (here the broadcast's own echo) is no sign that it cannot take binary broadcasts: they stay
// binary, as supabase-js sends them.
func TestBinaryBroadcastKeptAfterUnrelatedDrop(t *testing.T) {
	srv := newFakeServer(t)
	h := startClient(t, srv, fast(realtime.Config{BroadcastSelf: true}))
	broadcastWhenJoined(t, h, "state-request")
	h.waitFor("the echo", 10*time.Second, func() bool { return len(h.events) > 0 && h.events[len(h.events)-1].Event == "state-request" })
	srv.kill() // no close frame: abnormal
	srv.restart()
	srv.waitFor("a new socket", 10*time.Second, func() bool { return len(srv.conns) == 2 })
	broadcastWhenJoined(t, h, "state-request")
	srv.waitFor("a binary broadcast on the new socket", 10*time.Second, func() bool {
		for _, f := range srv.frames {
			if f.conn == 1 && f.binary {
				return true
			}
		}
		return false
	})
	srv.mu.Lock()
	defer srv.mu.Unlock()
	if n := len(framesOnConn(srv, 1, "broadcast")); n != 0 {
		t.Errorf("%d text broadcasts after an unrelated drop, want binary", n)
	}
}

// TestBinaryBroadcastKeptAfterDropRightAfterIt: a connection lost without a close frame (a TCP
// reset, a Wi-Fi drop) just after a binary broadcast, before anything else arrived, is not the
// old server's crash (close 1011): broadcasts stay binary, and nothing claims the server is old.
func TestBinaryBroadcastKeptAfterDropRightAfterIt(t *testing.T) {
	srv := newFakeServer(t)
	h := startClient(t, srv, fast(realtime.Config{}))
	broadcastWhenJoined(t, h, "state-request")
	srv.waitFor("the binary broadcast", 10*time.Second, func() bool {
		for _, f := range srv.frames {
			if f.conn == 0 && f.binary {
				return true
			}
		}
		return false
	})
	srv.kill() // no close frame
	srv.restart()
	srv.waitFor("a new socket", 10*time.Second, func() bool { return len(srv.conns) == 2 })
	broadcastWhenJoined(t, h, "state-request")
	srv.waitFor("a broadcast on the new socket", 10*time.Second, func() bool {
		for _, f := range srv.frames {
			if f.conn == 1 && (f.binary || f.msg.Event == "broadcast") {
				return true
			}
		}
		return false
	})
	srv.mu.Lock()
	defer srv.mu.Unlock()
	if n := len(framesOnConn(srv, 1, "broadcast")); n != 0 {
		t.Errorf("%d text broadcasts after a plain connection drop, want binary", n)
	}
}
