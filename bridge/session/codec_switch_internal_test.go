package session

import (
	"math"
	"path/filepath"
	"testing"
	"time"

	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"

	"github.com/ledbridge/ledbridge/analysis"
	"github.com/ledbridge/ledbridge/bridge/audio/audiotest"
	"github.com/ledbridge/ledbridge/bridge/room"
)

// A musician whose browser switches from Opus to PCMU mid-stream (Chrome's setParameters with
// encodings[].codec, no renegotiation): the musician's stream, made from the track's codec and
// payload type, drops the PCMU packets until the switch is confirmed (the peer's reader calls
// SwitchCodec after three in a row, as here), then decodes them; the analysis sees the tone
// sent, A4 at −6 dBFS, and the status page's codec follows. A single stray PCMU packet during
// the Opus part changes nothing.
func TestMusicianFollowsACodecSwitch(t *testing.T) {
	opus := readOggPackets(t, filepath.Join("..", "..", "testdata", "opus", "a3_220hz.opus"))
	m, err := newMusician("ana", room.Meta{Name: "Ana"}, 0, analysis.Config{})
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 11, 26, 20, 0, 0, 0, time.UTC)
	opusParams := webrtc.RTPCodecParameters{RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2}, PayloadType: 111}
	st, err := m.attachStream(opusParams, func() time.Time { return now })
	if err != nil {
		t.Fatal(err)
	}
	var seq uint16
	var ts uint32
	send := func(pt uint8, payload []byte, tsStep uint32) {
		seq++
		ts += tsStep
		now = now.Add(20 * time.Millisecond)
		st.WriteRTP(&rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: pt, SequenceNumber: seq, Timestamp: ts, SSRC: 5}, Payload: payload})
		m.analyse()
	}
	shown := func() (codec string, notes analysis.Features) {
		m.mu.Lock()
		defer m.mu.Unlock()
		return m.codec, m.notes
	}
	hasNote := func(f analysis.Features, midi int, hz float64) bool {
		for _, n := range f.ActiveNotes() {
			if n.MIDI == midi && math.Abs(float64(n.Hz)-hz) < 0.02*hz {
				return true
			}
		}
		return false
	}

	tone := make([]byte, 160)
	k := 0
	nextTone := func() []byte {
		for i := range tone {
			tone[i] = audiotest.MuLaw(int16(0.5 * 32767 * math.Sin(2*math.Pi*440*float64(k)/8000)))
			k++
		}
		return tone
	}
	for i := range 60 {
		if i == 30 {
			send(0, nextTone(), 160) // a stray
			continue
		}
		send(111, opus[i%len(opus)], 960)
	}
	if codec, f := shown(); codec != "opus" || !hasNote(f, 57, 220) || st.Stats().DecodeErrors != 0 || st.Stats().CodecSwitches != 0 {
		t.Fatalf("Opus part: codec %q, notes %+v, stream %+v", codec, f.ActiveNotes(), st.Stats())
	}

	for i := range 60 {
		if i == 2 { // the third PCMU packet in a row: the peer's reader confirms the switch
			if err := st.SwitchCodec(webrtc.MimeTypePCMU, 8000, 0); err != nil {
				t.Fatal(err)
			}
		}
		send(0, nextTone(), 160)
	}
	codec, f := shown()
	stats := st.Stats()
	t.Logf("after the switch: codec %q, level %.3f, notes %+v; stream %+v", codec, f.Level, f.ActiveNotes(), stats)
	if codec != "pcmu" || stats.DecodeErrors != 0 || stats.CodecSwitches != 1 || stats.OtherPayloadType != 3 {
		t.Fatalf("after the switch: codec %q, stream %+v", codec, stats)
	}
	// −6 dBFS: a sine of amplitude 0.5, RMS 0.354.
	if !hasNote(f, 69, 440) || math.Abs(float64(f.Level)-0.5/math.Sqrt2) > 0.02 {
		t.Fatalf("the analysis sees level %.3f and notes %+v, want A4 (440 Hz) at RMS 0.354", f.Level, f.ActiveNotes())
	}
}
