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

// The guard also judges parts of the strip on their own: a host strobing the two halves in
// antiphase keeps the whole strip's mean level steady, yet each half flashes. The parts are a
// quarter of the strip long, not shorter: a quarter of a strip across a room is still much of
// the visual field, and the smaller the part, the more one note's own flicker (24 LEDs wide by
// default) would count as a flash of it. They are the four quarters and the three quarters
// between them (1/8–3/8, 3/8–5/8, 5/8–7/8): a light straddling two fixed quarters is half of
// each, under a counted swing in both, and flashed 10 times a second unjudged; every
// quarter-length run of the strip shares at least three quarters of itself with one part. All
// are built from eighths of the strip, the unit the guard measures and scales.
const (
	flashEighths = 8
	flashParts   = 7 // part p is eighths p and p+1 (p even: a quarter; odd: between two)
)

// partRedFlash is the red rule as a part of leds LEDs is judged by. The red measure steps where
// an LED's colour crosses the 80 % red line (at most 0.75·320 = 240, a rainbow's LED at R 255,
// G 64, over the part's LEDs), and in a part of a few LEDs a rainbow drifting past steps by more
// than 20 back and forth several times a second though nothing flashes. So a part's counted red
// swing is at least a quarter more than one LED's step: 20 from 16 LEDs on, as WCAG's, 43 for
// the 7 LEDs of a 30-LED strip's quarter, which a strobe of a saturated red (255↔140 is 144)
// still crosses. Its headroom stays under 20: the parts a held part rises by are WCAG's. Judging
// no red in parts under 16 LEDs instead, a 30-LED strip's halves strobed red↔black 10 times a
// second.
func partRedFlash(leds int) flashRule {
	r := redFlash
	if leds > 0 {
		r.swing = max(r.swing, 1.25*240/float32(leds))
	}
	return r
}

// flashGuard is the last stage of a strip's output: it measures each frame as it leaves for the
// strip (after gamma, the brightness cap and the current limit, in LED duty, which is linear in
// emitted light as relative luminance is), counts the swings that make general and red flashes
// over a rolling second, each on its own, over the whole strip and over each of its parts, and
// once a further rise would make a fourth flash of either kind in that second, in the whole
// strip or a part, holds that part (or, for the whole, the frame) down to just above the trough
// it rises from. A part is held LED by LED, each above that level brought down to it, not by
// scaling its mean: a light over half a part, held on the part's mean, rose twice the headroom
// over its own dark, itself a flash; and scaling the part dimmed its steady LEDs, which then
// swung back up. Falls
// always pass: holding a bright strip up is no safer, and a fall cannot start a flash. It is a
// plain value (Renderer copies it) and allocates nothing.
type flashGuard struct {
	started bool
	whole   levelGuard
	parts   [flashParts]levelGuard
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
	// A refused rise stays refused. held is true while the level asked for is above the
	// ceiling the guard set it (at holding since at); asked is the level asked for last frame.
	// When an old change left the second, the held light was let up at once: a jump off the
	// beat, with no hit under it (a drum kit's pulse held at byte 32 for 5 frames jumped to
	// 88). Held, it rises only as a fade (releaseSwings a second), or by a new rise of what is
	// asked (a new hit), judged as any rise.
	held    bool
	holding float32
	at      time.Time
	asked   float32
}

// releaseSwings is how fast a held level may come up, in counted swings a second: a steady
// picture held down after a strobe fades in (white in about two seconds) instead of jumping.
const releaseSwings = 5

// levels is a part of a frame as the guard measures it.
type levels struct{ y, red float32 }

// frameLevels is a frame as the guard measures it: the mean levels of the whole strip and of
// its parts, and the brightest LED's levels in each eighth.
type frameLevels struct {
	whole levels
	parts [flashParts]levels
	peaks [flashEighths]levels
}

// apply measures frame (bpp bytes per LED), scales down the parts that would rise into a flash
// over the limit (all of them for the whole strip), and records it; it reports whether it
// scaled any.
func (g *flashGuard) apply(frame []byte, bpp int, now time.Time) (held bool) {
	leds := len(frame) / bpp
	var m frameLevels
	m.measure(frame, bpp)
	if !g.started {
		g.started = true
		g.whole.start(m.whole)
		for p := range g.parts {
			g.parts[p].start(m.parts[p])
		}
		return false
	}
	kWhole := g.whole.ceilings(m.whole, redFlash, now).factor(m.whole)
	if kWhole < 1 {
		scaleFrame(frame, kWhole)
		held = true
	}
	// Each eighth's ceiling is the lowest of those of the parts that hold it.
	var c [flashEighths]ceiling
	for e := range c {
		c[e] = ceiling{y: noCeiling, red: noCeiling}
	}
	for p := range g.parts {
		cp := g.parts[p].ceilings(m.parts[p], partRedFlash(partLEDs(p, leds)), now)
		for e := p; e < p+2; e++ {
			c[e] = ceiling{y: min(c[e].y, cp.y), red: min(c[e].red, cp.red)}
		}
	}
	for e, ce := range c {
		if ce.factor(m.peaks[e]) < 1 {
			ce.clamp(frame[e*leds/flashEighths*bpp:(e+1)*leds/flashEighths*bpp], bpp)
			held = true
		}
	}
	if held {
		// Measured again, not scaled: rounding each channel down can raise R−G−B.
		m.measure(frame, bpp)
	}
	g.whole.record(m.whole, redFlash, now)
	for p := range g.parts {
		g.parts[p].record(m.parts[p], partRedFlash(partLEDs(p, leds)), now)
	}
	return held
}

// partLEDs is how many LEDs part p of a strip of leds has.
func partLEDs(p, leds int) int { return (p+2)*leds/flashEighths - p*leds/flashEighths }

func (l *levelGuard) start(v levels) {
	l.general.start(v.y)
	l.red.start(v.red)
}

// noCeiling is a ceiling that holds nothing back.
var noCeiling = float32(math.Inf(1))

// ceiling is how high each measure of a part may rise now: noCeiling where it is within the
// limit.
type ceiling struct{ y, red float32 }

// factor is the scale (at most 1) that brings v under c.
func (c ceiling) factor(v levels) float32 {
	k := float32(1)
	if v.y > c.y {
		k = c.y / v.y
	}
	if v.red > c.red {
		k = min(k, c.red/v.red)
	}
	return k
}

// clamp scales each LED of run (bpp bytes per LED) that is above c down to it, and leaves the
// others: the LEDs of a part that rise are held, the steady ones around them are not dimmed into
// swings of their own.
func (c ceiling) clamp(run []byte, bpp int) {
	for i := 0; i+bpp <= len(run); i += bpp {
		if k := c.factor(ledLevels(run[i : i+bpp])); k < 1 {
			scaleFrame(run[i:i+bpp], k)
		}
	}
}

// ledLevels is one LED's levels (bytes as in frameLevels.measure).
func ledLevels(led []byte) levels {
	r, g, b := float32(led[0]), float32(led[1]), float32(led[2])
	if len(led) == 4 {
		w := float32(led[3])
		r, g, b = r+w, g+w, b+w
	}
	v := levels{y: (0.2126*r + 0.7152*g + 0.0722*b) / 255}
	if r > 0 && r >= 0.8*(r+g+b) {
		v.red = 320 * (r - g - b) / 255
	}
	return v
}

// ceilings is the ceiling that keeps a part at v within the limit of the general rule and of
// red, its red rule.
func (l *levelGuard) ceilings(v levels, red flashRule, now time.Time) ceiling {
	c := ceiling{y: noCeiling, red: noCeiling}
	if y := l.general.ceiling(generalFlash, v.y, now); y < v.y {
		c.y = y
	}
	if red := l.red.ceiling(red, v.red, now); red < v.red {
		c.red = red
	}
	return c
}

func (l *levelGuard) record(v levels, red flashRule, now time.Time) {
	l.general.record(generalFlash, v.y, now)
	l.red.record(red, v.red, now)
}

func (z *zigzag) start(v float32) { z.first, z.extreme = v, v }

// ceiling is the highest level v, the level this frame asks for, may rise to now: v itself
// when the rise is within the limit, and while a refused rise is held, no more than a fade from
// where it was held unless v is a new rise. It is called once a frame.
func (z *zigzag) ceiling(rule flashRule, v float32, now time.Time) float32 {
	c := z.limit(rule, v, now)
	asked := z.asked
	z.asked = v
	if z.held {
		if v <= z.holding {
			z.held = false // the held light fell to what is shown: nothing is held back
			return v
		}
		if v-asked < rule.swing { // no new hit: the held light only fades in
			since := max(now.Sub(z.at), 0)
			c = min(c, z.holding+releaseSwings*rule.swing*float32(since.Seconds()))
		}
	}
	z.held, z.holding, z.at = c < v, c, now
	return c
}

// limit is the highest level v may rise to now without making a change over the limit: v
// itself when it would not.
func (z *zigzag) limit(rule flashRule, v float32, now time.Time) float32 {
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

// measure sets m to frame's levels: the whole strip's, each part's (a strip shorter than
// flashEighths has empty eighths, at 0) and each eighth's brightest LED's. Luminance is the
// relative luminance, 0–1; the red measure (R−G−B)·320 over the LEDs that are saturated red (R
// at least 80 % of R+G+B), 0 elsewhere. Bytes are linear duty, 0–1 of 255; an RGBW LED's white
// channel lights all three.
func (m *frameLevels) measure(frame []byte, bpp int) {
	*m = frameLevels{}
	leds := len(frame) / bpp
	var sum [flashEighths]levels // each eighth's sums over its LEDs, in bytes
	for e := range sum {
		from, to := e*leds/flashEighths, (e+1)*leds/flashEighths
		var s, peak levels
		for i := from * bpp; i < to*bpp; i += bpp {
			r, g, b := float32(frame[i]), float32(frame[i+1]), float32(frame[i+2])
			if bpp == 4 {
				w := float32(frame[i+3])
				r, g, b = r+w, g+w, b+w
			}
			y := 0.2126*r + 0.7152*g + 0.0722*b
			s.y, peak.y = s.y+y, max(peak.y, y)
			if r > 0 && r >= 0.8*(r+g+b) {
				s.red, peak.red = s.red+r-g-b, max(peak.red, r-g-b)
			}
		}
		sum[e], m.peaks[e] = s, levels{y: peak.y / 255, red: 320 * peak.red / 255}
	}
	mean := func(from, to int) levels {
		var s levels
		for e := from; e < to; e++ {
			s.y, s.red = s.y+sum[e].y, s.red+sum[e].red
		}
		n := 255 * float32(to*leds/flashEighths-from*leds/flashEighths)
		if n == 0 {
			return levels{}
		}
		return levels{y: s.y / n, red: 320 * s.red / n}
	}
	m.whole = mean(0, flashEighths)
	for p := range m.parts {
		m.parts[p] = mean(p, p+2)
	}
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
