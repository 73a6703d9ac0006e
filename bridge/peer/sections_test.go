package peer

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/pion/webrtc/v4"
)

// section is an audio m-line as Chromium writes one: after pc.removeTrack, its direction
// changes but its a=ssrc (the RTCP sender SSRC) stays.
func section(mid, direction string, port int, ssrc uint32) string {
	return fmt.Sprintf("m=audio %d UDP/TLS/RTP/SAVPF 111\r\na=mid:%s\r\na=%s\r\na=rtpmap:111 opus/48000/2\r\na=ssrc:%d cname:x\r\na=ssrc:%d msid:s t\r\n",
		port, mid, direction, ssrc, ssrc)
}

func TestScanOfferSkipsSilentSections(t *testing.T) {
	head := "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n"
	// A musician's 21st microphone: 20 removed tracks' sections, then the sending one.
	var b strings.Builder
	b.WriteString(head)
	for i := range 20 {
		dir, port := "inactive", 9
		switch i % 3 {
		case 1:
			dir = "recvonly"
		case 2:
			port = 0 // a stopped transceiver's, as Chromium writes it
		}
		b.WriteString(section(fmt.Sprint(i), dir, port, uint32(1000+i)))
	}
	b.WriteString(section("20", "sendonly", 9, 2000))
	b.WriteString("m=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\na=mid:21\r\n")
	sc := scan(t, b.String())
	if sc.sending != 2 || sc.sections != 22 {
		t.Errorf("scanOffer: %d sections sending, %d in all; want 2, 22", sc.sending, sc.sections)
	}
	if sc.streams != 1 {
		t.Errorf("scanOffer: %d declared streams, want 1 (only the sending section's SSRC)", sc.streams)
	}
	if want := []string{"0", "1", "2", "3", "4", "5", "6", "7", "8", "9", "10", "11", "12", "13", "14", "15", "16", "17", "18", "19", "20"}; !slices.Equal(sc.mediaMids, want) {
		t.Errorf("scanOffer: audio and video mids %v, want %v", sc.mediaMids, want)
	}

	// Sending sections still count, and a section without a direction sends.
	b.Reset()
	b.WriteString(head)
	for i := range maxMediaSections + 1 {
		b.WriteString(strings.Replace(section(fmt.Sprint(i), "sendrecv", 9, uint32(i+1)), "a=sendrecv\r\n", "", 1))
	}
	if sc := scan(t, b.String()); sc.sending != maxMediaSections+1 || sc.sections != maxMediaSections+1 {
		t.Errorf("scanOffer: %d sections sending, %d in all; want %d, %d", sc.sending, sc.sections, maxMediaSections+1, maxMediaSections+1)
	}

	// A silent section declaring more SSRCs than maxTracks is still refused: counting stops
	// before it is known to be silent, so the bound holds on what is kept.
	b.Reset()
	b.WriteString(head + "m=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=mid:0\r\n")
	for i := range maxTracks + 1 {
		fmt.Fprintf(&b, "a=ssrc:%d cname:x\r\n", i+1)
	}
	b.WriteString("a=inactive\r\n")
	if n := scan(t, b.String()).streams; n <= maxTracks {
		t.Errorf("scanOffer: %d declared streams for %d SSRCs in one section, want more than %d", n, maxTracks+1, maxTracks)
	}
	// Repeated a=ssrc lines for one id are one stream.
	if n := scan(t, head+section("0", "sendrecv", 9, 7)).streams; n != 1 {
		t.Errorf("scanOffer: %d declared streams, want 1", n)
	}
}

func scan(t *testing.T, sdp string) offerScan {
	t.Helper()
	sc, err := scanOffer(sdp)
	if err != nil {
		t.Fatal(err)
	}
	return sc
}

// pion configures a receiver track for each stream a section declares whatever its port: an
// offer of 20 sections with port 0 but sendrecv, one SSRC each, gives a PeerConnection 21
// receiver tracks, past maxTracks. The scan, which took port 0 for a rejected section that
// cannot send, let it through; it counts them now, and the offer is refused.
func TestScanOfferCountsPortZeroSectionsThatSend(t *testing.T) {
	offer := strings.ReplaceAll(chromeOffer, "%PTS%", "111")
	for i := 1; i <= 20; i++ {
		offer += fmt.Sprintf("m=audio 0 UDP/TLS/RTP/SAVPF 111\r\nc=IN IP4 0.0.0.0\r\na=mid:%d\r\na=sendrecv\r\na=rtcp-mux\r\n"+
			"a=rtpmap:111 opus/48000/2\r\na=ssrc:%d cname:x\r\n", i, 100+i)
	}
	if sc, err := vetOffer(offer); err == nil {
		t.Errorf("vetOffer accepted 20 port-0 sendrecv sections with an SSRC each (scan: %d sending, %d streams)", sc.sending, sc.streams)
	}
	// What pion makes of it, applied without the checks.
	pc, err := fuzzAPI(t).NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = pc.Close() }()
	if _, err := pc.AddTransceiverFromKind(webrtc.RTPCodecTypeAudio, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionRecvonly}); err != nil {
		t.Fatal(err)
	}
	if err := pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeOffer, SDP: offer}); err != nil {
		t.Fatal(err)
	}
	answer, err := pc.CreateAnswer(nil)
	if err == nil {
		err = pc.SetLocalDescription(answer)
	}
	if err != nil {
		t.Fatal(err)
	}
	if n := receiverTracks(pc); n <= maxTracks {
		t.Errorf("pion configured %d receiver tracks, not past %d: the test no longer makes its case", n, maxTracks)
	}
}
