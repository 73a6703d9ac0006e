package peer

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/pion/sdp/v3"
	"github.com/pion/webrtc/v4"

	"github.com/ledbridge/ledbridge/bridge/room"
)

// twoSectionOffer is chromeOffer with a second audio section (mid 1) in the BUNDLE group, with
// the same credentials as the first, so that the corpus can move lines between levels.
func twoSectionOffer() string {
	one := strings.ReplaceAll(chromeOffer, "%PTS%", "111")
	one = strings.Replace(one, "a=group:BUNDLE 0\r\n", "a=group:BUNDLE 0 1\r\n", 1)
	_, first, _ := strings.Cut(one, "m=audio")
	second := strings.Replace("m=audio"+first, "a=mid:0\r\n", "a=mid:1\r\n", 1)
	second = strings.ReplaceAll(second, "2941526453", "2941526454")
	return one + strings.Replace(second, "a=sendrecv\r\n", "a=recvonly\r\n", 1)
}

// offerCorpus is a set of offers a room member could send, each of which the bridge's scan
// and pion's parser could read differently if the scan tokenised lines its own way.
func offerCorpus() map[string]string {
	base := twoSectionOffer()
	afterSession := "a=msid-semantic: WMS 3f0c1c6e\r\n" // the last session-level line
	insertSession := func(lines string) string { return strings.Replace(base, afterSession, afterSession+lines, 1) }
	var cands strings.Builder
	for i := range 3 {
		fmt.Fprintf(&cands, "\ra=candidate:%d 1 udp 2122260223 127.0.0.1 %d typ host\r\n", i, 40000+i)
	}
	return map[string]string{
		"chrome":                        base,
		"LF only":                       strings.ReplaceAll(base, "\r\n", "\n"),
		"CR only":                       strings.ReplaceAll(base, "\r\n", "\r"),
		"CR CR LF":                      strings.ReplaceAll(base, "\r\n", "\r\r\n"),
		"empty lines":                   strings.ReplaceAll(base, "\r\n", "\r\n\r\n"),
		"CR before session credentials": insertSession("\ra=ice-ufrag:EVIL\r\n\ra=ice-pwd:evilevilevilevilevilevil\r\n"),
		"LF before session credentials": insertSession("\na=ice-ufrag:EVIL\r\n\na=ice-pwd:evilevilevilevilevilevil\r\n"),
		"CR before a session fingerprint": insertSession("\ra=fingerprint:sha-256 00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF:" +
			"00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF\r\n"),
		"CR before a section":        base + "\rm=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=mid:2\r\na=sendrecv\r\na=ssrc:5 cname:x\r\n",
		"CR before candidates":       strings.Replace(base, "a=mid:0\r\n", "a=mid:0\r\n"+cands.String(), 1),
		"CR inside the ufrag":        strings.Replace(base, "a=ice-ufrag:Zq3x\r\n", "a=ice-ufrag:A\rX\r\n", 1),
		"CR inside the password":     strings.Replace(base, "a=ice-pwd:6Ydq", "a=ice-pwd:\r6Ydq", 1),
		"trailing blanks":            strings.ReplaceAll(strings.ReplaceAll(base, "Zq3x\r\n", "Zq3x \t\r\n"), "nNqP\r\n", "nNqP\t\r\n"),
		"leading blank":              strings.Replace(base, "a=ice-ufrag:Zq3x", " a=ice-ufrag:EVIL", 1),
		"a second ufrag":             strings.Replace(base, "a=ice-ufrag:Zq3x\r\n", "a=ice-ufrag:Zq3x\r\na=ice-ufrag:EVIL\r\n", 1),
		"a first ufrag":              strings.Replace(base, "a=ice-ufrag:Zq3x\r\n", "a=ice-ufrag:EVIL\r\na=ice-ufrag:Zq3x\r\n", 1),
		"session ufrag only":         insertSession("a=ice-ufrag:EVIL\r\n"),
		"session credentials":        insertSession("a=ice-ufrag:EVIL\r\na=ice-pwd:evilevilevilevilevilevil\r\n"),
		"BUNDLE names the second":    strings.Replace(strings.Replace(base, "BUNDLE 0 1", "BUNDLE 1 0", 1), "a=mid:1\r\n", "a=mid:1\r\na=ice-ufrag:EVIL\r\na=ice-pwd:evilevilevilevilevilevil\r\n", 1),
		"BUNDLE names no section":    strings.Replace(base, "BUNDLE 0 1", "BUNDLE 7", 1),
		"no BUNDLE":                  strings.Replace(base, "a=group:BUNDLE 0 1\r\n", "", 1),
		"a second group":             insertSession("a=group:BUNDLE 1\r\n"),
		"a key without a value":      strings.Replace(base, "a=ice-ufrag:Zq3x", "a=ice-ufrag", 1),
		"a colon first":              strings.Replace(base, "a=ice-ufrag:Zq3x", "a=:ice-ufrag:EVIL", 1),
		"direction decided by first": strings.Replace(base, "a=recvonly\r\n", "a=sendrecv\r\na=recvonly\r\n", 1),
		"session-level inactive":     insertSession("a=inactive\r\n"),
	}
}

// pionReading is what pion v4.2.26 takes from a parsed offer, written from its source
// (extractICEDetails, selectCandidateMediaSection, extractBundleID, trackDetailsFromSDP's
// getPeerDirection), independently of scanOffer.
type pionReading struct {
	ufrag, pwd   string
	fingerprints []string // every a=fingerprint, session and media level, normalised
	candidates   int      // distinct candidates in the media sections
	sections     int
	sending      int
}

func readAsPion(d *sdp.SessionDescription) pionReading {
	var r pionReading
	r.ufrag, _ = d.Attribute("ice-ufrag")
	r.pwd, _ = d.Attribute("ice-pwd")
	bundleID := ""
	if g, _ := d.Attribute("group"); strings.Contains(g, "BUNDLE") {
		if ids := strings.Split(g, " "); len(ids) >= 2 {
			bundleID = ids[1]
		}
	}
	var chosen *sdp.MediaDescription
	for _, md := range d.MediaDescriptions {
		mid := ""
		for _, a := range md.Attributes {
			if a.Key == "mid" {
				mid = a.Value
				break
			}
		}
		if bundleID == "" || mid == bundleID {
			chosen = md
			break
		}
	}
	if chosen != nil {
		u, _ := chosen.Attribute("ice-ufrag")
		p, _ := chosen.Attribute("ice-pwd")
		if r.ufrag == "" && u != "" {
			r.ufrag, r.pwd = u, p
		}
	}
	cands := map[string]bool{}
	levels := [][]sdp.Attribute{d.Attributes}
	for _, md := range d.MediaDescriptions {
		levels = append(levels, md.Attributes)
		for _, a := range md.Attributes {
			if a.IsICECandidate() {
				cands[strings.TrimSpace(a.Value)] = true
			}
		}
		dir := ""
	direction:
		for _, attrs := range [][]sdp.Attribute{md.Attributes, d.Attributes} {
			for _, a := range attrs {
				if webrtc.NewRTPTransceiverDirection(a.Key) != webrtc.RTPTransceiverDirectionUnknown {
					dir = a.Key
					break direction
				}
			}
		}
		if dir != "recvonly" && dir != "inactive" {
			r.sending++
		}
	}
	for _, attrs := range levels {
		for _, a := range attrs {
			if a.Key == "fingerprint" {
				r.fingerprints = append(r.fingerprints, normalFingerprint(a.Value))
			}
		}
	}
	r.fingerprints = asSet(r.fingerprints)
	r.candidates = len(cands)
	r.sections = len(d.MediaDescriptions)
	return r
}

// Differential: for every offer of the corpus, scanOffer reports the sections, the sections
// that may send, the candidates, the fingerprints and the ICE credentials that pion's parser
// and pion's choice among them yield, and refuses exactly the offers pion cannot parse; where
// pion applies the offer, the ICE credentials its agent gets are the ones scanOffer reported.
// Before, the scan split lines itself: a line starting with CR (pion skips CR and LF before a
// line) was invisible to it, and a CR inside a value ended it at another place than pion.
func TestScanOfferReadsAsPion(t *testing.T) {
	requireLoopback(t)
	api := fuzzAPI(t)
	corpus := offerCorpus()
	names := slices.Sorted(func(yield func(string) bool) {
		for k := range corpus {
			if !yield(k) {
				return
			}
		}
	})
	for _, name := range names {
		text := corpus[name]
		t.Run(name, func(t *testing.T) {
			sc, err := scanOffer(text)
			var d sdp.SessionDescription
			perr := d.UnmarshalString(text)
			if (err != nil) != (perr != nil) {
				t.Fatalf("scanOffer error %v, pion's parse error %v", err, perr)
			}
			if perr != nil {
				return
			}
			want := readAsPion(&d)
			got := pionReading{ufrag: sc.creds.ufrag, pwd: sc.creds.pwd, fingerprints: sc.creds.fingerprints,
				candidates: len(sc.ice.cands), sections: sc.sections, sending: sc.sending}
			if fmt.Sprintf("%#v", got) != fmt.Sprintf("%#v", want) {
				t.Errorf("scanOffer reads %#v\npion reads      %#v", got, want)
			}
			if sc.ice.ufrag != want.ufrag || sc.ice.pwd != (want.pwd != "") {
				t.Errorf("remoteICE %q (pwd %v), pion %q %q", sc.ice.ufrag, sc.ice.pwd, want.ufrag, want.pwd)
			}
			if sc.ice.complete() != nil {
				return
			}
			applied, ok := appliedICE(t, api, text)
			if ok && (applied.UsernameFragment != sc.creds.ufrag || applied.Password != sc.creds.pwd) {
				t.Errorf("pion's ICE agent got %q %q, scanOffer read %q %q", applied.UsernameFragment, applied.Password, sc.creds.ufrag, sc.creds.pwd)
			}
		})
	}
}

// fuzzAPI is a pion API as the bridge builds one, and a certificate.
func fuzzAPI(t *testing.T) *webrtc.API {
	t.Helper()
	cfg, err := (&Config{SelfID: bridgeID, SendSignal: noSignals, Interfaces: []string{"lo"}, Logger: slog.New(slog.DiscardHandler)}).withDefaults()
	if err != nil {
		t.Fatal(err)
	}
	api, err := newAPI(cfg, pcScope{})
	if err != nil {
		t.Fatal(err)
	}
	return api
}

// appliedICE answers offer on a recvonly pion PeerConnection and returns the remote ICE
// credentials its agent was started with; ok is false if pion refused the offer.
func appliedICE(t *testing.T, api *webrtc.API, offer string) (webrtc.ICEParameters, bool) {
	t.Helper()
	cert := testCertificate(t)
	pc, err := api.NewPeerConnection(webrtc.Configuration{Certificates: []webrtc.Certificate{*cert}})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = pc.Close() }()
	if _, err := pc.AddTransceiverFromKind(webrtc.RTPCodecTypeAudio, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionRecvonly}); err != nil {
		t.Fatal(err)
	}
	if err := pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeOffer, SDP: offer}); err != nil {
		return webrtc.ICEParameters{}, false
	}
	answer, err := pc.CreateAnswer(nil)
	if err == nil {
		err = pc.SetLocalDescription(answer)
	}
	if err != nil {
		return webrtc.ICEParameters{}, false
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		p, err := pc.SCTP().Transport().ICETransport().GetRemoteParameters()
		if err == nil && p.UsernameFragment != "" {
			return p, true
		}
		if time.Now().After(deadline) {
			t.Fatalf("pion's ICE agent has no remote credentials: %v", err)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// Lines starting with CR are lines to pion: 200 candidates written so are past the bound, and a
// section written so is counted.
func TestScanOfferSeesCRPrefixedLines(t *testing.T) {
	base := twoSectionOffer()
	var b strings.Builder
	for i := range 200 {
		fmt.Fprintf(&b, "\ra=candidate:%d 1 udp 2122260223 127.0.0.1 %d typ host\r\n", i, 40000+i)
	}
	if _, err := scanOffer(strings.Replace(base, "a=mid:0\r\n", "a=mid:0\r\n"+b.String(), 1)); !errors.Is(err, ErrTooManyCandidates) {
		t.Errorf("200 CR-prefixed candidates: err = %v, want ErrTooManyCandidates", err)
	}
	extra := ""
	for i := range maxOfferedSections {
		extra += fmt.Sprintf("\rm=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=mid:x%d\r\na=inactive\r\n", i)
	}
	if _, err := vetOffer(base + extra); err == nil {
		t.Errorf("%d CR-prefixed sections besides 2 were accepted", maxOfferedSections)
	}
}

func noSignals(_ context.Context, _ room.Signal) error { return nil }

// BenchmarkScanOffer measures scanOffer on a Chromium offer: pion's parse, then the reading.
func BenchmarkScanOffer(b *testing.B) {
	text := twoSectionOffer()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := scanOffer(text); err != nil {
			b.Fatal(err)
		}
	}
}
