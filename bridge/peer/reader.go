package peer

import (
	"io"
	"math"
	"sync/atomic"
	"time"

	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"
)

// readBufferSize holds any packet pion's default receive MTU (1460) lets through.
const readBufferSize = 1500

// rxCounters are one musician's reception counters, written by its track
// readers and read by Stats.
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
	seq, isMic := h.startTrack()
	h.wg.Add(2)
	h.mu.Unlock()
	go func() {
		defer h.wg.Done()
		drainRTCP(recv)
	}()
	defer h.wg.Done()
	if !isMic {
		if mus.extraTrackLogged.CompareAndSwap(false, true) {
			mus.log.Warn("extra audio track ignored: only a connection's first is the musician's (logged once)", "codec", track.Codec().MimeType, "ssrc", uint32(track.SSRC()))
		}
		mus.extraTracks.Add(1)
		if !discardUntilMic(h, seq, track) {
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
	mus.log.Info("audio track started", "codec", mime, "clock_rate", codec.ClockRate, "channels", codec.Channels, "ssrc", uint32(track.SSRC()))
	var sink RTPSink
	if mus.cfg.OnTrack != nil {
		sink = mus.cfg.OnTrack(mus.id, codec)
	}
	if c, ok := sink.(io.Closer); ok {
		defer c.Close()
	}
	r := newTrackReader(&mus.rx, codec.ClockRate, sink)
	buf := make([]byte, readBufferSize)
	for {
		n, _, err := track.Read(buf)
		if err != nil {
			return // the track or its PeerConnection is closed
		}
		r.handle(buf[:n], time.Now())
	}
}

// discardUntilMic reads a waiting track's RTP and drops it until the track
// may take over as the musician's (true) or ends (false).
func discardUntilMic(h *pcHandle, seq int, track *webrtc.TrackRemote) bool {
	buf := make([]byte, readBufferSize)
	for {
		if _, _, err := track.Read(buf); err != nil {
			return false
		}
		if h.claimMic(seq) {
			return true
		}
	}
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
	clockRate float64
	pkt       rtp.Packet

	seq         seqTracker
	start       time.Time
	lastTransit int64
	haveTransit bool
	jitter      float64 // RFC 3550 interarrival jitter, in clock-rate units
}

func newTrackReader(rx *rxCounters, clockRate uint32, sink RTPSink) *trackReader {
	if clockRate == 0 {
		clockRate = 48000
	}
	return &trackReader{rx: rx, sink: sink, clockRate: float64(clockRate)}
}

// handle processes one RTP packet read at now. Packets that do not parse are
// counted and skipped; padding-only packets (Chrome sends them as probes) are
// counted but not passed to the sink.
func (r *trackReader) handle(b []byte, now time.Time) {
	if err := r.pkt.Unmarshal(b); err != nil {
		r.rx.badRTP.Add(1)
		return
	}
	r.rx.packets.Add(1)
	r.rx.lost.Store(r.seq.update(r.pkt.SequenceNumber))
	r.updateJitter(now)
	if len(r.pkt.Payload) == 0 {
		r.rx.padding.Add(1)
		return
	}
	r.rx.bytes.Add(uint64(len(r.pkt.Payload)))
	if r.sink != nil {
		r.sink.WriteRTP(&r.pkt)
	}
}

// updateJitter follows RFC 3550 §6.4.1: J += (|D| - J) / 16, where D is the
// change in transit time (arrival minus RTP timestamp, in clock units).
func (r *trackReader) updateJitter(now time.Time) {
	if r.start.IsZero() {
		r.start = now
	}
	arrival := int64(now.Sub(r.start).Seconds() * r.clockRate)
	transit := int64(uint32(arrival) - r.pkt.Timestamp)
	transit = int64(int32(transit)) // wrap-around safe difference
	if r.haveTransit {
		d := math.Abs(float64(transit - r.lastTransit))
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
