package session_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pion/webrtc/v4"
	"github.com/pion/webrtc/v4/pkg/media"

	"github.com/ledbridge/ledbridge/bridge/audio/ogg"
	"github.com/ledbridge/ledbridge/bridge/realtime"
	"github.com/ledbridge/ledbridge/bridge/room"
)

// testMusician is a jam participant as the web app behaves (PROTOCOL.md): it joins the room over
// Realtime, tracks its Presence meta, negotiates impolitely with the bridge over webrtc-signal
// broadcasts with trickle ICE, and streams an Ogg Opus fixture as its microphone, packet by
// packet every 20 ms, looping.
type testMusician struct {
	t       *testing.T
	id      string
	name    string
	bridge  string // the bridge's peerId, once seen in Presence
	client  *realtime.Client
	pc      *webrtc.PeerConnection
	track   *webrtc.TrackLocalStaticSample
	packets [][]byte

	muted   atomic.Bool
	sent    atomic.Int64
	offered atomic.Bool

	mu          sync.Mutex
	makingOffer bool
	pending     []webrtc.ICECandidateInit

	cancel context.CancelFunc
	done   sync.WaitGroup
}

type musicianOpts struct {
	id, name  string
	fixture   string // testdata/opus file
	offers    bool   // offer to the bridge as soon as it is in Presence (else wait for its offer)
	isHost    bool
	hubURL    string
	code      string
	bridgeKey string
	api       *webrtc.API     // its WebRTC stack; default musicianAPI's
	reconnect []time.Duration // its Realtime client's socket reconnect schedule; default the client's
}

func loadPackets(t *testing.T, path string) [][]byte {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r, err := ogg.NewPacketReader(f)
	if err != nil {
		t.Fatal(err)
	}
	var out [][]byte
	for {
		pkt, _, err := r.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		out = append(out, append([]byte(nil), pkt...))
	}
	if len(out) == 0 {
		t.Fatalf("%s has no packets", path)
	}
	return out
}

func musicianAPI(t *testing.T) *webrtc.API {
	var se webrtc.SettingEngine
	se.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4})
	se.SetInterfaceFilter(func(name string) bool { return name == "lo" })
	se.SetIncludeLoopbackCandidate(true)
	se.SetICEMulticastDNSMode(0) // disabled
	me := &webrtc.MediaEngine{}
	if err := me.RegisterDefaultCodecs(); err != nil {
		t.Fatal(err)
	}
	return webrtc.NewAPI(webrtc.WithMediaEngine(me), webrtc.WithSettingEngine(se))
}

func startMusician(t *testing.T, o musicianOpts) *testMusician {
	t.Helper()
	m := &testMusician{t: t, id: o.id, name: o.name, bridge: o.bridgeKey}
	if o.fixture != "" {
		m.packets = loadPackets(t, o.fixture)
	}
	c, err := realtime.New(realtime.Config{
		URL: o.hubURL, APIKey: "anon", Channel: o.code, PresenceKey: o.id,
		ReconnectBackoff: o.reconnect,
		Logger:           slog.New(slog.DiscardHandler),
	})
	if err != nil {
		t.Fatal(err)
	}
	m.client = c
	api := o.api
	if api == nil {
		api = musicianAPI(t)
	}
	pc, err := api.NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		t.Fatal(err)
	}
	m.pc = pc
	m.track, err = webrtc.NewTrackLocalStaticSample(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2}, "mic", o.id)
	if err != nil {
		t.Fatal(err)
	}
	sender, err := pc.AddTrack(m.track)
	if err != nil {
		t.Fatal(err)
	}
	pc.OnICECandidate(func(c *webrtc.ICECandidate) {
		sig := room.Signal{Type: room.SignalCandidate, FromPeerID: m.id, TargetPeerID: m.bridgeID()}
		if c != nil {
			init := c.ToJSON()
			sig.Candidate = &room.ICECandidate{Candidate: init.Candidate, SDPMid: init.SDPMid, SDPMLineIndex: init.SDPMLineIndex, UsernameFragment: init.UsernameFragment}
		}
		m.send(sig)
	})

	ctx, cancel := context.WithCancel(context.Background())
	m.cancel = cancel
	m.done.Add(4)
	go func() { defer m.done.Done(); _ = c.Run(ctx) }()
	go func() { // RTCP must be read for the interceptors to work
		defer m.done.Done()
		buf := make([]byte, 1500)
		for {
			if _, _, err := sender.Read(buf); err != nil {
				return
			}
		}
	}()
	go func() { defer m.done.Done(); m.events(ctx, o) }()
	go func() { defer m.done.Done(); m.stream(ctx) }()

	meta := map[string]any{"name": o.name, "isHost": o.isHost, "joinedAt": time.Now().UTC().Format(time.RFC3339Nano)}
	waitFor(t, 10*time.Second, "musician "+o.id+" joined the room", func() bool { return c.State() == realtime.StateJoined })
	if err := c.Track(ctx, meta); err != nil {
		t.Fatalf("track: %v", err)
	}
	t.Cleanup(m.leave)
	return m
}

func (m *testMusician) bridgeID() string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.bridge
}

func (m *testMusician) send(sig room.Signal) {
	if sig.TargetPeerID == "" {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = m.client.Broadcast(ctx, room.EventSignal, sig)
}

// events follows Presence (to find the bridge) and answers the bridge's signals.
func (m *testMusician) events(ctx context.Context, o musicianOpts) {
	for {
		select {
		case <-ctx.Done():
			return
		case ev := <-m.client.Events():
			switch ev.Kind {
			case realtime.EventPresenceJoin, realtime.EventPresenceSync:
				m.findBridge()
				if o.offers && m.bridgeID() != "" && !m.offered.Swap(true) {
					m.offer()
				}
			case realtime.EventBroadcast:
				if ev.Event == room.EventSignal {
					sig, err := room.DecodeSignal(ev.Payload)
					if err == nil && sig.TargetPeerID == m.id {
						m.handle(sig)
					}
				}
			}
		}
	}
}

func (m *testMusician) findBridge() {
	for key, metas := range m.client.Presence() {
		for _, meta := range metas {
			var v struct {
				Role string `json:"role"`
			}
			if json.Unmarshal(meta.Data, &v) == nil && v.Role == "led-bridge" {
				m.mu.Lock()
				m.bridge = key
				m.mu.Unlock()
			}
		}
	}
}

func (m *testMusician) offer() {
	m.mu.Lock()
	m.makingOffer = true
	m.mu.Unlock()
	defer func() { m.mu.Lock(); m.makingOffer = false; m.mu.Unlock() }()
	offer, err := m.pc.CreateOffer(nil)
	if err != nil {
		return
	}
	if err := m.pc.SetLocalDescription(offer); err != nil {
		return
	}
	m.send(room.Signal{Type: room.SignalOffer, FromPeerID: m.id, TargetPeerID: m.bridgeID(), Description: &room.SessionDescription{Type: "offer", SDP: offer.SDP}})
}

func (m *testMusician) handle(sig room.Signal) {
	switch sig.Type {
	case room.SignalOffer:
		m.mu.Lock()
		glare := m.makingOffer || m.pc.SignalingState() != webrtc.SignalingStateStable
		if m.bridge == "" {
			m.bridge = sig.FromPeerID
		}
		m.mu.Unlock()
		if glare {
			return // impolite: ignore the bridge's offer; it answers ours
		}
		if err := m.pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeOffer, SDP: sig.Description.SDP}); err != nil {
			return
		}
		m.flushCandidates()
		answer, err := m.pc.CreateAnswer(nil)
		if err != nil {
			return
		}
		if err := m.pc.SetLocalDescription(answer); err != nil {
			return
		}
		m.send(room.Signal{Type: room.SignalAnswer, FromPeerID: m.id, TargetPeerID: sig.FromPeerID, Description: &room.SessionDescription{Type: "answer", SDP: answer.SDP}})
	case room.SignalAnswer:
		if m.pc.SignalingState() != webrtc.SignalingStateHaveLocalOffer {
			return
		}
		if err := m.pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: sig.Description.SDP}); err == nil {
			m.flushCandidates()
		}
	case room.SignalCandidate:
		if sig.IsEndOfCandidates() {
			return
		}
		c := webrtc.ICECandidateInit{Candidate: sig.Candidate.Candidate, SDPMid: sig.Candidate.SDPMid, SDPMLineIndex: sig.Candidate.SDPMLineIndex, UsernameFragment: sig.Candidate.UsernameFragment}
		m.mu.Lock()
		if m.pc.RemoteDescription() == nil {
			m.pending = append(m.pending, c)
			m.mu.Unlock()
			return
		}
		m.mu.Unlock()
		_ = m.pc.AddICECandidate(c)
	}
}

func (m *testMusician) flushCandidates() {
	m.mu.Lock()
	pending := m.pending
	m.pending = nil
	m.mu.Unlock()
	for _, c := range pending {
		_ = m.pc.AddICECandidate(c)
	}
}

// stream plays the fixture in a loop, one packet every 20 ms, while connected and not muted.
func (m *testMusician) stream(ctx context.Context) {
	if len(m.packets) == 0 {
		return
	}
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	i := 0
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		if m.muted.Load() || m.pc.ConnectionState() != webrtc.PeerConnectionStateConnected {
			continue
		}
		if err := m.track.WriteSample(media.Sample{Data: m.packets[i%len(m.packets)], Duration: 20 * time.Millisecond}); err == nil {
			m.sent.Add(1)
		}
		i++
	}
}

func (m *testMusician) connected() bool {
	return m.pc.ConnectionState() == webrtc.PeerConnectionStateConnected
}

// leave closes the peer connection and the room connection (as closing the tab does).
func (m *testMusician) leave() {
	if m.cancel == nil {
		return
	}
	m.cancel()
	_ = m.pc.Close()
	m.done.Wait()
	m.cancel = nil
}

func waitFor(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting until %s", timeout, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
