package session

import (
	"math"
	"net"
	"testing"
	"time"

	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"
	"github.com/thesyncim/gopus"

	"github.com/ledbridge/ledbridge/analysis"
	"github.com/ledbridge/ledbridge/analysis/effect"
	"github.com/ledbridge/ledbridge/bridge/audio/audiotest"
	"github.com/ledbridge/ledbridge/bridge/room"
)

// stopRig drives a hand-ticked session whose musicians' streams get real RTP packets on a virtual
// clock: each musician's 20 ms packets arrive on time, and send decides each one's payload (nil:
// the packet never comes).
type stopRig struct {
	s         *Session
	strips    []*strip
	now       time.Time
	start     time.Time
	musicians []*musician
	seq       []uint16
	perPacket uint32 // RTP timestamp units in 20 ms
	// dtx: a packet send skips was never sent (DTX), so it uses no sequence number; otherwise
	// it was lost on the way.
	dtx bool
}

func newStopRig(t *testing.T, cfg Config, params webrtc.RTPCodecParameters, musicians int) *stopRig {
	t.Helper()
	s, strips := handTickedSession(t, cfg, "leds=300")
	r := &stopRig{s: s, strips: strips, now: time.Unix(1e9, 0), seq: make([]uint16, musicians), perPacket: params.ClockRate / 50}
	r.start = r.now
	for i := range musicians {
		m, err := newMusician(string(rune('a'+i)), room.Meta{Name: "m"}, i, analysis.Config{})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := m.attachStream(params, func() time.Time { return r.now }); err != nil {
			t.Fatal(err)
		}
		s.musicians[m.id] = m
		r.musicians = append(r.musicians, m)
	}
	s.loop.musiciansChanged()
	return r
}

var pcmuParams = webrtc.RTPCodecParameters{RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypePCMU, ClockRate: 8000}}

// run ticks at 60 fps for d, delivering packet i of musician k (media time i × 20 ms, on time)
// as send(k, i) says, and calls each(elapsed) after every tick.
func (r *stopRig) run(d time.Duration, send func(k, i int) []byte, each func(elapsed time.Duration)) {
	next := 0 // the next packet index, the same for every musician
	for tick := 1; time.Duration(tick)*time.Second/60 <= d; tick++ {
		at := r.start.Add(time.Duration(tick) * time.Second / 60)
		for ; !r.start.Add(time.Duration(next) * 20 * time.Millisecond).After(at); next++ {
			r.now = r.start.Add(time.Duration(next) * 20 * time.Millisecond)
			for k, m := range r.musicians {
				if p := send(k, next); p != nil {
					m.stream.Load().WriteRTP(&rtp.Packet{Header: rtp.Header{Version: 2, SequenceNumber: r.seq[k],
						Timestamp: uint32(next) * r.perPacket, SSRC: uint32(k + 1)}, Payload: p})
				} else if r.dtx {
					continue
				}
				r.seq[k]++
			}
		}
		r.now = at
		r.s.loop.tick(at)
		each(at.Sub(r.start))
	}
}

// pcmuTone is packet i of a sine of f0 Hz at amp (full scale 1) in µ-law.
func pcmuTone(f0, amp float64, i int) []byte {
	p := make([]byte, 160)
	for k := range p {
		at := float64(i*160+k) / 8000
		p[k] = audiotest.MuLaw(int16(amp * 32767 * math.Sin(2*math.Pi*f0*at)))
	}
	return p
}

// Two musicians: A keeps playing C4; B plays A4 and then her packets stop mid-note (her Wi-Fi
// drops, her laptop's lid closes, her tab freezes, her app mutes by stopping its sender). Her
// note must go out as after real silence: her analyser used to re-measure the same last window
// every tick, so her note and level stayed on the strip and the status page for as long as the
// session ran (auto mode hid it only when nobody else played).
func TestStoppedMusiciansNoteGoesOut(t *testing.T) {
	r := newStopRig(t, Config{}, pcmuParams, 2)
	const stop = 3 * time.Second
	f0 := []float64{261.63, 440}
	var bPlayed, aPlays, bLit, bLoud int
	var firstLit time.Duration
	r.run(8*time.Second, func(k, i int) []byte {
		if k == 1 && time.Duration(i)*20*time.Millisecond >= stop {
			return nil
		}
		return pcmuTone(f0[k], 0.3, i)
	}, func(el time.Duration) {
		a, b := &r.musicians[0].features, &r.musicians[1].features
		switch {
		case el > time.Second && el < stop && b.NumNotes > 0:
			bPlayed++
		case el > stop+time.Second:
			if a.NumNotes > 0 {
				aPlays++
			}
			if b.NumNotes > 0 {
				if bLit == 0 {
					firstLit = el
				}
				bLit++
			}
			if b.Level > silenceFloor {
				bLoud++
			}
		}
	})
	if bPlayed == 0 || aPlays == 0 {
		t.Fatalf("the tones were not recognised (B before her stop on %d ticks, A after it on %d): the test shows nothing", bPlayed, aPlays)
	}
	if bLit > 0 || bLoud > 0 {
		t.Errorf("more than a second after B's packets stopped, her analyser shows notes on %d ticks (first at %v) and a level above the silence floor on %d",
			bLit, firstLit, bLoud)
	}
	r.musicians[1].mu.Lock()
	shown := r.musicians[1].notes.NumNotes
	r.musicians[1].mu.Unlock()
	if shown > 0 {
		t.Errorf("the status page still shows %d note(s) for B", shown)
	}
}

// One musician, local mode: her packets stop mid-note. Her strip must go dark as when her
// packets go on but carry silence, not stay lit with her last note.
func TestStoppedMusiciansStripGoesDark(t *testing.T) {
	lit := func(silentPackets bool) (playing, after int) {
		r := newStopRig(t, Config{Mode: effect.ModeLocal}, pcmuParams, 1)
		const stop = 3 * time.Second
		r.run(6*time.Second, func(_, i int) []byte {
			switch {
			case time.Duration(i)*20*time.Millisecond < stop:
				return pcmuTone(440, 0.3, i)
			case silentPackets:
				return pcmuTone(440, 0, i)
			}
			return nil
		}, func(el time.Duration) {
			sum := 0
			for _, b := range r.strips[0].frame {
				sum += int(b)
			}
			switch {
			case el > 2*time.Second && el < stop:
				playing = max(playing, sum)
			case el > stop+2*time.Second: // the renderer's fade-out is over
				after = max(after, sum)
			}
		})
		return playing, after
	}
	silentPlaying, silentAfter := lit(true)
	playing, after := lit(false)
	if silentPlaying == 0 || playing == 0 {
		t.Fatalf("the strip was dark while she played (sum of its bytes %d, %d): the test shows nothing", silentPlaying, playing)
	}
	if after != silentAfter {
		t.Errorf("2 s after her packets stopped the strip's bytes sum to %d; after silent packets, %d", after, silentAfter)
	}
}

// After her packets stopped for a while, a musician who comes back with a quiet note must be
// seen as soon as after a pause with silent packets: the last loud window, repeated, kept her
// analyser's loudness (and so its note gate) high, and a quiet C5 at −35 dBFS took 50 ticks to
// show instead of 4. Nor may the note from before the gap come back with her: the stream
// concealed the first 100 ms of the gap when it ended, and decoded her first packet through
// the upsampler's history of the old note.
func TestQuietNoteAfterStoppedPacketsIsSeenAsAfterSilence(t *testing.T) {
	firstSeen := func(silentPackets bool) (ticks, wrong int) {
		r := newStopRig(t, Config{}, pcmuParams, 1)
		const stop, resume = 2 * time.Second, 5 * time.Second
		ticks = -1
		r.run(7*time.Second, func(_, i int) []byte {
			switch media := time.Duration(i) * 20 * time.Millisecond; {
			case media < stop:
				return pcmuTone(440, 0.5, i)
			case media >= resume:
				return pcmuTone(523.25, 0.018, i)
			case silentPackets:
				return pcmuTone(440, 0, i)
			}
			return nil
		}, func(el time.Duration) {
			f := &r.musicians[0].features
			if el >= resume && el < resume+500*time.Millisecond {
				for _, n := range f.Notes[:f.NumNotes] {
					if math.Abs(12*math.Log2(float64(n.Hz)/523.25)) > 0.5 {
						wrong++
					}
				}
			}
			if el >= resume && ticks < 0 {
				for _, n := range f.Notes[:f.NumNotes] {
					if math.Abs(float64(n.Hz)-523.25) < 15 {
						ticks = int((el - resume) * 60 / time.Second)
					}
				}
			}
		})
		return ticks, wrong
	}
	silent, silentWrong := firstSeen(true)
	stopped, stoppedWrong := firstSeen(false)
	if silent < 0 {
		t.Fatal("the quiet C5 was not recognised even after silent packets: the test shows nothing")
	}
	if stopped < 0 || stopped > silent+1 {
		t.Errorf("the quiet C5 was recognised %d ticks after she resumed (-1: not in 2 s); after silent packets, %d", stopped, silent)
	}
	if stoppedWrong > silentWrong {
		t.Errorf("in her first 0.5 s back, %d notes other than C5 showed (the note from before the gap, the splice's click); after silent packets, %d",
			stoppedWrong, silentWrong)
	}
}

// A short loss the stream conceals (100 ms of packets, then the rest late by the jitter
// buffer's delay) is no stop: her analyser must get no silence for it, so her note stays.
func TestConcealedLossFeedsNoSilence(t *testing.T) {
	r := newStopRig(t, Config{}, pcmuParams, 1)
	var ticks, unlit int
	r.run(4*time.Second, func(_, i int) []byte {
		if i >= 100 && i < 105 { // 2 s in: 5 packets lost
			return nil
		}
		return pcmuTone(440, 0.3, i)
	}, func(el time.Duration) {
		if el > time.Second {
			ticks++
			if r.musicians[0].features.NumNotes == 0 {
				unlit++
			}
		}
		if got := r.musicians[0].stream.Load().Starved(); got > silenceAfter {
			t.Fatalf("at %v the stream found no audio for %v, past silenceAfter (%v): a concealed loss would be cut with silence",
				el, got, silenceAfter)
		}
	})
	if unlit > 0 {
		t.Errorf("her note went out on %d of %d ticks around a 100 ms concealed loss", unlit, ticks)
	}
}

// A musician in Opus DTX (silent: one packet every 400 ms) is fed silence between her packets,
// as a stopped one: what the analyser shows must be what it shows for the same signal sent
// without DTX, an onset where her note comes back and no note or onset in the pause.
func TestMusicianInDTXShowsWhatContinuousPacketsShow(t *testing.T) {
	type result struct{ pauseNotes, pauseOnsets, resumeOnsetTick, packets int }
	play := func(dtx bool) result {
		enc, err := gopus.NewEncoder(gopus.EncoderConfig{SampleRate: 48000, Channels: 1, Application: gopus.ApplicationVoIP})
		if err != nil {
			t.Fatal(err)
		}
		enc.SetDTX(dtx)
		// 1 s of A4, 2 s of silence (mic self-noise), then A4 again.
		const seconds, pauseFrom, pauseTo = 5, 1.0, 3.0
		frames := make([][]byte, seconds*50)
		pcm := make([]float32, 960)
		buf := make([]byte, 1500)
		noise := uint32(1)
		for i := range frames {
			for k := range pcm {
				at := float64(i*960+k) / 48000
				noise = noise*1664525 + 1013904223
				v := (float64(noise>>8)/(1<<24)*2 - 1) * 0.0003
				if at < pauseFrom || at >= pauseTo {
					v += 0.3 * math.Sin(2*math.Pi*440*at)
				}
				pcm[k] = float32(v)
			}
			n, err := enc.Encode(pcm, buf)
			if err != nil {
				t.Fatal(err)
			}
			if n > 2 { // WebRTC does not send DTX's one-byte frames
				frames[i] = append([]byte(nil), buf[:n]...)
			}
		}
		opus := webrtc.RTPCodecParameters{RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2}}
		r := newStopRig(t, Config{}, opus, 1)
		r.dtx = true // DTX skips media time, not sequence numbers
		res := result{resumeOnsetTick: -1}
		r.run(seconds*time.Second, func(_, i int) []byte {
			if i >= len(frames) {
				return nil
			}
			if frames[i] != nil {
				res.packets++
			}
			return frames[i]
		}, func(el time.Duration) {
			f := &r.musicians[0].features
			switch s := el.Seconds(); {
			case s > pauseFrom+0.5 && s < pauseTo:
				if f.NumNotes > 0 {
					res.pauseNotes++
				}
				if f.Onset {
					res.pauseOnsets++
				}
			case s >= pauseTo && res.resumeOnsetTick < 0 && f.Onset:
				res.resumeOnsetTick = int((s - pauseTo) * 60)
			}
		})
		return res
	}
	cont, dtx := play(false), play(true)
	t.Logf("continuous: %+v; DTX: %+v", cont, dtx)
	if dtx.packets > cont.packets*3/4 {
		t.Fatalf("DTX sent %d packets of the %d without it: the encoder did not pause, the test shows nothing", dtx.packets, cont.packets)
	}
	if dtx.pauseNotes != cont.pauseNotes || dtx.pauseOnsets != cont.pauseOnsets {
		t.Errorf("in the pause, DTX shows notes on %d ticks and %d onsets; continuous packets, %d and %d",
			dtx.pauseNotes, dtx.pauseOnsets, cont.pauseNotes, cont.pauseOnsets)
	}
	if cont.resumeOnsetTick < 0 || dtx.resumeOnsetTick < 0 || dtx.resumeOnsetTick > cont.resumeOnsetTick+1 {
		t.Errorf("the note coming back is an onset %d ticks in with DTX, %d without (-1: none)", dtx.resumeOnsetTick, cont.resumeOnsetTick)
	}
}

// The mix WLED's sound sync carries follows the same rule: when every musician's packets stop
// mid-note, its level goes to silence; its analyser used to re-measure the last window, so the
// note's level and bands went out to the WLEDs' audio-reactive effects for as long as the room
// stayed quiet.
func TestSoundSyncMixGoesQuietWhenPacketsStop(t *testing.T) {
	sink, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer sink.Close()
	r := newStopRig(t, Config{SoundSyncAddr: sink.LocalAddr().String()}, pcmuParams, 1)
	const stop = 3 * time.Second
	var played, loud int
	r.run(6*time.Second, func(k, i int) []byte {
		if time.Duration(i)*20*time.Millisecond >= stop {
			return nil
		}
		return pcmuTone(440, 0.3, i)
	}, func(el time.Duration) {
		f := &r.s.loop.mixFeatures
		switch {
		case el > time.Second && el < stop && f.Level > silenceFloor:
			played++
		case el > stop+time.Second && f.Level > silenceFloor:
			loud++
		}
	})
	if played == 0 {
		t.Fatal("the mix never carried the tone: the test shows nothing")
	}
	if loud > 0 {
		t.Errorf("more than a second after every packet stopped, the sound sync mix is above the silence floor on %d ticks", loud)
	}
}

// A steady, very quiet player: an A3 at −62 dBFS RMS, under the −60 dBFS silence floor but a note the
// analyser hears. Auto mode must show her on the local look, as local mode lights her note, not
// the idle look for as long as she plays (review 308).
func TestQuietNoteHoldsAutoModeOnTheLocalLook(t *testing.T) {
	r := newStopRig(t, Config{Mode: effect.ModeAuto}, pcmuParams, 1)
	amp := math.Sqrt2 * math.Pow(10, -62.0/20) // an RMS of −62 dBFS
	var heard, local, ticks int
	r.run(4*time.Second, func(_, i int) []byte { return pcmuTone(220, amp, i) }, func(el time.Duration) {
		if el < time.Second {
			return
		}
		ticks++
		if f := &r.musicians[0].features; f.NumNotes > 0 && f.Level <= silenceFloor {
			heard++
		}
		if effect.Look(r.s.loop.look.Load()) == effect.LookLocal {
			local++
		}
	})
	if heard < ticks/2 {
		t.Fatalf("the quiet A3 was heard under the silence floor on %d of %d ticks: the test shows nothing", heard, ticks)
	}
	if local < heard {
		t.Errorf("auto mode showed the local look on %d of %d ticks; her note was heard on %d", local, ticks, heard)
	}
}
