package main

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/ledbridge/ledbridge/bridge/config"
	"github.com/ledbridge/ledbridge/bridge/realtime/hub"
)

// join's session reaches its embedded hub as a client of its own (hostOnLAN gives it
// embeddedHub.OwnClient): other programs' sockets and bare connections from the same address,
// which fill the address's caps here, do not keep it out (reviews 317 and 320).
func TestJoinReachesItsHubPastAFullAddress(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	c := config.Default()
	c.Hub.Listen = "127.0.0.1:0"
	c.Hub.MaxConnectionsPerAddress = 1
	c.Hub.MaxHTTPConnectionsPerAddress = 2
	h, err := startEmbeddedHub(ctx, ctx, time.Now(), c.Hub, slog.New(slog.NewTextHandler(io.Discard, nil)), nil, nil)
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
	// Bare connections from the address fill its HTTP connection cap too: the session's own
	// connection, counted under the address until its headers are read, takes the oldest's place.
	for range 2 {
		bare, err := net.Dial("tcp", h.Addr.String())
		if err != nil {
			t.Fatal(err)
		}
		defer bare.Close()
	}
	own, _, err := websocket.Dial(dctx, url, &websocket.DialOptions{HTTPClient: h.OwnClient()})
	if err != nil {
		t.Fatalf("join's own client, from the full address: %v", err)
	}
	own.CloseNow()
}

// The own client's token never goes to a proxy named in the environment, even for a hub on a
// LAN address, which HTTP_PROXY would otherwise apply to (review 320).
func TestOwnClientNeverUsesAProxy(t *testing.T) {
	t.Setenv("HTTP_PROXY", "http://proxy.invalid:3128")
	h := &embeddedHub{ownToken: "t"}
	tr := h.OwnClient().Transport.(ownClientTransport).base.(*http.Transport)
	req, _ := http.NewRequest(http.MethodGet, "http://192.0.2.2:4000/realtime/v1/websocket", nil)
	if tr.Proxy != nil {
		if u, err := tr.Proxy(req); err != nil || u != nil {
			t.Fatalf("the own client's requests to %s go through %v (%v)", req.URL, u, err)
		}
	}
}
