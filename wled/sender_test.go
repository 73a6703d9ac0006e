package wled_test

import (
	"bytes"
	"errors"
	"net"
	"strconv"
	"testing"
	"time"

	"github.com/ledbridge/ledbridge/wled"
	"github.com/ledbridge/ledbridge/wled/wledtest"
)

// rawListener is a plain loopback UDP socket that returns datagrams as they arrived.
type rawListener struct {
	t    *testing.T
	conn *net.UDPConn
}

func listenRaw(t *testing.T) *rawListener {
	t.Helper()
	c, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return &rawListener{t: t, conn: c}
}

func (r *rawListener) addr() string { return r.conn.LocalAddr().String() }

func (r *rawListener) read(n int) [][]byte {
	r.t.Helper()
	var out [][]byte
	buf := make([]byte, 65536)
	for len(out) < n {
		_ = r.conn.SetReadDeadline(time.Now().Add(5 * time.Second))
		k, _, err := r.conn.ReadFromUDP(buf)
		if err != nil {
			r.t.Fatalf("after %d of %d packets: %v", len(out), n, err)
		}
		out = append(out, append([]byte(nil), buf[:k]...))
	}
	return out
}

func ramp(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i*7 + i/251)
	}
	return b
}

func newSender(t *testing.T, cfg wled.SenderConfig) *wled.Sender {
	t.Helper()
	s, err := wled.NewSender(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// TestDDPHeaders checks every header byte of a 1000-LED RGB frame against the layout in the issue.
func TestDDPHeaders(t *testing.T) {
	l := listenRaw(t)
	s := newSender(t, wled.SenderConfig{Protocol: wled.ProtocolDDP, Addr: l.addr(), LEDs: 1000})
	frame := ramp(3000)
	const frames = 17 // the sequence number wraps from 15 to 1
	for f := 0; f < frames; f++ {
		if n, err := s.Send(frame); err != nil || n != 3 {
			t.Fatalf("Send = %d, %v", n, err)
		}
	}
	pkts := l.read(3 * frames)
	want := [][]byte{
		// flags, seq, type, dest, offset (BE32), length (BE16)
		{0x40, 0, 0x0B, 0x01, 0, 0, 0x00, 0x00, 0x05, 0xA0}, // LEDs 0..479: 1440 bytes at 0
		{0x40, 0, 0x0B, 0x01, 0, 0, 0x05, 0xA0, 0x05, 0xA0}, // LEDs 480..959: 1440 bytes at 1440
		{0x41, 0, 0x0B, 0x01, 0, 0, 0x0B, 0x40, 0x00, 0x78}, // LEDs 960..999: 120 bytes at 2880, push
	}
	for i, p := range pkts {
		w := want[i%3]
		// Every packet of frame f carries f%15+1 (see Sender.fill for why not one per packet).
		if seq := byte(i/3%15 + 1); p[1] != seq {
			t.Errorf("packet %d: sequence %d, want %d", i, p[1], seq)
		}
		got := append([]byte(nil), p[:10]...)
		got[1] = 0
		if !bytes.Equal(got, w) {
			t.Errorf("packet %d header % x, want % x", i, got, w)
		}
		off := int(p[4])<<24 | int(p[5])<<16 | int(p[6])<<8 | int(p[7])
		if !bytes.Equal(p[10:], frame[off:off+len(p)-10]) {
			t.Errorf("packet %d payload differs from frame bytes %d..", i, off)
		}
	}
}

func TestDDPRGBWAndExactMultiple(t *testing.T) {
	l := listenRaw(t)
	// 720 RGBW LEDs = exactly two packets of 360: the push must still be on the last one.
	s := newSender(t, wled.SenderConfig{Protocol: wled.ProtocolDDP, Addr: l.addr(), LEDs: 720, RGBW: true})
	if n, err := s.Send(ramp(2880)); err != nil || n != 2 {
		t.Fatalf("Send = %d, %v", n, err)
	}
	p := l.read(2)
	if !bytes.Equal(p[0][:10], []byte{0x40, 1, 0x1B, 1, 0, 0, 0, 0, 0x05, 0xA0}) ||
		!bytes.Equal(p[1][:10], []byte{0x41, 1, 0x1B, 1, 0, 0, 0x05, 0xA0, 0x05, 0xA0}) || len(p[1]) != 1450 {
		t.Errorf("headers % x / % x", p[0][:10], p[1][:10])
	}
}

func TestRealtimePackets(t *testing.T) {
	cases := []struct {
		name    string
		cfg     wled.SenderConfig
		headers [][]byte // expected header bytes of each packet
		sizes   []int
	}{
		{"warls", wled.SenderConfig{Protocol: wled.ProtocolWARLS, LEDs: 3}, [][]byte{{1, 2}}, []int{2 + 12}},
		{"drgb", wled.SenderConfig{Protocol: wled.ProtocolDRGB, LEDs: 490}, [][]byte{{2, 2}}, []int{1472}},
		{"drgbw", wled.SenderConfig{Protocol: wled.ProtocolDRGBW, LEDs: 367, RGBW: true, Timeout: 5 * time.Second}, [][]byte{{3, 5}}, []int{1470}},
		{"dnrgb", wled.SenderConfig{Protocol: wled.ProtocolDNRGB, LEDs: 1000, Timeout: 1500 * time.Millisecond},
			[][]byte{{4, 2, 0x00, 0x00}, {4, 2, 0x01, 0xE9}, {4, 2, 0x03, 0xD2}}, []int{4 + 489*3, 4 + 489*3, 4 + 22*3}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			l := listenRaw(t)
			tc.cfg.Addr = l.addr()
			s := newSender(t, tc.cfg)
			ch := 3
			if tc.cfg.RGBW {
				ch = 4
			}
			frame := ramp(tc.cfg.LEDs * ch)
			if n, err := s.Send(frame); err != nil || n != len(tc.headers) {
				t.Fatalf("Send = %d, %v", n, err)
			}
			if err := s.Release(); err != nil {
				t.Fatal(err)
			}
			pkts := l.read(len(tc.headers) + 1)
			for i, h := range tc.headers {
				if !bytes.HasPrefix(pkts[i], h) || len(pkts[i]) != tc.sizes[i] {
					t.Errorf("packet %d: % x… (%d bytes), want % x… (%d bytes)", i, pkts[i][:len(h)], len(pkts[i]), h, tc.sizes[i])
				}
			}
			rel := pkts[len(tc.headers)]
			if rel[0] != tc.headers[0][0] || rel[1] != 0 {
				t.Errorf("release packet % x: want protocol %d, timeout 0", rel, tc.headers[0][0])
			}
			if tc.name == "warls" && !bytes.Equal(pkts[0][2:], []byte{0, frame[0], frame[1], frame[2], 1, frame[3], frame[4], frame[5], 2, frame[6], frame[7], frame[8]}) {
				t.Errorf("WARLS body % x", pkts[0][2:])
			}
		})
	}
}

func TestSenderRejects(t *testing.T) {
	cases := []struct {
		cfg  wled.SenderConfig
		want error
	}{
		{wled.SenderConfig{Protocol: wled.ProtocolWARLS, LEDs: 256}, wled.ErrTooManyLEDs},
		{wled.SenderConfig{Protocol: wled.ProtocolDRGB, LEDs: 491}, wled.ErrTooManyLEDs},
		{wled.SenderConfig{Protocol: wled.ProtocolDRGBW, LEDs: 368, RGBW: true}, wled.ErrTooManyLEDs},
		{wled.SenderConfig{Protocol: wled.ProtocolDDP, LEDs: 0}, wled.ErrTooManyLEDs},
		{wled.SenderConfig{Protocol: wled.ProtocolDDP, LEDs: wled.MaxLEDs + 1}, wled.ErrTooManyLEDs},
		{wled.SenderConfig{Protocol: wled.ProtocolDRGB, LEDs: 10, RGBW: true}, wled.ErrProtocolRGBW},
		{wled.SenderConfig{Protocol: wled.ProtocolDRGBW, LEDs: 10}, wled.ErrProtocolRGBW},
	}
	for _, tc := range cases {
		tc.cfg.Addr = "127.0.0.1:9"
		if _, err := wled.NewSender(tc.cfg); !errors.Is(err, tc.want) {
			t.Errorf("NewSender(%+v) = %v, want %v", tc.cfg, err, tc.want)
		}
	}
	if _, err := wled.NewSender(wled.SenderConfig{Protocol: wled.ProtocolAuto, Addr: "127.0.0.1:9", LEDs: 3}); err == nil {
		t.Error("ProtocolAuto accepted by NewSender")
	}
	s := newSender(t, wled.SenderConfig{Protocol: wled.ProtocolDDP, Addr: "127.0.0.1:9", LEDs: 10})
	if _, err := s.Send(make([]byte, 29)); !errors.Is(err, wled.ErrFrameSize) {
		t.Errorf("short frame: %v", err)
	}
}

func TestTimeoutByte(t *testing.T) {
	for _, tc := range []struct {
		d    time.Duration
		want byte
	}{{0, 2}, {time.Millisecond, 1}, {time.Second, 1}, {2500 * time.Millisecond, 3}, {time.Hour, 255}} {
		if got, err := wled.TimeoutByte(tc.d); err != nil || got != tc.want {
			t.Errorf("TimeoutByte(%v) = %d, %v; want %d", tc.d, got, err, tc.want)
		}
	}
	if _, err := wled.TimeoutByte(-time.Second); err == nil {
		t.Error("negative timeout accepted")
	}
}

// TestSendersAgainstFake sends frames in every protocol to the fake WLED and compares what it shows.
func TestSendersAgainstFake(t *testing.T) {
	cases := []struct {
		proto wled.Protocol
		leds  int
		rgbw  bool
	}{
		{wled.ProtocolDDP, 1000, false}, {wled.ProtocolDDP, 1000, true}, {wled.ProtocolDDP, 480, false},
		{wled.ProtocolWARLS, 255, false}, {wled.ProtocolDRGB, 490, false}, {wled.ProtocolDRGBW, 367, true},
		{wled.ProtocolDNRGB, 1500, false}, {wled.ProtocolDNRGB, 489, false},
	}
	for _, tc := range cases {
		t.Run(tc.proto.String(), func(t *testing.T) {
			fake := wledtest.New(t, wledtest.Config{LEDs: tc.leds, RGBW: tc.rgbw})
			addr := fake.DDPAddr()
			if tc.proto != wled.ProtocolDDP {
				addr = fake.RealtimeAddr()
			}
			s := newSender(t, wled.SenderConfig{Protocol: tc.proto, Addr: addr, LEDs: tc.leds, RGBW: tc.rgbw})
			ch := 3
			if tc.rgbw {
				ch = 4
			}
			frames := [][]byte{ramp(tc.leds * ch), bytes.Repeat([]byte{9}, tc.leds*ch), ramp(tc.leds * ch)[1:]}
			frames[2] = append(frames[2], 77)
			for _, f := range frames {
				if _, err := s.Send(f); err != nil {
					t.Fatal(err)
				}
				time.Sleep(5 * time.Millisecond) // let the fake read each frame before the next (no drops under -race)
			}
			got, err := fake.WaitFrames(len(frames), 5*time.Second)
			if err != nil {
				t.Fatal(err)
			}
			if fake.Malformed() != 0 || fake.SequenceGaps() != 0 {
				t.Fatalf("malformed %d %v, sequence gaps %d", fake.Malformed(), fake.MalformedReasons(), fake.SequenceGaps())
			}
			for i, f := range got {
				if !f.Complete || !bytes.Equal(f.Pixels, frames[i]) {
					t.Errorf("frame %d: complete=%v, pixels equal=%v", i, f.Complete, bytes.Equal(f.Pixels, frames[i]))
				}
			}
		})
	}
}

// TestDDPSequencePassesSkipOutOfSequence sends to a fake with WLED's "Skip out-of-sequence
// packets" on: every frame must be shown, at any size. Numbered packet by packet, a frame of more
// than 10 packets (here 4801 and 9000 LEDs) ran into the filter's window and its push was dropped.
func TestDDPSequencePassesSkipOutOfSequence(t *testing.T) {
	for _, leds := range []int{480, 4800, 4801, 9000} {
		t.Run(strconv.Itoa(leds), func(t *testing.T) {
			fake := wledtest.New(t, wledtest.Config{LEDs: leds, SkipOutOfSequence: true})
			s := newSender(t, wled.SenderConfig{Protocol: wled.ProtocolDDP, Addr: fake.DDPAddr(), LEDs: leds})
			const frames = 32 // the sequence number goes round twice
			for i := range frames {
				f := ramp(leds * 3)
				f[0] = byte(i)
				if _, err := s.Send(f); err != nil {
					t.Fatal(err)
				}
				// Let the fake read each frame before the next (no drops under -race); the fake
				// waits for the datagrams, not for a time.
				waitFor(t, func() bool { return fake.Packets() >= (i+1)*s.PacketsPerFrame() })
			}
			got, err := fake.WaitFrames(frames, 5*time.Second)
			if err != nil {
				t.Fatalf("%v (%d packets skipped as out of sequence)", err, fake.Skipped())
			}
			if fake.Skipped() != 0 || fake.Malformed() != 0 || fake.SequenceGaps() != 0 {
				t.Errorf("%d skipped, %d malformed %v, %d sequence gaps", fake.Skipped(), fake.Malformed(), fake.MalformedReasons(), fake.SequenceGaps())
			}
			for i, f := range got {
				if !f.Complete || f.Pixels[0] != byte(i) {
					t.Errorf("frame %d: complete %v, first byte %d", i, f.Complete, f.Pixels[0])
				}
			}
		})
	}
}

func TestSendAllocatesNothing(t *testing.T) {
	for _, p := range []wled.Protocol{wled.ProtocolDDP, wled.ProtocolDNRGB, wled.ProtocolWARLS} {
		l := listenRaw(t)
		leds := 1000
		if p == wled.ProtocolWARLS {
			leds = 255
		}
		s := newSender(t, wled.SenderConfig{Protocol: p, Addr: l.addr(), LEDs: leds})
		frame := ramp(leds * 3)
		if a := testing.AllocsPerRun(100, func() { _, _ = s.Send(frame) }); a != 0 {
			t.Errorf("%v: %v allocs per Send", p, a)
		}
	}
}

func newFake(t *testing.T, leds int, rgbw bool) *wledtest.Fake {
	return wledtest.New(t, wledtest.Config{LEDs: leds, RGBW: rgbw})
}

func portOf(t *testing.T, hostport string) int {
	t.Helper()
	_, p, err := wled.SplitHostPort(hostport, 0)
	if err != nil {
		t.Fatal(err)
	}
	return p
}
