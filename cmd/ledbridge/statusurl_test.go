package main

import (
	"encoding/json"
	"io"
	"log/slog"
	"strings"
	"testing"

	"github.com/ledbridge/ledbridge/bridge/config"
	"github.com/ledbridge/ledbridge/bridge/room"
	"github.com/ledbridge/ledbridge/bridge/session"
)

// The status page shows the room's URL to anyone on the LAN (/api/status needs no token): a
// reverse proxy's password in supabase.url must not be in it.
func TestStatusRoomURLCarriesNoProxyPassword(t *testing.T) {
	c := config.Default()
	c.Supabase.URL, c.Supabase.Key = "https://venue:s3cret@proxy.venue.lan", "anon-key"
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	code, _ := room.ParseCode("JAM234")
	sc, err := sessionConfig(c, code, "test", false, slog.New(slog.NewTextHandler(io.Discard, nil)), nil)
	if err != nil {
		t.Fatal(err)
	}
	sess, err := session.New(sc)
	if err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(sess.Snapshot())
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(b), "s3cret") || !strings.Contains(string(b), "proxy.venue.lan") {
		t.Errorf("the status snapshot's room URL: %s", b)
	}
}
