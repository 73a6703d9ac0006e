package session_test

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/ledbridge/ledbridge/analysis/effect"
	"github.com/ledbridge/ledbridge/bridge/realtime/hub"
	"github.com/ledbridge/ledbridge/bridge/session"
)

// Room members that track a musician's meta in Presence and never answer an offer (a stuck tab,
// or anyone with the room code) must not hold every place the session follows: with a peer cap
// of 2 the session follows 4 musicians, and 4 such members present first would leave a real
// musician who joins after them unfollowed for good, never offered a connection. A record that
// never connected gives its place, once followed longer than the peer manager's slot timeout
// (peer.Config.SlotTimeout, shortened here), to one waiting; the musician who waited is
// followed, admitted and connected, and /metrics counts the places given
// (ledbridge_room_musicians_unfollowed_total) and the peer slots taken back
// (ledbridge_webrtc_slots_reclaimed_total).
func TestSilentMembersGiveTheirPlaceToAMusicianWhoWaits(t *testing.T) {
	reg := prometheus.NewRegistry()
	const slotTimeout = 3 * time.Second // peer.DefaultSlotTimeout is 30 s
	r := newRigWith(t, effect.ModeLocal, hub.Config{}, func(c *session.Config) {
		c.Peer.MaxPeers, c.Peer.SlotTimeout, c.Metrics = 2, slotTimeout, reg
	})
	t0 := time.Now().Add(-time.Hour)
	members := presenceMembers{r: r}
	var squatters []string
	for i := range 4 {
		key := fmt.Sprintf("silent%d", i)
		squatters = append(squatters, key)
		members.join(t, key, t0.Add(time.Duration(i)*time.Second), false)
	}
	waitFor(t, 10*time.Second, fmt.Sprintf("the session follows %v", squatters), func() bool { return slices.Equal(r.followed(), squatters) })

	ana := r.musician(musicianOpts{id: "ana", name: "Ana", fixture: fixture("a3_220hz.opus")})
	bound := 2*slotTimeout + 20*time.Second
	waitFor(t, bound, "ana followed and connected", func() bool {
		_, followed := r.musicianStatus("ana")
		return followed && ana.connected()
	})
	waitFor(t, 10*time.Second, "audio from ana", func() bool { s, ok := r.musicianStatus("ana"); return ok && s.Packets > 0 })
	if n := len(r.followed()); n != 4 {
		t.Errorf("the session follows %d musicians (%v), want its cap 4", n, r.followed())
	}
	for _, name := range []string{"ledbridge_room_musicians_unfollowed_total", "ledbridge_webrtc_slots_reclaimed_total"} {
		if v, ok := unlabelledValue(t, reg, name); !ok || v < 1 {
			t.Errorf("%s = %v (present: %v), want at least 1", name, v, ok)
		}
	}
}

// A member that connected once and went dark (its connection closed, its tab still in Presence)
// must not hold its place for good either. With a peer cap of 1 the session follows two, and two
// such members hold both places: once the peer manager has taken the dark one's slot back for
// the other waiting, and it has been without a connection for the slot timeout, it gives its
// place as one that never connected does, and the musician who waited is followed, admitted and
// connected in the end.
func TestMembersThatWentDarkGiveTheirPlaceToAMusicianWhoWaits(t *testing.T) {
	reg := prometheus.NewRegistry()
	const slotTimeout = 2 * time.Second // peer.DefaultSlotTimeout is 30 s
	r := newRigWith(t, effect.ModeLocal, hub.Config{}, func(c *session.Config) {
		c.Peer.MaxPeers, c.Peer.SlotTimeout, c.Metrics = 1, slotTimeout, reg
		// A lost connection keeps its slot for its restart budget: 2.5 s here, 76 s by default.
		c.Peer.ConnectTimeout, c.Peer.RestartBackoff = 2*time.Second, []time.Duration{500 * time.Millisecond}
		c.Peer.ICEDisconnectedTimeout, c.Peer.ICEFailedTimeout = time.Second, 2*time.Second
	})
	first := r.musician(musicianOpts{id: "dark1", name: "Dark 1", fixture: fixture("a3_220hz.opus")})
	second := r.musician(musicianOpts{id: "dark2", name: "Dark 2", fixture: fixture("a3_220hz.opus")})
	waitFor(t, 20*time.Second, "dark1 connected", first.connected)
	first.goDark()
	waitFor(t, 40*time.Second, "dark2 connected in dark1's slot", second.connected)
	second.goDark()
	if got := r.followed(); !slices.Equal(got, []string{"dark1", "dark2"}) {
		t.Fatalf("the session follows %v, want the two dark members, its cap", got)
	}

	ana := r.musician(musicianOpts{id: "ana", name: "Ana", fixture: fixture("a3_220hz.opus")})
	waitFor(t, 60*time.Second, "ana followed and connected", func() bool {
		_, followed := r.musicianStatus("ana")
		return followed && ana.connected()
	})
	if v, ok := unlabelledValue(t, reg, "ledbridge_room_musicians_unfollowed_total"); !ok || v < 1 {
		t.Errorf("ledbridge_room_musicians_unfollowed_total = %v (present: %v), want at least 1", v, ok)
	}

	// The one who gave her place waits behind ana, not behind dark2, which lost its slot to ana
	// and is as dark: with no Presence change to prompt it, the session looks again within a
	// slot timeout of each look and follows her in dark2's place.
	waitFor(t, 6*slotTimeout+10*time.Second, "dark1 followed again in dark2's place, with no Presence change", func() bool {
		return slices.Equal(r.followed(), []string{"ana", "dark1"})
	})
	if !ana.connected() {
		t.Error("ana lost her connection as the places moved")
	}

	// The two dark members then take each other's place, each waiting twice as long after each
	// loss (2, 4, 8 s here), not at every slot timeout for as long as their tabs stay open.
	const watch = 8 * slotTimeout
	changes, last := 0, r.followed()
	for start := time.Now(); time.Since(start) < watch; time.Sleep(50 * time.Millisecond) {
		if got := r.followed(); !slices.Equal(got, last) {
			changes, last = changes+1, got
		}
	}
	if changes > 5 {
		t.Errorf("the places changed %d times in %v between the two dark members, want the waits to grow (at most 5)", changes, watch)
	}
	if !ana.connected() {
		t.Error("ana lost her connection as the dark members swapped")
	}
}

// goDark closes the musician's peer connection and keeps her in the room, as a tab whose
// connection died and that nobody closed.
func (m *testMusician) goDark() { _ = m.pc.Close() }
