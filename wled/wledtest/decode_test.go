package wledtest

import (
	"bytes"
	"net"
	"strings"
	"testing"
	"time"
)

// The packets below are written byte by byte from the layouts in the issue and WLED's receive
// code, not produced by package wled, so the fake cannot share the sender's bugs.

func cat(parts ...[]byte) []byte { return bytes.Join(parts, nil) }
func bs(b ...byte) []byte        { return b }

// sendRaw writes each packet to addr from a fresh loopback socket and waits until the fake has
// read them all.
func sendRaw(t *testing.T, f *Fake, addr string, pkts ...[]byte) {
	t.Helper()
	c, err := net.Dial("udp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	want := f.Packets() + len(pkts)
	for _, p := range pkts {
		if _, err := c.Write(p); err != nil {
			t.Fatal(err)
		}
	}
	deadline := time.Now().Add(5 * time.Second)
	for f.Packets() < want {
		if time.Now().After(deadline) {
			t.Fatalf("fake read %d of %d packets", f.Packets(), want)
		}
		time.Sleep(time.Millisecond)
	}
}

func TestDDPDecodeHandBuilt(t *testing.T) {
	f := New(t, Config{LEDs: 4})
	led := func(r, g, b byte) []byte { return bs(r, g, b) }
	sendRaw(t, f, f.DDPAddr(),
		// One packet, push: flags 0x41, seq 1, RGB 0x0B, dest 1, offset 0, length 12.
		cat(bs(0x41, 0x01, 0x0B, 0x01, 0, 0, 0, 0, 0x00, 0x0C), led(1, 2, 3), led(4, 5, 6), led(7, 8, 9), led(10, 11, 12)),
		// Two packets of one frame (one sequence number), second half first: LEDs 2..3 at byte
		// offset 6, then LEDs 0..1 with push.
		cat(bs(0x40, 0x02, 0x0B, 0x01, 0, 0, 0, 6, 0x00, 0x06), led(30, 31, 32), led(40, 41, 42)),
		cat(bs(0x41, 0x02, 0x0B, 0x01, 0, 0, 0, 0, 0x00, 0x06), led(10, 11, 12), led(20, 21, 22)),
		// Timecode flag (0x10): 4 timecode bytes precede the data. Only LED 1 written → incomplete.
		cat(bs(0x51, 0x03, 0x0B, 0x01, 0, 0, 0, 3, 0x00, 0x03), bs(0xDE, 0xAD, 0xBE, 0xEF), led(99, 98, 97)),
		// No push: stored, not shown.
		cat(bs(0x40, 0x04, 0x0B, 0x01, 0, 0, 0, 0, 0x00, 0x03), led(50, 50, 50)),
	)
	frames := f.Frames()
	if len(frames) != 3 || f.Malformed() != 0 {
		t.Fatalf("%d frames, %d malformed %v", len(frames), f.Malformed(), f.MalformedReasons())
	}
	want := []struct {
		pix      []byte
		packets  int
		complete bool
	}{
		{bs(1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12), 1, true},
		{bs(10, 11, 12, 20, 21, 22, 30, 31, 32, 40, 41, 42), 2, true},
		{bs(10, 11, 12, 99, 98, 97, 30, 31, 32, 40, 41, 42), 1, false},
	}
	for i, w := range want {
		fr := frames[i]
		if fr.Protocol != "DDP" || !bytes.Equal(fr.Pixels, w.pix) || fr.Packets != w.packets || fr.Complete != w.complete {
			t.Errorf("frame %d = %+v, want pixels % x packets %d complete %v", i, fr, w.pix, w.packets, w.complete)
		}
	}
	if f.SequenceGaps() != 0 {
		t.Errorf("%d sequence gaps in frames 1, 2+2, 3, 4", f.SequenceGaps())
	}
	// The frame that packet 4 began ends with another number: a gap (a frame's packets share one).
	sendRaw(t, f, f.DDPAddr(), cat(bs(0x41, 0x09, 0x0B, 0x01, 0, 0, 0, 0, 0x00, 0x03), led(1, 1, 1)))
	if f.SequenceGaps() != 1 {
		t.Errorf("sequence 4 → 9 within a frame not counted as a gap")
	}
	// The next frame must be 10; 12 is a gap.
	sendRaw(t, f, f.DDPAddr(), cat(bs(0x41, 0x0C, 0x0B, 0x01, 0, 0, 0, 0, 0x00, 0x03), led(1, 1, 1)))
	if f.SequenceGaps() != 2 {
		t.Errorf("frame sequence 9 → 12 not counted as a gap")
	}
	// Frame 13 loses its second packet (and push); frame 14's two packets are one gap, not two.
	sendRaw(t, f, f.DDPAddr(),
		cat(bs(0x40, 0x0D, 0x0B, 0x01, 0, 0, 0, 0, 0x00, 0x03), led(1, 1, 1)),
		cat(bs(0x40, 0x0E, 0x0B, 0x01, 0, 0, 0, 0, 0x00, 0x03), led(2, 2, 2)),
		cat(bs(0x41, 0x0E, 0x0B, 0x01, 0, 0, 0, 3, 0x00, 0x03), led(3, 3, 3)))
	if f.SequenceGaps() != 3 {
		t.Errorf("%d sequence gaps after a frame cut short, want 3", f.SequenceGaps())
	}
	if info := f.Info(); !info.Live || info.LiveMode != "DDP" {
		t.Errorf("info after DDP frames: live=%v lm=%q", info.Live, info.LiveMode)
	}
}

// TestDDPDecodeSkipOutOfSequence checks the fake against WLED's filter as e131.cpp
// handleDDPPacket writes it: with the last push packet's number L > 5, numbers L-4..L-1 are
// dropped; with L ≤ 5, numbers below L and above L+10.
func TestDDPDecodeSkipOutOfSequence(t *testing.T) {
	f := New(t, Config{LEDs: 1, SkipOutOfSequence: true})
	packet := func(flags, seq byte) []byte { return bs(flags, seq, 0x0B, 0x01, 0, 0, 0, 0, 0x00, 0x03, 7, 7, 7) }
	sendRaw(t, f, f.DDPAddr(), packet(0x40, 9)) // nothing shown yet: anything goes
	for _, tc := range []struct {
		push    byte
		dropped []byte
	}{
		// Each push is outside the window of the one before, or it would be dropped itself.
		{13, []byte{9, 10, 11, 12}},
		{3, []byte{1, 2, 14, 15}},
		{6, []byte{2, 3, 4, 5}},
		{1, []byte{12, 13, 14, 15}},
		{5, []byte{1, 2, 3, 4}},
	} {
		sendRaw(t, f, f.DDPAddr(), packet(0x41, tc.push))
		var dropped []byte
		for seq := byte(1); seq <= 15; seq++ {
			before := f.Skipped()
			sendRaw(t, f, f.DDPAddr(), packet(0x40, seq)) // no push: the last push's number stays
			if f.Skipped() != before {
				dropped = append(dropped, seq)
			}
		}
		if !bytes.Equal(dropped, tc.dropped) {
			t.Errorf("after a push numbered %d: dropped %v, want %v", tc.push, dropped, tc.dropped)
		}
	}
	if f.Malformed() != 0 || f.FrameCount() != 5 {
		t.Errorf("%d malformed %v, %d frames (want the 5 pushes)", f.Malformed(), f.MalformedReasons(), f.FrameCount())
	}

	off := New(t, Config{LEDs: 1})
	sendRaw(t, off, off.DDPAddr(), packet(0x41, 13), packet(0x41, 12), packet(0x41, 9))
	if off.Skipped() != 0 || off.FrameCount() != 3 {
		t.Errorf("option off: %d skipped, %d frames; want 0 and 3", off.Skipped(), off.FrameCount())
	}
}

func TestDDPDecodeRGBW(t *testing.T) {
	f := New(t, Config{LEDs: 2, RGBW: true})
	sendRaw(t, f, f.DDPAddr(), cat(bs(0x41, 0x01, 0x1B, 0x01, 0, 0, 0, 0, 0x00, 0x08), bs(1, 2, 3, 4, 5, 6, 7, 8)))
	fr, err := f.WaitFrames(1, time.Second)
	if err != nil || !bytes.Equal(fr[0].Pixels, bs(1, 2, 3, 4, 5, 6, 7, 8)) || !fr[0].Complete {
		t.Fatalf("frames %+v, %v, malformed %v", fr, err, f.MalformedReasons())
	}
}

func TestDDPDecodeMalformed(t *testing.T) {
	big := make([]byte, 1443)
	cases := []struct {
		name   string
		pkt    []byte
		reason string
	}{
		{"short", bs(0x41, 0x01, 0x0B, 0x01, 0, 0, 0, 0, 0), "shorter"},
		{"version 2", cat(bs(0x81, 0x01, 0x0B, 0x01, 0, 0, 0, 0, 0, 3), bs(1, 2, 3)), "version"},
		{"version 0", cat(bs(0x01, 0x01, 0x0B, 0x01, 0, 0, 0, 0, 0, 3), bs(1, 2, 3)), "version"},
		{"query", cat(bs(0x43, 0x01, 0x0B, 0x01, 0, 0, 0, 0, 0, 3), bs(1, 2, 3)), "query"},
		{"storage", cat(bs(0x49, 0x01, 0x0B, 0x01, 0, 0, 0, 0, 0, 3), bs(1, 2, 3)), "storage"},
		{"sequence 0", cat(bs(0x41, 0x00, 0x0B, 0x01, 0, 0, 0, 0, 0, 3), bs(1, 2, 3)), "sequence"},
		{"sequence 16", cat(bs(0x41, 0x10, 0x0B, 0x01, 0, 0, 0, 0, 0, 3), bs(1, 2, 3)), "sequence"},
		{"RGBW type on RGB strip", cat(bs(0x41, 0x01, 0x1B, 0x01, 0, 0, 0, 0, 0, 4), bs(1, 2, 3, 4)), "data type"},
		{"legacy type", cat(bs(0x41, 0x01, 0x01, 0x01, 0, 0, 0, 0, 0, 3), bs(1, 2, 3)), "data type"},
		{"destination 2", cat(bs(0x41, 0x01, 0x0B, 0x02, 0, 0, 0, 0, 0, 3), bs(1, 2, 3)), "destination"},
		{"length too big", cat(bs(0x41, 0x01, 0x0B, 0x01, 0, 0, 0, 0, 0, 6), bs(1, 2, 3)), "length field"},
		{"length too small", cat(bs(0x41, 0x01, 0x0B, 0x01, 0, 0, 0, 0, 0, 3), bs(1, 2, 3, 4, 5, 6)), "length field"},
		{"offset not a pixel", cat(bs(0x41, 0x01, 0x0B, 0x01, 0, 0, 0, 1, 0, 3), bs(1, 2, 3)), "whole"},
		{"beyond strip", cat(bs(0x41, 0x01, 0x0B, 0x01, 0, 0, 0x0B, 0xB8, 0, 3), bs(1, 2, 3)), "beyond"},
		{"offset overflow", cat(bs(0x41, 0x01, 0x0B, 0x01, 0xFF, 0xFF, 0xFF, 0xFF, 0, 3), bs(1, 2, 3)), "beyond"},
		{"payload > 1440", cat(bs(0x41, 0x01, 0x0B, 0x01, 0, 0, 0, 0, 0x05, 0xA3), big), "> 1440"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := New(t, Config{LEDs: 1000})
			sendRaw(t, f, f.DDPAddr(), tc.pkt)
			r := f.MalformedReasons()
			if f.Malformed() != 1 || len(r) != 1 || !strings.Contains(r[0], tc.reason) || f.FrameCount() != 0 {
				t.Errorf("malformed %d %q, frames %d; want reason containing %q", f.Malformed(), r, f.FrameCount(), tc.reason)
			}
		})
	}
}

func TestRealtimeDecodeHandBuilt(t *testing.T) {
	f := New(t, Config{LEDs: 4})
	sendRaw(t, f, f.RealtimeAddr(),
		// WARLS, timeout 2 s: LED 3 and LED 0.
		bs(0x01, 0x02, 3, 0xAA, 0xBB, 0xCC, 0, 0x11, 0x22, 0x33),
		// DRGB, timeout 5 s: all four LEDs from LED 0.
		bs(0x02, 0x05, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12),
		// DNRGB, timeout 1 s: LEDs 0..1 at start 0x0000, then LEDs 2..3 at start 0x0002.
		bs(0x04, 0x01, 0x00, 0x00, 21, 22, 23, 24, 25, 26),
		bs(0x04, 0x01, 0x00, 0x02, 27, 28, 29, 30, 31, 32),
		// DNRGB: only the tail (start 2) → a frame, but not complete.
		bs(0x04, 0x01, 0x00, 0x02, 90, 91, 92, 93, 94, 95),
		// Release: timeout byte 0, pixels ignored.
		bs(0x02, 0x00, 0xFF, 0xFF, 0xFF),
	)
	frames := f.Frames()
	if f.Malformed() != 0 || len(frames) != 4 {
		t.Fatalf("%d frames %+v, malformed %v", len(frames), frames, f.MalformedReasons())
	}
	want := []Frame{
		{Protocol: "WARLS", Pixels: bs(0x11, 0x22, 0x33, 0, 0, 0, 0, 0, 0, 0xAA, 0xBB, 0xCC), Packets: 1, Complete: false, Timeout: 2},
		{Protocol: "DRGB", Pixels: bs(1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12), Packets: 1, Complete: true, Timeout: 5},
		{Protocol: "DNRGB", Pixels: bs(21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32), Packets: 2, Complete: true, Timeout: 1},
		{Protocol: "DNRGB", Pixels: bs(21, 22, 23, 24, 25, 26, 90, 91, 92, 93, 94, 95), Packets: 1, Complete: false, Timeout: 1},
	}
	for i, w := range want {
		g := frames[i]
		if g.Protocol != w.Protocol || !bytes.Equal(g.Pixels, w.Pixels) || g.Packets != w.Packets || g.Complete != w.Complete || g.Timeout != w.Timeout {
			t.Errorf("frame %d = %+v\nwant %+v", i, g, w)
		}
	}
	if f.Releases() != 1 || f.Info().Live {
		t.Errorf("releases %d, live %v after timeout-0 packet", f.Releases(), f.Info().Live)
	}
}

// A strip of one LED: DRGBW and DNRGB carry it with one zero pad byte, which brings the packet to
// the length WLED 0.15+ acts on; the fake shows the one LED and counts nothing as malformed.
func TestRealtimeDecodePaddedSingleLED(t *testing.T) {
	f := New(t, Config{LEDs: 1, RGBW: true})
	sendRaw(t, f, f.RealtimeAddr(), bs(0x03, 0x02, 1, 2, 3, 4, 0), bs(0x04, 0x02, 0x00, 0x00, 5, 6, 7, 0))
	fr := f.Frames()
	if f.Malformed() != 0 || len(fr) != 2 || !bytes.Equal(fr[0].Pixels, bs(1, 2, 3, 4)) || !bytes.Equal(fr[1].Pixels, bs(5, 6, 7, 0)) ||
		!fr[0].Complete || !fr[1].Complete {
		t.Fatalf("frames %+v malformed %v", fr, f.MalformedReasons())
	}
}

func TestRealtimeDecodeDRGBW(t *testing.T) {
	f := New(t, Config{LEDs: 2, RGBW: true})
	sendRaw(t, f, f.RealtimeAddr(), bs(0x03, 0x02, 1, 2, 3, 4, 5, 6, 7, 8), bs(0x02, 0x02, 9, 9, 9, 8, 8, 8))
	fr := f.Frames()
	if len(fr) != 2 || !bytes.Equal(fr[0].Pixels, bs(1, 2, 3, 4, 5, 6, 7, 8)) || !bytes.Equal(fr[1].Pixels, bs(9, 9, 9, 0, 8, 8, 8, 0)) {
		t.Fatalf("frames %+v malformed %v", fr, f.MalformedReasons())
	}
}

func TestRealtimeDecodeMalformed(t *testing.T) {
	cases := []struct {
		name   string
		pkt    []byte
		reason string
	}{
		{"one byte", bs(0x02), "shorter"},
		{"notifier", bs(0x00, 0x01, 0x80, 0, 0, 0), "protocol byte 0"},
		{"unknown protocol", bs(0x09, 0x02, 1, 2, 3), "protocol byte 9"},
		{"oversize", append(bs(0x02, 0x02), make([]byte, 1471)...), "> 1472"},
		{"DRGB partial pixel", bs(0x02, 0x02, 1, 2, 3, 4), "multiple of 3"},
		{"DRGB beyond strip", append(bs(0x02, 0x02), make([]byte, 15)...), "beyond"},
		{"WARLS index beyond", bs(0x01, 0x02, 4, 1, 2, 3), "index 4"},
		{"DNRGB no start", bs(0x04, 0x02, 0x00), "no start"},
		{"DNRGB beyond", bs(0x04, 0x02, 0x00, 0x03, 1, 2, 3, 4, 5, 6), "beyond"},
		// What WLED 0.15+ takes as realtime mode but sets no pixel of (udp.cpp "packetSize > N").
		{"WARLS no LED", bs(0x01, 0x02), "below 6 bytes"},
		{"DRGB no LED", bs(0x02, 0x02), "below 5 bytes"},
		{"DRGBW one LED unpadded", bs(0x03, 0x02, 1, 2, 3, 4), "below 7 bytes"},
		{"DNRGB one LED unpadded", bs(0x04, 0x02, 0x00, 0x03, 1, 2, 3), "below 8 bytes"},
		{"DNRGB pad not zero", bs(0x04, 0x02, 0x00, 0x03, 1, 2, 3, 9), "multiple of 3"},
		{"DNRGB two LEDs padded", bs(0x04, 0x02, 0x00, 0x02, 1, 2, 3, 4, 5, 6, 0), "multiple of 3"},
		{"DNRGB 490 LEDs", append(bs(0x04, 0x02, 0, 0), make([]byte, 490*3)...), "> 1472"}, // 489 is the most that fits
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := New(t, Config{LEDs: 4})
			sendRaw(t, f, f.RealtimeAddr(), tc.pkt)
			r := f.MalformedReasons()
			if f.Malformed() != 1 || len(r) != 1 || !strings.Contains(r[0], tc.reason) || f.FrameCount() != 0 {
				t.Errorf("malformed %d %q, frames %d; want reason containing %q", f.Malformed(), r, f.FrameCount(), tc.reason)
			}
		})
	}
}

func TestWaitFramesTimesOut(t *testing.T) {
	f := New(t, Config{})
	if _, err := f.WaitFrames(1, 20*time.Millisecond); err == nil {
		t.Fatal("WaitFrames returned without frames")
	}
}

func TestMaxFramesBoundsMemory(t *testing.T) {
	d := newDecoder(2, 3)
	f := &Fake{cfg: Config{MaxFrames: 3}, dec: d, changed: make(chan struct{})}
	for i := 0; i < 10; i++ {
		f.handlePacket(bs(0x02, 0x02, byte(i), 0, 0, 0, 0, 0), false, time.Now())
	}
	fr := f.Frames()
	if f.FrameCount() != 10 || len(fr) != 3 || fr[0].Pixels[0] != 7 || fr[2].Pixels[0] != 9 || cap(f.frames) > 8 {
		t.Errorf("count %d, kept %d, first %d, cap %d", f.FrameCount(), len(fr), fr[0].Pixels[0], cap(f.frames))
	}
}

// FuzzDecode feeds arbitrary datagrams to both decoders: they must never panic, and any frame
// they report must be exactly one strip long.
func FuzzDecode(f *testing.F) {
	f.Add([]byte{0x41, 0x01, 0x0B, 0x01, 0, 0, 0, 0, 0, 3, 1, 2, 3}, true)
	f.Add([]byte{0x04, 0x02, 0x00, 0x01, 1, 2, 3}, false)
	f.Add([]byte{0x01, 0x02, 0xFF, 1, 2, 3}, false)
	f.Fuzz(func(t *testing.T, pkt []byte, ddp bool) {
		for _, ch := range []int{3, 4} {
			d := newDecoder(5, ch)
			var r result
			if ddp {
				r = d.ddp(pkt)
			} else {
				r = d.realtime(pkt)
			}
			if r.frame != nil && len(r.frame.Pixels) != 5*ch {
				t.Fatalf("frame of %d bytes", len(r.frame.Pixels))
			}
		}
	})
}
