package session_test

import (
	"context"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/pion/webrtc/v4"

	"github.com/ledbridge/ledbridge/bridge/realtime"
	"github.com/ledbridge/ledbridge/bridge/room"
)

// The room server restarts; ana's client rejoins before the bridge (as when the bridge is further
// into its backoff), so the fresh Presence the bridge's rejoin gets lists her, and she then really leaves (untracks, her connection up) before
// the session reads that Presence: a session loop busy for a moment sees the state and her leave
// in one table. She left in a leave the server saw, and is closed after the normal grace; ben,
// kept out of the room until later, is missing from the fresh Presence and keeps his connection
// for the rejoin grace. The bridge used to take her for missing too, her record having last been
// seen in the join before, and kept her 45 s.
func TestALeaveJustAfterTheRejoinGetsTheNormalGrace(t *testing.T) {
	logs := &gatedLogs{musician: "zed", held: make(chan struct{}), release: make(chan struct{})}
	defer logs.open()
	srv := startRestartableHub(t)
	// The bridge reaches the server through a proxy, which keeps it out after the restart until
	// ana's client has rejoined; ben's through another, which keeps him out.
	bridgeProxy := newSocketProxy(t, srv.url())
	proxy := newSocketProxy(t, srv.url())
	r, ana, ben, playing := startGraceRig(t, logs, bridgeProxy.url(), srv.url(), proxy.url())
	quick := []time.Duration{200 * time.Millisecond}

	// The session loop lags: it is held in the line it logs for zed's join.
	trackPresence(t, srv.url(), "zed", quick)
	select {
	case <-logs.held:
	case <-time.After(10 * time.Second):
		t.Fatal("the bridge did not log zed's join")
	}
	joinBefore := r.sess.PresenceView().Join
	bridgeProxy.block()
	proxy.block()
	srv.stop()
	bridgeProxy.sever(true)
	proxy.sever(true)
	waitFor(t, 10*time.Second, "the bridge lost its socket", func() bool { return r.sess.Snapshot().Room.Connection.State != "joined" })
	srv.start()
	waitFor(t, 10*time.Second, "ana's client rejoined the restarted server and tracked her", func() bool {
		v := ana.client.PresenceView()
		_, tracked := v.Table["ana"]
		return v.Join > 1 && v.Applied && tracked
	})
	bridgeProxy.unblock()
	waitFor(t, 10*time.Second, "the bridge rejoined", func() bool { return r.sess.Snapshot().Room.Connection.State == "joined" })
	// Its presence_state, listing ana, reaches the bridge's table (not yet its held loop).
	var rejoin uint64
	waitFor(t, 10*time.Second, "the bridge's table applied its rejoin's presence_state, listing ana", func() bool {
		v := r.sess.PresenceView()
		_, tracked := v.Table["ana"]
		rejoin = v.Join
		return v.Join > joinBefore && v.Applied && tracked
	})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := ana.client.Untrack(ctx); err != nil {
		t.Fatal(err)
	}
	// Her leave reaches the table too, in the same join.
	waitFor(t, 10*time.Second, "ana's leave reached the bridge's table", func() bool {
		_, tracked := r.sess.PresenceView().Table["ana"]
		return !tracked
	})
	if v := r.sess.PresenceView(); v.Join != rejoin || !v.InJoinState("ana") {
		t.Fatalf("the bridge's table follows join %d (listing ana in its state: %v), want join %d, whose state listed her",
			v.Join, v.InJoinState("ana"), rejoin)
	}
	logs.open()

	waitFor(t, 10*time.Second, "the bridge read the fresh Presence without both musicians", func() bool {
		return logs.count(msgAway)+logs.count(msgMissing) == 2
	})
	left := time.Now()
	if away, missing := logs.count(msgAway), logs.count(msgMissing); away != 1 || missing != 1 {
		t.Errorf("logged %d away and %d missing lines, want one each (ana left, ben is missing)", away, missing)
	}
	wantClosedAfterTheGrace(t, r, ana, ben, left, playing)
	proxy.unblock()
	waitFor(t, 10*time.Second, "ben back in the bridge's Presence", func() bool { return logs.count(msgBack) == 1 })
	if st := ben.pc.ConnectionState(); st != webrtc.PeerConnectionStateConnected {
		t.Errorf("ben's PeerConnection is %v after his rejoin", st)
	}
}

// Only the bridge's Realtime socket drops (a bridge-side network blip); the room server and its
// Presence carry on. Ana really leaves (untracks, her connection up) while the bridge is away, so
// the Presence of its rejoin lacks her, while ben is still listed under the phx_ref the bridge
// saw before: the server did not restart, and she left in a leave the server saw. She is closed
// after the normal grace; the bridge used to take her for missing from a restarted server's
// Presence and keep her 45 s.
func TestALeaveDuringTheBridgesOwnReconnectGetsTheNormalGrace(t *testing.T) {
	logs := &logCounter{}
	srv := startRestartableHub(t) // not restarted here
	// The bridge reaches the server through a proxy, which the test cuts.
	proxy := newSocketProxy(t, srv.url())
	r, ana, ben, playing := startGraceRig(t, logs, proxy.url(), srv.url(), srv.url())

	proxy.sever(true)
	waitFor(t, 10*time.Second, "the bridge lost its socket", func() bool { return r.sess.Snapshot().Room.Connection.State != "joined" })
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := ana.client.Untrack(ctx); err != nil {
		t.Fatal(err)
	}
	proxy.unblock()
	waitFor(t, 10*time.Second, "the bridge rejoined and found ana gone", func() bool {
		return logs.count(msgAway)+logs.count(msgMissing) > 0
	})
	left := time.Now()
	if away, missing := logs.count(msgAway), logs.count(msgMissing); away != 1 || missing != 0 {
		t.Errorf("logged %d away and %d missing lines, want ana away, nobody missing", away, missing)
	}
	wantClosedAfterTheGrace(t, r, ana, ben, left, playing)
	if st := ben.pc.ConnectionState(); st != webrtc.PeerConnectionStateConnected {
		t.Errorf("ben's PeerConnection is %v after the bridge's reconnect", st)
	}
}

// trackPresence puts a musician's Presence meta under key in the room of the hub at url, with no
// media, until the test ends.
func trackPresence(t *testing.T, url, key string, reconnect []time.Duration) {
	t.Helper()
	c, err := realtime.New(realtime.Config{URL: url, APIKey: "anon", Channel: testCode, PresenceKey: key,
		ReconnectBackoff: reconnect, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = c.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	tctx, tcancel := context.WithTimeout(ctx, 5*time.Second)
	defer tcancel()
	if err := c.Track(tctx, room.Meta{Name: key, Role: room.RoleMusician, JoinedAt: time.Now().UTC()}); err != nil {
		t.Fatal(err)
	}
}

// gatedLogs counts log lines as logCounter does, and holds the first goroutine that logs the
// join of musician (the session's Presence reader) until open: a session loop that lags.
type gatedLogs struct {
	logCounter
	musician      string
	held, release chan struct{}
	once, opened  sync.Once
}

func (l *gatedLogs) Handle(ctx context.Context, rec slog.Record) error {
	if rec.Message == msgJoined {
		rec.Attrs(func(a slog.Attr) bool {
			if a.Key == "musician" && a.Value.String() == l.musician {
				l.once.Do(func() {
					close(l.held)
					<-l.release
				})
			}
			return true
		})
	}
	return l.logCounter.Handle(ctx, rec)
}

func (l *gatedLogs) WithAttrs([]slog.Attr) slog.Handler { return l }
func (l *gatedLogs) WithGroup(string) slog.Handler      { return l }

// open lets the held goroutine go, and the next ones pass.
func (l *gatedLogs) open() { l.opened.Do(func() { close(l.release) }) }
