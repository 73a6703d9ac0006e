package peer

import (
	"sync"
	"time"
)

// floodWindows is how many whole seconds in a row a connection's RTP must stay over
// Config.MaxPacketsPerSecond to count as a flood: a backlog delivered at once after a network
// stall, or a burst of retransmissions, lasts well under that.
const floodWindows = 3

// packetRate counts one PeerConnection's RTP packets, all its tracks together, to tell a
// musician who floods the bridge from one who sends audio. Every packet she sends is paid
// for before any of her audio is used (SRTP decryption, pion's buffers, the read goroutines,
// all on the one P the 60 fps loop also runs on), so a flood would make every strip late;
// the decode budget bounds only the decoding.
type packetRate struct {
	limit int // packets a second
	mu    sync.Mutex
	start time.Time // when the current window began (zero before the first packet)
	n     int       // packets in it
	over  int       // whole windows in a row over limit
}

// add counts one packet arriving at now; it reports whether the connection has sent more
// than limit packets a second for floodWindows windows in a row.
func (r *packetRate) add(now time.Time) (flooding bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.start.IsZero() {
		r.start = now
	}
	// A window closes at the first packet a second or more after it began; a longer one (a
	// pause in her audio) is judged by its real length.
	if elapsed := now.Sub(r.start); elapsed >= time.Second {
		if float64(r.n) > float64(r.limit)*elapsed.Seconds() {
			r.over++
		} else {
			r.over = 0
		}
		r.start, r.n = now, 0
	}
	r.n++
	return r.over >= floodWindows
}
