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
