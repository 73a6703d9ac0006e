package peer

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"log/slog"
	"regexp"
	"strings"
	"testing"

	"github.com/pion/sdp/v3"
	"github.com/pion/webrtc/v4"

	"github.com/ledbridge/ledbridge/bridge/room"
)

// recvonlyPCMaker returns what makes a fuzz input's PeerConnection the way the bridge makes a
// musician's: built by newAPI (on the loopback only), with one recvonly audio transceiver, closed
// when the input's test ends. They share one certificate: key generation is slow.
func recvonlyPCMaker(f *testing.F) func(t *testing.T) *webrtc.PeerConnection {
	cert := testCertificate(f)
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

// FuzzRefusedOfferLeavesStable: an offer that vetOffer lets through, applied to a negotiated
// PeerConnection the way applyOffer applies a renegotiation, leaves it stable: either pion
// applies it and it is answered, or pion refuses it and settleRefusedOffer's answerLocally brings
// it back from have-remote-offer (review 323: one left there made every later offer of the
// musician's count as glare). The input is a Chromium offer's formats (its m=audio line's tail)
// and its section's codec lines, with any lines added, so that most inputs parse and reach pion.
// Run locally, not in CI:
//
//	go test -run '^$' -fuzz FuzzRefusedOfferLeavesStable -fuzztime 1m ./bridge/peer/
func FuzzRefusedOfferLeavesStable(f *testing.F) {
	const pts = "111 63 9 0 8 13 110 126"
	const cand = "a=candidate:1 1 udp 2122260223 127.0.0.1 40000 typ host\r\n"
	base := strings.Replace(strings.ReplaceAll(chromeOffer, "%PTS%", pts), "a=mid:0\r\n", "a=mid:0\r\n"+cand, 1)
	// codecs are the section's codec lines, which an input replaces (with the lines it adds).
	codecs := regexp.MustCompile(`(?m)^a=(rtpmap|fmtp|rtcp-fb):.*\r\n`)
	bare := codecs.ReplaceAllString(base, "")
	chrome := strings.Join(codecs.FindAllString(base, -1), "")
	f.Add(pts, chrome)
	f.Add(pts, strings.Replace(chrome, "a=rtpmap:111 opus/48000/2", "a=rtpmap:111 G722/8000", 1)) // refused for what was negotiated
	f.Add("111 zz 63", chrome)
	f.Add(pts, chrome+"a=candidate:2 1 udp 1 10.0.0.1 notaport typ host\r\n")
	f.Add(pts, chrome+"a=extmap:zz urn:x\r\n")
	f.Add("111 96", chrome+"a=rtpmap:96 rtx/48000\r\na=fmtp:96 apt=63\r\n")
	f.Add(pts, chrome+"a=ice-ufrag:Zq3y\r\na=ice-pwd:6Ydq0nNvZ3nHk1bSvB0TnNqQ\r\n")
	f.Add("0", "a=inactive\r\na=ssrc:1 cname:x\r\nm=audio 9 UDP/TLS/RTP/SAVPF 0\r\na=mid:1\r\na=recvonly\r\n")
	newPC := recvonlyPCMaker(f)
	f.Fuzz(func(t *testing.T, formats, lines string) {
		text := strings.Replace(strings.Replace(bare, "SAVPF "+pts+"\r\n", "SAVPF "+formats+"\r\n", 1), "a=mid:0\r\n"+cand, "a=mid:0\r\n"+cand+lines, 1)
		scan, err := vetOffer(text)
		if err != nil {
			return
		}
		pc := newPC(t)
		if err := pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeOffer, SDP: base}); err != nil {
			t.Fatal(err)
		}
		if _, err := answerLocally(pc); err != nil {
			t.Fatal(err)
		}
		if transceiversAfter(pc, scan.mediaMids) > maxTransceiversKept || receiverTracks(pc)+scan.streams > maxTracks {
			return // answered on a fresh PeerConnection (freshPCReason)
		}
		var offer sdp.SessionDescription
		if err := offer.UnmarshalString(text); err != nil {
			t.Fatal(err) // vetOffer parsed it
		}
		receiveOnlyForRecvonlySections(pc, &offer)
		if err := pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeOffer, SDP: text}); err != nil {
			if _, serr := answerLocally(pc); serr != nil || pc.SignalingState() != webrtc.SignalingStateStable {
				t.Fatalf("pion refused the offer (%v) and left %s; settling it: %v", err, pc.SignalingState(), serr)
			}
			return
		}
		answerInOfferNumbers(pc, &offer)
		answer, err := pc.CreateAnswer(nil)
		if err == nil {
			err = pc.SetLocalDescription(answer)
		}
		if err != nil || pc.SignalingState() != webrtc.SignalingStateStable {
			t.Fatalf("pion applied the offer, answering it: %v, %s", err, pc.SignalingState())
		}
	})
}

// testCertificate is a fresh ECDSA P-256 DTLS certificate, as pion makes one for a PeerConnection
// given none.
func testCertificate(tb testing.TB) *webrtc.Certificate {
	tb.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		tb.Fatal(err)
	}
	cert, err := webrtc.GenerateCertificate(key)
	if err != nil {
		tb.Fatal(err)
	}
	return cert
}
