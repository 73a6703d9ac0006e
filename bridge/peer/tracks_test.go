package peer

import (
	"fmt"
	"sync"
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
	return o
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
