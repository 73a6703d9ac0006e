package audio

import "math"

// Packet-loss concealment for the codecs without their own (G.711, G.722), after ITU-T G.711
// Appendix I, on the codec's own samples (8 or 16 kHz), before the upsampler, so that the
// upsampler's history stays continuous too; and for Opus after SILK and hybrid packets, at
// 48 kHz (see opusDecoder.Conceal). Durations in ms:
const (
	plcHistoryMs      = 40 // audio kept for the pitch search: the longest lag plus the window, and a margin
	plcWindowMs       = 20 // compared with itself one lag earlier
	plcMaxLagMs       = 15 // 67 Hz
	plcFullGainMs     = 10 // the first 10 ms of a loss are repeated at full level,
	plcFadeOutMs      = 50 // then the level falls linearly to silence in 50 ms (20 % per 10 ms)
	plcCrossfadeMs    = 4  // the next decoded packet fades in over 4 ms
	plcMaxRate        = SampleRate
	plcSearchRate     = 8000  // above plcFullSearchRate, the pitch is first searched at this rate (see pitch)
	plcFullSearchRate = 16000 // up to this rate (G.711, G.722), every lag is tried
	plcMaxPitchHz     = 400   // the highest pitch repeated as one period (2.5 ms); above, several
)

// pitchConcealer fills lost packets by repeating the last pitch period of the decoded audio,
// found by autocorrelation, at full level for 10 ms and then fading out over 50 ms, and
// crossfades the concealment into the next decoded packet. A sustained note thus goes on
// through a lost packet at its pitch and level, as it does through Opus's own concealment:
// replaying the last 10 ms at half the level made every lost packet a dip and a click, and
// the recovery to full level an attack, which the analyser read as a new note. The period is
// found to a fraction of a sample and read between samples: an integer period drifts from the
// note by up to half a sample per period, a click at the end of a loss and, for G.722, an
// ADPCM state that no longer follows the note (see g722Decoder.Conceal). Everything is in fixed
// arrays: concealing allocates nothing.
type pitchConcealer struct {
	rate    int                                          // samples per second: 8000, 16000 or 48000
	hist    [plcMaxRate * plcHistoryMs / 1000]float32    // the latest decoded audio, newest last, in hist[:ms(plcHistoryMs)]
	coarse  [plcSearchRate * plcHistoryMs / 1000]float32 // hist averaged down to plcSearchRate, for pitch
	filled  int                                          // of that, at its end
	lag     float64                                      // the pitch period being repeated, in samples; 0 for silence
	phase   float64                                      // where in the period the next sample is, [0, lag)
	elapsed int                                          // samples concealed since the last decoded packet
}

func newPitchConcealer(rate int) pitchConcealer { return pitchConcealer{rate: rate} }

func (c *pitchConcealer) ms(ms int) int { return c.rate * ms / 1000 }

// reset forgets the history (a decoder reset).
func (c *pitchConcealer) reset() { *c = pitchConcealer{rate: c.rate} }

// decoded crossfades from the concealment into pcm, the first audio decoded after a loss, and
// records pcm (so modified) as the latest audio.
func (c *pitchConcealer) decoded(pcm []float32) {
	if c.elapsed > 0 && c.lag > 0 {
		n := min(len(pcm), c.ms(plcCrossfadeMs))
		for i := range n {
			w := float32(i+1) / float32(n+1)
			pcm[i] = w*pcm[i] + (1-w)*c.next()
		}
	}
	c.lag, c.phase, c.elapsed = 0, 0, 0
	c.record(pcm)
}

// record appends pcm to the history.
func (c *pitchConcealer) record(pcm []float32) {
	hist := c.hist[:c.ms(plcHistoryMs)]
	if len(pcm) >= len(hist) {
		copy(hist, pcm[len(pcm)-len(hist):])
	} else {
		copy(hist, hist[len(pcm):])
		copy(hist[len(hist)-len(pcm):], pcm)
	}
	c.filled = min(len(hist), c.filled+len(pcm))
}

// conceal fills pcm, the audio of lost packets, with the repeated period.
func (c *pitchConcealer) conceal(pcm []float32) {
	c.prepare()
	for i := range pcm {
		pcm[i] = c.next()
	}
}

// prepare picks the period to repeat at the start of a loss.
func (c *pitchConcealer) prepare() {
	if c.elapsed == 0 {
		c.lag, c.phase = c.pitch(), 0
	}
}

// next is the next concealed sample.
func (c *pitchConcealer) next() float32 {
	v := c.peek(0)
	if c.lag > 0 {
		if c.phase++; c.phase >= c.lag {
			c.phase -= c.lag
		}
	}
	c.elapsed++
	return v
}

// peek is the concealed sample ahead samples after the next one, which it leaves next: the
// period repeated, faded by how long the loss will then have lasted. The loss must be prepared.
func (c *pitchConcealer) peek(ahead int) float32 {
	if c.lag == 0 {
		return 0
	}
	gain := float32(1)
	if over, fade := c.elapsed+ahead-c.ms(plcFullGainMs), c.ms(plcFadeOutMs); over >= fade {
		return 0
	} else if over > 0 {
		gain = 1 - float32(over)/float32(fade)
	}
	return c.period(ahead) * gain
}

// period is the repeated period's sample ahead samples after the next, at full level, read
// between the history's samples (linearly). The loss must be prepared, and not silent (lag > 0).
func (c *pitchConcealer) period(ahead int) float32 {
	end := c.ms(plcHistoryMs)
	at := float64(end) - c.lag + math.Mod(c.phase+float64(ahead), c.lag)
	if at > float64(end-1) {
		at -= c.lag // past the newest sample: the same point one period earlier
	}
	i := int(at)
	if i >= end-1 {
		return c.hist[end-1]
	}
	frac := float32(at - float64(i))
	return c.hist[i] + frac*(c.hist[i+1]-c.hist[i])
}

// pitch is the period (in samples, to a fraction of one) whose repetition best continues the
// history: the lag of the highest correlation of its last 20 ms with the audio one lag earlier,
// normalised by that audio's energy (G.711 Appendix I), between 2.5 and 15 ms, refined by a
// parabola through its neighbours' scores. With too little history, what there is; 0 (silence)
// if it is silent. Above 16 kHz the lag is first found on the history averaged down to 8 kHz,
// then among the lags within one 8 kHz sample of it at the full rate: at 48 kHz, 0.08 ms a loss
// on a 2.5 GHz Xeon (G.722's search at 16 kHz takes 0.05 ms), where trying every lag took 0.7 ms.
func (c *pitchConcealer) pitch() float64 {
	window, lo, hi := c.ms(plcWindowMs), c.rate/plcMaxPitchHz, c.ms(plcMaxLagMs)
	if c.filled < window+hi+1 {
		return float64(min(c.filled, hi))
	}
	hist := c.hist[:c.ms(plcHistoryMs)]
	from, to := lo, hi
	if f := c.rate / plcSearchRate; c.rate > plcFullSearchRate {
		coarse := c.coarse[:len(hist)/f] // ends where hist does: len(hist) is a multiple of f
		for i := range coarse {
			var sum float32
			for _, v := range hist[i*f : (i+1)*f] {
				sum += v
			}
			coarse[i] = sum / float32(f)
		}
		lag, _ := bestLag(coarse, window/f, lo/f, hi/f)
		if lag == 0 {
			return 0
		}
		from, to = max(lo, lag*f-f/2-1), min(hi, lag*f+f/2+1)
	}
	best, bestScore := bestLag(hist, window, from, to)
	if best == 0 {
		return 0
	}
	lag := float64(best)
	if best > lo && best < hi {
		before, after := score(hist, best-1, window), score(hist, best+1, window)
		if curve := before - 2*bestScore + after; curve < 0 {
			lag += max(-0.5, min(0.5, 0.5*(before-after)/curve))
		}
	}
	return lag
}

// bestLag is the lag in [lo, hi] of the highest score on hist, and that score; 0, 0 if none is positive.
func bestLag(hist []float32, window, lo, hi int) (int, float64) {
	best, bestScore := 0, 0.0
	for lag := lo; lag <= hi; lag++ {
		if s := score(hist, lag, window); s > bestScore {
			best, bestScore = lag, s
		}
	}
	return best, bestScore
}

// score is how well hist's last window samples match those lag earlier: their correlation over
// the square root of the earlier ones' energy, 0 if it is not positive.
func score(hist []float32, lag, window int) float64 {
	end := len(hist)
	var corr, energy float64
	for i := end - window; i < end; i++ {
		a, b := float64(hist[i]), float64(hist[i-lag])
		corr += a * b
		energy += b * b
	}
	if energy < 1e-12 || corr <= 0 {
		return 0
	}
	return corr / math.Sqrt(energy)
}
