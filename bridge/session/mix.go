package session

import (
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

// mixSkew is the most audio one musician may have queued beyond another's: 150 ms. Streams
// normally differ by a packet or two; a musician whose audio arrives in a burst after a stall, or
// whose sender's clock runs fast, is realigned by dropping its oldest audio. It exceeds mixHold by
// more than the packet or two one musician may lead by, so that the others' audio, queued while
// waiting for a musician who stopped, is mixed once mixHold lets that one go, never dropped.
const mixSkew = audio.SampleRate * 150 / 1000

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
}

func newAlignedMix() *alignedMix {
	return &alignedMix{
		byID:   map[*musician]*mixLane{},
		lanes:  make([]*mixLane, 0, 16),
		inputs: make([]audio.MixInput, 0, 16),
		mixer:  audio.NewMixer(mixLaneCap),
		out:    make([]float32, mixLaneCap),
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
			l = &mixLane{buf: make([]float32, mixLaneCap)}
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
	}
}

// mix returns this tick's mix (aliasing a buffer reused next tick; empty when there is none):
// as many samples as every musician still delivering (steady, fed within mixHold) has queued,
// or, when no one is, all that is queued. The others' queued audio is mixed in as far as it
// goes. A lane more than mixSkew ahead of the rest first drops its oldest audio down to theirs.
func (a *alignedMix) mix(now time.Time) []float32 {
	most, common, live := 0, 0, false
	for _, l := range a.lanes {
		most = max(most, l.n)
		if l.steady && now.Sub(l.lastFed) < mixHold {
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
	if common == 0 {
		return a.out[:0]
	}
	a.inputs = a.inputs[:0]
	for _, l := range a.lanes {
		a.inputs = append(a.inputs, audio.MixInput{PCM: l.buf[:min(l.n, common)], Gain: 1})
	}
	n := a.mixer.Mix(a.out[:common], a.inputs)
	for _, l := range a.lanes {
		l.drop(min(l.n, n))
	}
	return a.out[:n]
}

// drop discards the lane's k oldest samples.
func (l *mixLane) drop(k int) {
	l.n = copy(l.buf, l.buf[k:l.n])
}
