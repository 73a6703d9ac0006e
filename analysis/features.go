package analysis

import "math"

// SampleRate is the rate, in Hz, of every PCM block the analysis engine accepts.
const SampleRate = 48000

// FrameRate is the number of analysis frames per second (one per LED tick).
const FrameRate = 60

// MaxNotes bounds how many simultaneous notes one source reports in a frame.
// Features carries them in a fixed array so that a frame costs no allocation.
const MaxNotes = 8

// NumBands is the number of spectrum bands, laid out as WLED's audio-reactive
// sound sync does (GEQ channels, 43 Hz to 9.3 kHz).
const NumBands = 16

// Note is one sounding note in a frame.
type Note struct {
	MIDI     int     // MIDI note number (69 = A4)
	Hz       float32 // measured fundamental frequency in Hz
	Velocity float32 // loudness 0–1
	Onset    bool    // the note started or was re-attacked in this frame
}

// Features is what one source (a musician or the mix) yields at one 60 fps tick.
// It is a plain value: copying it copies everything, and filling it allocates nothing.
type Features struct {
	// T is the time, in seconds since the source's first sample, of the newest
	// sample this frame used.
	T float64
	// Notes holds NumNotes active notes, loudest first.
	Notes    [MaxNotes]Note
	NumNotes int
	// Level is the RMS of the newest analysis block, 0–1 (full scale sine ≈ 0.707).
	Level float32
	// Bands is the spectrum in NumBands bands, each 0–1.
	Bands [NumBands]float32
	// PeakHz is the frequency of the strongest spectral peak, 0 when silent.
	PeakHz float32
	// Onset reports a percussive or tonal attack in this frame (beat flag).
	Onset bool
	// Attack reports a sudden rise of the signal level within the audio that arrived since the
	// previous frame: the earliest sign of a new sound, a tick or two before the spectral onset
	// (Onset) and the pitch can be trusted. Effects use it for the first light of a note.
	Attack bool
	// AttackLevel is the RMS of the loudest 5 ms of that rise (0 without an Attack): a note that
	// began in the last milliseconds of the audio is still a small part of Level.
	AttackLevel float32
	// VelocityDepthDB is how far below full scale a velocity of 0 lay for this source at this
	// tick: 60 dB on an ordinary feed, down to the note bar on a quiet one. LevelVelocity reads
	// it, so that a quiet feed's unpitched hits are as bright as its notes.
	VelocityDepthDB float32
	// LoudnessDB is the source's recent loudness in dBFS on the notes' amplitude scale (a
	// full-scale sine is 0): the loudest Level of the last seconds, falling 6 dB a second, at
	// least SilenceDB. Effects read it against NoiseFloorDB to tell a steady sound from music
	// (effect.noiseLift), and fall back on it before a source's loudness is known. 0 in a frame
	// built by hand: full scale.
	LoudnessDB float32
	// NoiseFloorDB is the source's noise floor on the same scale: the quietest level of the
	// last 6 s (hiss, hum, or the music's own quietest moments), or LoudnessDB while it is not
	// known yet (a feed's first half second, or after digital silence). Effects lift what no
	// note bar has judged (unpitched hits, spectrum bands) no further than keeps the floor dim.
	// 0 in a frame built by hand.
	NoiseFloorDB float32
}

// SilenceDB is the lowest LoudnessDB and NoiseFloorDB: below a 24-bit sample's last bit.
const SilenceDB = -150

// ampDB is an amplitude in dB, at least SilenceDB.
func ampDB(amp float64) float32 {
	if !(amp > 0) || math.IsInf(amp, 0) {
		return SilenceDB
	}
	return float32(max(20*math.Log10(amp), SilenceDB))
}

// LevelVelocity puts an RMS level (Level or AttackLevel; a full-scale sine is
// 0.707) on the frame's velocity scale, the one its notes were reported on.
// A frame that does not carry its depth (one built by hand) uses the
// ordinary feed's 60 dB.
func (f *Features) LevelVelocity(rms float32) float32 {
	if !(rms > 0) {
		return 0
	}
	return velocity(float64(rms)*math.Sqrt2, float64(f.VelocityDepth()))
}

// VelocityDepth is VelocityDepthDB, or the ordinary feed's 60 dB in a frame that does not carry
// it (one built by hand, or garbage).
func (f *Features) VelocityDepth() float32 {
	if d := f.VelocityDepthDB; d >= minVelocityRangeDB { // false for NaN
		return d
	}
	return minVelocityRangeDB
}

// ActiveNotes returns the frame's notes as a slice aliasing f.
func (f *Features) ActiveNotes() []Note { return f.Notes[:f.NumNotes] }
