package session_test

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"testing"
	"time"

	"github.com/ledbridge/ledbridge/analysis/effect"
	"github.com/ledbridge/ledbridge/bridge/realtime"
	"github.com/ledbridge/ledbridge/bridge/realtime/hub"
	"github.com/ledbridge/ledbridge/bridge/session"
)

// Presence is open to every client of the room, and each musician the session follows holds an
// analyser. With a peer cap of 2 the session follows at most 4 musicians, first come first
// served; when places free, the host goes first, then the earliest joiners.
func TestPresenceBeyondTheCapIsIgnoredUntilPlacesFree(t *testing.T) {
	r := newRigWith(t, effect.ModeLocal, hub.Config{}, func(c *session.Config) { c.Peer.MaxPeers = 2 })
	t0 := time.Date(2026, 11, 25, 20, 0, 0, 0, time.UTC)
	members := presenceMembers{r: r}
	// Ten musicians arrive one after the other, p0 first; p9 is the host.
	for i := range 10 {
		members.join(t, fmt.Sprintf("p%d", i), t0.Add(time.Duration(i)*time.Second), i == 9)
	}
	want := []string{"p0", "p1", "p2", "p3"}
	waitFor(t, 10*time.Second, fmt.Sprintf("the session follows %v", want), func() bool { return slices.Equal(r.followed(), want) })

	// Two of the followed leave: the host and then the earliest waiting joiner take their places.
	members.leave("p0", "p2")
	want = []string{"p1", "p3", "p4", "p9"}
	waitFor(t, 20*time.Second, fmt.Sprintf("the session follows %v", want), func() bool { return slices.Equal(r.followed(), want) })
}

// A participant whose meta leaves joinedAt out ranks after every musician who sent one, as in
// the host election (room.CompareMembers): leaving it out must not buy a place under the cap.
func TestPresenceWithoutJoinedAtWaitsBehindTheCap(t *testing.T) {
	r := newRigWith(t, effect.ModeLocal, hub.Config{}, func(c *session.Config) { c.Peer.MaxPeers = 2 })
	t0 := time.Date(2026, 11, 25, 20, 0, 0, 0, time.UTC)
	members := presenceMembers{r: r}
	for i := range 4 {
		members.join(t, fmt.Sprintf("p%d", i), t0.Add(time.Duration(i)*time.Second), false)
	}
	want := []string{"p0", "p1", "p2", "p3"}
	waitFor(t, 10*time.Second, fmt.Sprintf("the session follows %v", want), func() bool { return slices.Equal(r.followed(), want) })
	// Both wait beyond the cap: one without joinedAt, one that joined late (an hour on).
	members.join(t, "undated", time.Time{}, false)
	members.join(t, "late", t0.Add(time.Hour), false)
	// Track returned once the room server had each meta, so p0's leave reaches the session after
	// both: when it frees one place, both are waiting for it.
	members.leave("p0")
	want = []string{"late", "p1", "p2", "p3"}
	waitFor(t, 20*time.Second, fmt.Sprintf("the session follows %v", want), func() bool { return slices.Equal(r.followed(), want) })
}

// presenceMembers are Presence-only participants of the rig's room: realtime clients that track
// a musician's meta and send no audio.
type presenceMembers struct {
	r       *rig
	members map[string]*presenceMember
}

type presenceMember struct {
	cancel context.CancelFunc
	done   chan struct{}
}

// join connects key and tracks its meta; a zero joinedAt leaves the field out.
func (p *presenceMembers) join(t *testing.T, key string, joinedAt time.Time, host bool) {
	t.Helper()
	c, err := realtime.New(realtime.Config{URL: p.r.hubURL, APIKey: "anon", Channel: testCode, PresenceKey: key, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	m := &presenceMember{cancel: cancel, done: make(chan struct{})}
	go func() { defer close(m.done); _ = c.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-m.done })
	waitFor(t, 10*time.Second, key+" joined", func() bool { return c.State() == realtime.StateJoined })
	meta := map[string]any{"name": key, "isHost": host}
	if !joinedAt.IsZero() {
		meta["joinedAt"] = joinedAt.Format(time.RFC3339Nano)
	}
	if err := c.Track(ctx, meta); err != nil {
		t.Fatal(err)
	}
	if p.members == nil {
		p.members = map[string]*presenceMember{}
	}
	p.members[key] = m
}

// leave disconnects the keys, one after the other.
func (p *presenceMembers) leave(keys ...string) {
	for _, key := range keys {
		p.members[key].cancel()
		<-p.members[key].done
	}
}

// followed lists the musicians the session follows, sorted.
func (r *rig) followed() []string {
	var ids []string
	for _, m := range r.sess.Snapshot().Musicians {
		ids = append(ids, m.ID)
	}
	slices.Sort(ids)
	return ids
}
