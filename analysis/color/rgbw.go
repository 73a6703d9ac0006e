package color

// WhiteAccurate splits an RGB colour for an RGBW LED the way WLED's "accurate"
// auto-white mode (RGBW_MODE_AUTO_ACCURATE) does: the white LED takes the part
// common to all three channels, min(r,g,b), and that amount is removed from
// each colour channel, so hue is kept and the white LED does the work.
func WhiteAccurate(r, g, b uint8) (r2, g2, b2, w uint8) {
	w = min(r, g, b)
	return r - w, g - w, b - w, w
}
