package effect

import (
	"math"
	"time"
)

// The photosensitive-epilepsy limit (WCAG 2.3.1 "three flashes or below threshold", Ofcom's
// guidance note on flashing images, ITU-R BT.1702): no more than three flashes in any one
// second, of either of two kinds, counted apart. A general flash is a pair of opposing changes
// in relative luminance of at least 10 % of the maximum where the darker state is below 0.8 of
// it; a red flash is a pair of opposing changes of (R−G−B)·320 (linear 0–1 values, over the
// saturated red, at least 80 % of R+G+B) of at least 20, whatever the darker state. The red rule
// is its own count, not a part of luminance: red↔white or red↔yellow swings little or the wrong
// way in luminance and is still a red flash. A strip seen across a dark room fills much of the
// visual field, so every whole-strip swing counts, whatever drew it: a pulse on every drum hit,
// a host strobing its led-update frames, notes flickering over most of the strip.
const (
	flashWindow      = time.Second
	flashesPerWindow = 3
)

// flashRule is one of the two thresholds a flash is counted against.
type flashRule struct {
	swing     float32 // a change that counts
	darkBelow float32 // a change counts only when its darker state is below this
	// headroom is how far a rise the guard holds back may still go above the trough: under a
	// counted swing, so music still moves the light a little. It is kept a little further
	// under for red, whose 8-bit steps are coarse (320/255 per step of a channel).
	headroom float32
}

var (
	generalFlash = flashRule{swing: 0.1, darkBelow: 0.8, headroom: 0.09}
	redFlash     = flashRule{swing: 20, darkBelow: float32(math.Inf(1)), headroom: 16}
)

// flashZones is how many equal parts of the strip the guard also judges on their own: a host
// strobing the two halves in antiphase keeps the whole strip's mean level steady, yet each half
// flashes. Four, not more: a quarter of a strip across a room is still much of the visual field,
// and the smaller the part, the more one note's own flicker (24 LEDs wide by default) would count
// as a flash of it.
const flashZones = 4

// zoneRedMinLEDs is the fewest LEDs a zone must have to be judged by the red rule as well. The
// red measure steps where an LED's colour crosses the 80 % red line (an LED of a rainbow, at
// 191·320/255 = 240, over the zone's LEDs), and in a zone of a few LEDs a rainbow drifting past
// steps by more than 20 several times a second though no part of the strip flashes; from 16 LEDs
// one LED's step is under 20. A shorter strip's red is judged over the whole strip only.
const zoneRedMinLEDs = 16

// flashGuard is the last stage of a strip's output: it measures each frame as it leaves for the
// strip (after gamma, the brightness cap and the current limit, in LED duty, which is linear in
// emitted light as relative luminance is), counts the swings that make general and red flashes
// over a rolling second, each on its own, over the whole strip and over each of its flashZones
// (see zoneRedMinLEDs), and once a further rise would make a fourth flash of either kind in that
// second, in the whole strip or a zone, holds that zone (or, for the whole, the frame) down to
// just above the trough it rises from. Falls always pass: holding a bright strip up is no safer,
// and a fall cannot start a flash. It is a plain value (Renderer copies it) and allocates
// nothing.
type flashGuard struct {
	started bool
	whole   levelGuard
	zones   [flashZones]levelGuard
}

// levelGuard counts one part of the strip's changes against both rules.
type levelGuard struct{ general, red zigzag }

// zigzag follows one level (luminance or the red measure) through its counted changes. A rise is
// let through only while the last second holds at most four of them, so that it and the fall
// that follows make at most six: three flashes.
type zigzag struct {
	// settled is false until the first counted change, while no direction is known yet: then
	// first and extreme are the lowest and highest levels seen, so that a first rise or a
	// first fall counts alike.
	settled bool
	first   float32
	rising  bool         // the last counted change was a rise: extreme is the peak since
	extreme float32      // the trough (falling) or peak (rising) since the last counted change
	changes [6]time.Time // the newest counted changes, a ring
	next    int          // where changes' next entry goes
}

// levels is a part of a frame as the guard measures it.
type levels struct{ y, red float32 }

// apply measures frame (bpp bytes per LED), scales down the zones that would rise into a flash
// over the limit (all of them for the whole strip), and records it; it reports whether it
// scaled any.
func (g *flashGuard) apply(frame []byte, bpp int, now time.Time) (held bool) {
	leds := len(frame) / bpp
	whole, zones := measureZones(frame, bpp)
	if !g.started {
		g.started = true
		g.whole.start(whole)
		for z := range g.zones {
			g.zones[z].start(zones[z])
		}
		return false
	}
	kWhole := g.whole.scale(whole, true, now)
	judgeRed := leds/flashZones >= zoneRedMinLEDs
	for z := range g.zones {
		if k := min(kWhole, g.zones[z].scale(zones[z], judgeRed, now)); k < 1 {
			scaleFrame(frame[z*leds/flashZones*bpp:(z+1)*leds/flashZones*bpp], k)
			held = true
		}
	}
	if held {
		// Measured again, not scaled: rounding each channel down can raise R−G−B.
		whole, zones = measureZones(frame, bpp)
	}
	g.whole.record(whole, now)
	for z := range g.zones {
		g.zones[z].record(zones[z], now)
	}
	return held
}

func (l *levelGuard) start(v levels) {
	l.general.start(v.y)
	l.red.start(v.red)
}

// scale is the factor (at most 1) that keeps v within the limit of the general rule and, if
// judgeRed, the red rule.
func (l *levelGuard) scale(v levels, judgeRed bool, now time.Time) float32 {
	k := float32(1)
	if c := l.general.ceiling(generalFlash, v.y, now); c < v.y {
		k = c / v.y
	}
	if !judgeRed {
		return k
	}
	if c := l.red.ceiling(redFlash, v.red, now); c < v.red {
		k = min(k, c/v.red)
	}
	return k
}

func (l *levelGuard) record(v levels, now time.Time) {
	l.general.record(generalFlash, v.y, now)
	l.red.record(redFlash, v.red, now)
}

func (z *zigzag) start(v float32) { z.first, z.extreme = v, v }

// ceiling is the highest level v may rise to now without making a change over the limit: v
// itself (or more) when it would not.
func (z *zigzag) ceiling(rule flashRule, v float32, now time.Time) float32 {
	if !z.settled || z.rising || v-z.extreme < rule.swing || z.extreme >= rule.darkBelow {
		return v // the first change, a further rise, no counted rise: within the limit
	}
	if z.recent(now) <= 2*flashesPerWindow-2 {
		return v
	}
	return z.extreme + rule.headroom
}

// record follows v, the level as the strip shows it, counting the changes it makes.
func (z *zigzag) record(rule flashRule, v float32, now time.Time) {
	if !z.settled {
		lo, hi := min(z.first, v), max(z.extreme, v)
		switch {
		case hi-v >= rule.swing && v < rule.darkBelow:
			z.settled, z.rising, z.extreme = true, false, v
			z.count(now)
		case v-lo >= rule.swing && lo < rule.darkBelow:
			z.settled, z.rising, z.extreme = true, true, v
			z.count(now)
		default:
			z.first, z.extreme = lo, hi
		}
		return
	}
	if z.rising {
		if v > z.extreme {
			z.extreme = v
		} else if z.extreme-v >= rule.swing && v < rule.darkBelow {
			z.count(now)
			z.rising, z.extreme = false, v
		}
		return
	}
	if v < z.extreme {
		z.extreme = v
	} else if v-z.extreme >= rule.swing && z.extreme < rule.darkBelow {
		z.count(now)
		z.rising, z.extreme = true, v
	}
}

// count records a change at now.
func (z *zigzag) count(now time.Time) {
	z.changes[z.next] = now
	z.next = (z.next + 1) % len(z.changes)
}

// recent is the number of counted changes less than flashWindow before now.
func (z *zigzag) recent(now time.Time) int {
	n := 0
	for _, t := range z.changes {
		if !t.IsZero() && now.Sub(t) < flashWindow {
			n++ // a clock stepped back counts as recent: the cautious side
		}
	}
	return n
}

// measureZones is the frame's levels, whole and in each of flashZones equal runs of LEDs (a
// strip shorter than that has empty zones, at 0). Luminance is the mean relative luminance, 0–1;
// the red measure the mean of (R−G−B)·320 over the LEDs that are saturated red (R at least 80 %
// of R+G+B), 0 elsewhere. Bytes are linear duty, 0–1 of 255; an RGBW LED's white channel lights
// all three.
func measureZones(frame []byte, bpp int) (whole levels, zones [flashZones]levels) {
	leds := len(frame) / bpp
	if leds == 0 {
		return whole, zones
	}
	for z := range zones {
		from, to := z*leds/flashZones, (z+1)*leds/flashZones
		if from == to {
			continue
		}
		var y, red float32
		for i := from * bpp; i < to*bpp; i += bpp {
			r, g, b := float32(frame[i]), float32(frame[i+1]), float32(frame[i+2])
			if bpp == 4 {
				w := float32(frame[i+3])
				r, g, b = r+w, g+w, b+w
			}
			y += 0.2126*r + 0.7152*g + 0.0722*b
			if r > 0 && r >= 0.8*(r+g+b) {
				red += r - g - b
			}
		}
		whole.y, whole.red = whole.y+y, whole.red+red
		n := 255 * float32(to-from)
		zones[z] = levels{y: y / n, red: 320 * red / n}
	}
	n := 255 * float32(leds)
	return levels{y: whole.y / n, red: 320 * whole.red / n}, zones
}

// frameLuminance is a frame's mean relative luminance, 0–1.
func frameLuminance(frame []byte, bpp int) float32 {
	whole, _ := measureZones(frame, bpp)
	return whole.y
}

// scaleFrame multiplies every byte of frame by k (0–1), rounding down.
func scaleFrame(frame []byte, k float32) {
	if !(k < 1) {
		return
	}
	m := uint32(max(k, 0) * 65536)
	for i, v := range frame {
		frame[i] = uint8(uint32(v) * m >> 16)
	}
}
