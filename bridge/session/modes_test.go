package session_test

import (
	"context"
	"fmt"
	"log/slog"
	"math"
	"testing"
	"time"

	"github.com/ledbridge/ledbridge/analysis/effect"
	"github.com/ledbridge/ledbridge/bridge/realtime"
	"github.com/ledbridge/ledbridge/bridge/room"
	"github.com/ledbridge/ledbridge/wled/wledtest"
)

// host is a room participant that only broadcasts (the web app's host sending led-update).
type host struct {
	c      *realtime.Client
	cancel context.CancelFunc
	done   chan struct{}
}

func startHost(t *testing.T, r *rig, id string) *host {
	t.Helper()
	c, err := realtime.New(realtime.Config{URL: r.hubURL, APIKey: "anon", Channel: testCode, PresenceKey: id, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	h := &host{c: c, cancel: cancel, done: make(chan struct{})}
	go func() { defer close(h.done); _ = c.Run(ctx) }()
	t.Cleanup(func() { h.cancel(); <-h.done })
	waitFor(t, 10*time.Second, id+" joined", func() bool { return c.State() == realtime.StateJoined })
	return h
}

func (h *host) send(t *testing.T, event string, payload any) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := h.c.Broadcast(ctx, event, payload); err != nil {
		t.Fatalf("broadcast %s: %v", event, err)
	}
}

// ledFrames sends led-update frames of two halves, left then right colour, every 50 ms until stop,
// which returns the last seq it sent (or tried to).
func (h *host) ledFrames(t *testing.T, left, right string) (stop func() (lastSeq int)) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	var last int
	go func() {
		defer close(done)
		tick := time.NewTicker(50 * time.Millisecond)
		defer tick.Stop()
		for seq := 1; ; seq++ {
			bctx, bcancel := context.WithTimeout(ctx, time.Second)
			_ = h.c.Broadcast(bctx, room.EventLEDUpdate, map[string]any{"colors": []string{left, right}, "seq": seq, "ts": time.Now().UnixMilli()})
			bcancel()
			last = seq
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
		}
	}()
	return func() int { cancel(); <-done; return last }
}

// halves reports the mean colour of each half of a frame.
func halves(f wledtest.Frame, bpl int) (left, right [3]float64) {
	leds := len(f.Pixels) / bpl
	for i := 0; i < leds; i++ {
		p := f.Pixels[i*bpl:]
		for c := 0; c < 3; c++ {
			if i < leds/2 {
				left[c] += float64(p[c]) / float64(leds/2)
			} else {
				right[c] += float64(p[c]) / float64(leds-leds/2)
			}
		}
	}
	return left, right
}

// showsRedGreen reports whether a frame is the host's red|green frame (scaled to the strip).
func showsRedGreen(f wledtest.Frame, bpl int) bool {
	l, r := halves(f, bpl)
	return l[0] > 100 && l[1] < 10 && l[2] < 10 && r[1] > 100 && r[0] < 10 && r[2] < 10
}

func TestBroadcastModeAppliesLEDUpdates(t *testing.T) {
	r := newRig(t, effect.ModeBroadcast)
	h := joinBand(t, r, "host-1", "Host", true) // the LAN room server relays led-update, tempo and playback from the host and participants only
	stop := h.ledFrames(t, "#ff0000", "#00ff00")
	defer stop()
	for _, tc := range []struct {
		f   *wledtest.Fake
		bpl int
	}{{r.ddp, 3}, {r.dnrgb, 4}} {
		waitFor(t, 5*time.Second, tc.f.Config().Name+" shows the host's frames", func() bool {
			fr := tc.f.Frames()
			return len(fr) > 0 && showsRedGreen(fr[len(fr)-1], tc.bpl)
		})
	}
	// A frame overtaken by a newer one (an older seq) is dropped, counted, and never shown. The
	// host's sender stops first, so that no frame of its own can cover up one wrongly taken; the
	// newer frame and the older one go out back to back, whatever the pause since the sender's.
	last := stop()
	h.send(t, room.EventLEDUpdate, map[string]any{"colors": []string{"#ff0000", "#00ff00"}, "seq": last + 1})
	before := r.sess.Snapshot().Dropped.Broadcasts
	h.send(t, room.EventLEDUpdate, map[string]any{"colors": []string{"#0000ff"}, "seq": last})
	waitFor(t, 10*time.Second, fmt.Sprintf("seq %d, sent after seq %d, counted as dropped", last, last+1), func() bool {
		return r.sess.Snapshot().Dropped.Broadcasts > before
	})
	for _, tc := range []struct {
		f   *wledtest.Fake
		bpl int
	}{{r.ddp, 3}, {r.dnrgb, 4}} {
		n := tc.f.FrameCount()
		waitFor(t, 10*time.Second, tc.f.Config().Name+" renders on", func() bool { return tc.f.FrameCount() >= n+10 })
		if fr := tc.f.Frames(); !showsRedGreen(fr[len(fr)-1], tc.bpl) {
			t.Fatalf("%s: an out-of-order led-update replaced a newer frame", tc.f.Config().Name)
		}
	}
	if got := r.sess.Snapshot().Room.Look; got != "broadcast" {
		t.Fatalf("look = %q", got)
	}
}

// Auto mode over real peers and a real room: local while Ana's audio flows, the host's frames once
// it stops, local again when it resumes, idle once neither comes. Only the order is checked here,
// with generous waits; the 1 s and 2 s edges are TestAutoModeLookFollowsTheProtocolsFreshnessRules'
// (on virtual time), since a stopwatch around real peers measures the machine as much as the rule.
func TestAutoModeFallsBackToBroadcastAndBack(t *testing.T) {
	r := newRig(t, effect.ModeAuto)
	ana := r.musician(musicianOpts{id: "ana", name: "Ana", fixture: fixture("a3_220hz.opus"), offers: true})
	h := joinBand(t, r, "host-1", "Host", true) // the LAN room server relays led-update, tempo and playback from the host and participants only
	waitFor(t, 20*time.Second, "ana connected", ana.connected)
	stop := h.ledFrames(t, "#ff0000", "#00ff00")
	defer stop()
	waitFor(t, 10*time.Second, "local look while audio flows", func() bool { return r.sess.Snapshot().Room.Look == "local" })

	// Audio stops (as when WebRTC fails): the bridge switches to the host's frames.
	ana.muted.Store(true)
	waitFor(t, 10*time.Second, "broadcast look after the audio stopped", func() bool { return r.sess.Snapshot().Room.Look == "broadcast" })
	waitFor(t, 10*time.Second, "the strip shows the host's frames", func() bool {
		fr := r.ddp.Frames()
		return showsRedGreen(fr[len(fr)-1], 3)
	})

	// Audio resumes: back to local analysis.
	ana.muted.Store(false)
	waitFor(t, 10*time.Second, "local look after the audio resumed", func() bool { return r.sess.Snapshot().Room.Look == "local" })
	waitFor(t, 10*time.Second, "the strip stops showing the host's frames", func() bool {
		fr := r.ddp.Frames()
		return !showsRedGreen(fr[len(fr)-1], 3)
	})

	// Host frames stop too: idle.
	stop()
	ana.muted.Store(true)
	waitFor(t, 10*time.Second, "idle look with neither audio nor frames", func() bool { return r.sess.Snapshot().Room.Look == "idle" })
}

func TestTempoAndPlaybackFollowTheRoom(t *testing.T) {
	r := newRig(t, effect.ModeAuto)
	h := joinBand(t, r, "host-1", "Host", true) // the LAN room server relays led-update, tempo and playback from the host and participants only
	h.send(t, room.EventTempoChange, map[string]any{"tempo": 96})
	h.send(t, room.EventPlaybackControl, map[string]any{"isPlaying": true})
	waitFor(t, 3*time.Second, "tempo and playback applied", func() bool {
		s := r.sess.Snapshot().Room
		return s.Tempo == 96 && s.Playing
	})
	// Invalid values are dropped and counted, never applied.
	before := r.sess.Snapshot().Dropped.Broadcasts
	h.send(t, room.EventTempoChange, map[string]any{"tempo": 5000})
	h.send(t, room.EventPlaybackControl, map[string]any{"isPlaying": "yes"})
	waitFor(t, 3*time.Second, "invalid payloads counted", func() bool { return r.sess.Snapshot().Dropped.Broadcasts >= before+2 })
	if s := r.sess.Snapshot().Room; s.Tempo != 96 || !s.Playing {
		t.Fatalf("invalid payload applied: %+v", s)
	}
	// A state-response addressed to the bridge sets both.
	h.send(t, room.EventStateResponse, map[string]any{"fromPeerId": "host-1", "targetPeerId": r.sess.PeerID(), "state": map[string]any{"tempo": 140, "isPlaying": false}})
	waitFor(t, 3*time.Second, "state-response applied", func() bool {
		s := r.sess.Snapshot().Room
		return s.Tempo == 140 && !s.Playing
	})
	if math.IsNaN(r.sess.Snapshot().Room.Tempo) {
		t.Fatal("NaN tempo")
	}
}
