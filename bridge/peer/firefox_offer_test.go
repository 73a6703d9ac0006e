package peer

import (
	"slices"
	"strings"
	"testing"

	"github.com/pion/ice/v4"
	"github.com/pion/webrtc/v4"

	"github.com/ledbridge/ledbridge/bridge/audio"
	"github.com/ledbridge/ledbridge/bridge/room"
)

// firefoxOffer is the shape of a Firefox 133 audio offer: Opus on payload type 109 with
// Firefox's fmtp, the fingerprint at session level, msid-semantic WMS *, a .local host
// candidate and end-of-candidates in the section, an extmap with a direction.
const firefoxOffer = "v=0\r\n" +
	"o=mozilla...THIS_IS_SDPARTA-99.0 5981285036380958443 0 IN IP4 0.0.0.0\r\n" +
	"s=-\r\n" +
	"t=0 0\r\n" +
	"a=fingerprint:sha-256 2B:4F:5E:7A:1C:90:3D:88:61:0B:FA:42:9E:D7:13:C5:6A:02:B8:E4:77:19:AF:30:5D:CE:81:24:9B:F6:0E:53\r\n" +
	"a=group:BUNDLE 0\r\n" +
	"a=ice-options:trickle\r\n" +
	"a=msid-semantic:WMS *\r\n" +
	"m=audio 9 UDP/TLS/RTP/SAVPF 109 9 0 8 101\r\n" +
	"c=IN IP4 0.0.0.0\r\n" +
	"a=candidate:0 1 UDP 2122252543 6b1c3f0e-8a52-4f7d-9a0e-3c5d2f1b7e44.local 51234 typ host\r\n" +
	"a=sendrecv\r\n" +
	"a=end-of-candidates\r\n" +
	"a=extmap:1 urn:ietf:params:rtp-hdrext:ssrc-audio-level\r\n" +
	"a=extmap:2/recvonly urn:ietf:params:rtp-hdrext:csrc-audio-level\r\n" +
	"a=extmap:3 urn:ietf:params:rtp-hdrext:sdes:mid\r\n" +
	"a=fmtp:109 maxplaybackrate=48000;stereo=1;useinbandfec=1\r\n" +
	"a=fmtp:101 0-15\r\n" +
	"a=ice-pwd:d8e2bbd1c3a64ab0a7a4c9d3e1f08c77\r\n" +
	"a=ice-ufrag:5a1e0b3f\r\n" +
	"a=mid:0\r\n" +
	"a=msid:{7c0f3c4e-2a1b-4d9e-8f60-1b2c3d4e5f60} {0a9b8c7d-6e5f-4a3b-2c1d-0e9f8a7b6c5d}\r\n" +
	"a=rtcp-mux\r\n" +
	"a=rtpmap:109 opus/48000/2\r\n" +
	"a=rtpmap:9 G722/8000/1\r\n" +
	"a=rtpmap:0 PCMU/8000\r\n" +
	"a=rtpmap:8 PCMA/8000\r\n" +
	"a=rtpmap:101 telephone-event/8000/1\r\n" +
	"a=setup:actpass\r\n" +
	"a=ssrc:3264371906 cname:{4f1e2d3c-5b6a-4798-8a9b-0c1d2e3f4a5b}\r\n"

// firefoxOpusFmtp is Firefox's Opus fmtp line.
const firefoxOpusFmtp = "maxplaybackrate=48000;stereo=1;useinbandfec=1"

// audioMLines are the m=audio lines of an SDP, in order.
func audioMLines(sdp string) []string {
	var out []string
	for _, l := range splitLines(sdp) {
		if strings.HasPrefix(l, "m=audio ") {
			out = append(out, l)
		}
	}
	return out
}

// checkFirefoxAnswer checks that every audio section of an answer to a Firefox-numbered offer
// reuses its numbers (RFC 3264 §6.1) in the bridge's order: Opus 109, G722, PCMU, PCMA.
func checkFirefoxAnswer(t *testing.T, what, answer string, sections int) {
	t.Helper()
	lines := audioMLines(answer)
	if len(lines) != sections {
		t.Fatalf("%s: %d m=audio lines, want %d:\n%s", what, len(lines), sections, answer)
	}
	for _, l := range lines {
		if !strings.HasSuffix(l, " UDP/TLS/RTP/SAVPF 109 9 0 8") {
			t.Errorf("%s: answer's %q, want the offer's numbers 109 9 0 8", what, l)
		}
	}
	if !sdpHas(answer, "a=rtpmap:109 opus/48000/2") || strings.Contains(answer, "a=rtpmap:111 ") {
		t.Errorf("%s: answer does not name Opus 109 (or names 111, never offered):\n%s", what, answer)
	}
	if !sdpHas(answer, "a=fmtp:109 minptime=10;useinbandfec=1;maxaveragebitrate=64000") {
		t.Errorf("%s: answer does not keep Opus in-band FEC and 64 kbit/s on 109:\n%s", what, answer)
	}
}

// answersTo are the SDPs of the answers the bridge sent to id, in order.
func answersTo(r *testRoom, id string) []string {
	var out []string
	for _, sig := range r.bridgeSignals() {
		if sig.Type == room.SignalAnswer && sig.TargetPeerID == id {
			out = append(out, sig.Description.SDP)
		}
	}
	return out
}

// The bridge answers a Firefox offer with Firefox's own payload types, in its order of
// preference, and accepts no telephone-event.
func TestAnswerToFirefoxOffer(t *testing.T) {
	requireLoopback(t)
	r, s := newTestRoom(t), &sinks{}
	m := startManager(t, bridgeConfig(t, r, s), r)
	if err := m.MusicianJoined("fox"); err != nil {
		t.Fatal(err)
	}
	m.HandleSignal(room.Signal{Type: room.SignalOffer, FromPeerID: "fox", TargetPeerID: bridgeID,
		Description: &room.SessionDescription{Type: "offer", SDP: firefoxOffer}})
	waitFor(t, "the answer", func() bool { return len(answersTo(r, "fox")) == 1 })
	answer := answersTo(r, "fox")[0]
	checkFirefoxAnswer(t, "Firefox 133 offer", answer, 1)
	if strings.Contains(answer, " 101") || !sdpHas(answer, "a=recvonly") || !sdpHas(answer, "a=mid:0") {
		t.Errorf("answer accepts telephone-event, or lacks recvonly or the mid:\n%s", answer)
	}
}

// firefoxAPI is a pion API numbered as Firefox numbers its audio codecs: Opus on 109 with
// Firefox's fmtp, G722 9, PCMU 0, PCMA 8, telephone-event 101. Its senders use the payload
// types the answer gives, as pion's (and a browser's) do.
func firefoxAPI(t *testing.T) *webrtc.API {
	t.Helper()
	var me webrtc.MediaEngine
	for _, c := range []webrtc.RTPCodecParameters{
		{RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2, SDPFmtpLine: firefoxOpusFmtp}, PayloadType: 109},
		{RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeG722, ClockRate: 8000}, PayloadType: 9},
		{RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypePCMU, ClockRate: 8000}, PayloadType: 0},
		{RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypePCMA, ClockRate: 8000}, PayloadType: 8},
		{RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: "audio/telephone-event", ClockRate: 8000, SDPFmtpLine: "0-15"}, PayloadType: 101},
	} {
		if err := me.RegisterCodec(c, webrtc.RTPCodecTypeAudio); err != nil {
			t.Fatal(err)
		}
	}
	if err := me.RegisterHeaderExtension(webrtc.RTPHeaderExtensionCapability{URI: audioLevelURI}, webrtc.RTPCodecTypeAudio); err != nil {
		t.Fatal(err)
	}
	var se webrtc.SettingEngine
	se.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4})
	se.SetIncludeLoopbackCandidate(true)
	se.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled)
	se.SetInterfaceFilter(func(name string) bool { return name == "lo" })
	return webrtc.NewAPI(webrtc.WithMediaEngine(&me), webrtc.WithSettingEngine(se))
}

// newFirefoxMusician is newTestMusician on firefoxAPI; extraTracks more audio tracks (which
// send nothing) are added with the microphone before the first offer, each its own section.
func newFirefoxMusician(t *testing.T, r *testRoom, id string, opts musicianOpts, extraTracks int) *testMusician {
	t.Helper()
	return newTestMusicianOn(t, firefoxAPI(t), r, id, opts, func(pc *webrtc.PeerConnection) {
		for i := range extraTracks {
			extra, err := webrtc.NewTrackLocalStaticRTP(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2}, "extra"+string(rune('a'+i)), id+"-extra")
			if err == nil {
				_, err = pc.AddTrack(extra)
			}
			if err != nil {
				t.Fatal(err)
			}
		}
	})
}

// waitDecodedAudio waits for the bridge's audio stream for a track to decode a quarter of a
// second of the musician's Opus tone.
func waitDecodedAudio(t *testing.T, st *audio.Stream) {
	t.Helper()
	pcm := make([]float32, audio.SampleRate)
	waitFor(t, "the musician's Opus decoded", func() bool {
		st.ReadPCM(pcm)
		return st.Stats().Packets > 12
	})
	if stats := st.Stats(); st.Codec() != audio.MimeTypeOpus || stats.Level < 0.01 || stats.DecodeErrors != 0 {
		t.Fatalf("%s: %+v", st, stats)
	}
}

// firefoxSetup sets up a Manager whose sinks decode (streamSinks) and a Firefox musician
// sending the a3 Opus fixture.
func firefoxSetup(t *testing.T, opts musicianOpts, extraTracks int) (*Manager, *testRoom, <-chan *audio.Stream, *testMusician) {
	t.Helper()
	opus, r, m, streams := decodingRoom(t)
	opts.media = func(seq uint16) ([]byte, uint32) { return opus[int(seq)%len(opus)], 960 }
	fox := newFirefoxMusician(t, r, "fox", opts, extraTracks)
	if err := m.MusicianJoined("fox"); err != nil {
		t.Fatal(err)
	}
	return m, r, streams, fox
}

// A Firefox-numbered musician that offers first, and whose sender uses the answer's payload
// types, is heard: the answer reuses 109, and the bridge decodes her Opus.
func TestFirefoxNumberedMusicianIsHeard(t *testing.T) {
	m, r, streams, fox := firefoxSetup(t, musicianOpts{offerFirst: true}, 0)
	waitFor(t, "the answer", func() bool { return len(answersTo(r, "fox")) >= 1 })
	checkFirefoxAnswer(t, "answer", answersTo(r, "fox")[0], 1)
	waitFor(t, "bridge connected to fox", bridgeConnected(m, "fox"))
	st := nextStream(t, "fox's audio stream (her track started)", streams)
	waitDecodedAudio(t, st)
	if fox.offersSent.Load() != 1 {
		t.Errorf("fox sent %d offers, want 1", fox.offersSent.Load())
	}
}

// pion sets a transceiver's codecs from the first remote description only (pion/webrtc#3276):
// a musician who connects with a data channel alone and adds her microphone by a second offer
// on the same connection is answered with her numbers too, and heard.
func TestFirefoxMicrophoneAddedByRenegotiationIsHeard(t *testing.T) {
	m, r, streams, fox := firefoxSetup(t, musicianOpts{dataChannel: true}, 0)
	waitFor(t, "bridge connected to fox (data channel only)", bridgeConnected(m, "fox"))
	first := answersTo(r, "fox")
	if len(first) != 1 || len(audioMLines(first[0])) != 0 {
		t.Fatalf("answers to the data-channel offer: %q", first)
	}
	fox.negotiateNow()
	waitFor(t, "the answer to the renegotiation", func() bool { return len(answersTo(r, "fox")) >= 2 })
	answers := answersTo(r, "fox")
	checkFirefoxAnswer(t, "renegotiation answer", answers[1], 1)
	if fingerprint(answers[0]) == "" || fingerprint(answers[0]) != fingerprint(answers[1]) {
		t.Fatalf("the renegotiation was answered on a fresh PeerConnection:\n%s\n%s", answers[0], answers[1])
	}
	st := nextStream(t, "fox's audio stream (her track started)", streams)
	waitDecodedAudio(t, st)
	if n := len(answersTo(r, "fox")); n != 2 || fox.offersSent.Load() != 2 {
		t.Errorf("%d answers to %d offers, want 2 each", n, fox.offersSent.Load())
	}
}

// A connected Firefox musician's second offer on the same connection (here one that brings a
// data channel) is answered with her numbers again, and her audio goes on.
func TestFirefoxRenegotiationKeepsHerNumbers(t *testing.T) {
	m, r, streams, fox := firefoxSetup(t, musicianOpts{offerFirst: true}, 0)
	waitFor(t, "bridge connected to fox", bridgeConnected(m, "fox"))
	st := nextStream(t, "fox's audio stream", streams)
	waitDecodedAudio(t, st)
	if _, err := fox.pc.CreateDataChannel("chat", nil); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the answer to the renegotiation", func() bool { return len(answersTo(r, "fox")) >= 2 })
	answers := answersTo(r, "fox")
	checkFirefoxAnswer(t, "renegotiation answer", answers[1], 1)
	if fingerprint(answers[0]) != fingerprint(answers[1]) {
		t.Fatal("the renegotiation was answered on a fresh PeerConnection")
	}
	before := st.Stats().Packets
	pcm := make([]float32, audio.SampleRate)
	waitFor(t, "fox's audio after the renegotiation", func() bool { st.ReadPCM(pcm); return st.Stats().Packets > before+25 })
	select {
	case extra := <-streams:
		t.Fatalf("a second stream %s started: the renegotiation replaced her track", extra)
	default:
	}
}

// An offer with two audio sections (Firefox numbering both) is answered with her numbers in
// each, not ours in the section the bridge's own transceiver takes, and her microphone (the
// first) is heard.
func TestFirefoxTwoAudioSectionsBothKeepHerNumbers(t *testing.T) {
	m, r, streams, _ := firefoxSetup(t, musicianOpts{offerFirst: true}, 1)
	waitFor(t, "the answer", func() bool { return len(answersTo(r, "fox")) >= 1 })
	checkFirefoxAnswer(t, "two-section answer", answersTo(r, "fox")[0], 2)
	waitFor(t, "bridge connected to fox", bridgeConnected(m, "fox"))
	st := nextStream(t, "fox's audio stream (her track started)", streams)
	waitDecodedAudio(t, st)
}

// fingerprint is an SDP's first a=fingerprint line: the same on every description of one
// pion PeerConnection.
func fingerprint(sdp string) string {
	lines := splitLines(sdp)
	if i := slices.IndexFunc(lines, func(l string) bool { return strings.HasPrefix(l, "a=fingerprint:") }); i >= 0 {
		return lines[i]
	}
	return ""
}
