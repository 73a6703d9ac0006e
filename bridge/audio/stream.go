package audio

import (
	"fmt"
	"math"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/rtp"

	"github.com/ledbridge/ledbridge/bridge/clock"
)

// Stream defaults.
const (
	// DefaultRingSamples is 150 ms of mono PCM per musician: room for the longest packet
	// (MaxPacketSamples, 120 ms, which a 100 ms ring cut short) plus a tick's worth, while
	// still bounding the latency a slow reader can build up. It adds no latency to a reader
	// that drains it every tick, as the 60 fps loop does: the newest sample is read the
	// first tick after it was decoded, whatever the ring's size.
	DefaultRingSamples  = SampleRate * 3 / 20
	DefaultMaxConceal   = 100 * time.Millisecond
	maxConsecutiveFails = 5 // like livekit's opus decoder: after 5 bad packets in a row, reset

	// Decode budget: a stream may produce (decode or conceal) at most decodeRateNum/Den
	// seconds of audio per second of wall clock, with up to decodeBurst saved up, so a peer
	// sending packets faster than real time cannot make the bridge decode faster than that.
	// After a Wi-Fi stall only the newest ring's worth of the backlog is decoded (the rest
	// would be pushed out of the ring unread), so a stall of any length costs a few packets'
	// decoding, well within the burst.
	decodeRateNum, decodeRateDen = 6, 5        // 1.2× real time
	decodeBurst                  = time.Second // budget saved up
)

// StreamConfig configures a Stream. Zero fields take defaults.
type StreamConfig struct {
	Codec     string // MIME type, e.g. "audio/opus" (required)
	ClockRate uint32 // RTP clock in Hz; default 48000 for Opus, 8000 for G.722/PCMU/PCMA
	// PayloadType is the RTP payload type that carries Codec; KnownPayloadType says it is set.
	// Packets of any other type are then not decoded (counted in OtherPayloadType): a browser
	// may switch codec mid-stream without renegotiating, and SwitchCodec follows it. Unset,
	// every packet is taken as Codec (a file, a test that sends one codec).
	PayloadType      uint8
	KnownPayloadType bool
	MinDelay         time.Duration    // jitter buffer target delay lower bound (default 0)
	MaxDelay         time.Duration    // jitter buffer target delay upper bound (default 60 ms)
	RingSamples      int              // mono 48 kHz samples kept for the loop (default 7200 = 150 ms); oldest dropped
	MaxConceal       time.Duration    // longest gap filled by concealment; a longer one is skipped whole (default 100 ms)
	Now              func() time.Time // clock (default time.Now)
}

// StreamStats are one musician's audio counters.
type StreamStats struct {
	Packets    uint64 // RTP packets with a payload
	Padding    uint64 // padding-only / empty RTP packets skipped
	Late       uint64 // dropped: arrived after their turn
	Duplicates uint64 // dropped: already buffered
	Dropped    uint64 // dropped: too large, probation, buffer overflow, over the decode budget, another payload type
	OverBudget uint64 // of Dropped: released faster than 1.2× real time (a flooding peer), not decoded
	// Stale counts, of Dropped, packets of a stall's backlog not decoded because the newer
	// packets that arrived with them fill the ring on their own.
	Stale uint64
	// OtherPayloadType counts, of Dropped, packets whose payload type is not the current
	// codec's: a stray packet, the first of a codec switch the peer has not confirmed yet, or
	// one of a payload type not negotiated (comfort noise, DTMF) passed to MarkEmpty.
	OtherPayloadType uint64
	CodecSwitches    uint64        // SwitchCodec calls that changed the codec or its payload type
	Codec            string        // MIME type being decoded now, as spelled by SupportedCodecs
	Lost             uint64        // sequence numbers that never arrived
	Concealed        uint64        // packets synthesised by PLC (lost or undecodable)
	FECRecovered     uint64        // lost packets rebuilt from the next packet's in-band FEC
	ConcealErrors    uint64        // lost or undecodable packets the decoder failed to conceal (left out of the timeline)
	DecodeErrors     uint64        // payloads the decoder rejected
	Resyncs          uint64        // sequence restarts and SSRC changes
	RingDropped      uint64        // samples dropped because the loop did not drain the ring in time
	Jitter           time.Duration // RFC 3550 interarrival jitter estimate
	TargetDelay      time.Duration // current jitter buffer playout delay
	Level            float32       // RMS of the most recent decoded packet, 0..1
	LastAudio        time.Time     // when the newest decoded packet arrived (zero if never): see LastAudioArrival
	Decoder          string        // pipeline description
	BufferedAudio    int           // samples waiting in the ring
}

// Stream is one musician's audio path: it takes RTP packets from the peer's read goroutine
// (WriteRTP) and hands mono 48 kHz PCM to the 60 fps loop (ReadPCM). See the package
// comment for which goroutine decodes. All methods are safe for concurrent use.
type Stream struct {
	// Constant after construction.
	now        func() time.Time
	maxConceal int // samples

	// codec is the index in supportedCodecs of the codec being decoded, written under mu and
	// read lock-free by Codec (the loop asks every tick whether it changed).
	codec atomic.Int32

	// lastAudio is when the newest decoded packet arrived (none: never), read lock-free by the
	// loop's mode logic. A MonoStamp keeps the clock's monotonic reading: a wall-clock step
	// (NTP, a manual date change) must not make the audio look fresher or older than it is.
	lastAudio clock.MonoStamp

	// The mutex protects the following elements.
	mu  sync.Mutex
	jb  *JitterBuffer
	dec Decoder
	// decoders keeps each codec's decoder once made, by supportedCodecs index, so that a
	// sender switching back and forth costs one allocation per codec, not one per switch.
	decoders   [len(supportedCodecs)]Decoder
	pt         uint8 // payload type of the current codec, checked when checkPT
	checkPT    bool
	otherPT    uint64
	switches   uint64
	pcm        []float32 // decoder output, MaxPacketSamples
	ring       []float32
	ringStart  int
	ringLen    int
	ssrc       uint32
	haveSSRC   bool
	lastFrame  int // samples per packet of the last good decode (concealment length)
	fails      int // consecutive decode failures
	level      float32
	packets    uint64
	padding    uint64
	concealed  uint64
	fec        uint64
	decodeErrs uint64
	plcErrs    uint64
	ssrcResets uint64
	ringDrops  uint64
	overBudget uint64
	stale      uint64
	produced   uint64 // samples decoded or concealed, for the decode budget
	// Decode budget (see decodeRateNum): media time the stream may still produce, refilled
	// from the clock. It may go negative by one packet, since a packet's length is known
	// only once it is decoded.
	budget       time.Duration
	budgetRefill time.Time // when budget was last refilled (zero: never)
	// lastRead is when ReadPCM last returned audio (or the stream was made), and starved how
	// long before ReadPCM's latest call that was: see Starved.
	lastRead time.Time
	starved  time.Duration
}

// NewStream builds the pipeline for one codec. Opus is decoded straight to mono (libopus
// downmixes stereo packets in the decoder), since analysis is per musician and mono.
func NewStream(cfg StreamConfig) (*Stream, error) {
	dec, err := NewDecoder(cfg.Codec, 1)
	if err != nil {
		return nil, fmt.Errorf("new audio stream: %w", err)
	}
	idx := codecIndex(cfg.Codec) // NewDecoder took it, so it is one of them
	if cfg.ClockRate == 0 {
		cfg.ClockRate = defaultClockRate(idx)
	}
	if cfg.RingSamples <= 0 {
		cfg.RingSamples = DefaultRingSamples
	}
	if cfg.MaxConceal <= 0 {
		cfg.MaxConceal = DefaultMaxConceal
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	s := &Stream{
		now:        cfg.Now,
		maxConceal: int(cfg.MaxConceal * SampleRate / time.Second),
		jb:         NewJitterBuffer(JitterConfig{ClockRate: cfg.ClockRate, MinDelay: cfg.MinDelay, MaxDelay: cfg.MaxDelay}),
		dec:        dec,
		pcm:        make([]float32, MaxPacketSamples),
		ring:       make([]float32, cfg.RingSamples),
		lastFrame:  SampleRate / 50,
		pt:         cfg.PayloadType,
		checkPT:    cfg.KnownPayloadType,
		lastRead:   cfg.Now(),
	}
	s.decoders[idx] = dec
	s.codec.Store(int32(idx))
	return s, nil
}

// defaultClockRate is the RTP clock of supportedCodecs[idx]: 48 kHz for Opus, 8 kHz for the
// others (G.722's RTP clock is 8 kHz for historical reasons, though it samples at 16 kHz).
func defaultClockRate(idx int) uint32 {
	if supportedCodecs[idx] == MimeTypeOpus {
		return SampleRate
	}
	return 8000
}

// Codec is the MIME type being decoded now, spelled as in SupportedCodecs ("audio/opus",
// "audio/PCMU"). It changes only through SwitchCodec. Lock-free, and allocates nothing.
func (s *Stream) Codec() string {
	return supportedCodecs[s.codec.Load()]
}

// SwitchCodec makes the stream decode codec (a MIME type) carried by payloadType with an RTP
// clock of clockRate Hz (0: the codec's usual one), as when the sender switched codec
// mid-stream without renegotiating (Chrome's RTCRtpSender.setParameters with
// encodings[].codec); from then on only packets of payloadType are decoded. The jitter
// buffer starts afresh on the new clock (packets of the old codec still held are dropped),
// the decoder starts clean, and the ring, counters and decode budget carry on, so a sender
// cannot buy a fresh budget by switching. Each codec's decoder is made once per Stream and
// kept: switching back and forth allocates nothing after the first switch to each codec.
// A switch to what is decoded already changes nothing. An unsupported codec is refused
// (ErrUnsupportedCodec) and changes nothing.
func (s *Stream) SwitchCodec(codec string, clockRate uint32, payloadType uint8) error {
	idx := codecIndex(codec)
	if idx < 0 {
		return fmt.Errorf("switch audio stream to %q: %w", codec, ErrUnsupportedCodec)
	}
	if clockRate == 0 {
		clockRate = defaultClockRate(idx)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if int(s.codec.Load()) == idx && s.jb.cfg.ClockRate == clockRate && s.checkPT && s.pt == payloadType {
		return nil
	}
	dec := s.decoders[idx]
	if dec == nil {
		var err error
		if dec, err = NewDecoder(supportedCodecs[idx], 1); err != nil {
			return fmt.Errorf("switch audio stream: %w", err)
		}
		s.decoders[idx] = dec
	}
	dec.Reset()
	s.dec = dec
	s.jb.SetClockRate(clockRate)
	s.pt, s.checkPT = payloadType, true
	s.fails = 0
	// The old codec's packet length is no length for the new one: Opus conceals only whole
	// 2.5 ms frames, so a tiny PCMU packet's 6 samples would make it refuse to conceal a bad
	// packet right after the switch. The new codec starts as a new stream does.
	s.lastFrame = SampleRate / 50
	s.switches++
	s.codec.Store(int32(idx))
	return nil
}

// String describes the pipeline, e.g. "RTP -> jitter(0s-60ms) -> OPUS(decode 1ch 48kHz) -> ring(7200)".
func (s *Stream) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return fmt.Sprintf("RTP -> jitter(%v-%v) -> %s -> ring(%d)", s.jb.cfg.MinDelay, s.jb.cfg.MaxDelay, s.dec, len(s.ring))
}

// WriteRTP takes one received packet. The packet (and its payload, which aliases the
// read buffer) is not retained: the payload is copied into the jitter buffer.
func (s *Stream) WriteRTP(pkt *rtp.Packet) {
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(pkt.Payload) == 0 || s.checkPT && pkt.PayloadType != s.pt {
		// Chrome sends padding-only packets for transport-wide congestion control probing.
		// A packet of another payload type is not this stream's codec (a stray packet, or a
		// switch the peer has not confirmed yet): its payload would be garbage to the
		// decoder, or worse, plausible garbage.
		s.noAudioLocked(pkt)
		return
	}
	s.packets++
	if !s.haveSSRC || pkt.SSRC != s.ssrc {
		if s.haveSSRC {
			// A new source (the sender restarted its track): start from scratch.
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
		// A stall's backlog is arriving back to back, more of it than the ring has room for:
		// hold it until it has all arrived (the next packet at its media pace) or the loop's
		// next ReadPCM, whichever comes first, so that releaseLocked sees how much newer audio
		// follows each packet and decodes only the newest. The loop reads no later for it:
		// ReadPCM releases first. What is already stale goes now, undecoded, so that a long
		// backlog never overflows the jitter buffer's window (which would drop the newest
		// packets held and leave the ring with the oldest, decoded as they arrived).
		s.skipStaleLocked(now)
		return
	}
	s.releaseLocked(now)
}

// backlogFillsRingLocked reports whether the packets the jitter buffer holds, decoded, could
// fill the ring's room: only then can part of a backlog be pushed out unread, and skipping
// stale audio apply. A sender whose packets arrive in Wi-Fi power-save bursts (5 every
// 100 ms) looks like a stall's backlog every burst; below this its packets are decoded on
// arrival, on the peer's read goroutine, and not all moved onto the 60 fps loop.
func (s *Stream) backlogFillsRingLocked() bool {
	return s.jb.buffered*s.lastFrame >= len(s.ring)-s.ringLen
}

// MarkEmpty takes a packet of the stream that carries no audio for it and that the caller
// does not pass to WriteRTP: a padding-only packet (Chrome's congestion-control probes), or
// one of a payload type that was not negotiated (comfort noise, DTMF), which the peer's read
// refused. Its sequence number is marked used, as WriteRTP marks those of the packets it does
// not decode, so the gap it would leave is not declared lost and concealed as invented
// audio; it is counted as Padding (no payload) or OtherPayloadType. The packet is not
// retained. It allocates nothing.
func (s *Stream) MarkEmpty(pkt *rtp.Packet) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.noAudioLocked(pkt)
}

// noAudioLocked counts a packet that is not decoded, padding-only or of another payload type,
// and marks its sequence number used.
func (s *Stream) noAudioLocked(pkt *rtp.Packet) {
	if len(pkt.Payload) == 0 {
		s.padding++
	} else {
		s.otherPT++
	}
	s.markEmptyLocked(pkt)
}

// markEmptyLocked tells the jitter buffer that pkt, which is not decoded, used its sequence
// number: otherwise the gap would be declared lost and concealed, inventing 20 ms of sound
// per padding probe or stray packet. A packet of another source says nothing about this one.
func (s *Stream) markEmptyLocked(pkt *rtp.Packet) {
	if s.haveSSRC && pkt.SSRC == s.ssrc {
		s.jb.MarkEmpty(pkt.SequenceNumber)
	}
}

// ReadPCM decodes whatever became due and moves up to len(dst) mono 48 kHz samples,
// oldest first, into dst. It returns how many it wrote (fewer than len(dst) when less
// audio has arrived). It never blocks on the network.
func (s *Stream) ReadPCM(dst []float32) int {
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
	if n > 0 {
		s.lastRead = now
	}
	s.starved = max(0, now.Sub(s.lastRead)) // a clock stepping back starves nobody
	return n
}

// Starved is how long ReadPCM had found no audio at its latest call: zero if that call
// returned some, else the time since the last one that did (or since the stream was made), by
// the stream's clock. Between packets, and while the jitter buffer waits out a short loss it
// will conceal, it stays within a packet plus MaxConceal plus the jitter buffer's delay; a
// sender whose packets stopped (a dropped connection, a frozen tab, a track stopped
// mid-note) starves it for good, and the reader may then treat the stream as silent.
func (s *Stream) Starved() time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.starved
}

// LastAudioArrival is when the newest audio the stream has delivered arrived: the arrival (at
// WriteRTP) of the last packet decoded into the ring, zero time if none was. It is not when
// that packet was decoded, so now minus it counts the jitter buffer's hold too (the status
// page's latency left out up to MaxDelay). It is Equal to the stream's clock's reading then: with
// the default clock it carries a monotonic reading (see clock.MonoStamp), so comparing it with
// time.Now is immune to wall-clock steps. Lock-free.
func (s *Stream) LastAudioArrival() time.Time {
	t, _ := s.lastAudio.Load()
	return t
}

// Stats returns a snapshot of the counters.
func (s *Stream) Stats() StreamStats {
	s.mu.Lock()
	defer s.mu.Unlock()
	js := s.jb.Stats()
	return StreamStats{
		Packets:          s.packets,
		Padding:          s.padding,
		Late:             js.Late,
		Duplicates:       js.Duplicates,
		Dropped:          js.TooLarge + js.Probation + js.Overflowed + s.overBudget + s.otherPT + s.stale,
		OverBudget:       s.overBudget,
		Stale:            s.stale,
		OtherPayloadType: s.otherPT,
		CodecSwitches:    s.switches,
		Codec:            s.Codec(),
		Lost:             js.Lost,
		Concealed:        s.concealed,
		FECRecovered:     s.fec,
		ConcealErrors:    s.plcErrs,
		DecodeErrors:     s.decodeErrs,
		Resyncs:          js.Resyncs + s.ssrcResets,
		RingDropped:      s.ringDrops,
		Jitter:           js.Jitter,
		TargetDelay:      js.TargetDelay,
		Level:            s.level,
		LastAudio:        s.LastAudioArrival(),
		Decoder:          s.dec.String(),
		BufferedAudio:    s.ringLen,
	}
}

// skipStaleLocked drops without decoding (Stats.Stale) the held packets that releaseLocked
// would skip: those followed by enough due packets to fill the ring on their own.
func (s *Stream) skipStaleLocked(now time.Time) {
	for newer := s.jb.due(now) - 1; s.staleLocked(newer); newer-- {
		if _, ok := s.jb.Pop(now); !ok {
			return
		}
		s.stale++
	}
}

// staleLocked reports whether a packet followed by newer due packets is stale: after a stall,
// the packets behind it alone fill the ring, so its audio would be pushed out before the loop
// could read it.
func (s *Stream) staleLocked(newer int) bool {
	return newer*s.lastFrame >= len(s.ring)
}

func (s *Stream) releaseLocked(now time.Time) {
	// newer is how many due packets follow the one just released: counted once, at the first
	// release, then one fewer per release (see JitterBuffer.due), so that a backlog drains in
	// time linear in its length.
	newer, counted := 0, false
	for {
		r, ok := s.jb.Pop(now)
		if !ok {
			return
		}
		if counted {
			newer--
		} else {
			newer, counted = s.jb.due(now), true
		}
		if s.staleLocked(newer) {
			// Skip it (and any gap before it) without spending decode budget on it, so that
			// the budget goes to the newest audio, and the loop's next tick sees live audio only.
			s.stale++
			continue
		}
		if !s.refillBudgetLocked(now) {
			// Faster than real time for longer than the burst allows: drop the packet (and
			// skip concealing any gap before it) rather than spend a core on one peer.
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
			// A rejected packet that was not concealed still cost a decode attempt: charge
			// it as at least a 20 ms packet, or a flood of garbage would decode for free.
			charge += uint64(max(s.lastFrame, SampleRate/50))
		}
		s.budget -= time.Duration(charge) * time.Second / SampleRate
	}
}

// refillBudgetLocked adds the decode budget earned since the last refill and reports
// whether any is left. The budget ignores RTP timestamps on purpose: the jitter buffer
// releases every packet within MaxDelay of its arrival whatever its timestamp says, so
// only wall clock time bounds the work; and a legitimate sender (clock drift of a few
// ppm, a burst delivered after a Wi-Fi stall, concealment and FEC, which only fill
// time that passed) never needs more than real time plus the burst.
func (s *Stream) refillBudgetLocked(now time.Time) bool {
	if s.budgetRefill.IsZero() {
		s.budget = decodeBurst
	} else if elapsed := now.Sub(s.budgetRefill); elapsed > 0 { // a clock going backwards earns nothing
		elapsed = min(elapsed, decodeBurst) // bounds the multiplication; the burst caps it anyway
		s.budget = min(s.budget+elapsed*decodeRateNum/decodeRateDen, decodeBurst)
	}
	s.budgetRefill = now
	return s.budget > 0
}

// concealLocked fills a gap of lost packets of up to MaxConceal (or one packet): PLC for all but
// the last, and the next packet's in-band FEC for the last one. Longer gaps are skipped whole,
// since inventing more than ~100 ms of sound is worse for the lights than a short silence; and
// a gap is concealed when it ends, so concealing the start of a long one (a sender whose packets
// stopped for seconds) would replay the note from before it just as the next one starts. The
// next packet is decoded from a clean state, as after silence.
func (s *Stream) concealLocked(lost int, next []byte) {
	frame := s.lastFrame
	if lost > max(1, s.maxConceal/frame) {
		// The decoder's state (the upsampler's history, Opus's predictors) is of audio from
		// before the gap: carried over, its tail would splice the old note into the next.
		s.dec.Reset()
		return
	}
	for i := range lost {
		var got int
		var usedFEC bool
		var err error
		fromFEC := i == lost-1 // the packet after the gap may carry the last lost one's FEC
		if fromFEC {
			got, usedFEC, err = s.dec.DecodeFEC(next, s.pcm, frame)
		}
		if !fromFEC || err != nil {
			// After a DecodeFEC error the next packet is malformed (decodeLocked counts
			// it): conceal plainly.
			usedFEC = false
			got, err = s.dec.Conceal(s.pcm, frame)
		}
		if err != nil {
			// The decoder cannot conceal (no decoder here refuses a valid length, so
			// this is a bug or a state it did not expect): count what stays missing.
			s.plcErrs += uint64(lost - i)
			return
		}
		if usedFEC {
			s.fec++
		} else {
			s.concealed++
		}
		s.pushLocked(s.pcm[:got])
	}
}

// decodeLocked decodes payload, a packet that arrived at arrival, into the ring.
func (s *Stream) decodeLocked(payload []byte, arrival time.Time) {
	n, err := s.dec.Decode(payload, s.pcm)
	if err != nil {
		s.decodeErrs++
		s.fails++
		if s.fails >= maxConsecutiveFails {
			// A run of garbage: the decoder state is suspect. Start clean and stay
			// silent until a packet decodes.
			if s.fails == maxConsecutiveFails {
				s.dec.Reset()
			}
			return
		}
		// Treat an undecodable packet as lost, so the timeline stays continuous.
		if n, err = s.dec.Conceal(s.pcm, s.lastFrame); err != nil {
			s.plcErrs++
			return
		}
		s.concealed++
		s.pushLocked(s.pcm[:n])
		return
	}
	s.fails = 0
	s.lastFrame = n
	s.level = rms(s.pcm[:n])
	s.lastAudio.Store(arrival)
	s.pushLocked(s.pcm[:n])
}

// pushLocked appends to the ring, dropping the oldest samples when it is full.
func (s *Stream) pushLocked(pcm []float32) {
	s.produced += uint64(len(pcm))
	if len(pcm) > len(s.ring) {
		s.ringDrops += uint64(len(pcm) - len(s.ring))
		pcm = pcm[len(pcm)-len(s.ring):]
	}
	if over := s.ringLen + len(pcm) - len(s.ring); over > 0 {
		s.ringStart = (s.ringStart + over) % len(s.ring)
		s.ringLen -= over
		s.ringDrops += uint64(over)
	}
	end := (s.ringStart + s.ringLen) % len(s.ring)
	k := copy(s.ring[end:], pcm)
	copy(s.ring, pcm[k:])
	s.ringLen += len(pcm)
}

func rms(pcm []float32) float32 {
	if len(pcm) == 0 {
		return 0
	}
	var sum float64
	for _, v := range pcm {
		sum += float64(v) * float64(v)
	}
	return float32(math.Sqrt(sum / float64(len(pcm))))
}
