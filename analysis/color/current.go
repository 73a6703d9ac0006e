package color

// Defaults of the current model, used when a CurrentModel field is zero.
const (
	// DefaultChannelMilliamps is the draw of one WS2812B colour channel at full
	// duty (datasheet 20 mA; a full-white LED is 60 mA). WLED's default of 55 mA
	// per LED is slightly lower, so this errs on the safe side.
	DefaultChannelMilliamps = 20
	// DefaultIdleMilliamps is what a dark LED's driver chip draws; WLED's ABL
	// reserves about 1 mA per LED for it.
	DefaultIdleMilliamps = 1
)

// CurrentModel estimates a strip's supply current from its frame, the way
// WLED's automatic brightness limiter (ABL) does: the sum of all channel duties
// times the per-channel current, plus a fixed draw per LED. As in WLED, an RGBW
// LED's channel sum is counted at 3/4 because its four channels together are
// specified for about the current of three.
type CurrentModel struct {
	ChannelMilliamps float32 // one channel at full duty; 0 means DefaultChannelMilliamps
	IdleMilliamps    float32 // per LED, always drawn; 0 means DefaultIdleMilliamps, negative means none
	// ControllerMilliamps is drawn from the same supply by the controller
	// itself (WLED's ABL reserves 100 mA for it); 0 when the controller is
	// powered separately. A limit copied from WLED's power supply setting
	// includes the controller, so it needs this set to match WLED's estimate.
	ControllerMilliamps float32
}

func (m CurrentModel) controller() float32 { return max(m.ControllerMilliamps, 0) }

func (m CurrentModel) perChannel() float32 {
	if m.ChannelMilliamps <= 0 {
		return DefaultChannelMilliamps
	}
	return m.ChannelMilliamps
}

func (m CurrentModel) idle() float32 {
	switch {
	case m.IdleMilliamps == 0:
		return DefaultIdleMilliamps
	case m.IdleMilliamps < 0:
		return 0
	}
	return m.IdleMilliamps
}

// DarkMilliamps is what a dark strip of leds LEDs draws in this model (the
// controller and every LED's idle draw): a current limit at or below it leaves
// nothing for colour, and Limit then blanks every frame.
func (m CurrentModel) DarkMilliamps(leds int) float32 {
	return m.controller() + float32(max(leds, 0))*m.idle()
}

// Estimate returns the estimated current in mA of frame, which holds
// bytesPerLED (3 for RGB, 4 for RGBW) bytes per LED.
func (m CurrentModel) Estimate(frame []byte, bytesPerLED int) float32 {
	if bytesPerLED <= 0 {
		return 0
	}
	leds := len(frame) / bytesPerLED
	return m.DarkMilliamps(leds) + m.colourMilliamps(frame[:leds*bytesPerLED], bytesPerLED)
}

func (m CurrentModel) colourMilliamps(frame []byte, bytesPerLED int) float32 {
	var sum uint64
	for _, v := range frame {
		sum += uint64(v)
	}
	mA := float32(sum) / 255 * m.perChannel()
	if bytesPerLED == 4 {
		mA *= 0.75
	}
	return mA
}

// Limit scales frame down, in place, so that its estimated current is at most
// maxMilliamps, and returns the estimate before and after. maxMilliamps ≤ 0
// disables the limit. If the controller's and the LEDs' idle draw alone
// exceed the limit the frame is blanked: no colour fits the budget.
func (m CurrentModel) Limit(frame []byte, bytesPerLED int, maxMilliamps float32) (before, after float32) {
	if bytesPerLED <= 0 {
		return 0, 0
	}
	leds := len(frame) / bytesPerLED
	frame = frame[:leds*bytesPerLED]
	idle := m.DarkMilliamps(leds)
	colour := m.colourMilliamps(frame, bytesPerLED)
	before = idle + colour
	if maxMilliamps <= 0 || before <= maxMilliamps {
		return before, before
	}
	scale := (maxMilliamps - idle) / colour
	if scale < 0 {
		scale = 0
	}
	// Rounding down keeps the result under the budget.
	k := uint32(scale * 65536)
	for i, v := range frame {
		frame[i] = uint8(uint32(v) * k >> 16)
	}
	return before, idle + m.colourMilliamps(frame, bytesPerLED)
}
