package effect

import (
	"math"

	"github.com/ledbridge/ledbridge/analysis"
	"github.com/ledbridge/ledbridge/analysis/color"
)

// A musician's input gain is not a musical choice: the same piano played into an interface set
// 30 dB lower lit its brightest LED at a quarter of the level, and two musicians' strips differed
// eightfold. So each source is lit relative to its own loudness over the last ten seconds (see
// loudnessRef), a slow automatic gain: a source quieter than gainTargetDB is lifted to it, by at
// most maxGainDB, as a shift along the decibel scales of velocities and bands (a fixed span: 60 dB on an ordinary feed). Note.Velocity itself is
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

// Loudness reference: a high percentile of the source's frame levels over the last
// loudnessWindow of sound. Not the analyser's LoudnessDB, which is a recent peak falling 6 dB/s:
// a gain following that pumped (a pad under a loud 0.3 s hit dimmed from byte 193 to 110 and
// took 4.5 s to climb back) and undid every decay slower than 6 dB/s (a held A4 fading 3 dB/s
// stayed at one brightness while its velocity fell from 0.88 to 0.58). A percentile ignores a
// hit shorter than the top loudnessTop of the window, and moves a fraction of a decay's speed.
// It is kept here, per source slot, rather than in the analyser, so the analyser's output (and
// its recorded JSON) is untouched; every strip's renderer keeps the same figure from the same
// frames.
const (
	loudnessWindow = 10 * analysis.FrameRate // frames: 10 s
	// loudnessTop is the share of the window above the reference: half a second of 10, so
	// sparse playing (a note a second, lit for the first 50 ms of each) still sets it.
	loudnessTop = 20
	// loudnessBottomDB is the lowest level the histogram tells apart; a quieter frame (but
	// digital silence, which is not counted at all) counts as this.
	loudnessBottomDB = -120
)

// loudnessRef is one source's loudness reference: a histogram, in 1 dB bins, of the peak
// level (Level·√2, on the notes' amplitude scale) of its last loudnessWindow frames that were
// not digital silence (a musician who stops sending keeps the reference of their playing, so
// their first note back is lit as before). It allocates nothing.
type loudnessRef struct {
	window [loudnessWindow]uint8 // bins of the newest frames, a ring
	hist   [1 - loudnessBottomDB]uint16
	n      int    // frames in window
	next   int    // where window's next entry goes
	frame  uint64 // the renderer frame it was last updated on
	db     float32
}

// update records f's level (once per renderer frame) and returns the reference in dBFS. A frame
// built by hand (LoudnessDB and NoiseFloorDB both 0) is full scale, as Features documents.
func (l *loudnessRef) update(f *analysis.Features, frame uint64) float32 {
	if f.LoudnessDB == 0 && f.NoiseFloorDB == 0 {
		return 0
	}
	if l.frame == frame && l.n > 0 {
		return l.db // a second source on this slot this frame
	}
	l.frame = frame
	if peak := float64(f.Level) * math.Sqrt2; peak > 0 && !math.IsInf(peak, 0) {
		db := min(max(20*math.Log10(peak), loudnessBottomDB), 0)
		bin := uint8(db - loudnessBottomDB + 0.5)
		if l.n == len(l.window) {
			l.hist[l.window[l.next]]--
		} else {
			l.n++
		}
		l.window[l.next] = bin
		l.next = (l.next + 1) % len(l.window)
		l.hist[bin]++
	}
	if l.n == 0 {
		return f.LoudnessDB // nothing heard yet but silence
	}
	// The reference is the rank-th loudest frame: the top loudnessTop of a full window; of a
	// window still filling, the top half but no more than a full window's rank, so a new
	// source is judged at once by its own level, and a loud hit in its first second is not
	// taken for its loudness.
	rank, seen := min(max(l.n/2, 1), len(l.window)/loudnessTop), 0
	for bin := len(l.hist) - 1; bin >= 0; bin-- {
		if seen += int(l.hist[bin]); seen >= rank {
			l.db = float32(bin + loudnessBottomDB)
			break
		}
	}
	return l.db
}

// baseGain is the gain that brings a source whose loudness reference is refDB to the target.
func baseGain(refDB float32) float32 { return min(gainTargetDB-refDB, maxGainDB) }

// noteLift is the gain for a source's notes, whose loudness reference is refDB.
func noteLift(f *analysis.Features, refDB float32) lift {
	return gainOf(f, baseGain(refDB))
}

// hitBrightness is the brightness of a hit heard before (or without) its pitch: the frame's
// level, lifted as what no note bar judged.
func hitBrightness(f *analysis.Features, refDB float32) float32 {
	return noiseLift(f, refDB).brightness(f.LevelVelocity(max(f.Level, f.AttackLevel)))
}

// noiseLift is the gain for what no note bar judged. A source whose loudness stays within
// steadyRangeDB of its floor is a steady sound (hiss, hum: 1–4 dB) as much as music, and is
// lifted only so far that its floor stays dim; music swings further above its floor (dense
// playing, whose floor is its own quietest moments, by 10 dB or more) and gets the whole gain.
func noiseLift(f *analysis.Features, refDB float32) lift {
	g := baseGain(refDB)
	if !(f.LoudnessDB-f.NoiseFloorDB >= steadyRangeDB) {
		g = min(g, floorCeilingDB-f.NoiseFloorDB)
	}
	return gainOf(f, g)
}

func gainOf(f *analysis.Features, g float32) lift {
	if !(g > 0) { // also NaN
		g = 0
	}
	return lift{db: g, depth: f.VelocityDepth()}
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
