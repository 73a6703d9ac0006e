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
// waits on the network. It is not safe for concurrent use, but Send may run while Run does.
//
// It outlives the network: Run opens the socket, retries at growing intervals while it cannot be
// opened (no route at boot, a host name that does not resolve yet), and replaces a socket whose
// sends have all failed for ReopenAfter (this machine's address went away), as the strips'
// senders do. Until a socket is open, and once Run has returned, Send reports
// ErrSoundSyncNotConnected.
type SoundSyncSender struct {
	host    string
	port    uint16
	conn    atomic.Pointer[net.UDPConn]
	buf     [SoundSyncPacketLen]byte
	counter uint8
	fails   failureRun
	redial  chan struct{} // capacity 1: Send's request for a new socket
	running atomic.Bool   // Run was called
	reopens atomic.Uint64
}

// ErrSoundSyncNotConnected: the sound sync socket is not open yet; it is being opened.
var ErrSoundSyncNotConnected = errors.New("wled sound sync: no socket yet (network not up?)")

// ErrSoundSyncRunning is returned by a second call of Run: one Run owns the socket.
var ErrSoundSyncRunning = errors.New("wled sound sync: Run was already called")

// soundSyncRetry is the wait between attempts to open the socket; the last entry repeats.
var soundSyncRetry = []time.Duration{time.Second, 2 * time.Second, 5 * time.Second, 10 * time.Second, 30 * time.Second}

// NewSoundSyncSender sends to addr ("" means DefaultSoundSyncAddr), HOST:PORT with an IP
// address or a host name. Use a unicast or broadcast address where routers drop multicast.
// Only a malformed address is an error. It opens no socket and starts no goroutine: Run does.
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
	return &SoundSyncSender{host: host, port: uint16(p), redial: make(chan struct{}, 1)}, nil
}

// lookupNetIP is the resolver's lookup (a test's stand-in can be a DNS server that never answers).
var lookupNetIP = defaultLookupNetIP

var defaultLookupNetIP = net.DefaultResolver.LookupNetIP

// dial looks the host up (cancelled with ctx: a DNS server that never answers must not hold
// Run's return) and connects a UDP socket to it.
func (s *SoundSyncSender) dial(ctx context.Context) (*net.UDPConn, error) {
	ips, err := lookupNetIP(ctx, "ip", s.host)
	if err != nil {
		return nil, err
	}
	if len(ips) == 0 {
		return nil, fmt.Errorf("%s: no address", s.host)
	}
	return net.DialUDP("udp", nil, net.UDPAddrFromAddrPort(netip.AddrPortFrom(ips[0].Unmap(), s.port)))
}

// Run opens the socket at once (retrying at growing intervals while it cannot be opened), opens
// a new one whenever Send asks, and, once ctx is done, closes the socket and returns nil. A
// host-name lookup in progress is cancelled with ctx. A second call returns ErrSoundSyncRunning.
func (s *SoundSyncSender) Run(ctx context.Context) error {
	if !s.running.CompareAndSwap(false, true) {
		return ErrSoundSyncRunning
	}
	defer func() {
		if c := s.conn.Swap(nil); c != nil {
			_ = c.Close()
		}
	}()
	for {
		for attempt := 0; ; attempt++ {
			c, err := s.dial(ctx)
			if ctx.Err() != nil {
				if c != nil {
					_ = c.Close()
				}
				return nil
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
			case <-ctx.Done():
				t.Stop()
				return nil
			case <-t.C:
			}
		}
		select {
		case <-ctx.Done():
			return nil
		case <-s.redial:
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
