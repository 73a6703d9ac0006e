package peer

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"log/slog"
	"strings"
	"testing"

	"github.com/pion/webrtc/v4"

	"github.com/ledbridge/ledbridge/bridge/room"
)

// recvonlyPCMaker returns what makes a fuzz input's PeerConnection the way the bridge makes a
// musician's: built by newAPI (on the loopback only), with one recvonly audio transceiver, closed
// when the input's test ends. They share one certificate: key generation is slow.
func recvonlyPCMaker(f *testing.F) func(t *testing.T) *webrtc.PeerConnection {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		f.Fatal(err)
	}
	cert, err := webrtc.GenerateCertificate(key)
	if err != nil {
		f.Fatal(err)
	}
	discard := func(context.Context, room.Signal) error { return nil }
	cfg, err := (&Config{SelfID: bridgeID, SendSignal: discard, Interfaces: []string{"lo"}, Logger: slog.New(slog.DiscardHandler)}).withDefaults()
	if err != nil {
		f.Fatal(err)
	}
	api, err := newAPI(cfg, pcScope{})
	if err != nil {
		f.Fatal(err)
	}
	return func(t *testing.T) *webrtc.PeerConnection {
		pc, err := api.NewPeerConnection(webrtc.Configuration{Certificates: []webrtc.Certificate{*cert}})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = pc.Close() })
		if _, err := pc.AddTransceiverFromKind(webrtc.RTPCodecTypeAudio, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionRecvonly}); err != nil {
			t.Fatal(err)
		}
		return pc
	}
}

// FuzzOfferSDP: no offer a remote peer can send panics the bridge's checks or pion while it is
// answered the way handleOffer answers it (the checks, then SetRemoteDescription, CreateAnswer
// and SetLocalDescription on a recvonly PeerConnection built by newAPI).
func FuzzOfferSDP(f *testing.F) {
	f.Add(strings.ReplaceAll(chromeOffer, "%PTS%", "111 63 9 0 8 13 110 126"))
	f.Add(strings.ReplaceAll(chromeOffer, "%PTS%", "0") + "a=rid:a send\r\na=simulcast:send a\r\n")
	f.Add(strings.Replace(strings.ReplaceAll(chromeOffer, "%PTS%", "9"), "m=audio", "m=video", 1))
	f.Add(strings.ReplaceAll(chromeOffer, "%PTS%", "111") + "m=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\na=mid:1\r\na=sctp-port:5000\r\n")
	f.Add("v=0\r\nm=audio 9 RTP/AVP 0\r\na=ice-ufrag:x\r\na=ice-pwd:y\r\na=fingerprint:sha-256 00\r\n")
	newPC := recvonlyPCMaker(f)
	f.Fuzz(func(t *testing.T, sdp string) {
		scan, err := vetOffer(sdp)
		if err != nil {
			return
		}
		pc := newPC(t)
		_ = transceiversAfter(pc, scan.mediaMids)
		if err := pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeOffer, SDP: sdp}); err != nil {
			return
		}
		_ = receiverTracks(pc)
		answer, err := pc.CreateAnswer(nil)
		if err != nil {
			return
		}
		_ = pc.SetLocalDescription(answer)
	})
}
