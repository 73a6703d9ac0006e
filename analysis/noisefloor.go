package analysis

import "math"

// A feed's noise floor is the quietest level it held over the last
// noiseFloorBlocks × noiseFloorBlockFrames frames (6 s): minimum statistics
// over blocks of 0.5 s, so the floor follows the gaps between notes, or the
// hiss, hum or babble that never leaves, without allocation.
const (
	noiseFloorBlockFrames = FrameRate / 2
	noiseFloorBlocks      = 12
	// noiseFloorMarginDB is how far above the noise floor a note must rise
	// on a feed whose loudness stays within narrowRangeDB of its floor: a
	// steady sound (hum, hiss, crowd babble) is its own floor, a few dB under
	// its level, and stays under the bar.
	noiseFloorMarginDB = 6
	// noiseFloorSmooth is the weight of a new frame's power in the smoothed
	// power the minimum is taken of (a time constant of 6 frames, 0.1 s):
	// a single quiet frame between the syllables of a crowd's babble is no floor.
	noiseFloorSmooth = 1.0 / 6
	// narrowRangeDB, wideRangeDB: a feed whose recent loudness rises more
	// than wideRangeDB above its floor is music over a floor (a phrase swings
	// 20–30 dB; babble 8–12, hum and hiss 1–4), and its notes need not clear
	// the floor at all: the partials of a note stand out of broadband hiss
	// far below the hiss's level. Between the two the margin shrinks
	// linearly from noiseFloorMarginDB to 0.
	narrowRangeDB, wideRangeDB = 12, 18
	// digitalSilence is a level below a 16-bit sample's last bit: a muted
	// microphone's zeros, or a file's. Such a stretch is no noise floor: after
	// a block of it the floor starts afresh, as for a new feed, so that the
	// room noise a musician unmutes into is not measured against zero.
	digitalSilence = 1e-5
)

// noiseFloor tracks the minimum of a level over the last few seconds.
type noiseFloor struct {
	blockMin [noiseFloorBlocks]float64 // the minimum of each of the last complete blocks
	cur      float64                   // the minimum of the block being filled
	n        int                       // frames in the block being filled
	next     int                       // the blockMin entry the current block replaces
	power    float64                   // the smoothed squared level; < 0 before the first frame
	silent   int                       // frames of digital silence in a row
}

func newNoiseFloor() noiseFloor {
	var f noiseFloor
	f.reset()
	return f
}

// reset forgets the history: until a block of levels is seen, the floor is +Inf.
// The count of silent frames goes on (update resets the history when it
// reaches a block).
func (f *noiseFloor) reset() {
	for i := range f.blockMin {
		f.blockMin[i] = math.Inf(1)
	}
	f.cur, f.n, f.next = math.Inf(1), 0, 0
	f.power = -1
}

// update takes this frame's level and returns the floor.
func (f *noiseFloor) update(level float64) float64 {
	if level < digitalSilence {
		if f.silent++; f.silent == noiseFloorBlockFrames {
			f.reset()
		}
		if f.silent >= noiseFloorBlockFrames {
			return math.Inf(1)
		}
	} else {
		f.silent = 0
	}
	if f.power < 0 {
		f.power = level * level
	}
	f.power += noiseFloorSmooth * (level*level - f.power)
	f.cur = min(f.cur, math.Sqrt(f.power))
	if f.n++; f.n == noiseFloorBlockFrames {
		f.blockMin[f.next] = f.cur
		f.next = (f.next + 1) % noiseFloorBlocks
		f.cur, f.n = math.Inf(1), 0
	}
	// Until a whole block has been heard the floor is unknown (+Inf): a
	// feed's first frames (and the analyser's own start-up) are no floor.
	floor := math.Inf(1)
	if f.blockMin[0] != floor {
		floor = f.cur
	}
	for _, m := range f.blockMin {
		floor = min(floor, m)
	}
	return floor
}

// floorMargin returns how far (a ratio of amplitudes) above the noise floor a
// note must rise, given the ratio of the recent loudness to the floor.
func floorMargin(loudOverFloor float64) float64 {
	r := 20 * math.Log10(loudOverFloor)
	switch {
	case !(r > narrowRangeDB): // also NaN: digital silence, 0 over 0
		return fullFloorMargin
	case r >= wideRangeDB:
		return 1
	}
	return math.Pow(10, (wideRangeDB-r)/(wideRangeDB-narrowRangeDB)*noiseFloorMarginDB/20)
}

var fullFloorMargin = math.Pow(10, noiseFloorMarginDB/20.0)
