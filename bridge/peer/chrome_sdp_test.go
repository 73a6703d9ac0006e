package peer

import (
	"strings"
	"testing"

	"github.com/ledbridge/ledbridge/bridge/room"
)

// chromeOffer is the shape of a Chromium 156 audio offer (field notes:
// opus, red, G722, PCMU, PCMA, CN, telephone-event; audio-level,
// abs-send-time, transport-wide-cc and mid extensions). %PTS% is replaced
// to offer fewer codecs.
const chromeOffer = "v=0\r\n" +
	"o=- 4215775240449105457 2 IN IP4 127.0.0.1\r\n" +
	"s=-\r\n" +
	"t=0 0\r\n" +
	"a=group:BUNDLE 0\r\n" +
	"a=extmap-allow-mixed\r\n" +
	"a=msid-semantic: WMS 3f0c1c6e\r\n" +
	"m=audio 9 UDP/TLS/RTP/SAVPF %PTS%\r\n" +
	"c=IN IP4 0.0.0.0\r\n" +
	"a=rtcp:9 IN IP4 0.0.0.0\r\n" +
	"a=ice-ufrag:Zq3x\r\n" +
	"a=ice-pwd:6Ydq0nNvZ3nHk1bSvB0TnNqP\r\n" +
	"a=ice-options:trickle\r\n" +
	"a=fingerprint:sha-256 4A:AD:B9:B1:3F:82:18:3B:54:02:12:DF:3E:5D:49:6B:19:E5:7C:AB:4A:AD:B9:B1:3F:82:18:3B:54:02:12:DF\r\n" +
	"a=setup:actpass\r\n" +
	"a=mid:0\r\n" +
	"a=extmap:1 urn:ietf:params:rtp-hdrext:ssrc-audio-level\r\n" +
	"a=extmap:2 http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time\r\n" +
	"a=extmap:3 http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01\r\n" +
	"a=extmap:4 urn:ietf:params:rtp-hdrext:sdes:mid\r\n" +
	"a=sendrecv\r\n" +
	"a=msid:3f0c1c6e 9a1d6c2b\r\n" +
	"a=rtcp-mux\r\n" +
	"a=rtcp-rsize\r\n" +
	"a=rtpmap:111 opus/48000/2\r\n" +
	"a=rtcp-fb:111 transport-cc\r\n" +
	"a=fmtp:111 minptime=10;useinbandfec=1\r\n" +
	"a=rtpmap:63 red/48000/2\r\n" +
	"a=fmtp:63 111/111\r\n" +
	"a=rtpmap:9 G722/8000\r\n" +
	"a=rtpmap:0 PCMU/8000\r\n" +
	"a=rtpmap:8 PCMA/8000\r\n" +
	"a=rtpmap:13 CN/8000\r\n" +
	"a=rtpmap:110 telephone-event/48000\r\n" +
	"a=rtpmap:126 telephone-event/8000\r\n" +
	"a=ssrc:2941526453 cname:0Tq3jZp8gU7c1xK2\r\n" +
	"a=ssrc:2941526453 msid:3f0c1c6e 9a1d6c2b\r\n"

// The bridge answers a Chromium offer recvonly, choosing by our preference
// (Opus > G722 > PCMU > PCMA) among what the browser offers, and keeps the
// audio-level extension.
func TestAnswerToChromiumOffer(t *testing.T) {
	requireLoopback(t)
	for _, tc := range []struct {
		offered string
		first   string // first payload type of the answer's m=audio line
	}{
		{"111 63 9 0 8 13 110 126", "111"},
		{"8 0 9 13 126", "9"}, // the browser's order does not matter: G722 before PCMU/PCMA
		{"8 0 13 126", "0"},
		{"8 13", "8"},
	} {
		r, s := newTestRoom(t), &sinks{}
		m := startManager(t, bridgeConfig(t, r, s), r)
		if err := m.MusicianJoined("chr"); err != nil { // only a musician in Presence is answered
			t.Fatal(err)
		}
		m.HandleSignal(room.Signal{Type: room.SignalOffer, FromPeerID: "chr", TargetPeerID: bridgeID,
			Description: &room.SessionDescription{Type: "offer", SDP: strings.ReplaceAll(chromeOffer, "%PTS%", tc.offered)}})
		waitFor(t, "the answer", func() bool { return countSignals(r.bridgeSignals(), room.SignalAnswer, "chr") == 1 })
		var answer string
		for _, sig := range r.bridgeSignals() {
			if sig.Type == room.SignalAnswer {
				answer = sig.Description.SDP
			}
		}
		var mline string
		for _, l := range splitLines(answer) {
			if strings.HasPrefix(l, "m=audio ") {
				mline = l
			}
		}
		fields := strings.Fields(mline)
		if len(fields) < 4 || fields[3] != tc.first {
			t.Errorf("offer %q: answer m-line %q, want payload type %s first", tc.offered, mline, tc.first)
		}
		for _, pt := range fields[3:] {
			if pt == "63" || pt == "13" || pt == "110" || pt == "126" {
				t.Errorf("offer %q: answer accepts payload type %s (red/CN/telephone-event)", tc.offered, pt)
			}
		}
		if !sdpHas(answer, "a=recvonly") || !sdpHas(answer, "a=mid:0") || !sdpHas(answer, "a=extmap:1 urn:ietf:params:rtp-hdrext:ssrc-audio-level") {
			t.Errorf("offer %q: answer lacks recvonly, mid or audio level:\n%s", tc.offered, answer)
		}
		if tc.first == "111" && !sdpHas(answer, "a=fmtp:111 minptime=10;useinbandfec=1;maxaveragebitrate=64000") {
			t.Errorf("answer does not keep Opus in-band FEC and 64 kbit/s:\n%s", answer)
		}
	}
}
