package peer

import (
	"errors"
	"fmt"
	"io"
	"testing"
	"time"

	"github.com/pion/interceptor"
	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"
)

// pcmuParams is PCMU as the bridge negotiates it.
var pcmuParams = webrtc.RTPCodecParameters{RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypePCMU, ClockRate: 8000}, PayloadType: 0}

// switchSink records packets and codec switches, as audio.Stream would receive them.
type switchSink struct {
	countSink
	byPT     map[uint8]int
	switches []string
	refuse   bool // SwitchCodec fails, as for a codec the sink cannot decode
	counted  int  // SwitchCodec calls
}

func (s *switchSink) WriteRTP(p *rtp.Packet) {
	s.countSink.WriteRTP(p)
	s.byPT[p.PayloadType]++
}

func (s *switchSink) SwitchCodec(mime string, clockRate uint32, pt uint8) error {
	if s.counted++; s.switches == nil {
		return nil // counting only (allocations test)
	}
	s.switches = append(s.switches, fmt.Sprintf("%s/%d/%d", mime, clockRate, pt))
	if s.refuse {
		return errors.New("cannot decode that")
	}
	return nil
}

// fakeTrack stands in for pion's track in the reader's codec bookkeeping: like pion's
// Read, feeding a packet of a negotiated payload type makes its codec the track's.
type fakeTrack struct {
	negotiated map[uint8]webrtc.RTPCodecParameters
	codec      webrtc.RTPCodecParameters
}

func (f *fakeTrack) feed(t *testing.T, r *trackReader, seq uint16, ts uint32, pt uint8, now time.Time) {
	t.Helper()
	if c, ok := f.negotiated[pt]; ok {
		f.codec = c
	}
	p := opusPacket(seq, ts, []byte{1, 2, 3})
	p.PayloadType = pt
	r.handle(marshal(t, p), now)
}

func newSwitchReader(sink RTPSink) (*trackReader, *rxCounters, *fakeTrack, *[]string) {
	rx := &rxCounters{}
	ft := &fakeTrack{negotiated: map[uint8]webrtc.RTPCodecParameters{111: opusParams, 0: pcmuParams}, codec: opusParams}
	r := newTrackReader(rx, opusParams, sink)
	r.trackCodec = func() webrtc.RTPCodecParameters { return ft.codec }
	var heard []string
	r.onSwitch = func(from, to webrtc.RTPCodecParameters, err error) {
		heard = append(heard, fmt.Sprintf("%s->%s err=%v", from.MimeType, to.MimeType, err))
	}
	return r, rx, ft, &heard
}

// A stray packet of another negotiated payload type, or several that never make a run,
// change nothing; a run of codecSwitchPackets switches the sink once, and a switch back
// is a switch again.
func TestTrackReaderFollowsACodecSwitchButNotAStrayPacket(t *testing.T) {
	sink := &switchSink{byPT: map[uint8]int{}, switches: []string{}}
	r, rx, ft, heard := newSwitchReader(sink)
	now := time.Unix(1000, 0)
	seq := uint16(0)
	send := func(pt uint8, n int) {
		for range n {
			seq++
			ts := uint32(seq) * 960
			if pt == 0 {
				ts = uint32(seq) * 160
			}
			ft.feed(t, r, seq, ts, pt, now.Add(time.Duration(seq)*20*time.Millisecond))
		}
	}
	send(111, 10)
	send(0, 1) // a stray
	send(111, 10)
	for range 5 { // strays that never make a run
		send(0, codecSwitchPackets-1)
		send(111, 1)
	}
	if len(sink.switches) != 0 || len(*heard) != 0 {
		t.Fatalf("stray packets switched the codec: %v %v", sink.switches, *heard)
	}
	send(0, 20) // the sender switched to PCMU
	send(111, codecSwitchPackets)
	want := []string{"audio/PCMU/8000/0", "audio/opus/48000/111"}
	if fmt.Sprint(sink.switches) != fmt.Sprint(want) {
		t.Fatalf("switches %v, want %v", sink.switches, want)
	}
	if fmt.Sprint(*heard) != "[audio/opus->audio/PCMU err=<nil> audio/PCMU->audio/opus err=<nil>]" {
		t.Fatalf("onSwitch heard %v", *heard)
	}
	// Every packet reached the sink (which drops those not of its codec), none was lost,
	// and the change of clock rate was not taken for jitter.
	var s MusicianStats
	rx.snapshot(&s)
	if sink.n != int(seq) || sink.byPT[0] != 1+5*(codecSwitchPackets-1)+20 || s.PacketsLost != 0 || s.BadRTP != 0 {
		t.Fatalf("sink saw %d packets %v, stats %+v", sink.n, sink.byPT, s)
	}
	if s.Jitter != 0 {
		t.Fatalf("jitter %v for perfectly paced packets of two codecs", s.Jitter)
	}
}

// A sink that cannot follow (or does not implement CodecSwitcher) keeps receiving the
// packets; the reader follows the sender all the same, and asks once per switch.
func TestTrackReaderSwitchRefusedBySink(t *testing.T) {
	sink := &switchSink{byPT: map[uint8]int{}, switches: []string{}, refuse: true}
	r, _, ft, heard := newSwitchReader(sink)
	now := time.Unix(1000, 0)
	for i := range 30 {
		ft.feed(t, r, uint16(i), uint32(i)*160, 0, now)
	}
	if len(sink.switches) != 1 || len(*heard) != 1 || sink.n != 30 {
		t.Fatalf("switches %v, heard %v, packets %d", sink.switches, *heard, sink.n)
	}
	if r.codec.MimeType != webrtc.MimeTypePCMU {
		t.Fatalf("reader's codec %q", r.codec.MimeType)
	}

	plain := &countSink{}
	r, _, ft, heard = newSwitchReader(plain)
	for i := range 30 {
		ft.feed(t, r, uint16(i), uint32(i)*160, 0, now)
	}
	if len(*heard) != 1 || plain.n != 30 {
		t.Fatalf("heard %v, packets %d", *heard, plain.n)
	}
}

// Steady packets of one codec, and switches back and forth once each codec was seen,
// allocate nothing.
func TestTrackReaderSwitchesAllocateNothing(t *testing.T) {
	sink := &switchSink{byPT: map[uint8]int{}}
	r, _, ft, _ := newSwitchReader(sink)
	r.onSwitch = nil
	pkts := map[uint8][]byte{}
	for _, pt := range []uint8{111, 0} {
		p := opusPacket(1, 0, make([]byte, 160))
		p.PayloadType = pt
		pkts[pt] = marshal(t, p)
	}
	var seq uint16
	feed := func(pt uint8) {
		ft.codec = ft.negotiated[pt]
		seq++
		b := pkts[pt]
		b[2], b[3] = byte(seq>>8), byte(seq)
		r.handle(b, time.Unix(1000, 0))
	}
	round := func() {
		for range codecSwitchPackets {
			feed(0)
		}
		for range codecSwitchPackets + 2 {
			feed(111)
		}
	}
	round()
	if allocs := testing.AllocsPerRun(100, round); allocs > 0 {
		t.Fatalf("%v allocations per round of two switches", allocs)
	}
	if sink.counted != 2*102 {
		t.Fatalf("%d switches in 102 rounds", sink.counted)
	}
}

// scriptedTrack returns a scripted sequence of reads, then io.EOF.
type scriptedTrack struct {
	reads []scriptedRead
}

type scriptedRead struct {
	pkt []byte
	err error
}

func (s *scriptedTrack) Read(b []byte) (int, interceptor.Attributes, error) {
	if len(s.reads) == 0 {
		return 0, nil, io.EOF
	}
	r := s.reads[0]
	s.reads = s.reads[1:]
	return copy(b, r.pkt), nil, r.err
}

// A packet pion refuses (a payload type the answer did not negotiate: Read returns
// ErrCodecNotFound with the packet) is counted and skipped, its sequence number is not
// taken for a loss (the sink is told it carried no audio), and reading carries on; only
// the end of the track ends the loop.
func TestReadAllCarriesOnPastRefusedPackets(t *testing.T) {
	var reads []scriptedRead
	for i := range 20 {
		p := opusPacket(uint16(i), uint32(i)*960, []byte{1, 2, 3})
		var err error
		if i == 5 || i == 6 || i == 12 {
			p.PayloadType = 126 // telephone-event, not in the answer
			err = fmt.Errorf("%w: payload type 126", webrtc.ErrCodecNotFound)
		}
		reads = append(reads, scriptedRead{marshal(t, p), err})
	}
	for _, end := range []error{nil, io.EOF, io.ErrClosedPipe} {
		var rx rxCounters
		sink := &countSink{}
		r := newTrackReader(&rx, opusParams, sink)
		r.pause = func() { t.Fatal("paused after a refused packet") }
		src := &scriptedTrack{reads: append([]scriptedRead(nil), reads...)}
		if end != nil {
			src.reads = append(src.reads, scriptedRead{err: end})
		}
		if err := r.readAll(src, make([]byte, readBufferSize)); err != nil {
			t.Fatalf("readAll = %v", err)
		}
		var s MusicianStats
		rx.snapshot(&s)
		if sink.n != 17 || sink.lastSeq != 19 || s.BadRTP != 3 || s.PacketsLost != 0 || s.PacketsReceived != 17 {
			t.Fatalf("sink %d packets (last %d), stats %+v", sink.n, sink.lastSeq, s)
		}
		if sink.marked != 3 || sink.markedSeq != 12 || sink.markedType != 126 {
			t.Fatalf("sink told of %d packets without audio (last seq %d, type %d), want the 3 refused", sink.marked, sink.markedSeq, sink.markedType)
		}
	}
}

// A read error that brings no packet is counted and followed by a pause, so a persistent
// one cannot spin the loop; a packet in between starts the count again; and after
// readErrorLimit of them in a row the loop gives up with that error. A close after such
// errors ends the loop as usual.
func TestReadAllPausesOnFailedReadsAndGivesUpOnAPersistentOne(t *testing.T) {
	broken := errors.New("stream not found")
	good := scriptedRead{pkt: marshal(t, opusPacket(1, 960, []byte{1}))}
	fail := scriptedRead{err: broken}

	var rx rxCounters
	r := newTrackReader(&rx, opusParams, nil)
	pauses := 0
	r.pause = func() { pauses++ }
	var reads []scriptedRead
	for range 3 {
		for range readErrorLimit - 1 {
			reads = append(reads, fail)
		}
		reads = append(reads, good)
	}
	for range readErrorLimit {
		reads = append(reads, fail)
	}
	reads = append(reads, good) // never read: the loop gave up before
	if err := r.readAll(&scriptedTrack{reads: reads}, make([]byte, readBufferSize)); !errors.Is(err, broken) {
		t.Fatalf("readAll = %v, want the persistent error", err)
	}
	var s MusicianStats
	rx.snapshot(&s)
	if want := 3*(readErrorLimit-1) + readErrorLimit; s.BadRTP != uint64(want) || pauses != want-1 || s.PacketsReceived != 3 {
		t.Fatalf("%d pauses, stats %+v", pauses, s)
	}

	r = newTrackReader(&rx, opusParams, nil)
	r.pause = func() {}
	if err := r.readAll(&scriptedTrack{reads: []scriptedRead{fail, fail, {err: io.EOF}, good}}, make([]byte, readBufferSize)); err != nil {
		t.Fatalf("readAll after a close = %v", err)
	}
}

// The jitter estimate is kept in the clock's units: after a switch from Opus (48 kHz) to PCMU
// (8 kHz) it is rescaled, so a perfectly timed new stream shows no jump in MusicianStats.Jitter.
func TestJitterKeptAcrossAClockRateSwitch(t *testing.T) {
	sink := &switchSink{byPT: map[uint8]int{}, switches: []string{}}
	r, rx, ft, _ := newSwitchReader(sink)
	now := time.Unix(1000, 0)
	seq, ts := uint16(0), uint32(0)
	for i := range 300 { // Opus, every other packet 4 ms late
		off := time.Duration(0)
		if i%2 == 1 {
			off = 4 * time.Millisecond
		}
		ft.feed(t, r, seq, ts, 111, now.Add(off))
		seq++
		ts += 960
		now = now.Add(20 * time.Millisecond)
	}
	before := time.Duration(rx.jitterNanos.Load())
	ts8 := uint32(0)
	for range 5 { // PCMU, perfectly timed
		ft.feed(t, r, seq, ts8, 0, now)
		seq++
		ts8 += 160
		now = now.Add(20 * time.Millisecond)
	}
	if after := time.Duration(rx.jitterNanos.Load()); before == 0 || after > before {
		t.Errorf("jitter %v before the switch, %v after 5 perfectly timed PCMU packets", before, after)
	}
}
