package session_test

import (
	"context"
	"log/slog"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/ledbridge/ledbridge/analysis/effect"
	"github.com/ledbridge/ledbridge/bridge/realtime"
	"github.com/ledbridge/ledbridge/bridge/realtime/hub"
	"github.com/ledbridge/ledbridge/bridge/session"
)

// Two bridges in one room drive the strips both find, which then show two senders' frames
// interleaved. The session warns once per other led-bridge participant it sees in Presence,
// naming it, and again when another one appears; never for itself, never at every Presence sync.
func TestAnotherBridgeInTheRoomIsWarnedAboutOnce(t *testing.T) {
	logs := &warnRecorder{}
	r := newRigWith(t, effect.ModeLocal, hub.Config{}, func(c *session.Config) { c.Logger = slog.New(logs) })
	bridges := func() []string { return logs.attrOf(msgOtherBridge, "peer_id") }

	joinWithMeta(t, r, "bridge-bar", map[string]any{"name": "Bar bridge", "role": "led-bridge", "receiveOnly": true, "client": "ledbridge/1.0.0"})
	waitFor(t, 10*time.Second, "the warning about bridge-bar", func() bool { return len(bridges()) > 0 })
	if got := logs.attrOf(msgOtherBridge, "name"); !slices.Equal(got, []string{"Bar bridge"}) {
		t.Errorf("the warning names %q, want the other bridge's name", got)
	}

	// More Presence syncs (a musician's comings and goings) do not repeat it.
	members := presenceMembers{r: r}
	members.join(t, "musician-1", time.Time{}, false)
	waitFor(t, 10*time.Second, "musician-1 followed", func() bool { return slices.Contains(r.followed(), "musician-1") })
	members.leave("musician-1")
	waitFor(t, 10*time.Second, "musician-1 released", func() bool { return !slices.Contains(r.followed(), "musician-1") })
	if got := bridges(); !slices.Equal(got, []string{"bridge-bar"}) {
		t.Fatalf("warned about %q, want bridge-bar once", got)
	}

	// A second one is warned about too.
	joinWithMeta(t, r, "bridge-hall", map[string]any{"name": "Hall bridge", "role": "led-bridge"})
	waitFor(t, 10*time.Second, "the warning about bridge-hall", func() bool { return len(bridges()) > 1 })
	if got := bridges(); !slices.Equal(got, []string{"bridge-bar", "bridge-hall"}) {
		t.Errorf("warned about %q, want bridge-bar then bridge-hall, once each", got)
	}
	if self := r.sess.PeerID(); slices.Contains(bridges(), self) {
		t.Errorf("the session warned about itself (%s)", self)
	}
}

const msgOtherBridge = "another LED bridge is in the room: if it drives the same strips, they show both bridges' frames interleaved (stop one, or give each bridge its own devices)"

// joinWithMeta connects key to the rig's room and tracks meta until the test ends.
func joinWithMeta(t *testing.T, r *rig, key string, meta map[string]any) {
	t.Helper()
	c, err := realtime.New(realtime.Config{URL: r.hubURL, APIKey: "anon", Channel: testCode, PresenceKey: key, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = c.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	waitFor(t, 10*time.Second, key+" joined", func() bool { return c.State() == realtime.StateJoined })
	if err := c.Track(ctx, meta); err != nil {
		t.Fatal(err)
	}
}

// warnRecorder is a slog.Handler that keeps the warnings' messages and string attributes.
type warnRecorder struct {
	mu    sync.Mutex
	warns []slog.Record
}

func (w *warnRecorder) Enabled(context.Context, slog.Level) bool { return true }

func (w *warnRecorder) Handle(_ context.Context, rec slog.Record) error {
	if rec.Level != slog.LevelWarn {
		return nil
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	w.warns = append(w.warns, rec.Clone())
	return nil
}

func (w *warnRecorder) WithAttrs([]slog.Attr) slog.Handler { return w }
func (w *warnRecorder) WithGroup(string) slog.Handler      { return w }

// attrOf returns attribute key of every warning with message msg, in order.
func (w *warnRecorder) attrOf(msg, key string) []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	var out []string
	for _, rec := range w.warns {
		if rec.Message != msg {
			continue
		}
		rec.Attrs(func(a slog.Attr) bool {
			if a.Key == key {
				out = append(out, a.Value.String())
			}
			return true
		})
	}
	return out
}
