package effect

import "time"

// The photosensitive-epilepsy limit (WCAG 2.3.1 "three flashes or below threshold", Ofcom's
// guidance note on flashing images, ITU-R BT.1702): no more than three flashes in any one
// second, a flash being a pair of opposing changes in relative luminance of at least 10 % of
// the maximum where the darker state is below 0.8 of it. A strip seen across a dark room fills
// much of the visual field, so every whole-strip swing counts, whatever drew it: a pulse on
// every drum hit, a host strobing its led-update frames, notes flickering over most of the strip.
const (
	flashSwing       = 0.1 // a change of relative luminance that counts (of the maximum, 1)
	flashDarkBelow   = 0.8 // a change counts only when its darker state is below this
	flashWindow      = time.Second
	flashesPerWindow = 3
	// flashHeadroom is how far a rise the guard holds back may still go above the trough:
	// just under a counted swing, so music still moves the light a little.
	flashHeadroom = flashSwing * 0.9
	// redWeight scales the saturated-red part of a frame so that the guidelines' stricter red
	// rule (a change of (R−G−B)·320 ≥ 20 on linear 0–1 values, for a colour at least 80 % red)
	// reaches flashSwing where a change of luminance alone would not: 20/320 · 1.6 = 0.1.
	redWeight = flashSwing / (20.0 / 320)
)

// flashGuard is the last stage of a strip's output: it measures each frame as it leaves for the
// strip (after gamma, the brightness cap and the current limit, in LED duty, which is linear in
// emitted light as relative luminance is), counts the swings that make flashes over a rolling
// second, and once a further rise would make a fourth flash in that second holds the frame down
// to just above the trough it rises from. Falls always pass: holding a bright strip up is no
// safer, and a fall cannot start a flash. A rise is let through only while the last second holds
// at most four changes, so that it and the fall that follows make at most six: three flashes.
type flashGuard struct {
	started bool
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
	y := frameLuminance(frame, bpp)
	if !g.started {
		g.started, g.first, g.extreme = true, y, y
		return false
	}
	if !g.settled {
		lo, hi := min(g.first, y), max(g.extreme, y)
		switch {
		case hi-y >= flashSwing && y < flashDarkBelow:
			g.settled, g.rising, g.extreme = true, false, y
			g.count(now)
		case y-lo >= flashSwing && lo < flashDarkBelow:
			g.settled, g.rising, g.extreme = true, true, y
			g.count(now) // the first change there is: within the limit
		default:
			g.first, g.extreme = lo, hi
		}
		return false
	}
	if g.rising {
		if y > g.extreme {
			g.extreme = y
		} else if g.extreme-y >= flashSwing && y < flashDarkBelow {
			g.count(now)
			g.rising, g.extreme = false, y
		}
		return false
	}
	if y < g.extreme {
		g.extreme = y
		return false
	}
	if y-g.extreme < flashSwing || g.extreme >= flashDarkBelow {
		return false
	}
	if g.recent(now) <= 2*flashesPerWindow-2 {
		g.count(now)
		g.rising, g.extreme = true, y
		return false
	}
	// Over the limit: keep the frame just above the trough, so it stays one change short.
	ceiling := g.extreme + flashHeadroom
	scaleFrame(frame, ceiling/y)
	return true
}

// count records a change at now.
func (g *flashGuard) count(now time.Time) {
	g.changes[g.next] = now
	g.next = (g.next + 1) % len(g.changes)
}

// recent is the number of counted changes less than flashWindow before now.
func (g *flashGuard) recent(now time.Time) int {
	n := 0
	for _, t := range g.changes {
		if !t.IsZero() && now.Sub(t) < flashWindow {
			n++ // a clock stepped back counts as recent: the cautious side
		}
	}
	return n
}

// frameLuminance is a frame's mean relative luminance, 0–1, with saturated red weighted up to the
// red rule's threshold (see redWeight). An RGBW LED's white channel lights all three.
func frameLuminance(frame []byte, bpp int) float32 {
	leds := len(frame) / bpp
	if leds == 0 {
		return 0
	}
	var sum float32
	for i := 0; i < leds*bpp; i += bpp {
		r, g, b := float32(frame[i]), float32(frame[i+1]), float32(frame[i+2])
		if bpp == 4 {
			w := float32(frame[i+3])
			r, g, b = r+w, g+w, b+w
		}
		y := 0.2126*r + 0.7152*g + 0.0722*b
		if r >= 0.8*(r+g+b) && r > 0 {
			y = max(y, redWeight*(r-g-b))
		}
		sum += y
	}
	return sum / (255 * float32(leds))
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
