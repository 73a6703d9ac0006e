package peer

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/pion/webrtc/v4"

	"github.com/ledbridge/ledbridge/bridge/room"
)

// pion takes an offer's ICE ufrag and password as written, whitespace and all: "U " is another
// ufrag than "U", and a description naming it restarts the live connection's ICE agent. An
// offer under a streaming musician's peer id that is her own with blanks after the ufrag or the
// password is therefore an ICE restart, refused while her audio arrives (impostorOffer), like
// any other. Before, the impostor check trimmed the values and took it for a plain
// renegotiation: it was answered on her connection, whose ICE restarted towards credentials her
// tab never had.
func TestICERestartHiddenInWhitespaceRefused(t *testing.T) {
	for _, tc := range []struct {
		name, attr, pad string
	}{
		{"ufrag with a trailing space", "a=ice-ufrag:", " "},
		{"password with a trailing tab", "a=ice-pwd:", "\t"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			refusedUnderStreamingAna(t, func(sdp string) string {
				var forged strings.Builder
				n := 0
				for _, line := range splitLines(sdp) {
					if strings.HasPrefix(line, tc.attr) {
						line += tc.pad
						n++
					}
					forged.WriteString(line + "\r\n")
				}
				if n == 0 {
					t.Fatalf("ana's offer has no %s line", tc.attr)
				}
				return forged.String()
			})
		})
	}
}

// pion's SDP lexer skips CR and LF before a line: "\ra=ice-ufrag:EVIL" is a session-level
// ice-ufrag to it, which takes precedence over the sections'. Reviewer's reproducer: ana's own
// offer with such a ufrag and password inserted at the session level. The bridge's scan, which
// split lines itself, did not see them, read ana's credentials, and the offer was answered on
// her connection: pion restarted its ICE towards credentials her tab never had, and her audio
// stopped. It is an ICE restart while her audio arrives, refused and counted like any other.
func TestICERestartHiddenBehindCRRefused(t *testing.T) {
	for _, tc := range []struct{ name, lines string }{
		{"CR before each line", "\ra=ice-ufrag:EVIL\r\n\ra=ice-pwd:evilevilevilevilevilevil\r\n"},
		{"CR in the middle of the ufrag", "a=ice-ufrag:EV\rIL\r\na=ice-pwd:evilevilevilevilevilevil\r\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			refusedUnderStreamingAna(t, func(sdp string) string {
				i := strings.Index(sdp, "\r\nm=")
				if i < 0 {
					t.Fatal("ana's offer has no m= line")
				}
				return sdp[:i+2] + tc.lines + sdp[i+2:]
			})
		})
	}
}

// refusedUnderStreamingAna sends forge(ana's applied offer) under her peer id while her audio
// streams, and checks that it is refused and counted, unanswered, and that her connection and
// audio go on.
func refusedUnderStreamingAna(t *testing.T, forge func(sdp string) string) {
	t.Helper()
	m, r, s, _, ana := streamingAna(t, nil) // the clock never moves: her audio stays fresh
	m.mu.Lock()
	sdp := m.musicians["ana"].cur.pc.CurrentRemoteDescription().SDP // her offer, as applied
	m.mu.Unlock()
	r.toBridge(room.Signal{Type: room.SignalOffer, FromPeerID: "ana", TargetPeerID: bridgeID,
		Description: &room.SessionDescription{Type: "offer", SDP: forge(sdp)}})
	waitFor(t, "the offer handled", func() bool {
		st, _ := musicianStats(m, "ana")
		return st.ImpostorOffers > 0 || countSignals(r.bridgeSignals(), room.SignalAnswer, "ana") > 1
	})
	before := s.fromMic("ana")
	waitFor(t, "ana's audio after the offer", func() bool { return s.fromMic("ana") >= before+25 })
	st, _ := musicianStats(m, "ana")
	if st.ImpostorOffers != 1 {
		t.Errorf("ImpostorOffers = %d, want 1", st.ImpostorOffers)
	}
	if n := countSignals(r.bridgeSignals(), room.SignalAnswer, "ana"); n != 1 {
		t.Errorf("the bridge sent %d answers to ana, want 1 (to her own offer)", n)
	}
	if st.ConnectionState != webrtc.PeerConnectionStateConnected || ana.connState() != webrtc.PeerConnectionStateConnected {
		t.Errorf("ana's connection: bridge %s, hers %s", st.ConnectionState, ana.connState())
	}
}

// scanOffer reads every section's candidates (a repeat is one), and the ICE credentials pion
// applies; an offer whose session level names a ufrag but whose password only a section gives
// is incomplete (pion takes both from the session level then, and refuses it).
func TestScanOfferICE(t *testing.T) {
	sdp := "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\na=ice-ufrag:abcd\r\na=ice-pwd:p\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=mid:0\r\na=fingerprint:sha-256 00\r\n" +
		"a=candidate:1 1 udp 1 127.0.0.1 5000 typ host\r\n" +
		"a=candidate:1 1 udp 1 127.0.0.1 5000 typ host\r\n" + // a repeat is one candidate
		"m=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=mid:1\r\na=ice-ufrag:other\r\n" +
		"a=candidate:2 1 udp 1 127.0.0.1 5001 typ host\n" // in the second section, LF only
	sc, err := scanOffer(sdp)
	if err != nil || sc.ice.ufrag != "abcd" || sc.creds.pwd != "p" || len(sc.ice.cands) != 2 || sc.ice.complete() != nil {
		t.Fatalf("scanOffer = %+v, %v (complete: %v)", sc, err, sc.ice.complete())
	}
	if k := candidateKey("candidate:1 1 udp 1 127.0.0.1 5000 typ host"); k != sc.ice.cands[0] {
		t.Errorf("trickled key %q differs from the SDP line's %q", k, sc.ice.cands[0])
	}
	var b strings.Builder
	for i := range maxRemoteCandidates + 1 {
		fmt.Fprintf(&b, "a=candidate:%d 1 udp 1 127.0.0.1 %d typ host\r\n", i, 5000+i)
	}
	if _, err := scanOffer(sdp + b.String()); !errors.Is(err, ErrTooManyCandidates) {
		t.Errorf("%d candidates: err = %v", maxRemoteCandidates+1, err)
	}
	sessionUfragOnly := strings.Replace(sdp, "a=ice-pwd:p\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\n", "m=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=ice-pwd:p\r\n", 1)
	if sc, err := scanOffer(sessionUfragOnly); err != nil || !errors.Is(sc.ice.complete(), ErrIncompleteOffer) {
		t.Errorf("session-level ufrag, section-level password: %v, complete: %v; want ErrIncompleteOffer", err, sc.ice.complete())
	}
}

// Two sections may not share a mid (RFC 8843 §7.2, RFC 3264's mid semantics): pion accepts such
// an offer and gives it more transceivers than transceiversAfter counts from the distinct mids,
// so the bound on a connection's transceivers would no longer hold. It is refused as malformed.
func TestScanOfferRefusesARepeatedMid(t *testing.T) {
	section := func(media, mid string) string {
		return "m=" + media + " 9 UDP/TLS/RTP/SAVPF 111\r\na=mid:" + mid + "\r\na=sendrecv\r\n"
	}
	head := "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\na=ice-ufrag:abcd\r\na=ice-pwd:p\r\na=fingerprint:sha-256 00\r\n"
	if sc, err := scanOffer(head + section("audio", "0") + section("audio", "1")); err != nil || len(sc.mediaMids) != 2 {
		t.Fatalf("distinct mids: %+v, %v", sc.mediaMids, err)
	}
	for name, body := range map[string]string{
		"two audio sections":       section("audio", "0") + section("audio", "0"),
		"audio and a data channel": section("audio", "a") + "m=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\na=mid:a\r\n",
	} {
		if _, err := scanOffer(head + body); !errors.Is(err, ErrUnparsableSDP) {
			t.Errorf("%s sharing a mid: err = %v, want ErrUnparsableSDP", name, err)
		}
	}
}
