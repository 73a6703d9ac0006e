package peer

import (
	"sync"
	"time"
)

const (
	// signalWindow is the span the budget counts the bridge's signals over; room servers
	// average over longer ones (see signalBudget), so it keeps bursts short.
	signalWindow = time.Second
	// signalCost is the room a negotiation needs in the signal budget before it starts: the
	// answer or offer, and the candidates and end-of-candidates that follow it (a Raspberry
	// Pi on one network gathers 2–4). Answering or offering without room for them would
	// leave the connection half signalled, so a negotiation that does not fit waits instead.
	signalCost = 6
	// promiseLife is how long the room promised to a negotiation is kept for its
	// candidates: host candidates come at once, server-reflexive ones within pion's STUN
	// timeouts. Later ones are sent as room allows.
	promiseLife = 3 * time.Second
)

// signalBudget bounds the webrtc-signals all musicians send together to MaxSignalsPerSecond
// in any signalWindow: past its limit a room server shuts the channel down, and with it the
// bridge's signalling for every musician. The LAN hub allows each client 100 messages a second,
// averaged; hosted Realtime limits the whole project (100 a second on the free plan, averaged
// over about a minute) and counts deliveries, so a signal to a room of N costs about N. A
// per-musician offer budget cannot bound the sum, as several peers in Presence (or one person
// under several ids) can storm together.
//
// A negotiation is admitted only with room for all of its signals (signalCost), which is
// then promised to it; other signals go out only where they break no promise. Work that
// keeps established musicians working (priority) may fill the whole window; the rest
// (answering new or storming offers, offering to new musicians) only half of it, so the
// other half stays free for the first however hard the rest is pushed.
type signalBudget struct {
	// Constant after newSignalBudget.
	clock Clock
	limit int // signals in any signalWindow, all classes

	mu sync.Mutex
	// The mutex protects the following elements.
	sent     []time.Time // ring of the send times within the window, oldest at head; len = limit
	head, n  int
	promises map[*musician]promise // at most one per musician: its current negotiation's
	promised int                   // the sum of promises' left
}

type promise struct {
	left  int
	until time.Time
}

func newSignalBudget(clock Clock, limit int) *signalBudget {
	return &signalBudget{clock: clock, limit: limit, sent: make([]time.Time, limit), promises: map[*musician]promise{}}
}

// ceiling is how many signals, sent and promised, a class may see in the window.
func (b *signalBudget) ceiling(priority bool) int {
	if priority {
		return b.limit
	}
	return max(1, b.limit/2)
}

// pruneLocked forgets sends that have left the window and promises that have expired.
func (b *signalBudget) pruneLocked(now time.Time) {
	for b.n > 0 && !b.sent[b.head].After(now.Add(-signalWindow)) {
		b.head = (b.head + 1) % len(b.sent)
		b.n--
	}
	for who, p := range b.promises {
		if !now.Before(p.until) {
			b.promised -= p.left
			delete(b.promises, who)
		}
	}
}

// admit promises room for a negotiation of need signals to who (any promise it still had
// is given up) if, with it, the window's sends and promises stay within the class's
// ceiling. If not, it promises nothing and says how long to wait before asking again.
func (b *signalBudget) admit(who *musician, need int, priority bool) (ok bool, wait time.Duration) {
	ceil := b.ceiling(priority)
	need = min(max(need, 1), ceil)
	now := b.clock.Now()
	b.mu.Lock()
	defer b.mu.Unlock()
	b.pruneLocked(now)
	b.releaseLocked(who)
	if over := b.n + b.promised + need - ceil; over > 0 {
		if over > b.n {
			return false, signalWindow / 10 // waiting for promises to be kept or to expire
		}
		// The over-th oldest send must leave the window first.
		leaving := b.sent[(b.head+over-1)%len(b.sent)]
		return false, max(leaving.Add(signalWindow).Sub(now), time.Millisecond)
	}
	b.promises[who] = promise{left: need, until: now.Add(promiseLife)}
	b.promised += need
	return true, 0
}

// send records one signal of who's now and reports whether it may go out: on its promise,
// or else where it breaks no promise and stays within the class's ceiling.
func (b *signalBudget) send(who *musician, priority bool) bool {
	now := b.clock.Now()
	b.mu.Lock()
	defer b.mu.Unlock()
	b.pruneLocked(now)
	if p, ok := b.promises[who]; ok {
		b.promised--
		if p.left--; p.left == 0 {
			delete(b.promises, who)
		} else {
			b.promises[who] = p
		}
	} else if b.n+b.promised+1 > b.ceiling(priority) {
		return false
	}
	// n + promised ≤ limit holds throughout, so the ring has room.
	b.sent[(b.head+b.n)%len(b.sent)] = now
	b.n++
	return true
}

// release gives up what is left of who's promise (its negotiation has sent all it will).
func (b *signalBudget) release(who *musician) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.releaseLocked(who)
}

func (b *signalBudget) releaseLocked(who *musician) {
	if p, ok := b.promises[who]; ok {
		b.promised -= p.left
		delete(b.promises, who)
	}
}
