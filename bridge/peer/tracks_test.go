package peer

import (
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"

	"github.com/ledbridge/ledbridge/bridge/room"
)

// twoTrackOfferer is a pion offerer sending two audio tracks; only the
// first carries the microphone (micMarker payloads).
type twoTrackOfferer struct {
	t       *testing.T
	r       *testRoom
	id      string
	pc      *webrtc.PeerConnection
	tracks  [3]*webrtc.TrackLocalStaticRTP // the third is added by replaceMic
	senders [2]*webrtc.RTPSender
	stop    chan struct{}
	wg      sync.WaitGroup
}

func newTwoTrackOfferer(t *testing.T, r *testRoom, id string) *twoTrackOfferer {
	t.Helper()
	pc, err := musicianAPI(t, musicianOpts{}).NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		t.Fatal(err)
	}
	o := &twoTrackOfferer{t: t, r: r, id: id, pc: pc, stop: make(chan struct{})}
	t.Cleanup(func() {
		close(o.stop)
		o.wg.Wait()
		_ = pc.Close()
	})
	for i := range o.senders {
		tr, err := webrtc.NewTrackLocalStaticRTP(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2}, fmt.Sprint("audio", i), id)
		if err != nil {
			t.Fatal(err)
		}
		if o.senders[i], err = pc.AddTrack(tr); err != nil {
			t.Fatal(err)
		}
		o.tracks[i] = tr
	}
	offerThroughRoom(t, r, id, pc)
	return o
}

// offerThroughRoom sends pc's offer, with its candidates, to the bridge as
// musician id, and applies what the bridge sends back through r.
func offerThroughRoom(t *testing.T, r *testRoom, id string, pc *webrtc.PeerConnection) {
	t.Helper()
	// The bridge's answer and candidates come back through the room.
	r.setHolds(func(sig room.Signal) bool {
		if sig.TargetPeerID != id {
			return false
		}
		switch sig.Type {
		case room.SignalAnswer:
			if err := pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: sig.Description.SDP}); err != nil {
				t.Errorf("offerer SetRemoteDescription: %v", err)
			}
		case room.SignalCandidate:
			var init webrtc.ICECandidateInit
			if c := sig.Candidate; c != nil {
				init = webrtc.ICECandidateInit{Candidate: c.Candidate, SDPMid: c.SDPMid, SDPMLineIndex: c.SDPMLineIndex}
			}
			_ = pc.AddICECandidate(init)
		}
		return true
	}, nil)
	offer, err := pc.CreateOffer(nil)
	if err != nil {
		t.Fatal(err)
	}
	gathered := webrtc.GatheringCompletePromise(pc)
	if err := pc.SetLocalDescription(offer); err != nil {
		t.Fatal(err)
	}
	<-gathered // the offer carries its candidates: no trickle needed this way
	r.toBridge(room.Signal{Type: room.SignalOffer, FromPeerID: id, TargetPeerID: bridgeID,
		Description: &room.SessionDescription{Type: "offer", SDP: pc.LocalDescription().SDP}})
}

// replaceMic renegotiates: the microphone track (0) is removed and a new one
// (2) added, which carries the microphone from then on.
func (o *twoTrackOfferer) replaceMic() {
	t := o.t
	if err := o.pc.RemoveTrack(o.senders[0]); err != nil {
		t.Fatal(err)
	}
	tr, err := webrtc.NewTrackLocalStaticRTP(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2}, "audio2", o.id)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := o.pc.AddTrack(tr); err != nil {
		t.Fatal(err)
	}
	o.tracks[2] = tr
	offer, err := o.pc.CreateOffer(nil)
	if err == nil {
		err = o.pc.SetLocalDescription(offer)
	}
	if err != nil {
		t.Fatal(err)
	}
	o.r.toBridge(room.Signal{Type: room.SignalOffer, FromPeerID: o.id, TargetPeerID: bridgeID,
		Description: &room.SessionDescription{Type: "offer", SDP: offer.SDP}})
	waitFor(t, "the renegotiation answered", func() bool { return o.pc.SignalingState() == webrtc.SignalingStateStable })
}

// send sends 20 ms packets on track i: the microphone on tracks 0 and 2,
// something else (an Opus silence frame) on track 1.
func (o *twoTrackOfferer) send(i int) {
	o.wg.Add(1)
	go func() {
		defer o.wg.Done()
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		payload := []byte{0xf8, 0xff, 0xfe}
		if i != 1 {
			payload = []byte(micMarker + "0123456789")
		}
		pkt := rtp.Packet{Header: rtp.Header{Version: 2}, Payload: payload}
		for {
			select {
			case <-o.stop:
				return
			case <-tick.C:
			}
			pkt.SequenceNumber++
			pkt.Timestamp += 960
			_ = o.tracks[i].WriteRTP(&pkt)
		}
	}()
}

// An offer with two audio tracks: the first to start is the musician's, the
// second is ignored (counted, read and discarded): it gets no sink and does
// not replace the first's statistics. When the first is renegotiated away,
// the next track to start is the musician's.
func TestOnlyFirstAudioTrackReachesSink(t *testing.T) {
	requireLoopback(t)
	r, s := newTestRoom(t), &sinks{}
	m := startManager(t, bridgeConfig(t, r, s), r)
	if err := m.MusicianJoined("duo"); err != nil {
		t.Fatal(err)
	}
	o := newTwoTrackOfferer(t, r, "duo")
	waitFor(t, "bridge connected to duo", bridgeConnected(m, "duo"))
	o.send(0)
	waitFor(t, "the first track's audio", func() bool { return s.fromMic("duo") >= 10 })
	o.send(1)
	waitFor(t, "the second track ignored", func() bool { st, _ := musicianStats(m, "duo"); return st.IgnoredTracks == 1 })
	before := s.fromMic("duo")
	waitFor(t, "more of the first track's audio", func() bool { return s.fromMic("duo") >= before+25 })
	sk := s.get("duo")
	if len(sk) != 1 {
		t.Fatalf("%d sinks for duo, want 1", len(sk))
	}
	if p, mic := sk[0].packets.Load(), sk[0].fromMic.Load(); p != mic {
		t.Errorf("sink got %d packets, %d of them the microphone's", p, mic)
	}
	st, _ := musicianStats(m, "duo")
	if st.Codec != webrtc.MimeTypeOpus || st.PacketsReceived < uint64(before) {
		t.Errorf("stats = %+v", st)
	}

	// The musician swaps its microphone track by renegotiation.
	o.replaceMic()
	waitFor(t, "the first track's sink closed", func() bool { return sk[0].closed.Load() == 1 })
	o.send(2)
	waitFor(t, "the new microphone track's audio", func() bool {
		sk := s.get("duo")
		return len(sk) == 2 && sk[1].fromMic.Load() >= 25
	})
	if st, _ := musicianStats(m, "duo"); st.IgnoredTracks != 1 {
		t.Errorf("ignored tracks = %d, want 1", st.IgnoredTracks)
	}
}

// rawTrack is a TrackLocal whose packets carry whatever SSRC the test gives
// them: pion declares the SSRC of its binding in the offer, and sends what it
// is handed.
type rawTrack struct {
	mu     sync.Mutex
	stream webrtc.TrackLocalWriter
	ssrc   webrtc.SSRC
	pt     webrtc.PayloadType
}

func (r *rawTrack) Bind(ctx webrtc.TrackLocalContext) (webrtc.RTPCodecParameters, error) {
	for _, c := range ctx.CodecParameters() {
		if c.MimeType == webrtc.MimeTypeOpus {
			r.mu.Lock()
			r.stream, r.ssrc, r.pt = ctx.WriteStream(), ctx.SSRC(), c.PayloadType
			r.mu.Unlock()
			return c, nil
		}
	}
	return webrtc.RTPCodecParameters{}, webrtc.ErrUnsupportedCodec
}

func (r *rawTrack) Unbind(webrtc.TrackLocalContext) error {
	r.mu.Lock()
	r.stream = nil
	r.mu.Unlock()
	return nil
}

func (r *rawTrack) ID() string                { return "raw" }
func (r *rawTrack) RID() string               { return "" }
func (r *rawTrack) StreamID() string          { return "raw" }
func (r *rawTrack) Kind() webrtc.RTPCodecType { return webrtc.RTPCodecTypeAudio }

// write sends one packet under the declared SSRC plus offset.
func (r *rawTrack) write(offset uint32, seq uint16, payload []byte) {
	r.mu.Lock()
	stream, ssrc, pt := r.stream, r.ssrc, r.pt
	r.mu.Unlock()
	if stream == nil {
		return
	}
	h := rtp.Header{Version: 2, PayloadType: uint8(pt), SequenceNumber: seq, Timestamp: uint32(seq) * 960, SSRC: uint32(ssrc) + offset}
	_, _ = stream.WriteRTP(&h, payload)
}

// pion starts a track for an SSRC the offer does not declare by payload type
// alone, taking it to be the first section with that payload type when that
// section names no SSRC (a recvonly one, such as a removed track's). Such a
// track (here a removed microphone's late packets, as they come when the
// musician switches microphones under load) is read and discarded: it must
// not take the musician's place, or the real microphone, starting after it,
// would wait behind it for good.
func TestUndeclaredSSRCNeverTakesTheMicrophone(t *testing.T) {
	requireLoopback(t)
	r, s := newTestRoom(t), &sinks{}
	m := startManager(t, bridgeConfig(t, r, s), r)
	if err := m.MusicianJoined("duo"); err != nil {
		t.Fatal(err)
	}
	pc, err := musicianAPI(t, musicianOpts{}).NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		t.Fatal(err)
	}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	t.Cleanup(func() {
		close(stop)
		wg.Wait()
		_ = pc.Close()
	})
	// The first audio section names no SSRC; the microphone is the second's.
	if _, err := pc.AddTransceiverFromKind(webrtc.RTPCodecTypeAudio, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionRecvonly}); err != nil {
		t.Fatal(err)
	}
	mic := &rawTrack{}
	if _, err := pc.AddTransceiverFromTrack(mic, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionSendonly}); err != nil {
		t.Fatal(err)
	}
	offerThroughRoom(t, r, "duo", pc)
	waitFor(t, "bridge connected to duo", bridgeConnected(m, "duo"))

	const strayOffset = 7
	var micOn atomic.Bool
	wg.Add(1)
	go func() {
		defer wg.Done()
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		for seq := uint16(1); ; seq++ {
			select {
			case <-stop:
				return
			case <-tick.C:
			}
			mic.write(strayOffset, seq, []byte("stray packet"))
			if micOn.Load() {
				mic.write(0, seq, []byte(micMarker+"0123456789"))
			}
		}
	}()
	waitFor(t, "the undeclared SSRC's track started", func() bool {
		st, _ := musicianStats(m, "duo")
		return st.UndeclaredTracks > 0 || s.packets("duo") > 0
	})
	micOn.Store(true)
	waitFor(t, "the microphone's audio", func() bool { return s.fromMic("duo") >= 25 })
	st, _ := musicianStats(m, "duo")
	if st.UndeclaredTracks != 1 || st.IgnoredTracks != 0 {
		t.Errorf("undeclared tracks %d (want 1), ignored tracks %d (want 0)", st.UndeclaredTracks, st.IgnoredTracks)
	}
	sk := s.get("duo")
	if len(sk) != 1 {
		t.Fatalf("%d sinks for duo, want 1", len(sk))
	}
	if p, fromMic := sk[0].packets.Load(), sk[0].fromMic.Load(); p != fromMic {
		t.Errorf("sink got %d packets, %d of them the microphone's", p, fromMic)
	}
}

func TestDeclaresSSRC(t *testing.T) {
	two := "v=0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=recvonly\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=ssrc:12345 cname:x\r\n"
	one := "v=0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=sendonly\r\n"
	for _, c := range []struct {
		sdp  string
		ssrc uint32
		want bool
	}{
		{two, 12345, true},
		{two, 1234, false},   // a prefix of a declared one
		{two, 123456, false}, // the declared one is a prefix
		{one, 99, true},      // one section: any SSRC is its
		{"", 1, false},
	} {
		desc := &webrtc.SessionDescription{Type: webrtc.SDPTypeOffer, SDP: c.sdp}
		if got := declaresSSRC(desc, c.ssrc); got != c.want {
			t.Errorf("declaresSSRC(%q, %d) = %v, want %v", c.sdp, c.ssrc, got, c.want)
		}
	}
	if declaresSSRC(nil, 1) {
		t.Error("declaresSSRC(nil) = true")
	}
}
