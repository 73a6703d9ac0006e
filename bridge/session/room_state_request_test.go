package session_test

import (
	"context"
	"encoding/json"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ledbridge/ledbridge/analysis/effect"
	"github.com/ledbridge/ledbridge/bridge/peer"
	"github.com/ledbridge/ledbridge/bridge/realtime"
	"github.com/ledbridge/ledbridge/bridge/room"
	"github.com/ledbridge/ledbridge/bridge/session"
)

// stateRequests counts the state-requests h's client receives from the bridge and, when answer
// is set, answers each with a state-response addressed to the bridge, as the web app's host does
// (PROTOCOL.md §3). It must start before h tracks, so that no request is missed.
func stateRequests(t *testing.T, h *host, hostID, bridgeID string, answer *room.State) *atomic.Int32 {
	t.Helper()
	var n atomic.Int32
	go func() {
		for ev := range h.c.Events() {
			if ev.Kind != realtime.EventBroadcast || ev.Event != room.EventStateRequest {
				continue
			}
			var req struct {
				FromPeerID string `json:"fromPeerId"`
			}
			if json.Unmarshal(ev.Payload, &req) != nil || req.FromPeerID != bridgeID {
				continue
			}
			n.Add(1)
			if answer == nil {
				continue
			}
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			_ = h.c.Broadcast(ctx, room.EventStateResponse, map[string]any{
				"fromPeerId": hostID, "targetPeerId": bridgeID,
				"state": map[string]any{"tempo": answer.Tempo, "isPlaying": answer.IsPlaying},
			})
			cancel()
		}
	}()
	return &n
}

func track(t *testing.T, h *host, meta room.Meta) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := h.c.Track(ctx, meta); err != nil {
		t.Fatal(err)
	}
}

// When ledbridge is the room server, it joins its room before anyone is back (a restart under
// systemd): the state-request it sends on joining reaches nobody. The host who arrives next has
// the room's tempo and playback, and the bridge asks for them once Presence shows it.
func TestRoomStateAskedOfTheHostArrivingAfterTheBridge(t *testing.T) {
	r := newRig(t, effect.ModeBroadcast) // an empty room on the embedded server
	h := startHost(t, r, "host-1")
	asked := stateRequests(t, h, "host-1", r.sess.PeerID(), &room.State{Tempo: 90, IsPlaying: true})
	track(t, h, room.Meta{Name: "Host", IsHost: true, JoinedAt: time.Now()})
	waitFor(t, 10*time.Second, "the host's tempo 90 and playing", func() bool {
		s := r.sess.Snapshot().Room
		return s.Tempo == 90 && s.Playing
	})
	if n := asked.Load(); n != 1 {
		t.Errorf("the host got %d state-requests, want 1", n)
	}
}

// A host whose Presence comes and goes (a flaky network, page reloads) while it never answers is
// asked for the room's state when it first shows, not each time it comes back.
func TestRoomStateAskedOnceOfAHostFlappingInPresence(t *testing.T) {
	r := newRig(t, effect.ModeBroadcast)
	meta := room.Meta{Name: "Host", IsHost: true, JoinedAt: time.Now()}
	var counts []*atomic.Int32
	asked := func() (n int32) {
		for _, c := range counts {
			n += c.Load()
		}
		return n
	}
	for i := 0; i < 6; i++ { // a join, then 5 times a leave and a join
		h := startHost(t, r, "host-1")
		counts = append(counts, stateRequests(t, h, "host-1", r.sess.PeerID(), nil))
		track(t, h, meta)
		waitFor(t, 10*time.Second, "host-1 in the bridge's Presence", func() bool { _, ok := r.musicianStatus("host-1"); return ok })
		if i == 0 {
			waitFor(t, 10*time.Second, "a state-request at the host", func() bool { return asked() >= 1 })
		}
		if i < 5 {
			h.leave(t, r, "host-1")
		}
	}
	// Requests go out off the Presence reader; give a storm, if there were one, time to arrive.
	time.Sleep(time.Second)
	if n := asked(); n > 2 {
		t.Fatalf("a host flapping in Presence 5 times got %d state-requests, want at most 2", n)
	}
}

// With no host in the room, a musician answers the state-request (PROTOCOL.md §3), perhaps with
// her page's defaults; the host who arrives after her holds the room's state, and is asked too,
// whatever time has passed.
func TestRoomStateAskedOfTheHostAfterAMusicianAnswered(t *testing.T) {
	if n := hostAfterAMusician(t, &room.State{Tempo: 120, IsPlaying: false}); n != 1 {
		t.Errorf("the host got %d state-requests, want 1", n)
	}
}

// A musician who never answers does not keep the host who arrives a moment later from being
// asked.
func TestRoomStateAskedOfTheHostRightAfterASilentMusician(t *testing.T) {
	hostAfterAMusician(t, nil)
}

// hostAfterAMusician: a musician (no host) joins the bridge's room and is asked for its state,
// answering with bassAnswer if not nil; then the host joins, holding tempo 90 and playing. It
// returns, once the bridge shows the host's state, how many state-requests the host got.
func hostAfterAMusician(t *testing.T, bassAnswer *room.State) int32 {
	t.Helper()
	r := newRig(t, effect.ModeBroadcast)
	bass := startHost(t, r, "bass-1")
	bassAsked := stateRequests(t, bass, "bass-1", r.sess.PeerID(), bassAnswer)
	track(t, bass, room.Meta{Name: "Bass", JoinedAt: time.Now()})
	waitFor(t, 10*time.Second, "the bass asked", func() bool { return bassAsked.Load() >= 1 })
	h := startHost(t, r, "host-1")
	hostAsked := stateRequests(t, h, "host-1", r.sess.PeerID(), &room.State{Tempo: 90, IsPlaying: true})
	track(t, h, room.Meta{Name: "Host", IsHost: true, JoinedAt: time.Now().Add(-time.Hour)})
	waitFor(t, 10*time.Second, "the host's tempo 90 and playing", func() bool {
		s := r.sess.Snapshot().Room
		return s.Tempo == 90 && s.Playing
	})
	return hostAsked.Load()
}

// A bridge joining a room whose host is already there (hosted Supabase, and every reconnect there)
// asks once: on joining, or when the Presence table shows the host, not both.
func TestRoomStateAskedOnceWhenTheHostWasThereFirst(t *testing.T) {
	r := newRig(t, effect.ModeBroadcast) // its session is another bridge: only the second one's requests count
	h := startHost(t, r, "host-1")
	const second = "ledbridge-second"
	asked := stateRequests(t, h, "host-1", second, &room.State{Tempo: 90, IsPlaying: true})
	track(t, h, room.Meta{Name: "Host", IsHost: true, JoinedAt: time.Now()})
	waitFor(t, 10*time.Second, "host-1 in Presence", func() bool { _, ok := r.musicianStatus("host-1"); return ok })

	code, _ := room.ParseCode(testCode)
	sess, err := session.New(session.Config{
		Code: code, Version: "test", Mode: effect.ModeBroadcast, PeerID: second,
		Realtime: realtime.Config{URL: r.hubURL, APIKey: "anon"},
		Peer:     peer.Config{NetworkTypes: []string{"udp4"}, Interfaces: []string{"lo"}},
		Logger:   testLog(t),
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = sess.Run(ctx) }()
	defer func() { cancel(); <-done }()
	waitFor(t, 10*time.Second, "the second bridge has the host's tempo 90 and playing", func() bool {
		s := sess.Snapshot().Room
		return s.Tempo == 90 && s.Playing
	})
	time.Sleep(time.Second) // a second request, if there were one, is on its way by now
	if n := asked.Load(); n != 1 {
		t.Errorf("the host got %d state-requests from a bridge joining after it, want 1", n)
	}
}
