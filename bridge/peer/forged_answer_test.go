package peer

import (
	"net/netip"
	"sync/atomic"
	"testing"

	"github.com/pion/webrtc/v4"

	"github.com/ledbridge/ledbridge/bridge/room"
)

// Review 323: another room member sees the bridge's ICE-restart offer to a connected musician
// (a broadcast) and answers it first, under her peer id, from his own PeerConnection (another
// DTLS certificate). Applied, his ICE credentials replaced hers and her own answer was dropped
// as a duplicate: her audio stopped. handleAnswer refuses an answer whose certificate is not her
// connection's, counts it (ImpostorOffers), and applies hers.
func TestAForgedAnswerToAnICERestartIsRefused(t *testing.T) {
	bridgeNet, musicianNet, _ := cuttableNetwork(t)
	r, s := newTestRoom(t), &sinks{}
	cfg := bridgeConfig(t, r, s)
	cfg.Interfaces = nil
	cfg.net = bridgeNet
	m := startManager(t, cfg, r)
	newTestMusician(t, r, "ivy", musicianOpts{offerFirst: true, net: musicianNet})
	if err := m.MusicianJoined("ivy"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "bridge connected to ivy", bridgeConnected(m, "ivy"))
	waitFor(t, "ivy's audio", func() bool { return s.fromMic("ivy") >= 10 })

	im, err := musicianAPI(t, musicianOpts{}).NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = im.Close() }()
	var forged atomic.Bool
	r.setHolds(func(sig room.Signal) bool {
		if sig.Type != room.SignalOffer || sig.TargetPeerID != "ivy" || forged.Load() {
			return false
		}
		if err := im.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeOffer, SDP: sig.Description.SDP}); err != nil {
			t.Error(err)
			return false
		}
		a, err := im.CreateAnswer(nil)
		if err == nil {
			err = im.SetLocalDescription(a)
		}
		if err != nil {
			t.Error(err)
			return false
		}
		forged.Store(true)
		r.toBridge(room.Signal{Type: room.SignalAnswer, FromPeerID: "ivy", TargetPeerID: bridgeID,
			Description: &room.SessionDescription{Type: "answer", SDP: a.SDP}})
		return false // ivy gets the offer too, and answers
	}, nil)
	before, _ := musicianStats(m, "ivy")
	m.HostAddressesChanged([]netip.Addr{netip.MustParseAddr("127.0.0.1"), netip.MustParseAddr("10.0.0.9")}) // 10.0.0.1 gone
	waitFor(t, "the restart offer answered by the impostor", forged.Load)
	waitFor(t, "the forged answer handled", func() bool {
		st, _ := musicianStats(m, "ivy")
		return st.ImpostorOffers > before.ImpostorOffers || st.Duplicates > before.Duplicates
	})
	m.mu.Lock()
	pc := m.musicians["ivy"].cur.pc
	m.mu.Unlock()
	waitFor(t, "ivy's answer applied", func() bool {
		st, _ := musicianStats(m, "ivy")
		return pc.SignalingState() == webrtc.SignalingStateStable || st.Duplicates > before.Duplicates
	})
	st, _ := musicianStats(m, "ivy")
	if st.ImpostorOffers != before.ImpostorOffers+1 || st.Duplicates != before.Duplicates || st.Malformed != before.Malformed {
		t.Errorf("ImpostorOffers %d, Duplicates %d, Malformed %d; want %d, %d, %d", st.ImpostorOffers, st.Duplicates, st.Malformed,
			before.ImpostorOffers+1, before.Duplicates, before.Malformed)
	}
	if rd := pc.CurrentRemoteDescription(); rd == nil || fingerprintOf(rd.SDP) == fingerprintOf(im.LocalDescription().SDP) {
		t.Fatal("the impostor's answer was applied")
	}
	heard := s.fromMic("ivy")
	waitFor(t, "ivy's audio after the restart", func() bool { return s.fromMic("ivy") >= heard+25 })
}
