package main

import (
	"context"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/ledbridge/ledbridge/bridge/config"
	"github.com/ledbridge/ledbridge/bridge/realtime/hub"
)

// join's session reaches its embedded hub as a client of its own (hostOnLAN gives it
// embeddedHub.OwnClient): other programs' sockets from the same address, which fill the
// address's cap here, do not keep it out (review 317).
func TestJoinReachesItsHubPastAFullAddress(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	c := config.Default()
	c.Hub.Listen = "127.0.0.1:0"
	c.Hub.MaxConnectionsPerAddress = 1
	h, err := startEmbeddedHub(ctx, c.Hub, slog.New(slog.NewTextHandler(io.Discard, nil)), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { cancel(); _ = h.Wait() }()
	url := strings.Replace(h.LocalURL(), "http://", "ws://", 1) + hub.Path + "?apikey=k&vsn=2.0.0"
	dctx, dcancel := context.WithTimeout(ctx, 10*time.Second)
	defer dcancel()
	other, _, err := websocket.Dial(dctx, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer other.CloseNow()
	if ws, _, err := websocket.Dial(dctx, url, nil); err == nil {
		ws.CloseNow()
		t.Fatal("a second socket from the address was let in past its cap of 1")
	}
	own, _, err := websocket.Dial(dctx, url, &websocket.DialOptions{HTTPClient: h.OwnClient()})
	if err != nil {
		t.Fatalf("join's own client, from the full address: %v", err)
	}
	own.CloseNow()
}
