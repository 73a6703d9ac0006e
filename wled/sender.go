package wled

import (
	"errors"
	"fmt"
	"net"
	"strconv"
	"sync/atomic"
	"syscall"
	"time"
)

// DefaultRealtimeTimeout is how long WLED stays in realtime mode after the last UDP realtime
// packet before resuming its own effect (the timeout byte, in whole seconds).
const DefaultRealtimeTimeout = 2 * time.Second

var (
	// ErrFrameSize indicates a frame whose length is not LEDs × bytes per LED.
	ErrFrameSize = errors.New("wled: frame length does not match the strip")
	// ErrTooManyLEDs indicates more LEDs than the protocol (or MaxLEDs) allows.
	ErrTooManyLEDs = errors.New("wled: too many LEDs for the protocol")
	// ErrProtocolRGBW indicates a colour format the protocol cannot carry (RGBW over DRGB, RGB over DRGBW, …).
	ErrProtocolRGBW = errors.New("wled: protocol cannot carry this colour format")
)

// SenderConfig describes one device's wire format.
type SenderConfig struct {
	Protocol Protocol // ProtocolDDP or a UDP realtime protocol (not ProtocolAuto)
	Addr     string   // UDP "host:port"; a host name is resolved once, here
	LEDs     int      // LEDs per frame, 1..MaxLEDs (and the protocol's limit)
	RGBW     bool     // frames carry 4 bytes per LED
	// Timeout is the UDP realtime timeout byte (whole seconds, rounded up, at most 255 = forever);
	// 0 means DefaultRealtimeTimeout. Ignored for DDP, which has no timeout field.
	Timeout time.Duration
}

// Sender turns Frames into packets for one device and writes them to a connected UDP socket.
// Its packet buffers are built once, so Send allocates nothing. A Sender is not safe for
// concurrent use, except Reopens.
type Sender struct {
	proto     Protocol
	leds, ch  int
	raddr     *net.UDPAddr // the device, resolved once (a zone stays a name); reopen dials it again
	conn      *net.UDPConn
	packets   [][]byte // one preallocated datagram per packet of a frame, headers filled in
	firstLED  []int    // per packet, the first LED it carries
	perPacket int      // LEDs per packet (the last may carry fewer, and a DNRGB one starts earlier)
	hdrLen    int
	release   []byte // UDP realtime: the timeout-0 packet
	seq       byte   // DDP: the last frame's sequence number, 1..15

	fails          failureRun
	reopens        atomic.Uint64
	reopenFailures atomic.Uint64
}

// ReopenAfter is how long every Send must have failed before the Sender re-opens its socket (and
// then at most once per ReopenAfter while they keep failing). A connected UDP socket keeps the
// source address chosen when it was opened: once the machine loses that address (a new DHCP
// lease, Ethernet unplugged with Wi-Fi taking over) every write fails with "network is
// unreachable" for ever, while a socket opened now would pick a working address. A refusal
// (ICMP port unreachable, reported as the next write's ECONNREFUSED) is the device's answer, not
// a lost address: a new socket would be refused too, so refusals never lead to one. (A frame of
// several packets to a refusing host fails on every send: packet 1's refusal comes back on
// packet 2.)
const ReopenAfter = time.Second

// failureRun follows a socket's unbroken run of failed sends and says when it is due for a
// re-open (see ReopenAfter): the Sender and the SoundSyncSender share the rule.
type failureRun struct {
	since      time.Time // the run's first failure; zero after a success
	lastReopen time.Time
}

// failed records a failed send at now and reports whether the socket should be re-opened now.
// A refusal neither starts nor extends a run.
func (f *failureRun) failed(now time.Time, err error) bool {
	if errors.Is(err, syscall.ECONNREFUSED) {
		return false
	}
	if f.since.IsZero() {
		f.since = now
	}
	if now.Sub(f.since) < ReopenAfter || now.Sub(f.lastReopen) < ReopenAfter {
		return false
	}
	f.lastReopen = now
	return true
}

// succeeded ends the run.
func (f *failureRun) succeeded() { f.since = time.Time{} }

// TimeoutByte converts a realtime timeout to WLED's timeout byte: whole seconds rounded up,
// 1..255 (255 = stay in realtime mode until released); 0 means DefaultRealtimeTimeout.
func TimeoutByte(d time.Duration) (byte, error) {
	if d < 0 {
		return 0, fmt.Errorf("wled: negative realtime timeout %v", d)
	}
	if d == 0 {
		d = DefaultRealtimeTimeout
	}
	// Capped before rounding, so that no duration overflows WholeSeconds.
	return byte(WholeSeconds(min(d, realtimeForeverTO*time.Second)) / time.Second), nil
}

// ShortestRealtimeTimeout is the shortest timeout that keeps WLED in realtime mode at fps frames
// per second: it must outlast two frame intervals. WLED waits timeout byte × 1000 + 1 ms after a
// packet, so a timeout of just one interval (1 s at 1 fps) runs out whenever a frame is a
// millisecond late, and each time WLED shows its own effect until the next packet blanks the
// strip again: a flicker. Whole seconds, as the timeout byte carries them.
func ShortestRealtimeTimeout(fps int) time.Duration {
	if fps < 1 {
		fps = 1
	}
	return WholeSeconds(2 * time.Second / time.Duration(fps))
}

// NewSender validates cfg, builds the packet buffers and connects a UDP socket to cfg.Addr.
func NewSender(cfg SenderConfig) (*Sender, error) {
	s, err := newPacketizer(cfg)
	if err != nil {
		return nil, err
	}
	s.raddr, err = net.ResolveUDPAddr("udp", cfg.Addr)
	if err != nil {
		return nil, fmt.Errorf("wled sender %s: %w", cfg.Addr, err)
	}
	s.conn, err = dialDevice(s.raddr)
	if err != nil {
		return nil, fmt.Errorf("wled sender %s: %w", cfg.Addr, err)
	}
	return s, nil
}

// dialDevice connects a UDP socket to raddr. A zone that names an interface (fe80::…%eth0) is
// looked up now and dialled by its index: Go's own mapping of zone names comes from a cache it
// refreshes at most once a minute, so an interface deleted and made again (a USB adapter
// re-plugged) kept the gone one's index for up to a minute, and every socket dialled meanwhile
// sent nothing.
func dialDevice(raddr *net.UDPAddr) (*net.UDPConn, error) {
	if raddr.Zone != "" {
		if _, err := strconv.Atoi(raddr.Zone); err != nil {
			ifi, err := net.InterfaceByName(raddr.Zone)
			if err != nil {
				return nil, fmt.Errorf("zone %s: %w", raddr.Zone, err)
			}
			a := *raddr
			a.Zone = strconv.Itoa(ifi.Index)
			raddr = &a
		}
	}
	return net.DialUDP("udp", nil, raddr)
}

// newPacketizer builds a Sender without a socket.
func newPacketizer(cfg SenderConfig) (*Sender, error) {
	p := cfg.Protocol
	if p != ProtocolDDP && !p.realtime() {
		return nil, fmt.Errorf("wled sender: protocol %v cannot send frames (resolve wled:// targets first)", p)
	}
	if cfg.LEDs < 1 || cfg.LEDs > p.maxLEDs() {
		return nil, fmt.Errorf("%w: %d LEDs, %v carries 1..%d", ErrTooManyLEDs, cfg.LEDs, p, p.maxLEDs())
	}
	switch {
	case p == ProtocolDRGBW && !cfg.RGBW:
		return nil, fmt.Errorf("%w: drgbw needs RGBW frames", ErrProtocolRGBW)
	case p.realtime() && p != ProtocolDRGBW && cfg.RGBW:
		return nil, fmt.Errorf("%w: %v carries RGB only", ErrProtocolRGBW, p)
	}
	timeout, err := TimeoutByte(cfg.Timeout)
	if err != nil {
		return nil, err
	}
	s := &Sender{proto: p, leds: cfg.LEDs, ch: 3}
	if cfg.RGBW {
		s.ch = 4
	}
	switch p {
	case ProtocolDDP:
		s.hdrLen, s.perPacket = ddpHeaderLen, ddpMaxPayload/s.ch
	case ProtocolDNRGB:
		s.hdrLen, s.perPacket = 4, dnrgbLEDsPerPack
	default:
		s.hdrLen, s.perPacket = 2, cfg.LEDs // single-packet protocols
	}
	wireCh := s.ch
	if p == ProtocolWARLS {
		wireCh = 4 // index byte + R, G, B
	}
	n := (cfg.LEDs + s.perPacket - 1) / s.perPacket
	s.packets = make([][]byte, n)
	s.firstLED = make([]int, n)
	for i := range s.packets {
		first := i * s.perPacket
		count := min(s.perPacket, cfg.LEDs-first)
		if p == ProtocolDNRGB && count == 1 && first > 0 {
			// A one-LED DNRGB packet is below WLED's minimum (see minPixelPacket): the last
			// packet starts one LED earlier and carries that LED again, with the same colour.
			first, count = first-1, 2
		}
		s.firstLED[i] = first
		// Zero pad bytes bring a one-LED strip's packet up to WLED's minimum; WLED's pixel loops
		// stop before a partial LED, so they are never shown.
		pkt := make([]byte, max(s.hdrLen+count*wireCh, minPixelPacket(p)))
		switch p {
		case ProtocolDDP:
			pkt[0] = ddpFlagsVersion1
			if i == n-1 {
				pkt[0] |= ddpFlagPush
			}
			pkt[2] = ddpTypeRGB8
			if s.ch == 4 {
				pkt[2] = ddpTypeRGBW8
			}
			pkt[3] = ddpDestDisplay
			off := uint32(first * s.ch)
			pkt[4], pkt[5], pkt[6], pkt[7] = byte(off>>24), byte(off>>16), byte(off>>8), byte(off)
			l := count * s.ch
			pkt[8], pkt[9] = byte(l>>8), byte(l)
		case ProtocolDNRGB:
			pkt[0], pkt[1] = realtimeIDDNRGB, timeout
			pkt[2], pkt[3] = byte(first>>8), byte(first)
		case ProtocolWARLS:
			pkt[0], pkt[1] = realtimeIDWARLS, timeout
			for j := 0; j < count; j++ {
				pkt[2+j*4] = byte(j)
			}
		case ProtocolDRGB:
			pkt[0], pkt[1] = realtimeIDDRGB, timeout
		case ProtocolDRGBW:
			pkt[0], pkt[1] = realtimeIDDRGBW, timeout
		}
		s.packets[i] = pkt
	}
	if p.realtime() {
		s.release = append([]byte(nil), s.packets[0][:s.hdrLen]...)
		s.release[1] = 0 // timeout 0: WLED leaves realtime mode and ignores the packet's pixels
	}
	return s, nil
}

// minPixelPacket is the shortest datagram of p that WLED 0.15 and later take pixels from; a
// shorter one only enters realtime mode (wled00/udp.cpp handleNotifications,
// "udpIn[0] == N && packetSize > M": v0.15.3 lines 632-656, v16.0.1 and HEAD 6d16dc2 lines
// 616-629). WARLS (> 5) and DRGB (> 4) fit one LED; DRGBW (> 6) and DNRGB (> 7) need one byte
// more than a single LED takes (0.14 and older check less or nothing). DDP's only minimum is its
// 10-byte header, which every packet has (wled00/e131.cpp handleDDPPacket, v16.0.1 line 24,
// HEAD line 29, "packetLen < DDP_HEADER_LEN").
func minPixelPacket(p Protocol) int {
	switch p {
	case ProtocolWARLS:
		return 6
	case ProtocolDRGB:
		return 5
	case ProtocolDRGBW:
		return 7
	case ProtocolDNRGB:
		return 8
	default:
		return ddpHeaderLen
	}
}

// Protocol is the wire protocol this sender speaks.
func (s *Sender) Protocol() Protocol { return s.proto }

// LEDs is the number of LEDs per frame.
func (s *Sender) LEDs() int { return s.leds }

// RGBW reports whether frames carry 4 bytes per LED.
func (s *Sender) RGBW() bool { return s.ch == 4 }

// FrameBytes is the length Send expects: LEDs × 3 (or 4 for RGBW).
func (s *Sender) FrameBytes() int { return s.leds * s.ch }

// PacketsPerFrame is how many datagrams one frame takes.
func (s *Sender) PacketsPerFrame() int { return len(s.packets) }

// fill copies frame into the packet buffers and advances the DDP sequence number.
//
// Every packet of one frame carries the same DDP sequence number, frame count % 15 + 1 (as
// LedFx does). WLED's "Skip out-of-sequence packets" option (e131.cpp handleDDPPacket, off by
// default) drops a packet whose number is one of the four before the last shown push packet's,
// counting round 1..15. Numbering packets one by one, a frame of more than 10 packets (4800 RGB
// LEDs) wraps into that window and its push packet is dropped: the strip freezes. With one number
// per frame, each frame's packets are one step ahead of the last push, or equal to it, whatever
// the frame's size.
func (s *Sender) fill(frame []byte) error {
	if len(frame) != s.leds*s.ch {
		return fmt.Errorf("%w: %d bytes, want %d (%d LEDs × %d)", ErrFrameSize, len(frame), s.leds*s.ch, s.leds, s.ch)
	}
	if s.proto == ProtocolDDP {
		s.seq = s.seq%ddpMaxSeq + 1 // 1..15, never 0 (0 means "sequence unused")
	}
	for i, pkt := range s.packets {
		px := frame[s.firstLED[i]*s.ch:]
		switch s.proto {
		case ProtocolDDP:
			pkt[1] = s.seq
			copy(pkt[s.hdrLen:], px)
		case ProtocolWARLS:
			for j := 2; j < len(pkt); j += 4 {
				pkt[j+1], pkt[j+2], pkt[j+3] = px[0], px[1], px[2]
				px = px[3:]
			}
		default:
			copy(pkt[s.hdrLen:], px) // a pad byte stays 0: only a one-LED strip has one, and px is that LED
		}
	}
	return nil
}

// sendWriteTimeout bounds one frame's writes. UDP writes only block when the socket's send
// buffer is full (a wedged Wi-Fi queue); then the frame is abandoned and counted as a send error
// rather than holding the device's output loop, and its shutdown, indefinitely. It is long
// because on a loaded machine the goroutine itself can stall for 100 ms or more between setting
// the deadline and writing, which would otherwise show up as spurious timeouts.
const sendWriteTimeout = time.Second

// Send writes one frame (LEDs × 3 or 4 bytes, LED 0 first) as PacketsPerFrame datagrams. It
// returns how many were written; on a socket error it stops at the failed packet. When every Send
// has failed for ReopenAfter, it re-opens the socket and writes the frame again on the new one.
func (s *Sender) Send(frame []byte) (packets int, err error) {
	if err := s.fill(frame); err != nil {
		return 0, err
	}
	now := time.Now()
	n, err := s.write(now)
	if err == nil {
		s.fails.succeeded()
		return n, nil
	}
	if !s.fails.failed(now, err) {
		return n, err
	}
	if rerr := s.reopen(); rerr != nil {
		// No route or no interface at all yet: keep the old socket and try again in
		// ReopenAfter. The caller's log line says why the new socket failed too.
		return n, fmt.Errorf("%w (re-opening the socket failed too: %v)", err, rerr)
	}
	if n, err = s.write(now); err == nil {
		s.fails.succeeded()
	}
	return n, err
}

// write writes the filled packets.
func (s *Sender) write(now time.Time) (int, error) {
	if err := s.conn.SetWriteDeadline(now.Add(sendWriteTimeout)); err != nil {
		return 0, err
	}
	for i, pkt := range s.packets {
		if _, err := s.conn.Write(pkt); err != nil {
			return i, err
		}
	}
	return len(s.packets), nil
}

// reopen replaces the socket with one dialled now, which picks the source address (and a
// zone's interface) afresh.
func (s *Sender) reopen() error {
	c, err := dialDevice(s.raddr)
	if err != nil {
		s.reopenFailures.Add(1)
		return err
	}
	_ = s.conn.Close()
	s.conn = c
	s.reopens.Add(1)
	return nil
}

// Reopens is how many times the socket was re-opened (see ReopenAfter). It is safe to call from
// any goroutine.
func (s *Sender) Reopens() uint64 { return s.reopens.Load() }

// ReopenFailures is how many re-opens failed (no route, no interface for the address's zone),
// leaving the old socket in place. It is safe to call from any goroutine.
func (s *Sender) ReopenFailures() uint64 { return s.reopenFailures.Load() }

// Release tells a UDP realtime device to leave realtime mode now (a packet with timeout byte 0).
// It does nothing for DDP, which has no such packet; release a DDP device with Client.SetLive.
// If the write fails it is tried once more on a re-opened socket: the error may be a refusal of
// an earlier frame reported late, or the socket's source address may have gone, and a device
// left in realtime mode with timeout 255 stays frozen until someone power-cycles it.
func (s *Sender) Release() error {
	if s.release == nil {
		return nil
	}
	err := s.writeRelease()
	if err != nil && s.reopen() == nil {
		err = s.writeRelease()
	}
	return err
}

func (s *Sender) writeRelease() error {
	// A fresh deadline: the last Send's has passed if no frame went out for sendWriteTimeout,
	// and a write after its deadline fails at once, leaving the device in realtime mode.
	if err := s.conn.SetWriteDeadline(time.Now().Add(sendWriteTimeout)); err != nil {
		return err
	}
	_, err := s.conn.Write(s.release)
	return err
}

// Close closes the socket.
func (s *Sender) Close() error { return s.conn.Close() }
