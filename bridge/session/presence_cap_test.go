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
	type member struct {
		c      *realtime.Client
		cancel context.CancelFunc
		done   chan struct{}
	}
	members := map[string]*member{}
	join := func(key string, joinedAt time.Time, host bool) {
		c, err := realtime.New(realtime.Config{URL: r.hubURL, APIKey: "anon", Channel: testCode, PresenceKey: key, Logger: slog.New(slog.DiscardHandler)})
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		m := &member{c: c, cancel: cancel, done: make(chan struct{})}
		go func() { defer close(m.done); _ = c.Run(ctx) }()
		t.Cleanup(func() { cancel(); <-m.done })
		waitFor(t, 10*time.Second, key+" joined", func() bool { return c.State() == realtime.StateJoined })
		if err := c.Track(ctx, map[string]any{"name": key, "isHost": host, "joinedAt": joinedAt.Format(time.RFC3339Nano)}); err != nil {
			t.Fatal(err)
		}
		members[key] = m
	}
	// Ten musicians arrive one after the other, p0 first; p9 is the host.
	for i := range 10 {
		join(fmt.Sprintf("p%d", i), t0.Add(time.Duration(i)*time.Second), i == 9)
	}
	followed := func() []string {
		var ids []string
		for _, m := range r.sess.Snapshot().Musicians {
			ids = append(ids, m.ID)
		}
		slices.Sort(ids)
		return ids
	}
	want := []string{"p0", "p1", "p2", "p3"}
	waitFor(t, 10*time.Second, fmt.Sprintf("the session follows %v", want), func() bool { return slices.Equal(followed(), want) })

	// Two of the followed leave: the host and then the earliest waiting joiner take their places.
	for _, key := range []string{"p0", "p2"} {
		members[key].cancel()
		<-members[key].done
	}
	want = []string{"p1", "p3", "p4", "p9"}
	waitFor(t, 20*time.Second, fmt.Sprintf("the session follows %v", want), func() bool { return slices.Equal(followed(), want) })
}
