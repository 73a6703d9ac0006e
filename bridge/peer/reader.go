package peer

import (
	"errors"
	"io"
	"math"
	"net"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/pion/interceptor"
	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"

	"github.com/ledbridge/ledbridge/bridge/lograte"
)

const (
	// readBufferSize holds any packet pion's default receive MTU (1460) lets through.
	readBufferSize = 1500

	// codecSwitchPackets consecutive packets of another negotiated payload type make
	// that codec the track's: a sender may switch codec mid-stream without
	// renegotiating (Chrome's setParameters with encodings[].codec), while a single
	// stray packet must not make the sink flap between decoders. 3 packets are 60 ms of
	// a browser's 20 ms packets.
	codecSwitchPackets = 3

	// readErrorPause is the wait after a read error that brought no packet (one that
	// is neither the end of the track nor a refused payload type), so that a
	// persistent one cannot make the loop spin. Such an error followed by the track's
	// close ends the loop at the next read, one pause later.
	readErrorPause = 10 * time.Millisecond
	// readErrorLimit such errors in a row, without a packet between them (5 s of
	// pauses), and the track is broken: the loop gives up and the PeerConnection is
	// closed, so that neither the status nor the musician's audio pretend it works.
	readErrorLimit = 500
)

// CodecSwitcher is implemented by an RTPSink that can follow a sender switching
// codec mid-stream among the negotiated ones (audio.Stream does). Once
// codecSwitchPackets consecutive packets carry another negotiated payload type, the
// track's read goroutine calls SwitchCodec with its codec, just before passing the
// packet that completed the run; the packets before it were passed as they came, and
// are the sink's to drop (their payload type is not its codec's). An error (a codec
// the sink cannot decode) is logged and leaves the sink as it was.
type CodecSwitcher interface {
	SwitchCodec(mimeType string, clockRate uint32, payloadType uint8) error
}

// EmptyMarker is implemented by an RTPSink that keeps account of the track's sequence
// numbers (audio.Stream does, in its jitter buffer). The track's read goroutine calls
// MarkEmpty with each packet that used a sequence number but is not passed to WriteRTP,
// as it carries no audio: a padding-only packet (Chrome's congestion-control probes), or
// one of a payload type the answer did not negotiate (comfort noise, DTMF), which pion's
// read refused. Without it such a sink would take the gap for a lost packet, and conceal
// it with invented audio. The packet is reused as WriteRTP's is.
type EmptyMarker interface {
	MarkEmpty(pkt *rtp.Packet)
}

// rxCounters are one musician's reception counters, written by its track
// readers and read by Stats. badRTP counts, besides packets that do not parse,
// those pion's read refused: a payload type the answer did not negotiate (comfort
// noise, DTMF, RED), or a read error that brought no packet.
type rxCounters struct {
	packets, bytes, padding, badRTP, lost atomic.Uint64
	jitterNanos                           atomic.Int64
}

func (rx *rxCounters) snapshot(s *MusicianStats) {
	s.PacketsReceived = rx.packets.Load()
	s.Bytes = rx.bytes.Load()
	s.PaddingOnly = rx.padding.Load()
	s.BadRTP = rx.badRTP.Load()
	s.PacketsLost = rx.lost.Load()
	s.Jitter = time.Duration(rx.jitterNanos.Load())
}

// readTrack is pion's OnTrack handler, so it runs on a goroutine pion started
// for this track. It registers with the PeerConnection's handle (so closing
// waits for it), drains the receiver's RTCP on a second goroutine, and reads
// RTP until the track ends.
//
// Only one audio track of a PeerConnection at a time is the musician's, the
// first to start: an offer may carry up to maxMediaSections, and each would
// otherwise replace the sink and statistics of the one before. Tracks that
// start while it runs are read and discarded (pion's buffers stay drained,
// nothing else sees them) and logged once; once it ends, the next track to
// start takes its place, or one that started after the last renegotiation
// and waits (pcHandle.mic).
func (mus *musician) readTrack(h *pcHandle, track *webrtc.TrackRemote, recv *webrtc.RTPReceiver) {
	declared := declaresSSRC(h.pc.RemoteDescription(), uint32(track.SSRC()))
	h.mu.Lock()
	if h.closed {
		h.mu.Unlock()
		return
	}
	if h.tracks++; h.tracks > maxTracks {
		// Not read: the musician's goroutine closes this PeerConnection.
		h.mu.Unlock()
		mus.extraTracks.Add(1)
		h.post(pcEvent{kind: evFlood, what: "audio tracks"})
		return
	}
	var seq int
	isMic := false
	if declared {
		seq, isMic = h.startTrack()
	}
	h.wg.Add(2)
	h.mu.Unlock()
	go func() {
		defer h.wg.Done()
		drainRTCP(recv)
	}()
	defer h.wg.Done()
	if !declared {
		mus.undeclaredTracks.Add(1)
		mus.log.Debug("audio track with an SSRC the offer does not declare; read and discarded", "ssrc", uint32(track.SSRC()))
		discardUntil(track, func() bool { return false })
		return
	}
	if !isMic {
		if mus.extraTrackLogged.CompareAndSwap(false, true) {
			mus.log.Warn("extra audio track ignored: only a connection's first is the musician's (logged once)", "codec", track.Codec().MimeType, "ssrc", uint32(track.SSRC()))
		}
		mus.extraTracks.Add(1)
		if !discardUntil(track, func() bool { return h.claimMic(seq) }) {
			return
		}
		mus.extraTracks.Add(^uint64(0)) // the musician's now, not ignored
	}
	// When this track ends (renegotiated away), the newest waiting one, or
	// else the next to start, is the musician's.
	defer h.endMic(seq)

	codec := track.Codec()
	mime := codec.MimeType
	mus.codec.Store(&mime)
	mus.log.Info("audio track started", "codec", mime, "clock_rate", codec.ClockRate, "channels", codec.Channels, "payload_type", uint8(codec.PayloadType), "ssrc", uint32(track.SSRC()))
	var sink RTPSink
	if mus.cfg.OnTrack != nil {
		sink = mus.cfg.OnTrack(mus.id, codec)
	}
	if c, ok := sink.(io.Closer); ok {
		defer c.Close()
	}
	r := newTrackReader(&mus.rx, codec, sink)
	r.trackCodec = track.Codec
	r.arrived = func() { h.noteAudio(mus.cfg.Clock.Now()) }
	switchLog := lograte.Limiter{Every: logInterval}
	r.onSwitch = func(from, to webrtc.RTPCodecParameters, err error) {
		mus.codec.Store(r.mimeOf(to))
		if _, ok := switchLog.Allow(time.Now()); !ok {
			return
		}
		if err != nil {
			mus.log.Warn("audio codec switched mid-stream to one the bridge cannot decode; its packets are dropped", "from", from.MimeType, "to", to.MimeType, "payload_type", uint8(to.PayloadType), "err", err)
			return
		}
		mus.log.Info("audio codec switched mid-stream", "from", from.MimeType, "to", to.MimeType, "clock_rate", to.ClockRate, "payload_type", uint8(to.PayloadType))
	}
	buf := make([]byte, readBufferSize)
	if err := r.readAll(track, buf); err != nil {
		// Reads fail but the track has not ended: a PeerConnection that shows as
		// connected while no audio can arrive would be worse than one closed.
		mus.log.Warn("audio track reads keep failing; closing the connection until the musician offers again", "errors", readErrorLimit, "err", err)
		h.post(pcEvent{kind: evFlood, what: "failing audio track reads"})
	}
}

// trackSource is what the read loop needs of a track: *webrtc.TrackRemote.
type trackSource interface {
	Read(b []byte) (int, interceptor.Attributes, error)
}

// readOutcome is what one read of a track brought.
type readOutcome int

const (
	readPacket  readOutcome = iota // an RTP packet pion accepted
	readRefused                    // a packet pion refused: a payload type not negotiated
	readFailed                     // an error that brought no packet
	readEnded                      // the track or its PeerConnection is closed
)

// classifyRead sorts a track read's error. Only the end of the track ends a read
// loop: pion's Read fails for a single packet whose payload type the answer did not
// negotiate (webrtc.ErrCodecNotFound, the packet read into the buffer all the same),
// and the packets after it are the musician's audio as before.
func classifyRead(err error) readOutcome {
	switch {
	case err == nil:
		return readPacket
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrClosedPipe), errors.Is(err, net.ErrClosed):
		return readEnded
	case errors.Is(err, webrtc.ErrCodecNotFound):
		return readRefused
	}
	return readFailed
}

// readAll reads src until it ends (nil), or until readErrorLimit reads in a row
// have failed without bringing a packet (that error).
func (r *trackReader) readAll(src trackSource, buf []byte) error {
	_, err := readPackets(src, buf, r.pause, func(n int, o readOutcome) bool {
		switch o {
		case readPacket:
			r.noteArrival()
			r.handle(buf[:n], time.Now())
		case readRefused:
			r.noteArrival()
			r.refused(buf[:n])
		case readFailed:
			r.rx.badRTP.Add(1)
		}
		return false
	})
	return err
}

// readPackets is the read loop of a track: it reads src into buf and passes each
// read's outcome (with the bytes read) to each, until src ends (false, nil), each
// returns true (true, nil), or readErrorLimit reads in a row have failed without
// bringing a packet (false, that error). After a failed read it calls pause, so that
// a persistent error cannot make the loop spin.
func readPackets(src trackSource, buf []byte, pause func(), each func(n int, o readOutcome) (stop bool)) (stopped bool, err error) {
	failed := 0
	for {
		n, _, err := src.Read(buf)
		o := classifyRead(err)
		if o == readEnded {
			return false, nil
		}
		if each(n, o) {
			return true, nil
		}
		if o != readFailed {
			failed = 0
			continue
		}
		if failed++; failed >= readErrorLimit {
			return false, err
		}
		pause()
	}
}

func (r *trackReader) noteArrival() {
	if r.arrived != nil {
		r.arrived()
	}
}

// discardUntil reads and drops track's packets until claim, asked after each
// packet, says the track is now the musician's (true), or the track ends or
// keeps failing (false).
func discardUntil(track *webrtc.TrackRemote, claim func() bool) bool {
	claimed, _ := readPackets(track, make([]byte, readBufferSize), func() { time.Sleep(readErrorPause) },
		func(_ int, o readOutcome) bool { return o != readFailed && claim() })
	return claimed
}

// declaresSSRC reports whether a track pion started for ssrc comes from what desc
// declares: an a=ssrc line names it, or desc has a single media section (where pion
// takes any SSRC to be that section's, and so does the bridge). pion starts a track
// for an SSRC no line names, in a description of several sections, by payload type
// alone: the late packets of a track the musician has just removed (its section is
// recvonly now, and names no SSRC) come in that way, and must not take the place of
// the musician's new microphone.
func declaresSSRC(desc *webrtc.SessionDescription, ssrc uint32) bool {
	if desc == nil {
		return false
	}
	want := "a=ssrc:" + strconv.FormatUint(uint64(ssrc), 10) + " "
	sections := 0
	for line := range strings.Lines(desc.SDP) {
		switch {
		case strings.HasPrefix(line, "m="):
			sections++
		case strings.HasPrefix(line, want):
			return true
		}
	}
	return sections == 1
}

// drainRTCP reads the receiver's RTCP (sender reports) so that pion's
// interceptors see it; it returns when the receiver stops.
func drainRTCP(recv *webrtc.RTPReceiver) {
	buf := make([]byte, readBufferSize)
	for {
		if _, _, err := recv.Read(buf); err != nil {
			return
		}
	}
}

// trackReader turns raw RTP into sink calls and reception statistics. It
// reuses one rtp.Packet, so handle allocates nothing.
type trackReader struct {
	rx        *rxCounters
	sink      RTPSink
	switcher  CodecSwitcher // sink, if it can follow a codec switch
	marker    EmptyMarker   // sink, if it keeps account of sequence numbers
	codec     webrtc.RTPCodecParameters
	clockRate float64
	pkt       rtp.Packet

	// trackCodec is the track's codec as pion last set it: pion's Read makes it the
	// codec of the packet it read, if negotiated. nil: the payload type is not
	// followed (tests of the statistics alone).
	trackCodec func() webrtc.RTPCodecParameters
	// onSwitch, if set, hears of every codec switch, with the sink's refusal if any.
	onSwitch func(from, to webrtc.RTPCodecParameters, err error)
	// pause waits after a failed read (default: readErrorPause).
	pause func()
	// arrived, if set, is called for every packet read, whether pion accepted its payload
	// type or not: SRTP has authenticated it as the musician's (pcHandle.noteAudio).
	arrived func()

	// A run of consecutive packets of another payload type than codec's: its
	// type, length and codec (if pion knew it).
	runPT    uint8
	runLen   int
	runCodec webrtc.RTPCodecParameters
	// mimes keeps, per payload type, the codec name MusicianStats shows, so that
	// switching back and forth allocates it once.
	mimes [128]*string

	seq         seqTracker
	start       time.Time
	lastTransit uint32
	haveTransit bool
	jitter      float64 // RFC 3550 interarrival jitter, in clock-rate units
}

func newTrackReader(rx *rxCounters, codec webrtc.RTPCodecParameters, sink RTPSink) *trackReader {
	r := &trackReader{rx: rx, sink: sink, codec: codec, pause: func() { time.Sleep(readErrorPause) }}
	r.switcher, _ = sink.(CodecSwitcher)
	r.marker, _ = sink.(EmptyMarker)
	r.setClockRate(codec.ClockRate)
	return r
}

func (r *trackReader) setClockRate(clockRate uint32) {
	if clockRate == 0 {
		clockRate = 48000
	}
	r.clockRate = float64(clockRate)
}

// mimeOf is c's MIME type, as a pointer kept for c's payload type.
func (r *trackReader) mimeOf(c webrtc.RTPCodecParameters) *string {
	p := &r.mimes[uint8(c.PayloadType)&0x7f]
	if *p == nil || **p != c.MimeType {
		mime := c.MimeType
		*p = &mime
	}
	return *p
}

// handle processes one RTP packet read at now. Packets that do not parse are
// counted and skipped; padding-only packets (Chrome sends them as probes) are
// counted but not passed to WriteRTP: a sink that is an EmptyMarker is told their
// sequence number carried no audio. A packet of another payload type than the
// track's codec is passed on as it is (the sink drops it) until
// codecSwitchPackets of them in a row make their codec the track's.
func (r *trackReader) handle(b []byte, now time.Time) {
	if err := r.pkt.Unmarshal(b); err != nil {
		r.rx.badRTP.Add(1)
		return
	}
	r.rx.packets.Add(1)
	r.rx.lost.Store(r.seq.update(r.pkt.SequenceNumber))
	if len(r.pkt.Payload) == 0 {
		// Padding carries the payload type of whatever codec; it says nothing of a switch.
		r.updateJitter(now)
		r.rx.padding.Add(1)
		r.markEmpty()
		return
	}
	if r.trackCodec != nil && r.pkt.PayloadType != uint8(r.codec.PayloadType) {
		r.otherPayloadType()
	} else {
		r.runLen = 0
	}
	if r.trackCodec == nil || r.pkt.PayloadType == uint8(r.codec.PayloadType) {
		// Timestamps of another codec may count at another rate: no jitter from them.
		r.updateJitter(now)
	}
	r.rx.bytes.Add(uint64(len(r.pkt.Payload)))
	if r.sink != nil {
		r.sink.WriteRTP(&r.pkt)
	}
}

// otherPayloadType extends the run of packets of another payload type by the
// current packet, and switches the track to their codec when the run is long
// enough.
func (r *trackReader) otherPayloadType() {
	pt := r.pkt.PayloadType
	if r.runLen == 0 || pt != r.runPT {
		// pion's Read set the track's codec from this very packet.
		r.runPT, r.runLen, r.runCodec = pt, 0, r.trackCodec()
	}
	r.runLen++
	if r.runLen < codecSwitchPackets || uint8(r.runCodec.PayloadType) != pt {
		return
	}
	from, to := r.codec, r.runCodec
	r.runLen = 0
	var err error
	if r.switcher != nil {
		err = r.switcher.SwitchCodec(to.MimeType, to.ClockRate, pt)
	}
	// The reader follows the sender even if the sink cannot: its timestamps now
	// count at the new codec's rate, and a switch back is a switch again.
	r.codec = to
	old := r.clockRate
	r.setClockRate(to.ClockRate)
	r.jitter *= r.clockRate / old // the estimate is kept in the clock's units
	r.start, r.haveTransit = time.Time{}, false
	if r.onSwitch != nil {
		r.onSwitch(from, to, err)
	}
}

// refused counts a packet pion's read refused (a payload type not negotiated).
// It keeps its sequence number, so that it is not counted as lost, here or by a
// sink that is an EmptyMarker, but its payload goes no further.
func (r *trackReader) refused(b []byte) {
	r.rx.badRTP.Add(1)
	if r.pkt.Unmarshal(b) != nil {
		return
	}
	r.rx.lost.Store(r.seq.update(r.pkt.SequenceNumber))
	r.markEmpty()
}

// markEmpty tells the sink, if it is an EmptyMarker, that the current packet used its
// sequence number without audio for it.
func (r *trackReader) markEmpty() {
	if r.marker != nil {
		r.marker.MarkEmpty(&r.pkt)
	}
}

// updateJitter follows RFC 3550 §6.4.1: J += (|D| - J) / 16, where D is the
// change in transit time (arrival minus RTP timestamp, in clock units).
func (r *trackReader) updateJitter(now time.Time) {
	if r.start.IsZero() {
		r.start = now
	}
	arrival := int64(math.Round(now.Sub(r.start).Seconds() * r.clockRate))
	// Transit is kept modulo 2³², as the timestamps are, and only differences of it matter: the
	// difference is taken modulo 2³² too, then as signed (RFC 3550 A.8). Transit as a signed
	// number would jump by 2³² when the sender's clock drift carries it across ±2³¹.
	transit := uint32(arrival) - r.pkt.Timestamp
	if r.haveTransit {
		d := math.Abs(float64(int32(transit - r.lastTransit)))
		r.jitter += (d - r.jitter) / 16
		r.rx.jitterNanos.Store(int64(r.jitter / r.clockRate * 1e9))
	}
	r.lastTransit, r.haveTransit = transit, true
}

// seqTracker counts lost packets from RTP sequence numbers (RFC 3550 A.3,
// without the probation logic: SRTP has already authenticated the sender).
type seqTracker struct {
	started  bool
	base     int64
	max      uint16
	cycles   int64
	received int64
}

// update records a sequence number and returns the cumulative loss.
func (s *seqTracker) update(seq uint16) uint64 {
	if !s.started {
		s.started, s.base, s.max = true, int64(seq), seq
	} else if delta := seq - s.max; delta != 0 && delta < 0x8000 {
		if seq < s.max {
			s.cycles += 1 << 16
		}
		s.max = seq
	}
	s.received++
	expected := s.cycles + int64(s.max) - s.base + 1
	if lost := expected - s.received; lost > 0 {
		return uint64(lost)
	}
	return 0
}
