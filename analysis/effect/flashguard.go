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

// flashGuard is the last stage of a strip's output: it measures each frame as it leaves for the
// strip (after gamma, the brightness cap and the current limit, in LED duty, which is linear in
// emitted light as relative luminance is), counts the swings that make general and red flashes
// over a rolling second, each on its own, and once a further rise would make a fourth flash of
// either kind in that second holds the frame down to just above the trough it rises from.
// Falls always pass: holding a bright strip up is no safer, and a fall cannot start a flash.
type flashGuard struct {
	started      bool
	general, red zigzag
}

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

// apply measures frame (bpp bytes per LED), scales it down if it would rise into a flash over
// the limit, and records it; it reports whether it scaled the frame. It allocates nothing.
func (g *flashGuard) apply(frame []byte, bpp int, now time.Time) (held bool) {
	y, red := frameLevels(frame, bpp)
	if !g.started {
		g.started = true
		g.general.start(y)
		g.red.start(red)
		return false
	}
	k := float32(1)
	if c := g.general.ceiling(generalFlash, y, now); c < y {
		k = c / y
	}
	if c := g.red.ceiling(redFlash, red, now); c < red {
		k = min(k, c/red)
	}
	if k < 1 {
		scaleFrame(frame, k)
		// Measured again, not scaled: rounding each channel down can raise R−G−B.
		y, red = frameLevels(frame, bpp)
		held = true
	}
	g.general.record(generalFlash, y, now)
	g.red.record(redFlash, red, now)
	return held
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

// frameLevels is a frame's mean relative luminance, 0–1, and its mean red measure, (R−G−B)·320
// over the LEDs that are saturated red (R at least 80 % of R+G+B), 0 elsewhere; bytes are
// linear duty, 0–1 of 255. An RGBW LED's white channel lights all three.
func frameLevels(frame []byte, bpp int) (y, red float32) {
	leds := len(frame) / bpp
	if leds == 0 {
		return 0, 0
	}
	for i := 0; i < leds*bpp; i += bpp {
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
	n := 255 * float32(leds)
	return y / n, 320 * red / n
}

// frameLuminance is a frame's mean relative luminance, 0–1.
func frameLuminance(frame []byte, bpp int) float32 {
	y, _ := frameLevels(frame, bpp)
	return y
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
