package wled_test

import (
	"bytes"
	"fmt"
	"testing"
	"time"

	"github.com/ledbridge/ledbridge/wled"
	"github.com/ledbridge/ledbridge/wled/wledtest"
)

// WLED 0.15 and later set no pixel from a DNRGB packet of 7 bytes or less, or a DRGBW packet of
// 6 or less (udp.cpp, "packetSize > 7" / "> 6"). A DNRGB strip of 489k+1 LEDs used to end its
// frame with a 7-byte packet carrying one LED, which stayed black; a one-LED DRGBW or DNRGB strip
// got nothing at all. The fake refuses such packets as WLED ignores them: every frame must arrive
// whole, nothing malformed.
func TestRealtimeFramesMeetWLEDMinimumPacket(t *testing.T) {
	cases := []struct {
		proto wled.Protocol
		leds  int
		rgbw  bool
	}{
		{wled.ProtocolDNRGB, 490, false}, {wled.ProtocolDNRGB, 979, false}, {wled.ProtocolDNRGB, 1468, false},
		{wled.ProtocolDNRGB, 1, false}, {wled.ProtocolDNRGB, 2, false}, {wled.ProtocolDNRGB, 491, false},
		{wled.ProtocolDRGBW, 1, true}, {wled.ProtocolDRGBW, 2, true},
		{wled.ProtocolDRGB, 1, false}, {wled.ProtocolWARLS, 1, false}, {wled.ProtocolDDP, 1, false},
	}
	for _, tc := range cases {
		t.Run(fmt.Sprintf("%v/%d", tc.proto, tc.leds), func(t *testing.T) {
			fake := wledtest.New(t, wledtest.Config{LEDs: tc.leds, RGBW: tc.rgbw})
			addr := fake.RealtimeAddr()
			if tc.proto == wled.ProtocolDDP {
				addr = fake.DDPAddr()
			}
			s := newSender(t, wled.SenderConfig{Protocol: tc.proto, Addr: addr, LEDs: tc.leds, RGBW: tc.rgbw})
			ch := 3
			if tc.rgbw {
				ch = 4
			}
			frame := ramp(tc.leds * ch)
			for i := range frame {
				frame[i] |= 1 // no LED byte is 0, so a LED left black shows
			}
			n, err := s.Send(frame)
			if err != nil {
				t.Fatal(err)
			}
			waitFor(t, func() bool { return fake.Packets() >= n })
			got, err := fake.WaitFrames(1, 5*time.Second)
			if err != nil || fake.Malformed() != 0 {
				t.Fatalf("%v; malformed %d %v", err, fake.Malformed(), fake.MalformedReasons())
			}
			if f := got[0]; !f.Complete || !bytes.Equal(f.Pixels, frame) || f.Packets != n {
				t.Errorf("frame: complete %v, %d of %d packets, pixels equal %v", f.Complete, f.Packets, n, bytes.Equal(f.Pixels, frame))
			}
		})
	}
}

// The split that keeps a DNRGB frame's last packet at two LEDs or more: 490 LEDs go as LEDs
// 0..488 and 488..489 (LED 488 twice, the same colour), each packet within UDP_IN_MAXSIZE.
func TestDNRGBLastPacketCarriesTwoLEDs(t *testing.T) {
	l := listenRaw(t)
	s := newSender(t, wled.SenderConfig{Protocol: wled.ProtocolDNRGB, Addr: l.addr(), LEDs: 490})
	frame := ramp(490 * 3)
	if n, err := s.Send(frame); err != nil || n != 2 {
		t.Fatalf("Send = %d, %v", n, err)
	}
	p := l.read(2)
	if !bytes.Equal(p[0][:4], []byte{4, 2, 0, 0}) || !bytes.Equal(p[0][4:], frame[:489*3]) {
		t.Errorf("packet 0: % x…, %d bytes", p[0][:4], len(p[0]))
	}
	if !bytes.Equal(p[1][:4], []byte{4, 2, 0x01, 0xE8}) || !bytes.Equal(p[1][4:], frame[488*3:]) {
		t.Errorf("packet 1: % x (want start 488, LEDs 488..489)", p[1])
	}
}
