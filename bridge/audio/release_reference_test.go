package audio

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/pion/rtp"
)

// The release path as it was before draining a backlog became linear: Pop computed, for every
// packet it released, how many due packets followed it (Release.Newer) by scanning the whole
// window again, and freed the empty marks it stepped over with a second walk every time. It is
// kept here, unchanged, as the reference that the linear version must match packet for packet.

// refPop is the old JitterBuffer.Pop; newer is the old Release.Newer.
func refPop(j *JitterBuffer, now time.Time) (r Release, newer int, ok bool) {
	if j.buffered == 0 {
		return Release{}, 0, false
	}
	lost := 0
	seq := j.next
	s, buf := j.slot(seq)
	for !s.used || s.seq != seq || s.empty {
		if !s.used || s.seq != seq {
			lost++
		}
		seq++
		if seq-j.next >= uint16(len(j.slots)) {
			j.clearSlots()
			return Release{}, 0, false
		}
		s, buf = j.slot(seq)
	}
	if now.Before(j.deadline(s)) {
		return Release{}, 0, false
	}
	for e := j.next; e != seq; e++ {
		if es, _ := j.slot(e); es.used && es.empty && es.seq == e {
			es.used, es.empty = false, false
			j.empties--
		}
	}
	s.used = false
	j.buffered--
	j.next = seq + 1
	lost += j.pendLost
	j.pendLost = 0
	j.stats.Lost += uint64(lost)
	return Release{Lost: lost, Payload: buf[:s.n], Seq: s.seq, Timestamp: s.ts, Arrival: s.arrival}, refDueAfter(j, seq, now), true
}

// refDueAfter is the old per-release scan: the buffered packets after seq (up to a window's
// length after it) that are due at now.
func refDueAfter(j *JitterBuffer, seq uint16, now time.Time) int {
	due := 0
	for seen, d := 0, 1; seen < j.buffered && d <= len(j.slots); d++ {
		s, _ := j.slot(seq + uint16(d))
		if !s.used || s.empty || s.seq != seq+uint16(d) {
			continue
		}
		seen++
		if !now.Before(j.deadline(s)) {
			due++
		}
	}
	return due
}

// refFate is what the reference release path did with one released packet.
type refFate struct {
	seq   uint16
	stale bool // skipped as stale, not decoded
}

// refStream drives a Stream through the old release path, logging each release's fate.
type refStream struct {
	*Stream
	released []refFate
}

func (s *refStream) skipStaleLocked(now time.Time) {
	for due := refDueAfter(s.jb, s.jb.next-1, now); (due-1)*s.lastFrame >= len(s.ring); due-- {
		r, _, ok := refPop(s.jb, now)
		if !ok {
			return
		}
		s.stale++
		s.released = append(s.released, refFate{r.Seq, true})
	}
}

func (s *refStream) releaseLocked(now time.Time) {
	for {
		r, newer, ok := refPop(s.jb, now)
		if !ok {
			return
		}
		if newer*s.lastFrame >= len(s.ring) {
			s.stale++
			s.released = append(s.released, refFate{r.Seq, true})
			continue
		}
		s.released = append(s.released, refFate{r.Seq, false})
		if !s.refillBudgetLocked(now) {
			s.overBudget++
			continue
		}
		start := s.produced
		if r.Lost > 0 {
			s.concealLocked(r.Lost, r.Payload)
		}
		decodeStart := s.produced
		s.decodeLocked(r.Payload, r.Arrival)
		charge := s.produced - start
		if s.produced == decodeStart {
			charge += uint64(max(s.lastFrame, SampleRate/50))
		}
		s.budget -= time.Duration(charge) * time.Second / SampleRate
	}
}

// WriteRTP is Stream.WriteRTP with the reference release path.
func (s *refStream) WriteRTP(pkt *rtp.Packet) {
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(pkt.Payload) == 0 {
		s.padding++
		s.markEmptyLocked(pkt)
		return
	}
	if s.checkPT && pkt.PayloadType != s.pt {
		s.otherPT++
		s.markEmptyLocked(pkt)
		return
	}
	s.packets++
	if !s.haveSSRC || pkt.SSRC != s.ssrc {
		if s.haveSSRC {
			s.jb.Reset()
			s.dec.Reset()
			s.ssrcResets++
		}
		s.ssrc, s.haveSSRC = pkt.SSRC, true
	}
	if s.jb.Push(pkt.SequenceNumber, pkt.Timestamp, pkt.Payload, now) == PushResync {
		s.dec.Reset()
	}
	if s.jb.Draining() && s.backlogFillsRingLocked() {
		s.skipStaleLocked(now)
		return
	}
	s.releaseLocked(now)
}

// ReadPCM is Stream.ReadPCM with the reference release path.
func (s *refStream) ReadPCM(dst []float32) int {
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	s.releaseLocked(now)
	n := min(len(dst), s.ringLen)
	first := min(n, len(s.ring)-s.ringStart)
	copy(dst, s.ring[s.ringStart:s.ringStart+first])
	copy(dst[first:n], s.ring[:n-first])
	s.ringStart = (s.ringStart + n) % len(s.ring)
	s.ringLen -= n
	return n
}

// decodeLog is a Decoder that logs what it is asked to do, in order: which packet it decoded
// (by the sequence number taggedPCMU writes into its first two bytes), which packet's FEC it
// used, and each concealment.
type decodeLog struct {
	Decoder
	log []string
}

func (d *decodeLog) Decode(payload []byte, pcm []float32) (int, error) {
	d.log = append(d.log, fmt.Sprintf("decode %d", binary.BigEndian.Uint16(payload)))
	return d.Decoder.Decode(payload, pcm)
}

func (d *decodeLog) DecodeFEC(next []byte, pcm []float32, samples int) (int, bool, error) {
	d.log = append(d.log, fmt.Sprintf("fec from %d", binary.BigEndian.Uint16(next)))
	return d.Decoder.DecodeFEC(next, pcm, samples)
}

func (d *decodeLog) Conceal(pcm []float32, samples int) (int, error) {
	d.log = append(d.log, fmt.Sprintf("conceal %d", samples))
	return d.Decoder.Conceal(pcm, samples)
}

// loggedPCMUStream is a PCMU Stream on clock whose decoder logs what it does.
func loggedPCMUStream(t *testing.T, clock *fakeClock) (*Stream, *decodeLog) {
	t.Helper()
	s, err := NewStream(StreamConfig{Codec: MimeTypePCMU, Now: clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	log := &decodeLog{Decoder: s.dec}
	s.dec, s.decoders[codecIndex(MimeTypePCMU)] = log, log
	return s, log
}

// taggedPCMU is samples of PCMU audio that starts with seq (read back by decodeLog).
func taggedPCMU(seq uint16, samples int) []byte {
	p := pcmuNumbered(int(seq))[:1]
	p = slices.Repeat(p, samples)
	binary.BigEndian.PutUint16(p, seq)
	return p
}

// arrival is one packet of a simulated network: sent, then delivered at at (or never).
type arrival struct {
	at  time.Duration
	pkt rtp.Packet
}

// lossyNetwork simulates a sender of PCMU packets of 10, 20 or 40 ms at its media pace, over a
// network with up to 25 ms of jitter (so packets overtake each other), loss, duplicates,
// padding-only probes taking sequence numbers, and stalls that hold from 5 to 300 packets
// (100 ms to 12 s) and then deliver them back to back: the backlogs the release path drains.
func lossyNetwork(rng *rand.Rand, packets int) []arrival {
	var out []arrival
	var sent, stallEnd time.Duration
	ts := uint32(rng.Uint64())
	for i := range packets {
		seq := uint16(60000 + i) // crosses the 16-bit wrap
		frame := []int{80, 160, 160, 160, 320}[rng.IntN(5)]
		if rng.IntN(150) == 0 {
			stallEnd = sent + time.Duration(5+rng.IntN(296))*20*time.Millisecond
		}
		at := sent + 30*time.Millisecond + time.Duration(rng.IntN(25_000))*time.Microsecond
		if at < stallEnd {
			at = stallEnd + time.Duration(i)*time.Microsecond // back to back, in order
		}
		pkt := rtp.Packet{Header: rtp.Header{Version: 2, SequenceNumber: seq, Timestamp: ts, SSRC: 9}}
		switch r := rng.IntN(100); {
		case r < 3: // lost
		case r < 6: // a padding-only probe used this sequence number
			out = append(out, arrival{at, pkt})
		default:
			pkt.Payload = taggedPCMU(seq, frame)
			out = append(out, arrival{at, pkt})
			if r < 7 {
				out = append(out, arrival{at + time.Millisecond, pkt}) // duplicated
			}
		}
		ts += uint32(frame)
		sent += time.Duration(frame) * time.Second / 8000
	}
	slices.SortStableFunc(out, func(a, b arrival) int { return int(a.at - b.at) })
	return out
}

// sameJitterState reports whether two jitter buffers are in the same state: the same packets
// held, in the same slots, with the same bytes, and the same counters and estimates.
func sameJitterState(j, ref *JitterBuffer) bool {
	a, b := *j, *ref
	if !slices.Equal(a.slots, b.slots) || !bytes.Equal(a.payload, b.payload) {
		return false
	}
	a.slots, a.payload, b.slots, b.payload = nil, nil, nil, nil
	return reflect.DeepEqual(a, b)
}

// sameStreamState reports how the states of two streams differ, or "" if they do not.
func sameStreamState(s, ref *Stream) string {
	switch {
	case !sameJitterState(s.jb, ref.jb):
		return "jitter buffers differ"
	case !reflect.DeepEqual(s.Stats(), ref.Stats()):
		return fmt.Sprintf("stats differ:\n%+v\n%+v", s.Stats(), ref.Stats())
	case !slices.Equal(s.ring, ref.ring) || s.ringStart != ref.ringStart || s.ringLen != ref.ringLen:
		return "rings differ"
	}
	return ""
}

// TestStreamLinearDrainMatchesReference feeds the same lossy, stalling network to a Stream and
// to the reference release path, with the 60 fps loop reading (and now and then pausing), and
// checks after every packet and every tick that both did exactly the same: the jitter buffers
// (so the same packets were released), the decoders' logs (the same packets decoded, the same
// gaps concealed, in the same order), the counters (the same number skipped as stale) and the
// audio read. With the same packets released and the same decoded, and the same counts of
// stale and over-budget ones at every step, the Stream skipped as stale the packets the
// reference did (ref.released lists them).
func TestStreamLinearDrainMatchesReference(t *testing.T) {
	const tick = time.Second / 60
	for seed := range uint64(2) {
		rng := rand.New(rand.NewPCG(seed, 7))
		clock := newFakeClock(t0)
		s, log := loggedPCMUStream(t, clock)
		refS, refLog := loggedPCMUStream(t, clock)
		ref := &refStream{Stream: refS}
		out, refOut := make([]float32, SampleRate/5), make([]float32, SampleRate/5)
		net := lossyNetwork(rng, 30000/raceSlowdown)
		var next time.Duration // the loop's next tick
		logged := 0            // decoder log entries compared so far
		step := func(what string) {
			if diff := sameStreamState(s, ref.Stream); diff != "" {
				t.Fatalf("seed %d, %s: %s", seed, what, diff)
			}
			if !slices.Equal(log.log[logged:], refLog.log[logged:]) {
				t.Fatalf("seed %d, %s: the decoder was asked for\n%q\nthe reference's for\n%q", seed, what, log.log[logged:], refLog.log[logged:])
			}
			logged = len(log.log)
		}
		longest, stale := 0, 0
		for _, a := range net {
			for ; next <= a.at; next += tick {
				clock.Set(t0.Add(next))
				if rng.IntN(40) == 0 {
					next += time.Duration(rng.IntN(30)) * tick // the loop pauses
					continue
				}
				before := len(ref.released)
				n, refN := s.ReadPCM(out), ref.ReadPCM(refOut)
				longest = max(longest, len(ref.released)-before)
				if n != refN || !slices.Equal(out[:n], refOut[:n]) {
					t.Fatalf("seed %d, tick at %v: read %d samples, the reference %d, or different audio", seed, next, n, refN)
				}
				step(fmt.Sprintf("tick at %v", next))
			}
			clock.Set(t0.Add(a.at))
			before := len(ref.released)
			s.WriteRTP(&a.pkt)
			ref.WriteRTP(&a.pkt)
			longest = max(longest, len(ref.released)-before)
			step(fmt.Sprintf("packet %d at %v", a.pkt.SequenceNumber, a.at))
		}
		for _, r := range ref.released {
			if r.stale {
				stale++
			}
		}
		st := s.Stats()
		t.Logf("seed %d: %d packets released by the reference, %d of them stale; at most %d in one call; stats %+v",
			seed, len(ref.released), stale, longest, st)
		if st.Stale != uint64(stale) || stale < 100 || longest*960 <= DefaultRingSamples {
			t.Errorf("seed %d: %d stale (the Stream counted %d), at most %d released in one call: the network did not make the backlogs this test is for",
				seed, stale, st.Stale, longest)
		}
	}
}

// TestJitterPopMatchesReference: the same pushes, empty marks and pops, at random times, to a
// JitterBuffer and to the reference Pop give the same releases and leave the same state; and
// after each release, due counts what the reference's Release.Newer did.
func TestJitterPopMatchesReference(t *testing.T) {
	for seed := range uint64(3) {
		rng := rand.New(rand.NewPCG(seed, 11))
		j := NewJitterBuffer(JitterConfig{ClockRate: 8000, Slots: 16})
		ref := NewJitterBuffer(JitterConfig{ClockRate: 8000, Slots: 16})
		var now time.Duration
		seq, marks, pops := uint16(65000), 0, 0
		for op := range 200000 / raceSlowdown {
			now += time.Duration(rng.IntN(20)) * time.Millisecond
			at := t0.Add(now)
			switch r := rng.IntN(10); {
			case r < 5: // a packet, sometimes out of order or far ahead
				s := seq + uint16(rng.IntN(6)) - 2
				if rng.IntN(50) == 0 {
					s += uint16(rng.IntN(40))
				}
				seq++
				payload := []byte{byte(s), byte(s >> 8)}
				if got, want := j.Push(s, uint32(s)*160, payload, at), ref.Push(s, uint32(s)*160, payload, at); got != want {
					t.Fatalf("seed %d op %d: Push %v, reference %v", seed, op, got, want)
				}
			case r < 7: // a packet without audio
				s := seq + uint16(rng.IntN(8))
				if j.MarkEmpty(s) != ref.MarkEmpty(s) {
					t.Fatalf("seed %d op %d: MarkEmpty differs", seed, op)
				}
				marks++
			default:
				for {
					got, ok := j.Pop(at)
					want, newer, refOK := refPop(ref, at)
					if ok != refOK || !reflect.DeepEqual(got, want) {
						t.Fatalf("seed %d op %d: Pop %+v %v, reference %+v %v", seed, op, got, ok, want, refOK)
					}
					if !ok {
						break
					}
					pops++
					if d := j.due(at); d != newer {
						t.Fatalf("seed %d op %d: %d due after releasing %d, the reference's Newer %d", seed, op, d, got.Seq, newer)
					}
				}
			}
			if !sameJitterState(j, ref) {
				t.Fatalf("seed %d op %d: the jitter buffers' states differ", seed, op)
			}
		}
		if st := j.Stats(); pops < 1000 || marks < 1000 || st.Lost == 0 || st.Overflowed == 0 {
			t.Errorf("seed %d: %d pops, %d marks, stats %+v: not the mix this test is for", seed, pops, marks, st)
		}
	}
}
