package session

import (
	"context"
	"log/slog"
	"net"
	"testing"

	"github.com/ledbridge/ledbridge/bridge/peer"
	"github.com/ledbridge/ledbridge/bridge/realtime"
	"github.com/ledbridge/ledbridge/bridge/realtime/hub"
	"github.com/ledbridge/ledbridge/bridge/room"
)

// presenceTestCode is the room of the package's internal Presence tests.
const presenceTestCode = "ANA234"

// newIdleSession is a Session that is never run: its records are made and read directly.
func newIdleSession(t *testing.T, tweaks ...func(*Config)) *Session {
	t.Helper()
	code, _ := room.ParseCode(presenceTestCode)
	cfg := Config{
		Code:     code,
		Realtime: realtime.Config{URL: "http://127.0.0.1:1", APIKey: "anon"}, // never run
		Peer:     peer.Config{NetworkTypes: []string{"udp4"}, Interfaces: []string{"lo"}},
		Logger:   slog.New(slog.DiscardHandler),
	}
	for _, tweak := range tweaks {
		tweak(&cfg)
	}
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// addPresenceRecord makes the record Presence would make for a musician id named name.
func (s *Session) addPresenceRecord(id, name string) *musician {
	m := presenceMusician(id, room.Meta{Name: name, Role: room.RoleMusician})
	s.mu.Lock()
	defer s.mu.Unlock()
	s.addMusicianLocked(m)
	return m
}

// runJoinedSession runs a Session in a room of an embedded room server until the test ends, and
// returns it once it has joined, with the server's URL.
func runJoinedSession(t *testing.T) (s *Session, hubURL string) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	srv, err := hub.New(hub.Config{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan struct{})
	go func() { defer close(served); _ = srv.Serve(ctx, ln) }()
	t.Cleanup(func() { cancel(); <-served })
	hubURL = "http://" + ln.Addr().String()
	code, _ := room.ParseCode(presenceTestCode)
	s, err = New(Config{
		Code:     code,
		Realtime: realtime.Config{URL: hubURL, APIKey: "anon"},
		Peer:     peer.Config{NetworkTypes: []string{"udp4"}, Interfaces: []string{"lo"}},
		Logger:   slog.New(slog.DiscardHandler),
	})
	if err != nil {
		t.Fatal(err)
	}
	ran := make(chan struct{})
	go func() { defer close(ran); _ = s.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-ran })
	waitUntil(t, "the session joined", func() bool { return s.Snapshot().Room.Connection.State == "joined" })
	return s, hubURL
}
