package color

import (
	"errors"
	"fmt"
	"math"
)

// Mode selects how a note becomes a colour.
type Mode int

const (
	// ModeUnknown is the zero value; a Palette treats it as ModeNote.
	ModeUnknown Mode = iota
	// ModeNote puts the 12 pitch classes around the hue wheel (C red, then every
	// semitone 30° further); the octave shifts lightness (higher is lighter).
	ModeNote
	// ModeMusician gives every musician a hue of their own; the 12 pitch classes
	// share MusicianSpread degrees centred on it (no more than keeps the first 8
	// musicians' notes apart on a strip) and the octave shifts lightness.
	ModeMusician
	// ModeSpectrum maps frequency to a rainbow position: low notes red, high violet.
	ModeSpectrum
)

// ErrUnknownMode indicates a colour mode name other than note, musician or spectrum.
var ErrUnknownMode = errors.New("unknown colour mode (want note, musician or spectrum)")

// ModeNames are the colour mode names ParseMode reads, as a config file spells them.
var ModeNames = []string{"note", "musician", "spectrum"}

// ParseMode reads a colour mode name as the config file spells it.
func ParseMode(s string) (Mode, error) {
	switch s {
	case "note", "":
		return ModeNote, nil
	case "musician":
		return ModeMusician, nil
	case "spectrum":
		return ModeSpectrum, nil
	}
	return ModeUnknown, fmt.Errorf("color: parse mode %q: %w", s, ErrUnknownMode)
}

func (m Mode) String() string {
	switch m {
	case ModeNote:
		return "note"
	case ModeMusician:
		return "musician"
	case ModeSpectrum:
		return "spectrum"
	}
	return "unknown"
}

// Frequency range of the spectrum colour mode, matching the analysis bands
// (WLED's GEQ channels span 43 Hz to 9.3 kHz).
const (
	SpectrumLowHz  = 43
	SpectrumHighHz = 9300
)

// Defaults used when a Palette field is zero.
const (
	DefaultMusicianSpread = 60        // degrees
	goldenAngle           = 137.50776 // degrees; consecutive musicians land far apart on the wheel
	spectrumHueSpan       = 270       // degrees: red (low) through violet (high), not back to red
)

// Palette is a colour mode with its settings. The zero value is ModeNote.
// The strips and the status page use the same Palette so that a note shows the
// same colour in both places.
type Palette struct {
	Mode Mode
	// MusicianSpread is the arc of hue, in degrees as a strip shows it, the 12 pitch
	// classes share in ModeMusician, centred on the musician's own hue: neighbouring
	// classes are MusicianSpread/12 apart. Each musician's arc is bounded by its room
	// between its neighbours (22.5° for six of the first 8 musicians, 42.5° for
	// two), so that no two musicians' notes show hues closer than 10°. 0 means
	// DefaultMusicianSpread.
	MusicianSpread float32
	// gamma is the exponent of the strip the hues are laid out for (see ForGamma); 0 means
	// DefaultGamma.
	gamma float32
}

// ForGamma returns p laid out for a strip whose colours go through gamma g (0 means
// DefaultGamma): in ModeMusician the musicians' hues and their notes' arcs keep their spacing
// as that strip shows them. A Palette's zero layout is DefaultGamma's, which is also about a
// screen's own gamma (sRGB), so NoteRGB of it shows on a screen the hue a strip of any gamma
// shows with the palette laid out for that gamma.
func (p Palette) ForGamma(g float32) Palette {
	p.gamma = g
	return p
}

// exponent is the gamma p is laid out for.
func (p Palette) exponent() float32 {
	if !(p.gamma > 0) {
		return DefaultGamma
	}
	return p.gamma
}

// Note returns the full-brightness colour of MIDI note midi played by
// musician (0-based index; it only matters in ModeMusician).
func (p Palette) Note(musician, midi int) RGBF {
	return p.noteF(musician, float32(midi))
}

// NoteRGB is Note rounded to 8 bits before any gamma correction: the colour a
// screen should show for the note (screens apply their own gamma), which is
// what the status page uses to colour notes "as the strips colour them".
func (p Palette) NoteRGB(musician, midi int) RGB { return p.Note(musician, midi).RGB8() }

// Freq returns the colour of a frequency in Hz, as Note does for a MIDI note.
// Frequencies that are not positive and finite (unpitched sounds) are white.
func (p Palette) Freq(musician int, hz float32) RGBF {
	if !(hz > 0) || math.IsInf(float64(hz), 0) {
		if p.Mode == ModeMusician {
			return HSL(fromShownHue(musicianShownHue(musician), p.exponent(), 0.5), 1, 0.5)
		}
		return RGBF{1, 1, 1}
	}
	return p.noteF(musician, 69+12*float32(math.Log2(float64(hz)/440)))
}

func (p Palette) noteF(musician int, midi float32) RGBF {
	if midi != midi {
		return RGBF{1, 1, 1}
	}
	nearest := int(math.Round(float64(midi)))
	pc := ((nearest % 12) + 12) % 12
	switch p.Mode {
	case ModeSpectrum:
		hz := 440 * math.Exp2(float64(midi-69)/12)
		t := math.Log(hz/SpectrumLowHz) / math.Log(SpectrumHighHz/SpectrumLowHz)
		return HSL(spectrumHueSpan*Clamp01(float32(t)), 1, 0.5)
	case ModeMusician:
		spread := p.MusicianSpread
		if spread == 0 {
			spread = DefaultMusicianSpread
		}
		// Each pitch class takes the middle of its twelfth of the arc: (pc/11)
		// would put C and B at the arc's two ends, one hue when the arc is 360°.
		// The arc is laid out in hue as the strip shows it, and no wider than the
		// musician's room between its neighbours.
		arc := min(spread, musicianRoom(musician))
		shown := musicianShownHue(musician) + ((float32(pc)+0.5)/12-0.5)*arc
		lightness := octaveLightness(nearest)
		return HSL(fromShownHue(shown, p.exponent(), lightness), 1, lightness)
	default:
		return HSL(PitchClassHue(pc), 1, octaveLightness(nearest))
	}
}

// PitchClassHue is the hue, in degrees, of pitch class pc (0 = C … 9 = A … 11 = B)
// in ModeNote: 30° per semitone starting from red at C.
func PitchClassHue(pc int) float32 { return float32(((pc%12)+12)%12) * 30 }

// MusicianHue is musician i's own hue in ModeMusician: successive musicians are
// a golden angle apart as a strip shows them (after DefaultGamma; see Palette.ForGamma
// for another) so that any few of them look clearly different.
func MusicianHue(i int) float32 { return fromShownHue(musicianShownHue(i), DefaultGamma, 0.5) }

// musicianShownHue is musician i's own hue as a strip shows it.
func musicianShownHue(i int) float32 {
	i = max(i, 0)
	return wrapHue(float32(math.Mod(float64(i)*goldenAngle, 360)))
}

// Musician hues are spaced on the strip, after gamma, not in the colour's own hue: gamma pulls
// every hue towards the nearest of red, green and blue (HSL 52.5° shows as 44.8°, 137.5° as
// 124°), and golden-angle hues spaced before it left two of eight musicians 6.8° apart on the
// strip. The spacing is in shown hue, which a colour laid out through the strip's own gamma
// (Palette.ForGamma) shows exactly at any gamma and lightness, so the rooms below hold at every
// gamma; laid out for 2.2 whatever the strip's gamma, at 3.5 two musicians' notes showed 3.1°
// apart, at 5 on one hue. The pitch classes' arc (MusicianSpread) is bounded as well: a
// musician's notes stay within their room, the shown gap to the nearest of the first peerCap
// musicians less musicianSeparation, so no two musicians' arcs come closer than
// musicianSeparation. (A 60° spread around hues 52.5° apart put musician 0's A# 1.8° from
// musician 3's C.) Of eight musicians, six have 22.5° of room and two 42.5°; the first four
// are at least 20° apart.
const (
	peerCap            = 8  // the most musicians a room holds by default (webrtc.max_peers)
	musicianSeparation = 10 // degrees of shown hue between two musicians' arcs, at the least
)

// musicianRooms is the room of each of the first peerCap musicians; musicianRooms[peerCap],
// the least of them, is every later musician's.
var musicianRooms = func() (rooms [peerCap + 1]float32) {
	rooms[peerCap] = 360
	for i := range peerCap {
		gap := float32(360)
		for j := range peerCap {
			if j != i {
				d := float32(math.Abs(float64(musicianShownHue(i) - musicianShownHue(j))))
				gap = min(gap, d, 360-d)
			}
		}
		rooms[i] = max(gap-musicianSeparation, 0)
		rooms[peerCap] = min(rooms[peerCap], rooms[i])
	}
	return rooms
}()

// musicianRoom is the widest arc of shown hue musician i's notes may spread over.
func musicianRoom(i int) float32 { return musicianRooms[min(max(i, 0), peerCap)] }

// fromShownHue is the hue whose fully saturated colour of HSL lightness l a strip of gamma g
// shows as hue shown. Within each sixth of the wheel one channel is full, one at the least
// a = max(2l−1, 0), and the third between them; the strip raises each to g, and the hue it shows
// is where the third's power lies between the other two's. So the third channel is the g-th root
// of that point between a^g and 1 (for the pure hues, a = 0, the plain root). It keeps the
// primaries and secondaries (0°, 60°, …) where they are. A lighter colour laid out as a pure
// one drifted towards the primaries the more, the higher the gamma.
func fromShownHue(shown, g, l float32) float32 {
	shown = wrapHue(shown)
	sixth := float32(math.Floor(float64(shown / 60)))
	t := float64(shown/60 - sixth) // the shown fraction of the sixth
	rising := int(sixth)%2 == 0    // the third channel rises through the sixth, or falls
	if !rising {
		t = 1 - t
	}
	a := math.Max(2*float64(l)-1, 0)
	if a >= 1 {
		return shown // white: no hue to lay out
	}
	ag := math.Pow(a, float64(g))
	f := (math.Pow(ag+t*(1-ag), 1/float64(g)) - a) / (1 - a) // the third channel's HSL fraction
	if !rising {
		f = 1 - f
	}
	return wrapHue(60 * (sixth + float32(f)))
}

// octaveLightness maps octave 4 (middle C up to B4) to lightness 0.5 (the pure
// hue); each octave up or down moves it 0.08, bounded so that every note keeps
// its hue recognisable.
func octaveLightness(midi int) float32 {
	octave := midi/12 - 1
	if midi < 0 {
		octave = -1
	}
	l := 0.5 + 0.08*float32(octave-4)
	return min(max(l, 0.3), 0.7)
}
