package audio

import (
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/pion/rtp"
	"github.com/thesyncim/gopus"

	"github.com/ledbridge/ledbridge/analysis"
	"github.com/ledbridge/ledbridge/bridge/audio/audiotest"
)

// lossResult is what the analyser made of a sustained tone sent with random packet loss.
type lossResult struct {
	lost, concealed uint64
	onsets          int // Features.Onset ticks: the tone never starts again, so each is false
	noteOnsets      int // ticks with a note flagged Onset: the note struck again, each false too
	wrongNotes      int // notes more than half a semitone from the tone's
	noteTicks       int // ticks with the tone's note
}

// playWithLoss sends 6 s of 20 ms packets (payload(i) for packet i, on time) through a real
// Stream, dropping each packet after the first second with probability loss (seeded), reads it
// at 60 fps into a real analyser, and counts from 1.5 s on.
func playWithLoss(t *testing.T, codec string, pt uint8, f0, loss float64, payload func(i int) []byte) lossResult {
	t.Helper()
	t0 := time.Unix(1e9, 0)
	now := t0
	st, err := NewStream(StreamConfig{Codec: codec, PayloadType: pt, KnownPayloadType: true, Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	an, err := analysis.New(analysis.DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(11, 0))
	pcm := make([]float32, SampleRate)
	var f analysis.Features
	var r lossResult
	tick := time.Second / 60
	next := tick
	for i := range 6 * 50 {
		arrival := time.Duration(i)*20*time.Millisecond + 5*time.Millisecond
		for ; next < arrival; next += tick {
			now = t0.Add(next)
			if n := st.ReadPCM(pcm); n > 0 {
				an.Write(pcm[:n])
			}
			an.Frame(&f)
			if next <= 1500*time.Millisecond {
				continue
			}
			if f.Onset {
				r.onsets++
			}
			for _, n := range f.ActiveNotes() {
				if n.Onset {
					r.noteOnsets++
					break
				}
			}
			for _, n := range f.Notes[:f.NumNotes] {
				if math.Abs(12*math.Log2(float64(n.Hz)/f0)) > 0.5 {
					r.wrongNotes++
				} else {
					r.noteTicks++
				}
			}
		}
		p := payload(i)
		if i > 50 && rng.Float64() < loss {
			continue
		}
		now = t0.Add(arrival)
		st.WriteRTP(&rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: pt, SequenceNumber: uint16(i), Timestamp: uint32(i) * defaultClockRate(codecIndex(codec)) / 50, SSRC: 1}, Payload: p})
	}
	s := st.Stats()
	r.lost, r.concealed = s.Lost, s.Concealed
	return r
}

// G.711 and G.722 have no concealment of their own: the stream's replaces each lost packet.
// On a sustained tone it must be heard as the tone going on, as Opus's own concealment is after
// CELT packets (after SILK and hybrid ones the Opus decoder uses this concealer too: see
// TestConcealedOpusLossIsNoNoteOnset): at most a couple of false onsets and no wrong notes at
// 5 and 10 % random loss. Replaying the last
// 10 ms at half the level, with no pitch alignment and no crossfade back, made a false onset of
// almost every lost packet (17 of 21 on PCMU A4 at 10 %). G.722 keeps a weaker bar: after a
// loss its ADPCM state decodes the next packets up to 25 % low for up to 100 ms, and the level
// coming back is still read as an onset after most losses (see g722Decoder.Conceal); only its
// notes are checked.
func TestConcealedLossIsNoOnset(t *testing.T) {
	tone := func(f0 float64, i, k, rate int) float64 {
		at := float64(i*rate/50+k) / float64(rate)
		return 0.3 * (math.Sin(2*math.Pi*f0*at) + 0.5*math.Sin(2*math.Pi*2*f0*at) + 0.25*math.Sin(2*math.Pi*3*f0*at)) / 1.75
	}
	g722, err := os.ReadFile(filepath.Join("testdata", "g722_a4_6s.g722"))
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name    string
		codec   string
		pt      uint8
		f0      float64
		payload func(i int) []byte
		// maxOnsets is the most false onsets allowed; -1: not checked.
		maxOnsets int
	}{
		{"PCMU A4", MimeTypePCMU, 0, 440, nil, 2},
		{"PCMU C4", MimeTypePCMU, 0, 261.63, nil, 2},
		{"PCMA C4", MimeTypePCMA, 8, 261.63, nil, 2},
		{"G722 A4", MimeTypeG722, 9, 440, func(i int) []byte { return g722[i*160 : (i+1)*160] }, -1},
	}
	for _, c := range cases {
		if c.payload == nil {
			alaw := c.codec == MimeTypePCMA
			c.payload = func(i int) []byte {
				p := make([]byte, 160)
				for k := range p {
					v := int16(tone(c.f0, i, k, 8000) * 32767)
					if alaw {
						p[k] = linearToALaw(v)
					} else {
						p[k] = audiotest.MuLaw(v)
					}
				}
				return p
			}
		}
		clean := playWithLoss(t, c.codec, c.pt, c.f0, 0, c.payload)
		if clean.noteTicks == 0 || clean.onsets > 0 || clean.wrongNotes > 0 {
			t.Fatalf("%s without loss: %+v: the analyser does not see one steady note, the test shows nothing", c.name, clean)
		}
		for _, loss := range []float64{0.05, 0.10} {
			r := playWithLoss(t, c.codec, c.pt, c.f0, loss, c.payload)
			t.Logf("%s, %.0f %% loss: %+v", c.name, 100*loss, r)
			if r.lost < uint64(loss*200) || r.concealed != r.lost {
				t.Fatalf("%s, %.0f %% loss: %d packets lost, %d concealed: the loss did not happen as planned", c.name, 100*loss, r.lost, r.concealed)
			}
			if (c.maxOnsets >= 0 && r.onsets > c.maxOnsets) || r.wrongNotes > 0 {
				t.Errorf("%s, %.0f %% loss: %d false onsets and %d wrong notes for %d lost packets", c.name, 100*loss, r.onsets, r.wrongNotes, r.lost)
			}
		}
	}
}

// Opus conceals a lost packet itself, but after SILK and hybrid packets (browsers' voice
// settings: VoIP at 12 to 32 kbit/s) its concealment changed the held note's timbre and the
// analyser saw the note struck again when decoding resumed: on a held A3 with harmonics, 2–5
// false note onsets in 4.5 s at 4 % random loss and 3–11 at 10 % (SILK 12 kbit/s, hybrid 16 and
// 32 kbit/s, with and without FEC), some with a wrong note beside. The mono decoder now
// conceals those with the repeated pitch period (see opusDecoder); CELT keeps its own, which
// makes no false onset on this held tone (on music at 10 % loss it does: see opusDecoder). No
// false note onset, no wrong note.
func TestConcealedOpusLossIsNoNoteOnset(t *testing.T) {
	cases := []struct {
		name    string
		app     gopus.Application
		bitrate int
		fec     bool
		mode    gopus.Mode
	}{
		{"SILK 12 kbit/s", gopus.ApplicationVoIP, 12000, false, gopus.ModeSILK},
		{"SILK 12 kbit/s FEC", gopus.ApplicationVoIP, 12000, true, gopus.ModeSILK},
		{"hybrid 16 kbit/s", gopus.ApplicationVoIP, 16000, false, gopus.ModeHybrid},
		{"hybrid 32 kbit/s FEC", gopus.ApplicationVoIP, 32000, true, gopus.ModeHybrid},
		{"CELT 32 kbit/s", gopus.ApplicationAudio, 32000, false, gopus.ModeCELT},
	}
	const f0 = 220
	for _, c := range cases {
		packets := encodeHeldNote(t, f0, c.app, c.bitrate, c.fec, 6*50)
		if mode := gopus.ParseTOC(packets[100][0]).Mode; mode != c.mode {
			t.Fatalf("%s: the encoder sent mode %v, not %v: the case tests something else", c.name, mode, c.mode)
		}
		payload := func(i int) []byte { return packets[i] }
		clean := playWithLoss(t, MimeTypeOpus, 111, f0, 0, payload)
		if clean.noteTicks == 0 || clean.noteOnsets > 0 || clean.wrongNotes > 0 {
			t.Fatalf("%s without loss: %+v: the analyser does not see one steady note, the test shows nothing", c.name, clean)
		}
		for _, loss := range []float64{0.04, 0.10} {
			r := playWithLoss(t, MimeTypeOpus, 111, f0, loss, payload)
			t.Logf("%s, %.0f %% loss: %+v", c.name, 100*loss, r)
			if r.lost < uint64(loss*150) {
				t.Fatalf("%s, %.0f %% loss: %d packets lost: the loss did not happen as planned", c.name, 100*loss, r.lost)
			}
			if r.noteOnsets > 0 || r.wrongNotes > 0 {
				t.Errorf("%s, %.0f %% loss: %d false note onsets and %d wrong notes for %d lost packets", c.name, 100*loss, r.noteOnsets, r.wrongNotes, r.lost)
			}
		}
	}
}

// The pitch concealer at 48 kHz (Opus after SILK and hybrid packets) allocates nothing to
// conceal a packet and crossfade back, as decoding does not. (gopus v0.1.1's own SILK
// concealment, which the Opus decoder still runs so that its state steps over the loss,
// allocates 4 times, 5.6 KB, per concealed packet; a decoded packet allocates nothing.)
func TestOpusPitchConcealmentAllocatesNothing(t *testing.T) {
	packets := encodeHeldNote(t, 220, gopus.ApplicationVoIP, 12000, false, 20)
	dec, err := NewDecoder(MimeTypeOpus, 1)
	if err != nil {
		t.Fatal(err)
	}
	pcm := make([]float32, MaxPacketSamples)
	var n int
	for _, p := range packets {
		if n, err = dec.Decode(p, pcm); err != nil {
			t.Fatal(err)
		}
	}
	c := newPitchConcealer(SampleRate)
	c.decoded(pcm[:n])
	c.decoded(pcm[:n])
	lost := make([]float32, n)
	if a := testing.AllocsPerRun(50, func() {
		c.conceal(lost)
		c.decoded(pcm[:n])
	}); a != 0 {
		t.Errorf("%.2f allocations per packet concealed and crossfaded back", a)
	}
	if c.conceal(lost); rms(lost) < rms(pcm[:n])/2 {
		t.Errorf("the concealed packet's level %.3f, the decoded one's %.3f: the note was not carried on", rms(lost), rms(pcm[:n]))
	}
}

// encodeHeldNote encodes n 20 ms mono packets of a held note at f0 Hz with 8 harmonics.
func encodeHeldNote(t *testing.T, f0 float64, app gopus.Application, bitrate int, fec bool, n int) [][]byte {
	t.Helper()
	enc, err := gopus.NewEncoder(gopus.EncoderConfig{SampleRate: SampleRate, Channels: 1, Application: app})
	if err != nil {
		t.Fatal(err)
	}
	if err := enc.SetBitrate(bitrate); err != nil {
		t.Fatal(err)
	}
	if fec {
		enc.SetFEC(true)
		if err := enc.SetPacketLoss(20); err != nil {
			t.Fatal(err)
		}
	}
	pcm := make([]float32, SampleRate/50)
	buf := make([]byte, MaxPayloadSize)
	packets := make([][]byte, n)
	for i := range packets {
		for k := range pcm {
			at := float64(i*len(pcm)+k) / SampleRate
			var v float64
			for h := 1; h <= 8; h++ {
				v += math.Sin(2*math.Pi*f0*float64(h)*at) / float64(h)
			}
			pcm[k] = float32(0.3 * v)
		}
		size, err := enc.Encode(pcm, buf)
		if err != nil {
			t.Fatal(err)
		}
		packets[i] = append([]byte(nil), buf[:size]...)
	}
	return packets
}

// linearToALaw is G.711 A-law compression (the inverse of alawToLinear), for the tests.
func linearToALaw(v int16) byte {
	sign := byte(0x80)
	x := int(v)
	if x < 0 {
		sign = 0
		x = -x - 1
	}
	x >>= 3 // 13-bit magnitude
	var code byte
	if x < 32 {
		code = byte(x >> 1)
	} else {
		seg := 1
		for x >= 64 && seg < 7 {
			x >>= 1
			seg++
		}
		code = byte(seg<<4) | byte((x>>1)&0x0f)
	}
	return (code | sign) ^ 0x55
}

// The test's A-law encoder must invert the decoder's expansion, or the PCMA case tests nothing.
func TestLinearToALawInvertsExpansion(t *testing.T) {
	for code := range 256 {
		if back := linearToALaw(alawToLinear(byte(code))); back != byte(code) {
			t.Fatalf("code %#02x expands to %d, which compresses to %#02x", code, alawToLinear(byte(code)), back)
		}
	}
}

// Concealing a tone (a pitch search, then the period read between samples) allocates nothing,
// as decoding does not.
func TestConcealingAToneAllocatesNothing(t *testing.T) {
	for _, codec := range []string{MimeTypePCMU, MimeTypePCMA, MimeTypeG722} {
		dec, err := NewDecoder(codec, 1)
		if err != nil {
			t.Fatal(err)
		}
		pcm := make([]float32, MaxPacketSamples)
		payload := make([]byte, 160)
		for i := range payload {
			payload[i] = audiotest.MuLaw(int16(8000 * math.Sin(2*math.Pi*float64(i)/16))) // 500 Hz in PCMU; noise-like in the others
		}
		for range 4 {
			_, _ = dec.Decode(payload, pcm)
		}
		if a := testing.AllocsPerRun(50, func() {
			_, _ = dec.Decode(payload, pcm)
			_, _ = dec.Conceal(pcm, 960)
			_, _ = dec.Conceal(pcm, 960)
		}); a != 0 {
			t.Errorf("%s: %.2f allocations per decoded and twice concealed packet", codec, a)
		}
	}
}
