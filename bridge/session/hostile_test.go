package session_test

import (
	"context"
	"crypto/rand"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"

	"github.com/ledbridge/ledbridge/analysis/effect"
	"github.com/ledbridge/ledbridge/bridge/realtime"
	"github.com/ledbridge/ledbridge/bridge/realtime/hub"
	"github.com/ledbridge/ledbridge/bridge/room"
)

// TestHostileInputs sends the bridge malformed signals, oversized payloads, an offer storm and
// garbage RTP while a legitimate musician plays: the daemon must neither crash nor let any of it
// disturb the musician.
func TestHostileInputs(t *testing.T) {
	// The room server's own rate limit (100 messages/s per client) would cut the storm short; lift
	// it so that everything reaches the bridge.
	r := newRigWith(t, effect.ModeLocal, hub.Config{MaxMessagesPerSecond: -1})
	ana := r.musician(musicianOpts{id: "ana", name: "Ana", fixture: fixture("a3_220hz.opus"), offers: true})
	waitFor(t, 20*time.Second, "ana connected", ana.connected)
	bridge := r.sess.PeerID()

	rogue := startRogue(t, r.hubURL)
	send := rogue.send

	before := r.sess.Snapshot().Dropped
	// Malformed signals.
	garbage := []any{
		map[string]any{"type": "offer", "fromPeerId": "rogue", "targetPeerId": bridge, "data": map[string]any{"type": "offer", "sdp": "v=0 this is not sdp"}},
		map[string]any{"type": "offer", "targetPeerId": bridge, "data": map[string]any{"type": "offer", "sdp": "v=0"}},
		map[string]any{"type": "ice-candidate", "fromPeerId": "rogue", "targetPeerId": bridge, "data": map[string]any{"candidate": "candidate:garbage", "sdpMid": 7}},
		map[string]any{"type": "teleport", "fromPeerId": "rogue", "targetPeerId": bridge},
		map[string]any{"type": "answer", "fromPeerId": "ana", "targetPeerId": bridge, "data": "not an object"},
		[]any{1, 2, 3},
		"just a string",
		map[string]any{"type": "offer", "fromPeerId": "rogue", "targetPeerId": bridge, "data": map[string]any{"type": "offer", "sdp": strings.Repeat("a=x\r\n", 30000)}},
	}
	for _, g := range garbage {
		send(room.EventSignal, g)
	}
	// Oversized and malformed LED frames, tempo and playback.
	big := make([]string, 5000)
	for i := range big {
		big[i] = "#ffffff"
	}
	send(room.EventLEDUpdate, map[string]any{"colors": big})
	send(room.EventLEDUpdate, map[string]any{"colors": []any{"#zzzzzz", map[string]int{"r": 300}}})
	send(room.EventTempoChange, map[string]any{"tempo": "fast"})
	send(room.EventPlaybackControl, map[string]any{})
	waitFor(t, 5*time.Second, "malformed payloads counted", func() bool {
		d := r.sess.Snapshot().Dropped
		return d.Signals > before.Signals && d.Broadcasts >= before.Broadcasts+4
	})

	// An offer storm: 100 offers a second for two seconds from one participant.
	beforeStorm := r.sess.Snapshot().Dropped.Signals
	storm := func(i int) any {
		return map[string]any{"type": "offer", "fromPeerId": "rogue", "targetPeerId": bridge, "data": map[string]any{"type": "offer", "sdp": fmt.Sprintf("v=0\r\no=- %d 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n", i)}}
	}
	tick := time.NewTicker(10 * time.Millisecond)
	for i := 0; i < 200; i++ {
		<-tick.C
		send(room.EventSignal, storm(i))
	}
	tick.Stop()
	if rogue.State() != realtime.StateJoined {
		t.Fatal("the storm did not reach the bridge: the rogue client was disconnected")
	}
	stormed := r.sess.Snapshot().Dropped.Signals
	if stormed <= beforeStorm {
		t.Fatalf("no storm offer was rejected (dropped signals %d → %d)", beforeStorm, stormed)
	}

	// Garbage RTP from a connected participant: random payloads labelled Opus.
	glitch := startGarbageMusician(t, r)
	waitFor(t, 20*time.Second, "glitch connected", func() bool { return glitch.pc.ConnectionState() == webrtc.PeerConnectionStateConnected })
	glitch.spray(2 * time.Second)

	// The legitimate musician is undisturbed: connected, and its A3 still detected.
	if !ana.connected() {
		t.Fatal("ana lost her connection")
	}
	counts := r.noteCounts(1500*time.Millisecond, "ana")
	if counts["ana"]["A3"]*2 < counts["ana"]["_frames"] {
		t.Fatalf("ana's A3 detected in %d of %d frames after the abuse", counts["ana"]["A3"], counts["ana"]["_frames"])
	}
	if s := r.sess.Snapshot(); s.Health.OK != true {
		t.Fatalf("unhealthy after abuse: %+v", s.Health)
	}
}

// rogue is a participant that speaks the Realtime protocol correctly and broadcasts whatever it
// likes; it leaves when the test ends.
type rogue struct {
	*realtime.Client
	ctx context.Context
}

func startRogue(t *testing.T, hubURL string) *rogue {
	t.Helper()
	c, err := realtime.New(realtime.Config{URL: hubURL, APIKey: "anon", Channel: testCode, PresenceKey: "rogue", Logger: slog.New(slog.DiscardHandler), BroadcastText: true})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = c.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	waitFor(t, 10*time.Second, "rogue joined", func() bool { return c.State() == realtime.StateJoined })
	// A hostile host: the LAN room server relays led-update from the room's host only, and
	// tempo-change and playback-control from participants, so what it sends reaches the bridge.
	tctx, tcancel := context.WithTimeout(ctx, 5*time.Second)
	defer tcancel()
	if err := c.Track(tctx, room.Meta{Name: "Rogue", IsHost: true, Role: "viewer", JoinedAt: time.Now()}); err != nil {
		t.Fatal(err)
	}
	return &rogue{Client: c, ctx: ctx}
}

// send broadcasts event, waiting at most 2 s for the server's acknowledgement; errors are the
// point of the exercise and are ignored.
func (r *rogue) send(event string, payload any) {
	ctx, cancel := context.WithTimeout(r.ctx, 2*time.Second)
	defer cancel()
	_ = r.Broadcast(ctx, event, payload)
}

// garbageMusician is a musician in Presence whose connection works but whose "Opus" is noise.
type garbageMusician struct {
	*testMusician
	rtpTrack *webrtc.TrackLocalStaticRTP
}

func startGarbageMusician(t *testing.T, r *rig) *garbageMusician {
	m := r.musician(musicianOpts{id: "glitch", name: "Glitch", offers: true})
	// Replace the sample track by a raw RTP track on the same sender.
	track, err := webrtc.NewTrackLocalStaticRTP(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2}, "mic", "glitch")
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range m.pc.GetSenders() {
		if s.Track() != nil {
			if err := s.ReplaceTrack(track); err != nil {
				t.Fatal(err)
			}
		}
	}
	return &garbageMusician{testMusician: m, rtpTrack: track}
}

func (g *garbageMusician) spray(d time.Duration) {
	end := time.Now().Add(d)
	var seq uint16
	ts := uint32(0)
	payload := make([]byte, 1200)
	for time.Now().Before(end) {
		n := 1 + int(payload[0])%len(payload)
		_, _ = rand.Read(payload)
		seq += uint16(1 + payload[1]%3) // gaps and reordering
		ts += uint32(payload[2]) * 37
		_ = g.rtpTrack.WriteRTP(&rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: 111, SequenceNumber: seq, Timestamp: ts, SSRC: 1234}, Payload: payload[:n]})
		time.Sleep(5 * time.Millisecond)
	}
}
