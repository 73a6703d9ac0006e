package session

import (
	"fmt"
	"math"
	"testing"
	"time"

	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"
	"github.com/thesyncim/gopus"
)

// opusPacket is one encoded Opus packet and when it arrives, after the run's start.
type opusPacket struct {
	seq     uint16
	ts      uint32
	payload []byte
	at      time.Duration
}

// opusTone encodes seconds of a held note of f0 Hz with seven overtones (an instrument, not a
// sine: its partials are what a cut can turn into other notes) in packets of frame samples,
// each arriving on time.
func opusTone(t *testing.T, f0 float64, frame int, seconds float64) []opusPacket {
	return opusEncode(t, opusSignal{f0: f0, frame: frame, seconds: seconds, app: gopus.ApplicationAudio})
}

// opusSignal is what opusEncode encodes: the note of opusTone, at amp(seconds) (nil: 1).
type opusSignal struct {
	f0      float64
	frame   int
	seconds float64
	app     gopus.Application
	dtx     bool // a frame the encoder leaves out in DTX is not sent, as WebRTC does
	amp     func(at float64) float64
}

func opusEncode(t *testing.T, sig opusSignal) []opusPacket {
	t.Helper()
	enc, err := gopus.NewEncoder(gopus.EncoderConfig{SampleRate: 48000, Channels: 1, Application: sig.app})
	if err != nil {
		t.Fatal(err)
	}
	if err := enc.SetFrameSize(sig.frame); err != nil {
		t.Fatal(err)
	}
	enc.SetBitrate(32000)
	enc.SetDTX(sig.dtx)
	pcm := make([]float32, sig.frame)
	buf := make([]byte, 4000)
	var out []opusPacket
	for n := 0; n+sig.frame <= int(sig.seconds*48000); n += sig.frame {
		amp := 1.0
		if sig.amp != nil {
			amp = sig.amp(float64(n) / 48000)
		}
		for i := range pcm {
			at := float64(n+i) / 48000
			var v float64
			for k := 1; k <= 8; k++ {
				v += math.Sin(2*math.Pi*sig.f0*float64(k)*at) / float64(k)
			}
			pcm[i] = float32(amp * 0.3 * v)
		}
		k, err := enc.Encode(pcm, buf)
		if err != nil {
			t.Fatal(err)
		}
		if k <= 2 {
			continue // DTX: nothing sent, no sequence number used
		}
		out = append(out, opusPacket{seq: uint16(len(out)), ts: uint32(n), payload: append([]byte(nil), buf[:k]...),
			at: time.Duration(n) * time.Second / 48000})
	}
	return out
}

// runOpus ticks r's frame loop at 60 fps for d, delivering packets to its first musician at
// their arrival times, and calls each(elapsed) after every tick.
func (r *stopRig) runOpus(packets []opusPacket, d time.Duration, each func(elapsed time.Duration)) {
	next := 0
	for tick := 1; time.Duration(tick)*time.Second/60 <= d; tick++ {
		at := r.start.Add(time.Duration(tick) * time.Second / 60)
		for ; next < len(packets) && !r.start.Add(packets[next].at).After(at); next++ {
			p := packets[next]
			r.now = r.start.Add(p.at)
			r.musicians[0].stream.Load().WriteRTP(&rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: 111,
				SequenceNumber: p.seq, Timestamp: p.ts, SSRC: 7}, Payload: p.payload})
		}
		r.now = at
		r.s.loop.tick(at)
		each(at.Sub(r.start))
	}
}

var opusParams = webrtc.RTPCodecParameters{RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus,
	ClockRate: 48000, Channels: 2}, PayloadType: 111}

// A musician's packets stop mid-note, at different moments of the tick and packet grids and on
// different notes: the silence her analyser is then fed must light nothing. The first tick of
// digital silence after the note (a step from the note to zeros) used to make an onset ≈ 200 ms
// after the stop, often of notes she never played (A3 → E3 and A2), flashing the strip.
// Her note must still go out.
func TestStoppedMusicianLightsNoOnset(t *testing.T) {
	const stopAt = 3 * time.Second
	var stops, ghosts int
	for _, f0 := range []float64{110, 165, 220, 330, 440} {
		tone := opusTone(t, f0, 960, 5)
		for phase := range 5 {
			stop := stopAt + time.Duration(phase)*20*time.Millisecond
			var played []opusPacket
			for _, p := range tone {
				if p.at < stop {
					played = append(played, p)
				}
			}
			r := newStopRig(t, Config{}, opusParams, 1)
			var ghost string
			var lit, litLate int
			r.runOpus(played, 5*time.Second, func(el time.Duration) {
				f := &r.musicians[0].features
				if el > time.Second && el < stop && f.NumNotes > 0 {
					lit++
				}
				if el <= stop {
					return
				}
				if f.Onset || f.Attack || hasNoteOnset(f) {
					ghost += fmt.Sprintf(" +%v onset %v attack %v notes %v;", el-stop, f.Onset, f.Attack, f.ActiveNotes())
				}
				if el > stop+time.Second && f.NumNotes > 0 {
					litLate++
				}
			})
			stops++
			if lit == 0 {
				t.Fatalf("%.0f Hz: her note never showed while she played: the test shows nothing", f0)
			}
			if ghost != "" {
				ghosts++
				t.Errorf("%.0f Hz, packets stopped at %v: after the stop%s", f0, stop, ghost)
			}
			if litLate > 0 {
				t.Errorf("%.0f Hz, packets stopped at %v: her note still showed on %d ticks from 1 s after the stop", f0, stop, litLate)
			}
		}
	}
	t.Logf("%d of %d stops lit an onset after the musician's audio stopped", ghosts, stops)
}

// Her packets pause and come back: a Wi-Fi stall (those of the pause arrive at its end at once)
// or a burst of lost packets. What her analyser is fed in the pause must light nothing before her
// audio is back; and a stall shorter than her packets plus what the stream conceals is no stop at
// all, whatever her packets' length (120 ms packets and a 150 ms stall starved the loop 267 ms,
// past the 200 ms it waited for any).
func TestStalledMusicianLightsNoOnsetInThePause(t *testing.T) {
	const from = 3 * time.Second
	for _, c := range []struct {
		name   string
		frame  int           // samples per packet
		pause  time.Duration // from 3 s on
		lost   bool          // the pause's packets never come; else they come at its end
		isStop bool          // long enough to count as her audio stopping
	}{
		{"20 ms packets, 300 ms stall", 960, 300 * time.Millisecond, false, true},
		{"20 ms packets, 15 lost", 960, 300 * time.Millisecond, true, true},
		{"20 ms packets, 20 lost", 960, 400 * time.Millisecond, true, true},
		{"60 ms packets, 300 ms stall", 2880, 300 * time.Millisecond, false, true},
		{"120 ms packets, 150 ms stall", 5760, 150 * time.Millisecond, false, false},
		{"120 ms packets, 700 ms stall", 5760, 700 * time.Millisecond, false, true},
	} {
		for _, f0 := range []float64{110, 220, 440} {
			tone := opusTone(t, f0, c.frame, 5)
			var sent []opusPacket
			for _, p := range tone {
				switch {
				case p.at < from || p.at >= from+c.pause:
				case c.lost:
					continue
				default:
					p.at = from + c.pause
				}
				sent = append(sent, p)
			}
			r := newStopRig(t, Config{}, opusParams, 1)
			var ghost string
			stopped := false
			r.runOpus(sent, 5*time.Second, func(el time.Duration) {
				m := r.musicians[0]
				f := &m.features
				if el <= from || el >= from+c.pause {
					return
				}
				stopped = stopped || m.audioStopped(m.stream.Load())
				if f.Onset || f.Attack || hasNoteOnset(f) {
					ghost += fmt.Sprintf(" +%v onset %v attack %v notes %v;", el-from, f.Onset, f.Attack, f.ActiveNotes())
				}
			})
			if ghost != "" {
				t.Errorf("%s, %.0f Hz: in the pause%s", c.name, f0, ghost)
			}
			if stopped != c.isStop {
				t.Errorf("%s, %.0f Hz: her audio counted as stopped in the pause: %v, want %v", c.name, f0, stopped, c.isStop)
			}
		}
	}
}
