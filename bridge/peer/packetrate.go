package peer

import (
	"sync"
	"time"

	"github.com/pion/interceptor"

	"github.com/ledbridge/ledbridge/bridge/clock"
)

// floodSeconds is how many seconds of packets over Config.MaxPacketsPerSecond a musician may
// send at once (packetBudget's depth): a stall's backlog, delivered at once, or a burst of
// retransmissions is far less.
const floodSeconds = 3

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
// musician's, not one connection's, so that offering again does not fill it.
type packetBudget struct {
	rate float64 // tokens a second
	mu   sync.Mutex
	// tokens is what is left at last; full before the first packet.
	tokens float64
	last   time.Time
}

func newPacketBudget(perSecond int) *packetBudget {
	return &packetBudget{rate: float64(perSecond), tokens: float64(perSecond * floodSeconds)}
}

// spend takes one packet's token at now; it reports whether there was none left.
func (b *packetBudget) spend(now time.Time) (flood bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if !b.last.IsZero() {
		if d := now.Sub(b.last); d > 0 {
			b.tokens = min(b.tokens+d.Seconds()*b.rate, b.rate*floodSeconds)
		}
	}
	b.last = now
	if b.tokens < 1 {
		return true
	}
	b.tokens--
	return false
}

// packetCounter is an interceptor that spends a token of a musician's packetBudget for every
// RTP packet read from any of her connection's streams (her tracks and the bandwidth probes
// Chrome sends on SSRC 0, which pion reads itself) and every RTCP packet, and calls flooding,
// at most once every floodRepost, while the budget is empty.
type packetCounter struct {
	interceptor.NoOp
	budget   *packetBudget
	flooding func()
	posted   clock.MonoStamp // when flooding was last called (monotonic: NTP may step the wall clock)
}

// NewInterceptor makes packetCounter its own factory: each PeerConnection has an API of its own.
func (c *packetCounter) NewInterceptor(string) (interceptor.Interceptor, error) { return c, nil }

func (c *packetCounter) count() { c.countAt(time.Now()) }

// countAt counts a packet read at now. Two goroutines may both call flooding for one
// floodRepost: the musician's goroutine handles the first and ignores the rest.
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

func (c *packetCounter) BindRemoteStream(_ *interceptor.StreamInfo, r interceptor.RTPReader) interceptor.RTPReader {
	return interceptor.RTPReaderFunc(func(b []byte, a interceptor.Attributes) (int, interceptor.Attributes, error) {
		n, a, err := r.Read(b, a)
		if err == nil {
			c.count()
		}
		return n, a, err
	})
}

func (c *packetCounter) BindRTCPReader(r interceptor.RTCPReader) interceptor.RTCPReader {
	return interceptor.RTCPReaderFunc(func(b []byte, a interceptor.Attributes) (int, interceptor.Attributes, error) {
		n, a, err := r.Read(b, a)
		if err == nil {
			c.count()
		}
		return n, a, err
	})
}
