package peer

import (
	"regexp"
	"strings"
	"testing"
	"time"
)

// askedOpusFmtp is the Opus fmtp the bridge's answers and offers carry: in-band FEC, and
// 64 kbit/s (mono: no stereo=1) asked of the musician's encoder.
const askedOpusFmtp = "minptime=10;useinbandfec=1;maxaveragebitrate=64000"

// opusFmtpLine is the Opus fmtp line of a pion musician's offers and answers: pion's default
// codecs give Opus 111 its own fmtp, and an answer takes the offer's.
var opusFmtpLine = regexp.MustCompile(`a=fmtp:111 [^\r]*\r\n`)

// withOpusFmtp returns an editSDP that gives her Opus 111 the fmtp line fmtp, as a page that
// edits its SDP does.
func withOpusFmtp(t *testing.T, fmtp string) func(string) string {
	return func(sdp string) string {
		if len(opusFmtpLine.FindAllString(sdp, -1)) != 1 {
			t.Errorf("her description has not one Opus 111 fmtp line to edit:\n%s", sdp)
		}
		return opusFmtpLine.ReplaceAllLiteralString(sdp, "a=fmtp:111 "+fmtp+"\r\n")
	}
}

// Every browser's offer, and those a page edits (another maxaveragebitrate, stereo, FEC off,
// 20 ms packets), is answered in Opus with the bridge's fmtp, asking for 64 kbit/s; and her
// Opus is decoded. pion matches codecs by fmtp and, when one matches exactly, drops those that
// match only by name: an Opus fmtp at odds with one the bridge registered would leave G.722.
func TestAnswerAsksForOpusAt64kbits(t *testing.T) {
	for _, tc := range []struct {
		name    string
		firefox bool   // Firefox's numbering and fmtp (Opus 109)
		fmtp    string // her Opus fmtp, edited into her offer; "" leaves pion's
	}{
		{name: "Chrome and Safari (pion's line)"},
		{name: "Firefox", firefox: true},
		{name: "maxaveragebitrate=128000", fmtp: "minptime=10;useinbandfec=1;maxaveragebitrate=128000"},
		{name: "stereo music at 510 kbit/s", fmtp: "minptime=10;useinbandfec=1;stereo=1;sprop-stereo=1;maxaveragebitrate=510000"},
		{name: "stereo", fmtp: "minptime=10;useinbandfec=1;stereo=1;sprop-stereo=1"},
		{name: "maxaveragebitrate=24000 before the others", fmtp: "maxaveragebitrate=24000;minptime=10;useinbandfec=1"},
		{name: "FEC off", fmtp: "minptime=10;useinbandfec=0"},
		{name: "minptime=20", fmtp: "minptime=20;useinbandfec=1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			opus, r, m, streams := decodingRoom(t)
			opts := musicianOpts{offerFirst: true, media: func(seq uint16) ([]byte, uint32) { return opus[int(seq)%len(opus)], 960 }}
			api, pt := musicianAPI(t, opts), "111"
			if tc.firefox {
				api, pt = firefoxAPI(t), "109"
			}
			if tc.fmtp != "" {
				opts.editSDP = withOpusFmtp(t, tc.fmtp)
			}
			newTestMusicianOn(t, api, r, "eve", opts, nil)
			if err := m.MusicianJoined("eve"); err != nil {
				t.Fatal(err)
			}
			waitFor(t, "the answer", func() bool { return len(answersTo(r, "eve")) >= 1 })
			answer := answersTo(r, "eve")[0]
			if ms := audioMLines(answer); len(ms) != 1 || strings.Fields(ms[0])[3] != pt {
				t.Errorf("answer's m=audio %q, want Opus %s first", ms, pt)
			}
			if !sdpHas(answer, "a=fmtp:"+pt+" "+askedOpusFmtp) {
				t.Errorf("answer's Opus fmtp is not %q:\n%s", askedOpusFmtp, answer)
			}
			waitFor(t, "bridge connected to eve", bridgeConnected(m, "eve"))
			waitDecodedAudio(t, nextStream(t, "eve's audio stream", streams))
		})
	}
}

// The bridge's own offer asks for 64 kbit/s Opus too, and answers that carry another
// maxaveragebitrate, or stereo, or turn FEC off, still get Opus.
func TestOfferAsksForOpusAt64kbits(t *testing.T) {
	for _, answerFmtp := range []string{"", "minptime=10;useinbandfec=1;stereo=1;sprop-stereo=1;maxaveragebitrate=128000", "minptime=10;useinbandfec=0"} {
		t.Run("answer "+answerFmtp, func(t *testing.T) {
			requireLoopback(t)
			opus := opusFixture(t, "a3_220hz.opus")
			r, s := newTestRoom(t), &sinks{}
			cfg := bridgeConfig(t, r, s)
			cfg.OfferDelay = 200 * time.Millisecond
			streams := streamSinks(t, &cfg)
			m := startManager(t, cfg, r)
			opts := musicianOpts{media: func(seq uint16) ([]byte, uint32) { return opus[int(seq)%len(opus)], 960 }}
			if answerFmtp != "" {
				opts.editSDP = withOpusFmtp(t, answerFmtp)
			}
			newTestMusicianOn(t, musicianAPI(t, opts), r, "eve", opts, nil)
			if err := m.MusicianJoined("eve"); err != nil {
				t.Fatal(err)
			}
			waitFor(t, "bridge connected to eve", bridgeConnected(m, "eve"))
			sigs := r.bridgeSignals()
			if len(sigs) == 0 || sigs[0].Description == nil || sigs[0].Description.Type != "offer" {
				t.Fatalf("the bridge's first signal is not an offer: %+v", sigs)
			}
			if offer := sigs[0].Description.SDP; !sdpHas(offer, "a=fmtp:111 "+askedOpusFmtp) {
				t.Errorf("offer's Opus fmtp is not %q:\n%s", askedOpusFmtp, offer)
			}
			waitDecodedAudio(t, nextStream(t, "eve's audio stream", streams))
		})
	}
}
