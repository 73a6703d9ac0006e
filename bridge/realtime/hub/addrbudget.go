package hub

import (
	"sync"
	"time"
)

// addressBudgets are the budgets of one client (clientaddr.Key) across its requests and
// sockets: the sockets it opens are held to connectRate, and its sockets' frames and REST
// broadcasts together to one socket's message and byte budgets, shared fairly (admitFrame, charge).
// Without them one POST could fan out any number of messages to a room and evict every member as
// a slow client. Each new socket started with budgets and Presence windows
// of its own, so a client that opened, joined, tracked and closed sockets in a loop sent every
// member of the room thousands of presence_diffs a second, and eight sockets of one client,
// each inside its own 2 MiB burst, sent a room 16 MiB at once and dropped a member that paused
// reading as a slow client (review 307).
//
// It keeps at most maxEntries clients; entries that no socket holds and that are as good as new
// (every bucket full) are pruned when that is reached.
type addressBudgets struct {
	// frameMsgs and frameBytes are a client's budgets for its sockets' frames together: one
	// socket's, times the per-address cap over the default when that is larger.
	frameMsgs, frameBytes rate
	// reserveMsgs and reserveBytes are the part of them kept for the client's sockets, divided
	// among them (admitFrame): half the budgets' rate, and half of what they hold beyond one frame
	// of the largest size (so that the reserves never keep a socket from sending a frame the hub
	// takes). The other half is any socket's: a host's web app beside ledbridge on one laptop
	// still bursts three quarters of a socket's budget.
	reserveMsgs, reserveBytes rate
	connects                  rate // connectRate
	maxEntries                int

	mu sync.Mutex
	// The mutex protects the following elements, and the reserves of the sockets holding them.
	entries map[string]*addressBudget
}

type addressBudget struct {
	connects tokenBucket // WebSocket upgrades
	frames   rateBudget  // its sockets' frames and REST broadcasts (admitFrame, charge)
	reserves []*rateBudget
	open     int // sockets holding the entry (connect to release); such an entry is kept
}

// A new socket's reserve holds at least newSocketReserveMsgs messages and newSocketReserveBytes
// bytes, so that it can join a channel, track its Presence (up to 8 KiB) and ask for the room's
// state however much its client's other sockets spend; and no more than what its client's
// budgets hold beyond the other sockets' reserves (or a full reserve), so that a client opening
// and closing sockets in a loop gains no more than that much by each.
const (
	newSocketReserveMsgs  = 4
	newSocketReserveBytes = 16 << 10
)

// newAddressBudgets derives a client's budgets from one socket's (l). A reverse proxy in front of
// the hub makes every client arrive from its address, so an operator who raises
// MaxConnectionsPerAddress above the default for it raises the frame budgets in proportion.
func newAddressBudgets(l rateLimits, maxPerAddress, maxEntries int, maxFrame int64) *addressBudgets {
	k := max(1, float64(maxPerAddress)/DefaultMaxConnectionsPerAddress)
	a := &addressBudgets{frameMsgs: l.msgs.scaled(k), frameBytes: l.bytes.scaled(k),
		connects: connectRate(maxPerAddress), maxEntries: maxEntries}
	reserve := func(r rate, frame float64) rate {
		if !r.on() {
			return r
		}
		return rate{perSecond: r.perSecond / 2, capacity: max(0, r.capacity-frame) / 2}
	}
	a.reserveMsgs, a.reserveBytes = reserve(a.frameMsgs, 1), reserve(a.frameBytes, float64(maxFrame))
	return a
}

// connectRate is how fast one client may open sockets: a burst of twice the sockets it may hold
// (at least 64: a guest Wi-Fi behind NAT whose phones all reconnect after a drop-out), then one
// socket per 16 it may hold, at least 2, a second. supabase-js reconnects after 1 s at the
// earliest, so a page never meets it; a loop of open, join, track, close makes at most that many
// join and leave diffs a second.
func connectRate(maxPerAddress int) rate {
	return rate{perSecond: float64(max(maxPerAddress/16, 2)), capacity: float64(max(2*maxPerAddress, 64))}
}

// charge takes a REST request of msgs messages and n body bytes from key's frame budgets, unless
// that would leave them short of its sockets' reserves (a request has none of its own); it
// reports which it would exceed. found is false when no entry could be made for key (the table is
// full of clients holding sockets or still paying off a burst): nothing was charged.
func (a *addressBudgets) charge(now time.Time, key string, msgs int, n int64) (overMsgs, overBytes, found bool) {
	if !a.frameMsgs.on() && !a.frameBytes.on() {
		return false, false, true
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	e := a.entryLocked(now, key)
	if e == nil {
		return false, false, false
	}
	var none rateBudget
	overMsgs, overBytes = a.admitLocked(now, e, &none, float64(msgs), float64(n))
	return overMsgs, overBytes, true
}

// connect takes one socket from key's connect budget, or reports false when it is spent. The
// socket holds the entry it returns until release (refund, when the upgrade failed). A client
// for which no entry can be made (the table, shared with REST budgets, is full of clients holding
// sockets or still paying off a burst: a host holding about MaxConnections addresses) is let
// through with none; its sockets still count against MaxConnectionsPerAddress, and their frames
// only against their own budgets.
func (a *addressBudgets) connect(now time.Time, key string) (*addressBudget, bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	e := a.entryLocked(now, key)
	if e == nil {
		return nil, true
	}
	e.connects.refill(now, a.connects)
	if !e.connects.holds(1, a.connects) {
		return nil, false
	}
	e.connects.level--
	e.open++
	return e, true
}

// refund gives back the socket connect took, when the upgrade failed after all.
func (a *addressBudgets) refund(now time.Time, e *addressBudget) {
	if e == nil {
		return
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	e.connects.refill(now, a.connects)
	e.connects.level = min(a.connects.capacity, e.connects.level+1)
	e.open--
}

// reserveRates are one socket's reserve while its client has n sockets: an equal share, but never
// less than a new socket starts with (review 317: with a low message rate and many sockets, a
// share under two messages could not join and track).
func (a *addressBudgets) reserveRates(n int) (msgs, bytes rate) {
	k := 1 / float64(max(n, 1))
	msgs, bytes = a.reserveMsgs.scaled(k), a.reserveBytes.scaled(k)
	msgs.capacity = max(msgs.capacity, newSocketReserveMsgs)
	bytes.capacity = max(bytes.capacity, newSocketReserveBytes)
	return msgs, bytes
}

// refillLocked brings e's frame budgets and its sockets' reserves up to date at now (a reserve
// shrinks to its share when another socket has joined them), and sums the reserves.
func (a *addressBudgets) refillLocked(now time.Time, e *addressBudget) (reservedMsgs, reservedBytes float64) {
	e.frames.refill(now, a.frameMsgs, a.frameBytes)
	msgs, bytes := a.reserveRates(len(e.reserves))
	for _, r := range e.reserves {
		r.refill(now, msgs, bytes)
		reservedMsgs += r.msgs.level
		reservedBytes += r.bytes.level
	}
	return reservedMsgs, reservedBytes
}

// startReserve registers a new socket's reserve of e's frame budgets (see newSocketReserveMsgs).
func (a *addressBudgets) startReserve(now time.Time, e *addressBudget, mine *rateBudget) {
	if e == nil {
		return
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	*mine = rateBudget{}
	e.reserves = append(e.reserves, mine)
	othersMsgs, othersBytes := a.refillLocked(now, e) // mine holds nothing yet
	msgs, bytes := a.reserveRates(len(e.reserves))
	start := func(budget tokenBucket, r rate, least, others float64) tokenBucket {
		return tokenBucket{level: min(r.capacity, max(least, budget.level-others)), last: now}
	}
	mine.msgs = start(e.frames.msgs, msgs, newSocketReserveMsgs, othersMsgs)
	mine.bytes = start(e.frames.bytes, bytes, newSocketReserveBytes, othersBytes)
}

// release ends a socket's hold on the entry connect gave it, and its reserve.
func (a *addressBudgets) release(e *addressBudget, mine *rateBudget) {
	if e == nil {
		return
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	e.open--
	for i, r := range e.reserves {
		if r == mine {
			e.reserves = append(e.reserves[:i], e.reserves[i+1:]...)
			break
		}
	}
}

// admitFrame applies the client's frame budgets to one frame of n bytes from a socket of e (whose
// reserve is mine), and takes it from them unless it reports which it would exceed.
//
// The client's budgets are one socket's, so that its sockets together burst no more than one
// socket may. Half of them is kept for its sockets, each an equal reserve: a frame its socket's
// reserve holds is let through, and spends the reserve; any other only if the budgets then still
// hold every other socket's reserve. So a heavy socket spends what the others leave, but never a
// light one's reserve (ledbridge's own socket beside another program on its machine; a phone
// behind a guest Wi-Fi's NAT), which one plain shared budget made pay (review 309). A socket
// alone has one socket's budgets, as before.
func (a *addressBudgets) admitFrame(now time.Time, e *addressBudget, mine *rateBudget, n int64) (overMsgs, overBytes bool) {
	if e == nil || (!a.frameMsgs.on() && !a.frameBytes.on()) {
		return false, false
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.admitLocked(now, e, mine, 1, float64(n))
}

// admitLocked takes msgs messages of n bytes from e's frame budgets and mine's reserve (a REST
// request's is empty), unless overLocked refuses them.
func (a *addressBudgets) admitLocked(now time.Time, e *addressBudget, mine *rateBudget, msgs, n float64) (overMsgs, overBytes bool) {
	if overMsgs, overBytes = a.overLocked(now, e, mine, msgs, n); overMsgs || overBytes {
		return overMsgs, overBytes
	}
	spend := func(budget, reserve *tokenBucket, r rate, x float64) {
		if r.on() {
			budget.level -= x
			reserve.level = max(0, reserve.level-x)
		}
	}
	spend(&e.frames.msgs, &mine.msgs, a.frameMsgs, msgs)
	spend(&e.frames.bytes, &mine.bytes, a.frameBytes, n)
	return false, false
}

// overLocked reports which of e's frame budgets msgs messages of n bytes from the socket whose
// reserve is mine would exceed.
func (a *addressBudgets) overLocked(now time.Time, e *addressBudget, mine *rateBudget, msgs, n float64) (overMsgs, overBytes bool) {
	reservedMsgs, reservedBytes := a.refillLocked(now, e)
	// A REST request's reserve is not one of e's, and holds nothing.
	othersMsgs, othersBytes := reservedMsgs-mine.msgs.level, reservedBytes-mine.bytes.level
	// No more than the reserve half is kept for them: the floor of reserveRates lets reserves sum
	// past it when the rate is low and the sockets many, and the budget would then never be
	// borrowed from again (review 320).
	othersMsgs, othersBytes = min(othersMsgs, a.reserveMsgs.capacity), min(othersBytes, a.reserveBytes.capacity)
	over := func(budget, reserve tokenBucket, r rate, others, x float64) bool {
		return r.on() && reserve.level < x && budget.level-x < others
	}
	return over(e.frames.msgs, mine.msgs, a.frameMsgs, othersMsgs, msgs), over(e.frames.bytes, mine.bytes, a.frameBytes, othersBytes, n)
}

// frameBudgetsHoldASecond reports whether the socket of e whose reserve is mine may send a second
// of its reserve's rate again (or as much as the reserve holds, if less): what a socket shut down
// for its client's budgets must wait for, as one shut down for its own (conn.admit), or each frame
// after would be refused again.
func (a *addressBudgets) frameBudgetsHoldASecond(now time.Time, e *addressBudget, mine *rateBudget) bool {
	if e == nil {
		return true
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	msgs, bytes := a.reserveRates(len(e.reserves))
	overMsgs, overBytes := a.overLocked(now, e, mine, max(1, min(msgs.perSecond, msgs.capacity)), min(bytes.perSecond, bytes.capacity))
	return !overMsgs && !overBytes
}

func (a *addressBudgets) entryLocked(now time.Time, key string) *addressBudget {
	if e := a.entries[key]; e != nil {
		return e
	}
	if a.entries == nil {
		a.entries = make(map[string]*addressBudget)
	}
	if len(a.entries) >= a.maxEntries {
		for k, old := range a.entries {
			if old.open > 0 {
				continue
			}
			old.connects.refill(now, a.connects)
			old.frames.refill(now, a.frameMsgs, a.frameBytes)
			if old.connects.full(a.connects) && old.frames.full(a.frameMsgs, a.frameBytes) {
				delete(a.entries, k)
			}
		}
		if len(a.entries) >= a.maxEntries {
			return nil
		}
	}
	e := &addressBudget{}
	a.entries[key] = e
	return e
}
