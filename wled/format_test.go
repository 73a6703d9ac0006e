package wled

import "testing"

func TestStreamFormat(t *testing.T) {
	white := Info{VID: 2412100, LEDs: LEDsInfo{Count: 600, LC: 3}}
	old := Info{VID: 2208222, LEDs: LEDsInfo{Count: 600, LC: 3}} // 0.13.3: DDP but RGB only
	rgb := Info{VID: 2412100, LEDs: LEDsInfo{Count: 600, LC: 1}}
	cases := []struct {
		name string
		p    Protocol
		info Info
		rgbw bool
		max  int
	}{
		{"ddp rgbw on 0.14+", ProtocolDDP, white, true, MaxLEDs},
		{"ddp rgbw strip on 0.13 sends rgb", ProtocolDDP, old, false, MaxLEDs},
		{"ddp rgb strip", ProtocolDDP, rgb, false, MaxLEDs},
		{"dnrgb never rgbw", ProtocolDNRGB, white, false, MaxLEDs},
		{"drgb", ProtocolDRGB, white, false, 490},
		{"drgbw", ProtocolDRGBW, rgb, true, 367},
		{"warls", ProtocolWARLS, white, false, 255},
	}
	for _, c := range cases {
		rgbw, most := StreamFormat(c.p, c.info)
		if rgbw != c.rgbw || most != c.max {
			t.Errorf("%s: got rgbw %v max %d, want %v %d", c.name, rgbw, most, c.rgbw, c.max)
		}
		// Whatever StreamFormat says must be sendable.
		s, err := NewSender(SenderConfig{Protocol: c.p, Addr: "127.0.0.1:9", LEDs: min(c.info.LEDs.Count, most), RGBW: rgbw})
		if err != nil {
			t.Errorf("%s: NewSender refuses what StreamFormat chose: %v", c.name, err)
			continue
		}
		s.Close()
	}
}
