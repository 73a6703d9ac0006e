package peer

import (
	"io"
	"time"

	"github.com/pion/transport/v5/packetio"

	"github.com/ledbridge/ledbridge/bridge/clock"
	"github.com/ledbridge/ledbridge/bridge/lograte"
)

// floodSeconds is how many seconds of packets over Config.MaxPacketsPerSecond a musician may
// send at once (packetBudget's depth): a stall's backlog, delivered at once, or a burst of
// retransmissions is far less.
const floodSeconds = 3

// packetFloodWhat names a packet flood in the evFlood the musician's goroutine logs.
const packetFloodWhat = "RTP and RTCP packets a second"

// floodRepost spaces the evFlood events of a flooding connection: the first may be dropped
// from a full event queue, and the musician's goroutine ignores those after it closed the
// connection.
const floodRepost = 100 * time.Millisecond

// packetBudget is a token bucket of the RTP and RTCP packets one musician's connections may
// send: MaxPacketsPerSecond tokens a second, floodSeconds' worth deep. A connection that finds
// it empty is flooding the bridge and is closed until she offers again. Every packet she
// sends is paid for before any of her audio is used (SRTP, pion's read path, the interceptors
// and read goroutines, on the P the 60 fps loop also runs on), so a flood would make every
// strip late; the audio stream's decode budget bounds only the decoding. The budget is the
// musician's, not one connection's, so that offering again does not fill it. It is the token
// bucket the log limits use (lograte.Budget), one packet a token.
type packetBudget struct{ lograte.Budget }

func newPacketBudget(perSecond int) *packetBudget {
	return &packetBudget{lograte.Budget{Burst: perSecond * floodSeconds, Every: time.Second / time.Duration(perSecond)}}
}

// spend takes one packet's token at now; it reports whether there was none left.
func (b *packetBudget) spend(now time.Time) (flood bool) {
	_, ok := b.Allow(now)
	return !ok
}

// packetCounter spends a token of a musician's packetBudget for every RTP packet, and every RTCP
// packet once per SSRC it names, that pion decrypts and delivers to a stream of her connection,
// whatever its SSRC and whether anything reads it (countingBuffer), and calls flooding, at most
// once every floodRepost, while the budget is empty. Counting where pion's streams are read
// would miss what it delivers and never reads: streams of SSRCs it does not hand over (the
// a=ssrc the offer declares instead, an unknown payload type), RTCP about an unknown SSRC, and
// the RTCP of the SSRC-0 bandwidth probe. What pion drops before any stream is not counted:
// packets that fail authentication or the replay check (an HMAC each, and a log line) and RTCP
// that names no SSRC.
type packetCounter struct {
	budget   *packetBudget
	flooding func()
	posted   clock.MonoStamp // when flooding was last called (monotonic: NTP may step the wall clock)
}

func (c *packetCounter) count() { c.countAt(time.Now()) }

// countAt counts a packet decrypted at now. Two goroutines (the SRTP and SRTCP sessions' read
// loops) may both call flooding for one floodRepost: the musician's goroutine handles the first
// and ignores the rest.
func (c *packetCounter) countAt(now time.Time) {
	if !c.budget.spend(now) {
		return
	}
	if last, ok := c.posted.Load(); ok && now.Sub(last) < floodRepost {
		return
	}
	c.posted.Store(now)
	c.flooding()
}

// The sizes of pion's own stream buffers (srtp's srtpBufferSize and srtcpBufferSize), which a
// BufferFactory replaces.
const (
	rtpStreamBuffer  = 1000 * 1000
	rtcpStreamBuffer = 100 * 1000
)

// bufferFactory is a SettingEngine.BufferFactory: pion's stream buffers, as srtp makes them
// without one, each counting what the SRTP or SRTCP session writes into it after decrypting.
func (c *packetCounter) bufferFactory(kind packetio.BufferPacketType, _ uint32) io.ReadWriteCloser {
	b := packetio.NewBuffer()
	if kind == packetio.RTCPBufferPacket {
		b.SetLimitSize(rtcpStreamBuffer)
	} else {
		b.SetLimitSize(rtpStreamBuffer)
	}
	return &countingBuffer{Buffer: b, count: c.count}
}

// countingBuffer is a packetio.Buffer with srtp's stream-buffer methods (io.ReadWriteCloser and
// the attribute variants) whose writes count.
type countingBuffer struct {
	*packetio.Buffer
	count func()
}

func (b *countingBuffer) Read(p []byte) (int, error) {
	n, _, err := b.Buffer.Read(p, nil)
	return n, err
}

func (b *countingBuffer) Write(p []byte) (int, error) {
	b.count()
	return b.Buffer.Write(p, nil)
}

func (b *countingBuffer) ReadWithAttributes(p []byte, attrs packetio.Attributes) (int, packetio.Attributes, error) {
	return b.Buffer.Read(p, attrs)
}

func (b *countingBuffer) WriteWithAttributes(p []byte, attrs packetio.Attributes) (int, error) {
	b.count()
	return b.Buffer.Write(p, attrs)
}
