package wled

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"net"
	"net/netip"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// Sound sync: WLED's audio-reactive usermod can take its audio analysis from the network
// instead of a microphone ("Sync: Receive"). ledbridge can send these packets so every
// audio-reactive WLED on the LAN runs its own sound effects in time with the jam.
const (
	// DefaultSoundSyncAddr is the usermod's multicast group and port.
	DefaultSoundSyncAddr = "239.0.0.1:11988"
	// SoundSyncPacketLen is the size of a v2 packet (usermods/audioreactive audioSyncPacket).
	SoundSyncPacketLen = 44
	// SoundSyncBands is the number of GEQ channels in a packet.
	SoundSyncBands = 16
)

// soundSyncHeader is the v2 header, "00002" and its NUL ("00001" was the 88-byte v1).
var soundSyncHeader = [6]byte{'0', '0', '0', '0', '2', 0}

// SoundSync is one v2 sound sync packet's content.
type SoundSync struct {
	SampleRaw    float32               // current level (WLED: sampleRaw, 0..~255)
	SampleSmooth float32               // smoothed level (WLED: sampleAvg/sampleSmth)
	Peak         bool                  // a beat/peak was detected since the last packet
	FrameCounter uint8                 // WLED-MM uses this to detect lost/out-of-order packets
	FFT          [SoundSyncBands]uint8 // GEQ channels, low to high (0..255)
	FFTMagnitude float32               // magnitude of the strongest FFT bin
	MajorPeakHz  float32               // frequency of the strongest FFT bin, Hz
}

// EncodeSoundSync writes p as a 44-byte v2 packet: little-endian, layout
// header[6] reserved[2] sampleRaw f32 @8, sampleSmth f32 @12, samplePeak u8 @16,
// frameCounter u8 @17, fftResult[16] @18, reserved u16 @34, FFT_Magnitude f32 @36,
// FFT_MajorPeak f32 @40. NaN and ±Inf are sent as 0 so a receiver never sees them.
func EncodeSoundSync(dst *[SoundSyncPacketLen]byte, p SoundSync) {
	*dst = [SoundSyncPacketLen]byte{}
	copy(dst[0:6], soundSyncHeader[:])
	le := binary.LittleEndian
	le.PutUint32(dst[8:], math.Float32bits(finite(p.SampleRaw)))
	le.PutUint32(dst[12:], math.Float32bits(finite(p.SampleSmooth)))
	if p.Peak {
		dst[16] = 1
	}
	dst[17] = p.FrameCounter
	copy(dst[18:34], p.FFT[:])
	le.PutUint32(dst[36:], math.Float32bits(finite(p.FFTMagnitude)))
	le.PutUint32(dst[40:], math.Float32bits(finite(p.MajorPeakHz)))
}

func finite(f float32) float32 {
	if math.IsNaN(float64(f)) || math.IsInf(float64(f), 0) {
		return 0
	}
	return f
}

// SoundSyncSender sends sound sync packets to one UDP address (multicast by default; the
// kernel's default multicast TTL of 1 keeps them on the LAN). Send allocates nothing and never
// waits on the network. It is not safe for concurrent use.
//
// It outlives the network: a socket that cannot be opened yet (no route at boot, a host name
// that does not resolve yet) is opened in the background, retried at growing intervals, and a
// socket whose sends have all failed for ReopenAfter (this machine's address went away) is
// replaced, as the strips' senders do. Until then Send reports ErrSoundSyncNotConnected.
type SoundSyncSender struct {
	host      string
	port      uint16
	conn      atomic.Pointer[net.UDPConn]
	buf       [SoundSyncPacketLen]byte
	counter   uint8
	fails     failureRun
	redial    chan struct{} // capacity 1: a request for a new socket
	ctx       context.Context
	cancel    context.CancelFunc // stops the background goroutine, and any lookup it waits on
	done      chan struct{}
	closeOnce sync.Once
	reopens   atomic.Uint64
}

// ErrSoundSyncNotConnected: the sound sync socket is not open yet; it is being opened.
var ErrSoundSyncNotConnected = errors.New("wled sound sync: no socket yet (network not up?)")

// soundSyncRetry is the wait between attempts to open the socket; the last entry repeats.
var soundSyncRetry = []time.Duration{time.Second, 2 * time.Second, 5 * time.Second, 10 * time.Second, 30 * time.Second}

// NewSoundSyncSender sends to addr ("" means DefaultSoundSyncAddr), HOST:PORT with an IP
// address or a host name. Use a unicast or broadcast address where routers drop multicast.
// Only a malformed address is an error; Close stops the sender's background goroutine.
func NewSoundSyncSender(addr string) (*SoundSyncSender, error) {
	if addr == "" {
		addr = DefaultSoundSyncAddr
	}
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, fmt.Errorf("wled sound sync %s: %w", addr, err)
	}
	p, err := strconv.Atoi(port)
	if err != nil || p < 1 || p > 65535 {
		return nil, fmt.Errorf("wled sound sync %s: port must be 1-65535", addr)
	}
	if host == "" {
		return nil, fmt.Errorf("wled sound sync %s: no host", addr)
	}
	s := &SoundSyncSender{host: host, port: uint16(p), redial: make(chan struct{}, 1), done: make(chan struct{})}
	s.ctx, s.cancel = context.WithCancel(context.Background())
	// An IP address is opened at once (no lookup can block); a host name, or an address with
	// no route yet, by the background goroutine.
	if _, err := netip.ParseAddr(host); err == nil {
		if c, err := s.dial(); err == nil {
			s.conn.Store(c)
		}
	}
	if s.conn.Load() == nil {
		s.redial <- struct{}{}
	}
	go s.run()
	return s, nil
}

// lookupNetIP is the resolver's lookup (a test's stand-in can be a DNS server that never answers).
var lookupNetIP = defaultLookupNetIP

var defaultLookupNetIP = net.DefaultResolver.LookupNetIP

// dial looks the host up (cancelled by Close: a DNS server that never answers must not hold it)
// and connects a UDP socket to it.
func (s *SoundSyncSender) dial() (*net.UDPConn, error) {
	ips, err := lookupNetIP(s.ctx, "ip", s.host)
	if err != nil {
		return nil, err
	}
	if len(ips) == 0 {
		return nil, fmt.Errorf("%s: no address", s.host)
	}
	return net.DialUDP("udp", nil, net.UDPAddrFromAddrPort(netip.AddrPortFrom(ips[0].Unmap(), s.port)))
}

// run opens a socket whenever Send or the constructor asks for one, until Close.
func (s *SoundSyncSender) run() {
	defer close(s.done)
	for {
		select {
		case <-s.ctx.Done():
			return
		case <-s.redial:
		}
		for attempt := 0; ; attempt++ {
			c, err := s.dial()
			if s.ctx.Err() != nil {
				if c != nil {
					_ = c.Close()
				}
				return
			}
			if err == nil {
				if old := s.conn.Swap(c); old != nil {
					_ = old.Close()
					s.reopens.Add(1)
				}
				break
			}
			t := time.NewTimer(soundSyncRetry[min(attempt, len(soundSyncRetry)-1)])
			select {
			case <-s.ctx.Done():
				t.Stop()
				return
			case <-t.C:
			}
		}
	}
}

// Send encodes p and sends it. A zero FrameCounter is replaced by the sender's own counter,
// which advances by one per packet.
func (s *SoundSyncSender) Send(p SoundSync) error {
	s.counter++
	if p.FrameCounter == 0 {
		p.FrameCounter = s.counter
	}
	EncodeSoundSync(&s.buf, p)
	c := s.conn.Load()
	if c == nil {
		return ErrSoundSyncNotConnected
	}
	_, err := c.Write(s.buf[:])
	if err == nil {
		s.fails.succeeded()
		return nil
	}
	if s.fails.failed(time.Now(), err) {
		select {
		case s.redial <- struct{}{}:
		default:
		}
	}
	return err
}

// Reopens is how many times the socket was replaced after its sends kept failing. It is safe to
// call from any goroutine.
func (s *SoundSyncSender) Reopens() uint64 { return s.reopens.Load() }

// Close stops the background goroutine (a host-name lookup in progress is cancelled) and closes
// the socket. Calling it again does nothing.
func (s *SoundSyncSender) Close() error {
	var err error
	s.closeOnce.Do(func() {
		s.cancel()
		<-s.done
		if c := s.conn.Load(); c != nil {
			err = c.Close()
		}
	})
	return err
}
