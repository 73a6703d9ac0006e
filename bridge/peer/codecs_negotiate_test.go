package peer

import (
	"fmt"
	"slices"
	"testing"

	"github.com/pion/sdp/v3"
	"github.com/pion/webrtc/v4"
)

// offeredCodecs takes the offer's numbers, static ones without an a=rtpmap included, in
// the bridge's order whatever the offer's, and only for codecs that are ours in MIME type,
// clock rate and channels.
func TestOfferedCodecsTakeTheSectionsNumbers(t *testing.T) {
	for _, tc := range []struct {
		formats string
		rtpmaps []string
		want    string // payload type and MIME type of each, in order
	}{
		{"109 9 0 8 101", []string{"109 opus/48000/2", "9 G722/8000/1", "0 PCMU/8000", "8 PCMA/8000", "101 telephone-event/8000/1"},
			"[109 audio/opus 9 audio/G722 0 audio/PCMU 8 audio/PCMA]"},
		{"8 0 9", nil, "[9 audio/G722 0 audio/PCMU 8 audio/PCMA]"}, // static types need no rtpmap
		{"96 97 0", []string{"96 opus/48000/1", "97 OPUS/48000/2"}, "[97 audio/opus 0 audio/PCMU]"},
		{"100 102", []string{"100 opus/48000/2", "102 opus/48000/2"}, "[100 audio/opus]"}, // the first
		{"98 99", []string{"98 G722/16000", "99 PCMU/8000/2"}, "[]"},
		{"13 110", []string{"13 CN/8000", "110 telephone-event/48000"}, "[]"},
	} {
		text := "v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\nm=audio 9 UDP/TLS/RTP/SAVPF " + tc.formats + "\r\n"
		for _, m := range tc.rtpmaps {
			text += "a=rtpmap:" + m + "\r\n"
		}
		var desc sdp.SessionDescription
		if err := desc.UnmarshalString(text); err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, c := range offeredCodecs(desc.MediaDescriptions[0]) {
			got = append(got, fmt.Sprint(c.PayloadType), c.MimeType)
			i := slices.IndexFunc(codecs, func(o webrtc.RTPCodecParameters) bool { return o.MimeType == c.MimeType })
			if i < 0 || codecs[i].SDPFmtpLine != c.SDPFmtpLine || codecs[i].ClockRate != c.ClockRate {
				t.Errorf("%s: %+v is not ours renumbered", tc.formats, c)
			}
		}
		if s := fmt.Sprint(got); s != tc.want {
			t.Errorf("%s %q: got %s, want %s", tc.formats, tc.rtpmaps, s, tc.want)
		}
	}
}
