package audio

import (
	"math"
	"time"
)

// Jitter buffer defaults.
const (
	DefaultJitterSlots    = 32                    // packets; 640 ms of 20 ms packets, far above the 60 ms cap
	DefaultMaxDelay       = 60 * time.Millisecond // upper bound of the adaptive target delay
	MaxPayloadSize        = 1500                  // bytes per RTP payload slot (an Ethernet MTU)
	jitterDelayMultiplier = 3                     // target delay = 3 × RFC 3550 jitter, clamped
	maxDropout            = 3000                  // RFC 3550 A.1: larger forward jumps need confirmation
	maxMisorder           = 100                   // RFC 3550 A.1: larger backward jumps need confirmation
	timingDiscontinuity   = time.Second           // a transit change this large is a sender clock jump, not jitter
	baseWindow            = 2 * time.Second       // base is the smallest transit seen within this much arrival time
	baseBuckets           = 8                     // base's window is kept as this many sub-window minima
	reorderMargin         = 5 * time.Millisecond  // added to the delay a reordered packet needed
	reorderHold           = 5 * time.Second       // a reordering's delay is held this long after the last packet that needed it,
	reorderHalfLife       = time.Second           // then halves every this much
	reorderRecurs         = 3                     // reordered packets within reorderHold that make reordering recur
)

// JitterConfig configures a JitterBuffer. Zero fields take the defaults above.
type JitterConfig struct {
	ClockRate uint32        // RTP timestamp clock in Hz (48000 for Opus, 8000 for G.722 and G.711); required
	Slots     int           // capacity in packets, rounded up to a power of two (max 1024); fixed, never grows
	MinDelay  time.Duration // lower bound of the adaptive target delay (default 0)
	MaxDelay  time.Duration // upper bound of the adaptive target delay (default and maximum 60 ms)
}

// PushResult says what the jitter buffer did with a packet.
type PushResult int

const (
	PushUnknown   PushResult = iota
	PushAccepted             // stored for release in sequence order
	PushLate                 // its sequence number was already released (or declared lost): dropped
	PushDuplicate            // the same sequence number is already buffered: dropped
	PushTooLarge             // payload larger than MaxPayloadSize: dropped
	PushProbation            // a huge sequence jump, dropped until the next packet confirms it
	PushResync               // the stream restarted (confirmed jump): buffer flushed, packet stored
)

func (r PushResult) String() string {
	switch r {
	case PushAccepted:
		return "accepted"
	case PushLate:
		return "late"
	case PushDuplicate:
		return "duplicate"
	case PushTooLarge:
		return "too large"
	case PushProbation:
		return "probation"
	case PushResync:
		return "resync"
	}
	return "unknown"
}

// Release is one step of the buffer's output, in sequence order: Lost packets are missing
// immediately before Payload (conceal them, using Payload's in-band FEC for the last one;
// sequence numbers marked empty in between are not counted, and carried no audio for the
// FEC to stand for), then Payload is the next packet to decode. Payload aliases the buffer's slot and is valid
// until the next Push or Pop.
type Release struct {
	Lost      int
	Payload   []byte
	Seq       uint16
	Timestamp uint32
	Arrival   time.Time // when Payload's packet was pushed: the hold it had here is part of the latency
}

// JitterStats are the buffer's counters since construction.
type JitterStats struct {
	Late, Duplicates, TooLarge, Probation uint64 // packets dropped, by reason
	Overflowed                            uint64 // buffered packets dropped because a packet arrived beyond the window
	Lost                                  uint64 // sequence numbers never received before their turn
	Resyncs                               uint64 // confirmed sequence restarts
	Jitter                                time.Duration
	TargetDelay                           time.Duration
	Buffered                              int
}

type jitterSlot struct {
	used    bool
	empty   bool // a packet without audio (padding only, another payload type) used this sequence number: see MarkEmpty
	seq     uint16
	ts      uint32
	media   time.Duration // RTP timestamp on the unwrapped media timeline, relative to the first packet
	arrival time.Time
	n       int
}

// JitterBuffer reorders one RTP stream by sequence number (with wraparound) and releases
// packets when their playout time arrives: the time the packet would arrive with the
// smallest network delay observed in the last 2 s, plus a target delay of 3 × the RFC 3550 interarrival
// jitter or the delay recent reordered packets needed (see noteReordered), whichever is larger,
// clamped to [MinDelay, MaxDelay]. A gap is declared lost when the packet after it
// is due. Capacity is fixed; payloads are copied into preallocated slots (an RTP payload
// aliases the read buffer). Time is passed in. It is not safe for concurrent use.
type JitterBuffer struct {
	cfg     JitterConfig
	slots   []jitterSlot
	payload []byte // Slots × MaxPayloadSize

	started  bool
	next     uint16 // next sequence number to release
	buffered int    // packets held (empty slots not counted)
	empties  int    // empty slots held
	pendLost int    // packets skipped by a window overflow, reported with the next release
	badSeq   uint16
	haveBad  bool

	// Timing: media timeline unwrapping and delay estimation.
	timing      bool
	epoch       time.Time     // arrival time of the first packet
	lastTS      uint32        // last RTP timestamp seen
	lastMedia   time.Duration // its unwrapped media time
	lastTransit time.Duration
	lastArrival time.Time     // arrival time of the last packet observed
	base        time.Duration // smallest transit (arrival - media time) in the last baseWindow
	jitter      float64       // RFC 3550 J, in seconds
	// draining is set by a packet that arrived more than MaxDelay late (a network stall): the
	// packets queued behind it arrive back to back, and until one arrives at its media pace
	// again they are the stall's backlog, not jitter (see observe).
	draining bool
	// The smallest transit of each baseWindow/baseBuckets of arrival time, a ring whose
	// current bucket started at bucketStart (arrival time since epoch); empty buckets hold
	// emptyBucket.
	bucketMin   [baseBuckets]time.Duration
	bucket      int
	bucketStart time.Duration

	// Reordering (see noteReordered): the newest sequence number pushed and its media time,
	// the media length of a packet (from the last two in a row), the last reorderRecurs
	// reordered packets (a ring: when each came and the delay it needed; a zero time is none
	// yet), and the target delay they asked for: peak, set at reorderAt, and reorderDelay, that
	// decayed to the last push.
	haveNewest     bool
	newest         uint16
	newestMedia    time.Duration
	frame          time.Duration
	reorderedAt    [reorderRecurs]time.Time
	reorderedNeed  [reorderRecurs]time.Duration
	reorderedIndex int
	reorderPeak    time.Duration
	reorderAt      time.Time
	reorderDelay   time.Duration

	stats JitterStats
}

// NewJitterBuffer allocates all slots up front.
func NewJitterBuffer(cfg JitterConfig) *JitterBuffer {
	if cfg.ClockRate == 0 {
		cfg.ClockRate = SampleRate
	}
	if cfg.Slots <= 0 {
		cfg.Slots = DefaultJitterSlots
	}
	// A power of two divides 2^16, so seq % Slots stays collision-free across wraparound.
	slots := 2
	for slots < min(cfg.Slots, 1024) {
		slots <<= 1
	}
	cfg.Slots = slots
	if cfg.MaxDelay <= 0 || cfg.MaxDelay > DefaultMaxDelay {
		cfg.MaxDelay = DefaultMaxDelay // the cap: sound-to-light cannot afford more
	}
	cfg.MinDelay = min(max(cfg.MinDelay, 0), cfg.MaxDelay)
	return &JitterBuffer{
		cfg:     cfg,
		slots:   make([]jitterSlot, cfg.Slots),
		payload: make([]byte, cfg.Slots*MaxPayloadSize),
	}
}

func (j *JitterBuffer) slot(seq uint16) (*jitterSlot, []byte) {
	i := int(seq) % len(j.slots)
	return &j.slots[i], j.payload[i*MaxPayloadSize : (i+1)*MaxPayloadSize]
}

// Push offers a packet that arrived at now.
func (j *JitterBuffer) Push(seq uint16, ts uint32, payload []byte, now time.Time) PushResult {
	if len(payload) > MaxPayloadSize {
		j.stats.TooLarge++
		return PushTooLarge
	}
	result := PushAccepted
	if !j.started {
		j.started = true
		j.next = seq
	}
	// d is the distance ahead of the next release, modulo 2^16 (wraparound-safe).
	if d := int(seq - j.next); d > maxDropout && d < 65536-maxMisorder {
		// A huge jump either way: RFC 3550 A.1 probation. Accept it only if the next
		// packet continues from it (a sender restart); otherwise it was garbage.
		if j.haveBad && seq == j.badSeq {
			j.resync(seq)
			result = PushResync
		} else {
			j.badSeq, j.haveBad = seq+1, true
			j.stats.Probation++
			return PushProbation
		}
	} else if d > maxDropout { // up to maxMisorder behind: already released or declared lost
		j.haveBad = false
		j.stats.Late++
		j.observeLate(seq, ts, now)
		return PushLate
	}
	j.haveBad = false
	if d := int(seq - j.next); d >= len(j.slots) {
		// Beyond the window (a loss burst longer than the buffer): everything buffered
		// is older than anything still useful. Drop it and count the gap as lost.
		j.stats.Overflowed += uint64(j.buffered)
		j.pendLost += d - j.buffered - j.empties
		j.clearSlots()
		j.next = seq
	}
	s, buf := j.slot(seq)
	if s.used && s.empty {
		// Marked by a packet without audio (MarkEmpty), which may carry any sequence
		// number, ahead of the audio too: the packet with audio takes the slot, or one
		// bogus probe would silence a real packet. The mark was never a packet held.
		s.used, s.empty = false, false
		j.empties--
	}
	if s.used {
		j.stats.Duplicates++
		return PushDuplicate
	}
	media := j.observe(ts, now)
	*s = jitterSlot{used: true, seq: seq, ts: ts, media: media, arrival: now, n: copy(buf, payload)}
	j.buffered++
	j.decayReorder(now)
	switch ahead := int16(seq - j.newest); {
	case !j.haveNewest || result == PushResync:
		j.haveNewest, j.newest, j.newestMedia = true, seq, media
	case ahead > 0:
		if step := media - j.newestMedia; ahead == 1 && step > 0 && step <= MaxPacketSamples*time.Second/SampleRate {
			j.frame = step
		}
		j.newest, j.newestMedia = seq, media
	default: // overtaken by a newer packet, yet in time
		j.noteReordered(now.Sub(j.epoch)-media, now)
	}
	return result
}

// observeLate takes the timing of a packet that came after its turn. If its sequence number was
// declared lost (not a copy of a packet played), a larger target delay would have saved it.
func (j *JitterBuffer) observeLate(seq uint16, ts uint32, now time.Time) {
	if s, _ := j.slot(seq); !j.timing || s.seq == seq && !s.used {
		return // the slot still holds it as released (or stepped over as empty): a copy
	}
	media := j.lastMedia + time.Duration(int32(ts-j.lastTS))*time.Second/time.Duration(j.cfg.ClockRate)
	j.decayReorder(now)
	j.noteReordered(now.Sub(j.epoch)-media, now)
}

// noteReordered takes the transit of a packet that arrived after a newer one. The RFC 3550
// estimate does not cover reordering: a packet overtaken now and then (a Wi-Fi retransmission,
// a multipath route) barely moves it, and dropped as late it never fed it at all, so every 10th
// packet 30 ms late was dropped and concealed for as long as it went on, with the target at 0.
// Such a packet is saved if it arrives before its successor is due, so the delay it needed is
// its transit above the best path less a packet's length, plus a margin (up to MaxDelay: beyond,
// no target saves it). Only reordering that recurs raises the target: once reorderRecurs
// packets within reorderHold asked, the target holds the largest of them for reorderHold after
// the last packet that asked for as much, then decays. Packets overtaken in time keep asking
// while the reordering goes on, so the target does not fall back between drops; a stream that
// is never reordered keeps the RFC 3550 target alone. A rare reordered packet (a Wi-Fi
// retransmission every few seconds) costs its one packet instead: when any one raised the
// target, one every 5 s renewed the hold each time, and the stream paid up to 55 ms on every
// packet to save 1 in 250.
func (j *JitterBuffer) noteReordered(transit time.Duration, now time.Time) {
	over := transit - j.base
	if over <= 0 {
		return
	}
	needed := over - j.frame + reorderMargin
	if needed <= 0 || needed > j.cfg.MaxDelay {
		return
	}
	j.reorderedAt[j.reorderedIndex], j.reorderedNeed[j.reorderedIndex] = now, needed
	j.reorderedIndex = (j.reorderedIndex + 1) % reorderRecurs
	// The ring's oldest entry (now next to overwrite) is reorderRecurs-1 packets before this one.
	if oldest := j.reorderedAt[j.reorderedIndex]; oldest.IsZero() || now.Sub(oldest) > reorderHold {
		return // rare so far: not worth holding every packet for
	}
	for _, n := range j.reorderedNeed {
		needed = max(needed, n)
	}
	if needed < j.reorderDelay {
		return
	}
	j.reorderPeak, j.reorderAt, j.reorderDelay = needed, now, needed
}

// decayReorder brings reorderDelay to now: reorderPeak for reorderHold after reorderAt, then
// halving every reorderHalfLife, and 0 once under a millisecond.
func (j *JitterBuffer) decayReorder(now time.Time) {
	if j.reorderPeak == 0 {
		return
	}
	since := now.Sub(j.reorderAt) - reorderHold
	if since <= 0 {
		j.reorderDelay = j.reorderPeak
		return
	}
	j.reorderDelay = time.Duration(float64(j.reorderPeak) * math.Exp2(-float64(since)/float64(reorderHalfLife)))
	if j.reorderDelay < time.Millisecond { // no longer worth holding anything for
		j.reorderPeak, j.reorderDelay = 0, 0
	}
}

// observe unwraps ts onto the media timeline and updates the delay estimators.
//
// A network stall (Wi-Fi roaming, a congested uplink) holds packets and then delivers them
// back to back. The RFC 3550 estimator reads that burst as jitter (the first held packet's
// transit jumps by the whole stall, then each one drops by a packet's length), so the target
// delay rose to tens of ms and held live packets that long for about half a second after
// every stall. No target delay up to MaxDelay could have saved the late packets anyway, so
// the estimator leaves them out: a packet more than MaxDelay later than the best path (or a
// timeline re-anchor) starts draining, and while draining, packets arriving less than half
// their media spacing after the previous one are the backlog and skipped too; the first
// packet at its media pace ends it. A packet more than MaxDelay earlier than the best path (a
// forward timestamp jump) is left out too. Jitter below MaxDelay is tracked as before.
func (j *JitterBuffer) observe(ts uint32, now time.Time) time.Duration {
	rate := time.Duration(j.cfg.ClockRate)
	if !j.timing {
		j.timing = true
		j.epoch, j.lastTS, j.lastMedia, j.lastTransit, j.lastArrival = now, ts, 0, 0, now
		j.draining = false
		j.restartBase()
		return 0
	}
	media := j.lastMedia + time.Duration(int32(ts-j.lastTS))*time.Second/rate
	mediaGap, arrivalGap := media-j.lastMedia, now.Sub(j.lastArrival)
	j.lastTS, j.lastMedia, j.lastArrival = ts, media, now
	arrival := now.Sub(j.epoch)
	transit := arrival - media
	d := transit - j.lastTransit
	j.lastTransit = transit
	if d > timingDiscontinuity || d < -timingDiscontinuity {
		// The sender's clock jumped (or the timestamps are garbage, or the network stalled
		// for over a second): re-anchor the media timeline here instead of reading the jump
		// as jitter. Re-anchoring also keeps the unwrapped media time from drifting towards
		// overflow under a storm of jumps. Packets still buffered keep their old media
		// times; the MaxDelay cap in deadline bounds how long they can be held. After a
		// stall the backlog follows, which must not count as jitter either: drain.
		j.epoch, j.lastMedia, j.lastTransit = now, 0, 0
		j.restartBase()
		j.draining = true
		return 0
	}
	// A forward timestamp jump (a sender that skipped media time with no sequence gap, its
	// packets at their pace) drops the transit below the best path by the jump, which no
	// arrival jitter does: a packet back on time after a late one comes back to the base,
	// not under it. Read as jitter, a jump of 60 ms to 1 s held live packets up to MaxDelay
	// longer for most of a second; the base follows it at once instead (updateBase), so
	// deadlines are unchanged, and the estimate leaves it out, like a packet MaxDelay late.
	jumped := j.base-transit > j.cfg.MaxDelay
	j.updateBase(transit, arrival)
	if transit-j.base > j.cfg.MaxDelay {
		j.draining = true
		return media
	}
	if jumped {
		return media
	}
	if j.draining && arrivalGap >= 0 && arrivalGap < mediaGap/2 {
		return media
	}
	j.draining = false
	if d < 0 {
		d = -d
	}
	j.jitter += (d.Seconds() - j.jitter) / 16
	return media
}

// emptyBucket marks a base bucket with no packet in it.
const emptyBucket = time.Duration(1<<63 - 1)

// restartBase starts the base window afresh at the epoch, with the anchoring packet's transit of 0.
func (j *JitterBuffer) restartBase() {
	for i := range j.bucketMin {
		j.bucketMin[i] = emptyBucket
	}
	j.bucket, j.bucketStart = 0, 0
	j.bucketMin[0], j.base = 0, 0
}

// updateBase makes base the smallest transit of the last baseWindow of arrivals (between
// baseWindow and baseWindow·(1+1/baseBuckets), by bucket granularity). A sliding minimum
// follows a lower network delay at once and a higher one (a route change, a Wi-Fi
// roam, sender clock drift) within baseWindow: an all-time minimum that crept up slowly
// left base far below the new transit after a delay step, so every packet was due on
// arrival and nothing was reordered for tens of seconds.
func (j *JitterBuffer) updateBase(transit, arrival time.Duration) {
	const bucketLen = baseWindow / baseBuckets
	elapsed := arrival - j.bucketStart
	if elapsed < bucketLen {
		if elapsed < 0 {
			// Time went backwards (only a broken clock does that): stay in the current
			// bucket from now on, or the window would stop sliding until time caught up.
			j.bucketStart = arrival
		}
		j.bucketMin[j.bucket] = min(j.bucketMin[j.bucket], transit)
		j.base = min(j.base, transit) // base is the minimum of the buckets, and transit joined one
		return
	}
	// Slide: empty the buckets that left the window, then take the minimum of the rest.
	steps := min(int64(elapsed/bucketLen), baseBuckets)
	for range steps {
		j.bucket = (j.bucket + 1) % baseBuckets
		j.bucketMin[j.bucket] = emptyBucket
	}
	j.bucketStart += time.Duration(steps) * bucketLen
	if steps == baseBuckets { // a silence longer than the window: start at now
		j.bucketStart = arrival
	}
	j.bucketMin[j.bucket] = transit
	j.base = transit
	for _, m := range j.bucketMin {
		j.base = min(j.base, m)
	}
}

// TargetDelay is the current adaptive playout delay.
func (j *JitterBuffer) TargetDelay() time.Duration {
	t := max(time.Duration(jitterDelayMultiplier*j.jitter*float64(time.Second)), j.reorderDelay)
	return min(max(t, j.cfg.MinDelay), j.cfg.MaxDelay)
}

func (j *JitterBuffer) deadline(s *jitterSlot) time.Time {
	d := j.epoch.Add(s.media + j.base + j.TargetDelay())
	if latest := s.arrival.Add(j.cfg.MaxDelay); d.After(latest) {
		return latest
	}
	return d
}

// MarkEmpty records that the packet with sequence number seq arrived without audio: a
// padding-only packet (Chrome's congestion-control probes) or one of another payload type.
// It used a sequence number all the same (RFC 3550 §5.1), and without this the gap it leaves
// would be declared lost, counted, and concealed as invented audio. Pop steps over the
// sequence number without counting it lost, and it does not feed the delay estimate (it
// carries no media timing). A sequence number already released, held, out of the window or
// before the stream's first packet is ignored; it reports whether seq was marked. A packet
// with audio that comes later with the same sequence number takes the slot all the same.
func (j *JitterBuffer) MarkEmpty(seq uint16) bool {
	if !j.started {
		return false
	}
	if d := int(seq - j.next); d >= len(j.slots) {
		return false // late, or so far ahead that a packet with audio would overflow the window
	}
	s, _ := j.slot(seq)
	if s.used {
		return false
	}
	*s = jitterSlot{used: true, empty: true, seq: seq}
	j.empties++
	return true
}

// Pop releases the next packet if it is due at now. Call it until it returns false.
func (j *JitterBuffer) Pop(now time.Time) (Release, bool) {
	if j.buffered == 0 {
		return Release{}, false
	}
	// Find the first buffered packet at or after next, stepping over empty slots.
	lost := 0
	passedEmpty := false
	seq := j.next
	s, buf := j.slot(seq)
	for !s.used || s.seq != seq || s.empty {
		if !s.used || s.seq != seq {
			lost++
		} else {
			passedEmpty = true
		}
		seq++
		if seq-j.next >= uint16(len(j.slots)) { // unreachable while buffered > 0; guards against a bug looping forever
			j.clearSlots()
			return Release{}, false
		}
		s, buf = j.slot(seq)
	}
	if now.Before(j.deadline(s)) {
		return Release{}, false
	}
	if passedEmpty {
		// Free the empty marks stepped over (only a due packet moves next past them).
		for e := j.next; e != seq; e++ {
			if es, _ := j.slot(e); es.used && es.empty && es.seq == e {
				es.used, es.empty = false, false
				j.empties--
			}
		}
	}
	s.used = false
	j.buffered--
	j.next = seq + 1
	lost += j.pendLost
	j.pendLost = 0
	j.stats.Lost += uint64(lost)
	return Release{Lost: lost, Payload: buf[:s.n], Seq: s.seq, Timestamp: s.ts, Arrival: s.arrival}, true
}

// due counts the held packets that are due at now, scanning the window once. Pops at the
// same now release them in sequence order (stopping early at a held packet not due yet), and
// a Pop changes nothing a deadline depends on: after each release the count is exactly one
// less. A reader that needs, for every packet it pops, how many due packets follow it (after
// a stall, one followed by more newer audio than the reader keeps is not worth decoding)
// counts once and then down, instead of rescanning per packet, which made draining a
// backlog quadratic.
func (j *JitterBuffer) due(now time.Time) int {
	due := 0
	for seen, d := 0, uint16(0); seen < j.buffered && int(d) < len(j.slots); d++ {
		seq := j.next + d
		s, _ := j.slot(seq)
		if !s.used || s.empty || s.seq != seq {
			continue
		}
		seen++
		if !now.Before(j.deadline(s)) {
			due++
		}
	}
	return due
}

// Draining reports whether the last packet observed belongs to a stall's backlog: it arrived
// more than MaxDelay late, or back to back behind such a packet (see observe). A reader that
// waits until the backlog has arrived before popping sees it whole (due), and can skip the
// part of it too old to be worth decoding.
func (j *JitterBuffer) Draining() bool {
	return j.draining
}

func (j *JitterBuffer) clearSlots() {
	for i := range j.slots {
		j.slots[i].used, j.slots[i].empty = false, false
	}
	j.buffered, j.empties = 0, 0
}

// resync restarts sequence and timing tracking at seq, dropping anything buffered.
func (j *JitterBuffer) resync(seq uint16) {
	j.stats.Overflowed += uint64(j.buffered)
	j.clearSlots()
	j.next = seq
	j.pendLost = 0
	j.timing = false
	j.haveBad = false
	j.haveNewest = false
	j.stats.Resyncs++
}

// Reset forgets the stream entirely (new SSRC): the next packet starts it afresh.
func (j *JitterBuffer) Reset() {
	j.stats.Overflowed += uint64(j.buffered)
	j.clearSlots()
	j.started, j.timing, j.haveBad, j.haveNewest = false, false, false, false
	j.pendLost = 0
	j.jitter = 0
	j.frame, j.reorderPeak, j.reorderDelay = 0, 0, 0
	j.reorderedAt, j.reorderedNeed, j.reorderedIndex = [reorderRecurs]time.Time{}, [reorderRecurs]time.Duration{}, 0
}

// SetClockRate restarts the buffer (as Reset) for a stream whose RTP timestamps now count at
// rate Hz (0: 48000), as when the sender switched codec mid-stream: the media timeline and the
// jitter estimate of the old clock mean nothing on the new one. It allocates nothing.
func (j *JitterBuffer) SetClockRate(rate uint32) {
	if rate == 0 {
		rate = SampleRate
	}
	j.Reset()
	j.cfg.ClockRate = rate
}

// Stats returns the counters and current estimates.
func (j *JitterBuffer) Stats() JitterStats {
	st := j.stats
	st.Jitter = time.Duration(j.jitter * float64(time.Second))
	st.TargetDelay = j.TargetDelay()
	st.Buffered = j.buffered
	return st
}
