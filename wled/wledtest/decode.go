package wledtest

import "fmt"

// Byte layouts, written from WLED's receive code (wled00/e131.cpp handleDDPPacket,
// wled00/udp.cpp handleNotifications) and the DDP spec, independently of package wled's sender.
const (
	ddpHeaderLen        = 10
	ddpTimecodeLen      = 4
	ddpMaxPayload       = 1440 // what ledbridge (like WLED, LedFx, Hyperion) promises to send at most
	ddpFlagVersionMask  = 0xC0
	ddpFlagVersion1     = 0x40
	ddpFlagTimecode     = 0x10
	ddpFlagStorage      = 0x08
	ddpFlagReply        = 0x04
	ddpFlagQuery        = 0x02
	ddpFlagPush         = 0x01
	ddpTypeRGB8         = 0x0B
	ddpTypeRGBW8        = 0x1B
	ddpDestDisplay      = 1
	udpInMaxSize        = 1472 // UDP_IN_MAXSIZE: WLED drops larger realtime datagrams
	realtimeWARLS       = 1
	realtimeDRGB        = 2
	realtimeDRGBW       = 3
	realtimeDNRGB       = 4
	warlsMaxLEDs        = 255
	drgbMaxLEDs         = 490
	drgbwMaxLEDs        = 367
	dnrgbMaxLEDsPerPack = 489
)

// The shortest pixel packet of each UDP realtime protocol that WLED 0.15 and later act on: a
// shorter one still enters realtime mode but sets no pixel (wled00/udp.cpp handleNotifications,
// "udpIn[0] == N && packetSize > M": v0.15.3 lines 632-656, v16.0.1 and HEAD 6d16dc2 lines
// 616-629). WARLS and DRGB fit one LED; DRGBW and DNRGB need a byte more than one LED takes, so
// a single-LED packet of theirs carries one zero pad byte, which WLED's pixel loops
// ("i < packetSize - 3" / "- 2") never read as a pixel. DDP's only minimum is its 10-byte
// header, which ddp checks (wled00/e131.cpp handleDDPPacket, v16.0.1 line 24, HEAD line 29,
// "packetLen < DDP_HEADER_LEN").
const (
	warlsMinPacket = 6 // 2 + one index+RGB
	drgbMinPacket  = 5 // 2 + one RGB
	drgbwMinPacket = 7 // 2 + one RGBW + a pad byte
	dnrgbMinPacket = 8 // 4 + one RGB + a pad byte
)

// result is what one packet did to the decoder.
type result struct {
	err     error  // the packet was malformed and ignored
	frame   *Frame // a whole frame completed (Pixels aliases decoder state; copy it)
	release bool   // UDP realtime timeout byte 0: leave realtime mode
	seqGap  bool   // DDP sequence number not the frame's, or a frame's not one after the last frame's
	skipped bool   // DDP packet dropped as WLED's "Skip out-of-sequence packets" would
}

// decoder turns packets into frames. It is not safe for concurrent use.
type decoder struct {
	leds, ch int
	// skipOutOfSeq imitates WLED's "Skip out-of-sequence packets" option (cfg if.live.dmx.seqskip).
	skipOutOfSeq bool

	ddpPix      []byte
	ddpWritten  []bool // per LED, written since the last push
	ddpPackets  int
	ddpFrameSeq byte // sequence number of the frame in progress (while ddpPackets > 0)
	ddpPushSeq  byte // sequence number of the last push packet taken, 0 before the first
	rtPix       []byte
	rtWritten   []bool
	rtPackets   int
	frame       Frame
}

func newDecoder(leds, ch int) decoder {
	return decoder{
		leds: leds, ch: ch,
		ddpPix: make([]byte, leds*ch), ddpWritten: make([]bool, leds),
		rtPix: make([]byte, leds*ch), rtWritten: make([]bool, leds),
	}
}

func errf(format string, args ...any) result { return result{err: fmt.Errorf(format, args...)} }

func be32(b []byte) uint32 {
	return uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
}
func be16(b []byte) int { return int(b[0])<<8 | int(b[1]) }

// ddp decodes one DDP datagram strictly: anything ledbridge's sender must never produce is
// malformed, even where a real WLED would be lenient.
func (d *decoder) ddp(p []byte) result {
	if len(p) < ddpHeaderLen {
		return errf("DDP: %d-byte packet shorter than the 10-byte header", len(p))
	}
	flags, seqByte, dtype, dest := p[0], p[1], p[2], p[3]
	if flags&ddpFlagVersionMask != ddpFlagVersion1 {
		return errf("DDP: flags 0x%02x: version bits are not 1 (0x40)", flags)
	}
	if flags&(ddpFlagQuery|ddpFlagReply|ddpFlagStorage) != 0 {
		return errf("DDP: flags 0x%02x: query/reply/storage set on a data packet", flags)
	}
	hdr := ddpHeaderLen
	if flags&ddpFlagTimecode != 0 {
		hdr += ddpTimecodeLen
		if len(p) < hdr {
			return errf("DDP: timecode flag but only %d bytes", len(p))
		}
	}
	seq := seqByte & 0x0F
	if seqByte&0xF0 != 0 || seq == 0 {
		return errf("DDP: sequence byte 0x%02x not in 1..15", seqByte)
	}
	wantType := byte(ddpTypeRGB8)
	if d.ch == 4 {
		wantType = ddpTypeRGBW8
	}
	if dtype != wantType {
		return errf("DDP: data type 0x%02x, want 0x%02x for %d bytes/LED", dtype, wantType, d.ch)
	}
	if dest != ddpDestDisplay {
		return errf("DDP: destination %d, want 1 (display)", dest)
	}
	offset := be32(p[4:8])
	length := be16(p[8:10])
	payload := p[hdr:]
	switch {
	case length != len(payload):
		return errf("DDP: length field %d but %d payload bytes", length, len(payload))
	case length > ddpMaxPayload:
		return errf("DDP: %d payload bytes > %d", length, ddpMaxPayload)
	case offset%uint32(d.ch) != 0 || length%d.ch != 0:
		return errf("DDP: offset %d / length %d not whole %d-byte pixels", offset, length, d.ch)
	case uint64(offset)+uint64(length) > uint64(len(d.ddpPix)):
		return errf("DDP: bytes %d..%d beyond the %d-byte strip", offset, uint64(offset)+uint64(length), len(d.ddpPix))
	}
	// WLED with "Skip out-of-sequence packets" on drops a packet whose number is one of the four
	// before the last push packet's, counting round 1..15 (e131.cpp handleDDPPacket: "late
	// packets belonging to previous frame"), and takes every other number, the same one included.
	if d.skipOutOfSeq && d.ddpPushSeq != 0 {
		if behind := (int(d.ddpPushSeq) - int(seq) + 15) % 15; behind >= 1 && behind <= 4 {
			return result{skipped: true}
		}
	}
	// Strict: ledbridge gives every packet of a frame the same number, one more (1..15, round) than
	// the last frame's.
	var res result
	switch {
	case d.ddpPackets == 0: // a frame begins
		res.seqGap = d.ddpPushSeq != 0 && seq != d.ddpPushSeq%15+1
		d.ddpFrameSeq = seq
	case seq != d.ddpFrameSeq:
		// The rest of the frame in progress was lost and another began: one gap, not one per
		// packet of the new frame. (Its pixels land on the old frame's, as on a WLED.)
		res.seqGap = true
		d.ddpFrameSeq = seq
	}
	copy(d.ddpPix[offset:], payload)
	first := int(offset) / d.ch
	for i := first; i < first+length/d.ch; i++ {
		d.ddpWritten[i] = true
	}
	d.ddpPackets++
	if flags&ddpFlagPush == 0 {
		return res
	}
	d.ddpPushSeq = seq
	d.frame = Frame{Protocol: "DDP", Pixels: d.ddpPix, Packets: d.ddpPackets, Complete: allTrue(d.ddpWritten)}
	res.frame = &d.frame
	clear(d.ddpWritten)
	d.ddpPackets = 0
	return res
}

func allZero(b []byte) bool {
	for _, v := range b {
		if v != 0 {
			return false
		}
	}
	return true
}

func allTrue(b []bool) bool {
	for _, v := range b {
		if !v {
			return false
		}
	}
	return true
}

// realtime decodes one datagram sent to WLED's UDP realtime port.
func (d *decoder) realtime(p []byte) result {
	if len(p) < 2 {
		return errf("realtime: %d-byte packet shorter than protocol+timeout", len(p))
	}
	if len(p) > udpInMaxSize {
		return errf("realtime: %d bytes > %d (WLED drops it)", len(p), udpInMaxSize)
	}
	proto, timeout := p[0], p[1]
	var name string
	var minLen int
	switch proto {
	case realtimeWARLS:
		name, minLen = "WARLS", warlsMinPacket
	case realtimeDRGB:
		name, minLen = "DRGB", drgbMinPacket
	case realtimeDRGBW:
		name, minLen = "DRGBW", drgbwMinPacket
	case realtimeDNRGB:
		name, minLen = "DNRGB", dnrgbMinPacket
		if len(p) < 4 {
			return errf("DNRGB: %d bytes, no start index", len(p))
		}
	default:
		return errf("realtime: protocol byte %d is not WARLS/DRGB/DRGBW/DNRGB", proto)
	}
	if timeout == 0 {
		// WLED leaves realtime mode and ignores the pixels; a frame in progress is abandoned.
		// It reads the timeout byte before any length check, so a release may be this short.
		clear(d.rtWritten)
		d.rtPackets = 0
		return result{release: true}
	}
	if len(p) < minLen {
		return errf("%s: %d-byte packet, WLED 0.15+ sets no pixel below %d bytes", name, len(p), minLen)
	}
	data := p[2:]
	start := 0
	if proto == realtimeDNRGB {
		start = be16(p[2:4])
		data = p[4:]
	}
	inCh := 3
	switch proto {
	case realtimeWARLS, realtimeDRGBW:
		inCh = 4
	}
	if pad := len(data) % inCh; pad != 0 {
		// Only a single-LED packet padded to exactly WLED's minimum, with zero, is well formed.
		if len(p) != minLen || len(data) != inCh+pad || !allZero(data[inCh:]) {
			return errf("%s: %d data bytes not a multiple of %d", name, len(data), inCh)
		}
		data = data[:inCh]
	}
	n := len(data) / inCh
	switch {
	case proto == realtimeWARLS && n > warlsMaxLEDs:
		return errf("WARLS: %d LEDs > %d", n, warlsMaxLEDs)
	case proto == realtimeDRGB && n > drgbMaxLEDs:
		return errf("DRGB: %d LEDs > %d", n, drgbMaxLEDs)
	case proto == realtimeDRGBW && n > drgbwMaxLEDs:
		return errf("DRGBW: %d LEDs > %d", n, drgbwMaxLEDs)
	case proto == realtimeDNRGB && n > dnrgbMaxLEDsPerPack:
		return errf("DNRGB: %d LEDs > %d per packet", n, dnrgbMaxLEDsPerPack)
	case proto != realtimeWARLS && start+n > d.leds:
		return errf("%s: LEDs %d..%d beyond the %d-LED strip", name, start, start+n, d.leds)
	}
	if proto == realtimeWARLS {
		for i := 0; i < n; i++ {
			if idx := int(data[i*4]); idx >= d.leds {
				return errf("WARLS: LED index %d beyond the %d-LED strip", idx, d.leds)
			}
		}
	}
	if proto != realtimeDNRGB || start == 0 {
		clear(d.rtWritten) // every other protocol is one packet per frame; DNRGB restarts at 0
		d.rtPackets = 0
	}
	for i := 0; i < n; i++ {
		px := data[i*inCh:]
		led := start + i
		if proto == realtimeWARLS {
			led, px = int(px[0]), px[1:]
		}
		dst := d.rtPix[led*d.ch:]
		dst[0], dst[1], dst[2] = px[0], px[1], px[2]
		if d.ch == 4 {
			dst[3] = 0
			if proto == realtimeDRGBW {
				dst[3] = px[3]
			}
		}
		d.rtWritten[led] = true
	}
	d.rtPackets++
	if proto == realtimeDNRGB && start+n < d.leds {
		return result{} // the frame continues in the next packet
	}
	d.frame = Frame{Protocol: name, Pixels: d.rtPix, Packets: d.rtPackets, Complete: allTrue(d.rtWritten), Timeout: timeout}
	clear(d.rtWritten)
	d.rtPackets = 0
	return result{frame: &d.frame}
}
