package effect

import (
	"github.com/ledbridge/ledbridge/analysis"
	"github.com/ledbridge/ledbridge/analysis/color"
)

// A musician's input gain is not a musical choice: the same piano played into an interface set
// 30 dB lower lit its brightest LED at a quarter of the level, and two musicians' strips differed
// eightfold. So each source is lit relative to its own recent loudness (Features.LoudnessDB: the
// loudest of the last seconds, falling 6 dB/s), a slow automatic gain: a source quieter than
// gainTargetDB is lifted to it, by at most maxGainDB, as a shift along the decibel scales of
// velocities and bands (a fixed span: 60 dB on an ordinary feed). Note.Velocity itself is
// unchanged. Hiss is not blown up: notes get the whole gain, since the note bar has judged them
// before any gain; what no note bar judged (an unpitched hit, the spectrum's bands) from a steady
// source is lifted only so far that its noise floor (Features.NoiseFloorDB) stays dim (see
// noiseLift), and a band near the bottom of its scale less (see lift.band).
const (
	// gainTargetDB is the loudness (dBFS, sine-peak scale) of a well-levelled feed: a source at
	// it or above is shown as its velocities say.
	gainTargetDB = -6
	// maxGainDB lifts a feed peaking near -42 dBFS (a remote musician's low-gain interface)
	// to the target, and no quieter one further.
	maxGainDB = 36
	// floorCeilingDB is as high as a steady source's noise floor may be lifted for what no
	// note bar judged: 10 dB above the bottom of the velocity and band scales, a dim haze.
	floorCeilingDB = -50
	// steadyRangeDB is how far above its floor a source's loudness must reach to be music
	// rather than a steady sound (see noiseLift).
	steadyRangeDB = 6
	// bandScaleDB is the analyser's band scale: 0 at -60 dBFS, 1 at full scale.
	bandScaleDB = 60
)

// lift is one source's automatic gain for one frame.
type lift struct {
	db    float32 // 0 … maxGainDB
	depth float32 // the frame's velocity scale in dB
}

// noteLift is the gain for a source's notes.
func noteLift(f *analysis.Features) lift {
	return gainOf(f, min(gainTargetDB-f.LoudnessDB, maxGainDB))
}

// noiseLift is the gain for what no note bar judged. A source whose loudness stays within
// steadyRangeDB of its floor is a steady sound (hiss, hum: 1–4 dB) as much as music, and is
// lifted only so far that its floor stays dim; music swings further above its floor (dense
// playing, whose floor is its own quietest moments, by 10 dB or more) and gets the whole gain.
func noiseLift(f *analysis.Features) lift {
	g := min(gainTargetDB-f.LoudnessDB, maxGainDB)
	if !(f.LoudnessDB-f.NoiseFloorDB >= steadyRangeDB) {
		g = min(g, floorCeilingDB-f.NoiseFloorDB)
	}
	return gainOf(f, g)
}

func gainOf(f *analysis.Features, g float32) lift {
	if !(g > 0) { // also NaN
		g = 0
	}
	depth := f.VelocityDepthDB
	if !(depth >= bandScaleDB) { // a frame built by hand, or garbage
		depth = bandScaleDB
	}
	return lift{db: g, depth: depth}
}

// brightness is the perceptual brightness (0–1) of a note or hit of velocity v: the velocity
// scale is decibels, which is how eyes judge brightness too, so the gain is a shift along it.
// Nothing (v ≤ 0) stays nothing.
func (l lift) brightness(v float32) float32 {
	if !(v > 0) {
		return 0
	}
	return color.Clamp01(v + l.db/l.depth)
}

// band is a spectrum bar's height (0–1) for band value v, lifted as notes are: shifted up the
// scale by the gain. The bands' scale ends at -60 dBFS, so a plain shift would make a bar jump
// from nothing to the gain's height as its band crosses that bottom, and lift hiss just above it
// as much as music: over the lowest half of the gain's worth of the scale the shift fades in
// from nothing instead (a knee), so hiss 5 dB above -60 dBFS is lifted from 0.08 to 0.19 at the
// most gain, not to 0.58. (A quiet feed's partials below -60 dBFS are lost to the bands' scale.)
func (l lift) band(v float32) float32 {
	x := color.Clamp01(v) * bandScaleDB // dB above the scale's bottom
	h := (x + l.db) / bandScaleDB
	if knee := l.db / 2; x < knee {
		h *= x / knee
	}
	return color.Clamp01(h)
}
