package wled

import (
	"encoding/binary"
	"fmt"
	"math"
	"net"
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
// kernel's default multicast TTL of 1 keeps them on the LAN). Send allocates nothing. It is not
// safe for concurrent use.
type SoundSyncSender struct {
	conn    *net.UDPConn
	buf     [SoundSyncPacketLen]byte
	counter uint8
}

// NewSoundSyncSender connects a UDP socket to addr ("" means DefaultSoundSyncAddr). Use a
// unicast or broadcast address where routers drop multicast.
func NewSoundSyncSender(addr string) (*SoundSyncSender, error) {
	if addr == "" {
		addr = DefaultSoundSyncAddr
	}
	raddr, err := net.ResolveUDPAddr("udp", addr)
	if err != nil {
		return nil, fmt.Errorf("wled sound sync %s: %w", addr, err)
	}
	conn, err := net.DialUDP("udp", nil, raddr)
	if err != nil {
		return nil, fmt.Errorf("wled sound sync %s: %w", addr, err)
	}
	return &SoundSyncSender{conn: conn}, nil
}

// Send encodes p and sends it. A zero FrameCounter is replaced by the sender's own counter,
// which advances by one per packet.
func (s *SoundSyncSender) Send(p SoundSync) error {
	s.counter++
	if p.FrameCounter == 0 {
		p.FrameCounter = s.counter
	}
	EncodeSoundSync(&s.buf, p)
	_, err := s.conn.Write(s.buf[:])
	return err
}

// Close closes the socket.
func (s *SoundSyncSender) Close() error { return s.conn.Close() }
