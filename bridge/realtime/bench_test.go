package realtime_test

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/ledbridge/ledbridge/bridge/realtime"
	"github.com/ledbridge/ledbridge/bridge/realtime/wire"
)

// BenchmarkReceiveBroadcast measures a kind-4 broadcast from the fake server's write to the event
// on Client.Events, over a loopback WebSocket, one frame in flight at a time. Time and allocations
// include the server's side (same process).
func BenchmarkReceiveBroadcast(b *testing.B) {
	srv := newFakeServer(b)
	c, err := realtime.New(realtime.Config{URL: srv.url(), APIKey: anonKey, Channel: "ABC123", Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- c.Run(ctx) }()
	defer func() { cancel(); <-done }()
	for c.State() != realtime.StateJoined {
		time.Sleep(time.Millisecond)
	}
	frame, _ := wire.AppendBinary(nil, &wire.UserBroadcast{Kind: wire.KindUserBroadcast, Topic: "realtime:ABC123",
		Event: "webrtc-signal", Encoding: wire.EncodingJSON,
		Payload: []byte(`{"type":"ice-candidate","fromPeerId":"p1","targetPeerId":"led","data":{"candidate":"candidate:1 1 udp 2122260223 192.168.1.20 54321 typ host","sdpMid":"0","sdpMLineIndex":0}}`)})
	conn := srv.lastConn()
	b.ReportAllocs()
	b.SetBytes(int64(len(frame)))
	for b.Loop() {
		srv.sendRaw(conn, websocket.MessageBinary, frame)
		for ev := range c.Events() {
			if ev.Kind == realtime.EventBroadcast {
				break
			}
		}
	}
}
