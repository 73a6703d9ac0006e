package session

import (
	"math"
	"time"

	"github.com/ledbridge/ledbridge/bridge/audio"
)

// mixHold is how long after its last audio a musician still holds the mix back: one whose audio
// stopped (muted without silent frames, connection lost) is left out after this, so the others
// are mixed without it, at most 100 ms late once. It spans a packet (20 ms, up to 60 ms) and the
// arrival jitter the stream's jitter buffer lets through.
//
// Only a musician delivering continuously holds the mix back: one whose audio comes back after
// more than mixHold without any (its first audio, or a lone Opus DTX packet, which a silent
// sender sends every 400 ms) is mixed with what the others have but waited for only once its
// next audio follows within mixHold. Otherwise each lone packet would stall everyone's mix for
// mixHold and then release it in one block: the sound-reactive strips would stutter.
const mixHold = 100 * time.Millisecond

// mixSkew is the most audio one musician may have queued beyond another's: 150 ms. A musician
// whose audio arrives in a burst after a stall is cut down to the others at once (her audio is
// already broken there). It exceeds mixHold by more than the packet or two one musician may lead
// by, so that the others' audio, queued while waiting for a musician who stopped, is mixed once
// mixHold lets that one go, never dropped.
const mixSkew = audio.SampleRate * 150 / 1000

// mixLead is the lead, 60 ms, a lane may keep over the others on average for a realignWindow
// before it is realigned gradually: a sender whose sound card's clock runs fast (±100 ppm is
// common, a lane gains 12 ms in a minute) delivers more audio than the others, and a cut at
// mixSkew threw 140 ms away at once, a jump the mix analyser took for a beat. A lane's lead
// after a mix is a sawtooth of its packets (20 ms, up to 120 ms) against the others'; its mean
// is half a packet, 60 ms for the longest, which is no drift.
const mixLead = audio.SampleRate * 60 / 1000

// realignWindow is the ticks (half a second) over which a lane's mean lead after a mix is
// measured; the lane's speed-up (mixLane.rate) is then set from what it kept beyond mixLead.
const realignWindow = 30

// Realignment plays a leading lane faster, by rate (0.002: 2000 ppm), through a resampler whose
// read position carries from tick to tick, rather than cutting it (a jump) or dropping samples (a
// step each): its pitch rises by as much, a glide no note shows.
const (
	// realignSeconds is how long a lane's excess lead takes to be played away: its rate is the
	// excess over realignSeconds of audio. In balance with a drifting sender, her lane leads by
	// mixLead plus her drift times realignSeconds (4 ms at 2000 ppm).
	realignSeconds = 2
	// maxRealignRate is the fastest a lane is played: 5000 ppm, ten times two sound cards ±250 ppm
	// apart, a twelfth of a semitone.
	maxRealignRate = 0.005
	// realignSlew is the most rate changes in a tick: 0 to the fastest in 5 s.
	realignSlew = maxRealignRate / 300
)

// A lane that delivers steadily but falls lagShortfall (mixSkew, the lead at which the others'
// audio was cut) behind real time, what it owes leaking away over lagMemory, is not waited for
// (mixLane.lagging): a sender whose packets carry less audio than their timestamps pass (10 ms,
// or one byte of PCMU, every 20 ms) held the mix at her pace, and the others' audio was cut by
// mixSkew again and again (review 312). Leaking over lagMemory, a sender below about 95 % of real
// time is judged lagging within seconds. A sender that keeps up delivers real time within a packet
// or two (concealment fills her losses): over jitter up to 80 ms, reordering, 40 % loss, DTX,
// 60 ms packets, a clock 1000 ppm slow and a codec switch, review 318's senders owed 96 ms at
// most. A shortfall counted in fixed windows instead let a sender escape by pausing now and then,
// or sit just above the window's share and still cut the others (review 320).
const (
	lagShortfall = 150 * time.Millisecond
	lagMemory    = 3 * time.Second
)

// mixLaneCap is a lane's capacity: mixSkew left over from the last tick plus the most one tick
// reads from a stream.
const mixLaneCap = mixSkew + pcmBlock

// mixLane is one musician's audio waiting to be mixed: buf[:n], oldest first.
type mixLane struct {
	buf     []float32
	n       int
	lastFed time.Time // the tick that last brought this musician's audio; zero for never
	// steady: the tick before lastFed brought audio too, less than mixHold before it, so the
	// musician is delivering continuously and holds the mix back (until mixHold after lastFed).
	steady bool
	// owed is how much audio, in seconds, the lane is short of the time it has been steady, what
	// is owed leaking away over lagMemory. A pause counts in neither, nor does the audio that ends
	// it, so a sender cannot escape by pausing now and then (review 318).
	owed float64
	// lagging: owed passed lagShortfall, so the mix does not wait for the lane (until owed is
	// back under half of it).
	lagging bool
	// queued sums what the lane kept after each mix in this realignWindow (-1: the window does
	// not count, nobody was delivering at some tick): its mean is the lane's lead, its
	// packets' sawtooth averaged out.
	queued int
	// rate is how much faster than real time the lane is played (see realignSeconds), moving
	// toward target by realignSlew a tick; pos is the fraction of a sample its read position is
	// past buf[0], and history the samples before buf[0], for the resampler's kernel.
	rate, target, pos float64
	history           [sincTaps / 2]float32
	// resampled is how many samples resample made of the lane this tick (-1: none).
	resampled int
}

// alignedMix sums the musicians' audio sample by sample in the order each stream delivered it,
// for the analysis of the room's mix (WLED sound sync). Streams deliver whole packets (20 ms)
// at their own moments, 16.7 ms ticks apart, so one tick finds 960 samples from one musician and
// none from another: summing each tick's reads from index 0 added audio from different moments
// and fed the analyser more than real time. Instead each musician's audio queues in its lane,
// and a tick mixes only the samples every musician still delivering has; the rest waits for the
// next tick. Everything is preallocated when the musicians change; a tick allocates nothing.
// The loop goroutine owns it.
type alignedMix struct {
	lanes  []*mixLane // in the order of the loop's musicians
	byID   map[*musician]*mixLane
	inputs []audio.MixInput
	mixer  *audio.Mixer // sums and clamps
	out    []float32
	// scratch is resample's copy of the samples it reads.
	scratch []float32
	ticks   int // mixes in this realignWindow
}

func newAlignedMix() *alignedMix {
	return &alignedMix{
		byID:    map[*musician]*mixLane{},
		lanes:   make([]*mixLane, 0, 16),
		inputs:  make([]audio.MixInput, 0, 16),
		mixer:   audio.NewMixer(mixLaneCap),
		out:     make([]float32, mixLaneCap),
		scratch: make([]float32, mixLaneCap+sincTaps),
	}
}

// follow makes the lanes match musicians (in order): a musician who stays keeps the audio it has
// queued, a new one gets an empty lane, a departed one's lane is released.
func (a *alignedMix) follow(musicians []*musician) {
	clear(a.lanes)
	a.lanes = a.lanes[:0]
	keep := make(map[*musician]*mixLane, len(musicians))
	for _, m := range musicians {
		l := a.byID[m]
		if l == nil {
			l = &mixLane{buf: make([]float32, mixLaneCap), queued: -1}
		}
		keep[m] = l
		a.lanes = append(a.lanes, l)
	}
	a.byID = keep
	clear(a.inputs)
	a.inputs = a.inputs[:0]
}

// add queues the audio musician i (in follow's order) delivered this tick.
func (a *alignedMix) add(i int, pcm []float32, now time.Time) {
	if len(pcm) == 0 {
		return
	}
	l := a.lanes[i]
	if len(pcm) > len(l.buf) {
		pcm = pcm[len(pcm)-len(l.buf):]
	}
	if over := l.n + len(pcm) - len(l.buf); over > 0 {
		// Not reached while ticks read at most pcmBlock (mix leaves at most mixSkew behind);
		// kept so that a lane can never overflow: the oldest audio goes.
		l.drop(over)
	}
	l.n += copy(l.buf[l.n:], pcm)
	// A second add in the same tick changes nothing; a clock gone backwards starts afresh.
	if since := now.Sub(l.lastFed); since != 0 {
		l.steady = !l.lastFed.IsZero() && since > 0 && since < mixHold
		l.lastFed = now
		if !l.steady {
			return // a pause: neither its time nor the audio that ends it counts
		}
		// A steady tick's time is owed in audio; what is owed leaks away over lagMemory, so that
		// only a sustained shortfall builds up.
		l.owed = l.owed*(1-since.Seconds()/lagMemory.Seconds()) + since.Seconds()
	}
	if !l.steady {
		return
	}
	// Capped, so that a lane that keeps up again is waited for again within seconds.
	l.owed = min(max(0, l.owed-float64(len(pcm))/audio.SampleRate), lagShortfall.Seconds()*3/2)
	switch {
	case l.owed > lagShortfall.Seconds():
		l.lagging = true
	case l.owed < lagShortfall.Seconds()/2:
		l.lagging = false
	}
}

// holdsBack tells whether the mix waits for the lane's audio at now: it is delivering
// continuously and keeps up.
func (l *mixLane) holdsBack(now time.Time) bool {
	return l.steady && !l.lagging && now.Sub(l.lastFed) < mixHold
}

// mix returns this tick's mix (aliasing a buffer reused next tick; empty when there is none):
// as many samples as every musician still delivering (steady, fed within mixHold) has queued,
// or, when no one is, all that is queued. The others' queued audio is mixed in as far as it
// goes. A lane more than mixSkew ahead of the rest first drops its oldest audio down to theirs;
// one that kept more than mixLead for a realignWindow is played a little faster (realign,
// resample).
func (a *alignedMix) mix(now time.Time) []float32 {
	most, common, live := 0, 0, false
	for _, l := range a.lanes {
		most = max(most, l.n)
		if l.holdsBack(now) {
			if !live || l.n < common {
				common = l.n
			}
			live = true
		}
	}
	if !live {
		common = most // nobody is delivering: what remains is flushed
	} else if most-common > mixSkew {
		for _, l := range a.lanes {
			if l.n > common+mixSkew {
				l.drop(l.n - common)
			}
		}
	}
	if common > 0 {
		// A lane being resampled gives only what its kernel can reach (ready): the mix waits
		// for it as for any lane short of audio, and a flush takes no more than it gives.
		shortest, longest := common, 0
		for _, l := range a.lanes {
			if live {
				l.rate += max(-realignSlew, min(realignSlew, l.target-l.rate))
			}
			l.resampled = -1
			has := l.n
			if l.resampling() {
				has = l.ready()
				if l.holdsBack(now) {
					shortest = min(shortest, has)
				}
			}
			longest = max(longest, has)
		}
		if live {
			common = shortest
		} else {
			common = longest
		}
	}
	n := 0
	if common > 0 {
		a.inputs = a.inputs[:0]
		for _, l := range a.lanes {
			in := l.buf[:min(l.n, common)]
			if l.resampling() {
				l.resampled = l.resample(min(common, l.ready()), a.scratch)
				in = l.buf[:l.resampled]
			}
			a.inputs = append(a.inputs, audio.MixInput{PCM: in, Gain: 1})
		}
		n = a.mixer.Mix(a.out[:common], a.inputs)
		for _, l := range a.lanes {
			if l.resampled >= 0 {
				// resample has set the history: what is left is the lane's own audio.
				l.n = copy(l.buf, l.buf[l.resampled:l.n])
			} else {
				l.drop(min(l.n, n))
			}
		}
	}
	a.realign(live)
	return a.out[:n]
}

// realign sums each lane's queue after this tick's mix and, at the end of each realignWindow,
// sets its target rate from its mean lead beyond mixLead. A window in which nobody was delivering
// at some tick (live false: everything was flushed) sets none. The mean, not the least, since
// the least jumps by a packet whenever two senders' packets pass each other (every 20 s for two
// sound cards 1000 ppm apart), and the rate, and the lane's pitch, would jump with it.
func (a *alignedMix) realign(live bool) {
	for _, l := range a.lanes {
		switch {
		case !live:
			l.queued = -1
		case a.ticks == 0:
			l.queued = l.n
		case l.queued >= 0:
			l.queued += l.n
		}
	}
	if a.ticks++; a.ticks < realignWindow {
		return
	}
	a.ticks = 0
	for _, l := range a.lanes {
		lead := float64(l.queued) / realignWindow
		l.target = min(maxRealignRate, max(0, lead-mixLead)/(realignSeconds*audio.SampleRate))
		l.queued = -1
	}
}

// resampling tells whether the lane is played through the resampler this tick: while it is
// played faster (rate) and until its read position is back on a sample (pos 0). Otherwise the
// lane is mixed as it arrived, sample for sample.
func (l *mixLane) resampling() bool { return l.rate > 0 || l.pos > 0 }

// ready is how many samples resample can make of the lane at most: the kernel reaches
// sincTaps/2 samples past the read position, and reading past what the lane holds (an edge
// sample repeated in their place) was a glitch at the end of every tick.
func (l *mixLane) ready() int { return max(0, int(float64(l.n-sincTaps/2)-l.pos)) }

// resample makes the lane's first out samples (at most ready) those read from it at 1+rate
// samples a step from pos, through a windowed-sinc interpolator, and returns out; the read
// samples are gone, the rest follow the out made ones. The sinc is flat to past the mix
// analyser's 9 kHz whatever the fraction, where a short one (linear, cubic) dims the high bands
// between samples and not on them, a swell at the rate the read position slides through
// samples. It reads no further than the lane holds (a lane with little queued is played at its
// pace). Once rate is back to 0 one tick's step brings pos onto a sample (up or down, whichever
// is nearer: at most half a sample over the tick, a rate far below maxRealignRate), and the
// lane leaves the resampler. scratch holds a copy of what it reads, after the lane's history;
// nothing is allocated.
func (l *mixLane) resample(out int, scratch []float32) int {
	out = min(out, l.ready())
	if out < 1 || sincTaps/2+l.n > len(scratch) {
		return 0
	}
	avail := float64(l.n-sincTaps/2) - l.pos // samples the read position may advance
	step := min(1+l.rate, max(1, avail/float64(out)))
	end := l.pos + float64(out)*step
	if l.rate == 0 && l.target == 0 && l.pos > 0 && float64(out)*maxRealignRate >= 0.5 {
		// Back on a sample: end at the nearer whole one.
		end = math.Round(l.pos + float64(out))
		step = (end - l.pos) / float64(out)
	}
	read := min(int(end), l.n-sincTaps/2)
	x := scratch[:sincTaps/2+l.n]
	copy(x, l.history[:])
	copy(x[sincTaps/2:], l.buf[:l.n])
	for i := range out {
		at := l.pos + float64(i)*step
		j := int(at)
		ph := (at - float64(j)) * sincPhases
		q := min(int(ph), sincPhases-1)
		w := float32(ph - float64(q))
		k0, k1 := sincTable[q][:], sincTable[q+1][:]
		var acc float32
		base := j + 1 // x[base+k] is the sample k-sincTaps/2+1 from j
		for k := range sincTaps {
			acc += x[base+k] * (k0[k] + w*(k1[k]-k0[k]))
		}
		l.buf[i] = acc
	}
	// pos stays within [0, 1): the fraction past the next sample to read.
	l.pos = min(max(0, end-float64(read)), math.Nextafter(1, 0))
	if l.rate == 0 && l.target == 0 && l.pos < 1e-9 {
		l.pos = 0
	}
	// The history is the sincTaps/2 samples before the next read.
	copy(l.history[:], x[read:read+sincTaps/2])
	l.n = out + copy(l.buf[out:], x[sincTaps/2+read:])
	return out
}

// sincTaps is the resampler's length: sincTaps/2 samples either side of the read position.
const sincTaps = 16

// sincPhases is how many fractions of a sample sincTable holds; between two it is interpolated.
const sincPhases = 256

// sincTable is the resampler's kernel by fraction: sincTable[q][k] weighs the sample k-7 from the
// one before the read position, for a position q/sincPhases past it. Blackman-windowed sinc.
var sincTable = func() (t [sincPhases + 1][sincTaps]float32) {
	for q := range t {
		frac := float64(q) / sincPhases
		var sum float64
		var row [sincTaps]float64
		for k := range sincTaps {
			x := float64(k-sincTaps/2+1) - frac
			v := 1.0
			if x != 0 {
				v = math.Sin(math.Pi*x) / (math.Pi * x)
			}
			u := (x + sincTaps/2) / sincTaps // 0..1 across the window
			v *= 0.42 - 0.5*math.Cos(2*math.Pi*u) + 0.08*math.Cos(4*math.Pi*u)
			row[k] = v
			sum += v
		}
		for k := range row {
			t[q][k] = float32(row[k] / sum)
		}
	}
	return t
}()

// drop discards the lane's k oldest samples; the last sincTaps/2 of them stay the history the
// resampler reads before buf[0] when the lane is realigned next.
func (l *mixLane) drop(k int) {
	if k >= sincTaps/2 {
		copy(l.history[:], l.buf[k-sincTaps/2:k])
	} else if k > 0 {
		copy(l.history[:], l.history[k:])
		copy(l.history[sincTaps/2-k:], l.buf[:k])
	}
	l.n = copy(l.buf, l.buf[k:l.n])
}
