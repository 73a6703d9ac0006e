package session_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/ledbridge/ledbridge/analysis/effect"
	"github.com/ledbridge/ledbridge/bridge/realtime/hub"
	"github.com/ledbridge/ledbridge/bridge/session"
	"github.com/ledbridge/ledbridge/bridge/status"
)

// With max_peers 1, of three musicians in Presence the first takes the slot, the second is
// followed but waits for a slot (her connection state alone would read "new" for ever), and the
// third is past twice the cap: unlisted, so the snapshot counts her.
func TestSnapshotShowsWhoWaitsForASlotAndCountsTheUnfollowed(t *testing.T) {
	r := newRigWith(t, effect.ModeLocal, hub.Config{}, func(c *session.Config) { c.Peer.MaxPeers = 1 })
	t0 := time.Date(2026, 11, 26, 20, 0, 0, 0, time.UTC)
	members := presenceMembers{r: r}
	for i := range 3 {
		members.join(t, fmt.Sprintf("p%d", i), t0.Add(time.Duration(i)*time.Second), false)
	}
	var snap status.Snapshot
	waitFor(t, 10*time.Second, "two musicians followed, one waiting, one not followed", func() bool {
		snap = r.sess.Snapshot()
		waiting := 0
		for _, m := range snap.Musicians {
			if m.WaitingForSlot {
				waiting++
			}
		}
		return len(snap.Musicians) == 2 && waiting == 1 && snap.MusiciansNotFollowed == 1
	})
	for _, m := range snap.Musicians {
		if want := m.ID == "p1"; m.WaitingForSlot != want {
			t.Errorf("%s waiting for a slot = %v, want %v", m.ID, m.WaitingForSlot, want)
		}
	}
	if snap.MaxPeers != 1 {
		t.Errorf("max peers %d, want 1", snap.MaxPeers)
	}

	// p0 leaves: p1 takes the slot and p2 is followed, waiting in turn.
	members.leave("p0")
	waitFor(t, 20*time.Second, "p1 connected in the freed slot, p2 followed and waiting", func() bool {
		snap = r.sess.Snapshot()
		if len(snap.Musicians) != 2 || snap.MusiciansNotFollowed != 0 {
			return false
		}
		for _, m := range snap.Musicians {
			if m.WaitingForSlot != (m.ID == "p2") {
				return false
			}
		}
		return true
	})
}
