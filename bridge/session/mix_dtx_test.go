package session

import (
	"fmt"
	"math"
	"testing"
	"time"

	"github.com/pion/rtp"

	"github.com/ledbridge/ledbridge/bridge/audio"
)

// A musician in Opus DTX (silent, sending one 20 ms packet every 400 ms) must not hold the mix
// back: the first musician plays continuously, the second sends a lone packet every 400 ms for
// 3 s and then plays continuously (10 ms after the first) for 3 s. Every tick that brings the
// first musician's audio mixes some, the mix runs at the rate the first musician's audio comes,
// the lone packets are mixed in, not lost, and once the second plays again the two are summed
// sample by sample. Waiting mixHold for each lone packet stalled the mix for 5 or 6 ticks and
// then released the held audio in one block, 2.5 times a second: the strips stuttered.
func TestMixDoesNotWaitForAMusicianInDTX(t *testing.T) {
	r := newMixRig(t, 2)
	payload, v := dcPacket(t, 8192)
	start := r.now
	const (
		dtxUntil = 3 * time.Second
		seconds  = 6
		packet   = 20 * time.Millisecond
	)
	// The second musician's packets, by media time: a lone one every 400 ms in DTX, then every 20 ms.
	var second []time.Duration
	for at := time.Duration(0); at < dtxUntil; at += 400 * time.Millisecond {
		second = append(second, at)
	}
	for at := dtxUntil; at < seconds*time.Second; at += packet {
		second = append(second, at)
	}
	arrival := func(k int, media time.Duration) time.Time {
		return start.Add(media + time.Duration(k)*10*time.Millisecond)
	}
	send := func(k, seq int, media time.Duration) {
		r.now = arrival(k, media)
		r.musicians[k].stream.Load().WriteRTP(&rtp.Packet{
			Header: rtp.Header{Version: 2, SequenceNumber: uint16(seq), SSRC: uint32(k + 1),
				Timestamp: uint32(media * 8000 / time.Second)}, // DTX skips media time, not sequence numbers
			Payload: payload,
		})
	}
	next := []int{0, 0}
	var mixed, stalls, biggest, bothInDTX, other, lonePackets, afterResume, wrongAfterResume int
	var firstStall, firstOther string
	var firstSeen time.Time
	for tick := 1; tick <= seconds*60; tick++ {
		at := start.Add(time.Duration(tick) * time.Second / 60)
		for ; !arrival(0, time.Duration(next[0])*packet).After(at); next[0]++ {
			send(0, next[0], time.Duration(next[0])*packet)
		}
		for ; next[1] < len(second) && !arrival(1, second[next[1]]).After(at); next[1]++ {
			if second[next[1]] < dtxUntil {
				lonePackets++
			}
			send(1, next[1], second[next[1]])
		}
		r.now = at
		r.s.loop.tick(at)
		// The loop drains a stream each tick, so new audio was read iff its newest arrival moved.
		firstHad := !r.musicians[0].stream.Load().LastAudioArrival().Equal(firstSeen)
		firstSeen = r.musicians[0].stream.Load().LastAudioArrival()
		got := r.s.loop.mixed
		if elapsed := at.Sub(start); elapsed > mixHold && elapsed < dtxUntil && firstHad && len(got) == 0 {
			if stalls == 0 {
				firstStall = fmt.Sprintf("at %v", elapsed.Round(time.Millisecond))
			}
			stalls++
		}
		if elapsed := at.Sub(start); elapsed > mixHold && elapsed < dtxUntil {
			biggest = max(biggest, len(got))
		}
		for _, x := range got {
			sum, alone := math.Abs(float64(x-2*v)) < 1e-6, math.Abs(float64(x-v)) < 1e-6
			switch elapsed := at.Sub(start); {
			case elapsed < dtxUntil:
				if sum {
					bothInDTX++
				}
				// The first packet's first samples are the upsampler starting from silence.
				if !sum && !alone && mixed >= audio.SampleRate/50 {
					if other == 0 {
						firstOther = fmt.Sprintf("sample %d of the mix is %.4f", mixed, x)
					}
					other++
				}
			case elapsed > dtxUntil+mixHold: // the second plays again, and holds the mix again
				afterResume++
				if !sum {
					wrongAfterResume++
				}
			}
			mixed++
		}
	}
	if stalls > 0 {
		t.Errorf("%d ticks brought the first musician's audio but mixed nothing while the second was in DTX (first %s)", stalls, firstStall)
	}
	if most := 2 * audio.SampleRate / 50; biggest > most {
		t.Errorf("while the second musician was in DTX a tick mixed %d samples at once, more than two packets (%d)", biggest, most)
	}
	delivered := int(r.musicians[0].stream.Load().Stats().Packets) * audio.SampleRate / 50
	if mixed > delivered || mixed < delivered-3*audio.SampleRate/50 {
		t.Errorf("the mix got %d samples in %d s (%.3f× real time); the first musician delivered %d",
			mixed, seconds, float64(mixed)/(seconds*audio.SampleRate), delivered)
	}
	// Every lone packet was mixed with the first musician's audio (less the first packet's
	// start, see above), and nothing else was doubled.
	if lone := lonePackets * audio.SampleRate / 50; bothInDTX < lone-audio.SampleRate/50 || bothInDTX > lone {
		t.Errorf("%d samples of the mix hold both musicians while the second was in DTX, want its %d lone packets' %d",
			bothInDTX, lonePackets, lone)
	}
	if other > 0 {
		t.Errorf("%d samples mixed during DTX are neither one musician (%.4f) nor both (%.4f) (%s)", other, v, 2*v, firstOther)
	}
	if wrongAfterResume > 0 {
		t.Errorf("after the second musician resumed, %d of %d mixed samples are not the two summed", wrongAfterResume, afterResume)
	}
}
