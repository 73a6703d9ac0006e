package hub

import (
	"sync"
	"time"
)

// addressBudgets are the budgets of one client (clientaddr.Key) across its requests and
// sockets: its REST broadcasts are held to one socket's message and byte budgets (without them
// one POST could fan out any number of messages to a room and evict every member as a slow
// client), and the sockets it opens to connectRate. Each new socket starts with budgets and
// Presence windows of its own, so a client that opened, joined, tracked and closed sockets in a
// loop sent every member of the room thousands of presence_diffs a second (review 307).
//
// It keeps at most maxEntries clients; entries that are as good as new (every bucket full) are
// pruned when that is reached.
type addressBudgets struct {
	msgs, bytes rate // the per-socket budgets' rates (rateLimits)
	connects    rate // connectRate
	maxEntries  int

	mu sync.Mutex
	// The mutex protects the following elements.
	entries map[string]*addressBudget
}

type addressBudget struct {
	sent     rateBudget  // REST messages and body bytes
	connects tokenBucket // WebSocket upgrades
}

func newAddressBudgets(l rateLimits, maxPerAddress, maxEntries int) *addressBudgets {
	return &addressBudgets{msgs: l.msgs, bytes: l.bytes, connects: connectRate(maxPerAddress), maxEntries: maxEntries}
}

// connectRate is how fast one client may open sockets: a burst of twice the sockets it may hold
// (at least 64: a guest Wi-Fi behind NAT whose phones all reconnect after a drop-out), then one
// socket per 16 it may hold, at least 2, a second. supabase-js reconnects after 1 s at the
// earliest, so a page never meets it; a loop of open, join, track, close makes at most that many
// join and leave diffs a second.
func connectRate(maxPerAddress int) rate {
	return rate{perSecond: float64(max(maxPerAddress/16, 2)), capacity: float64(max(2*maxPerAddress, 64))}
}

// charge takes msgs messages and n bytes from key's budget, unless that would exceed one of them;
// it reports which it would exceed. found is false when no entry could be made for key (the
// table is full of clients still paying off a burst): nothing was charged.
func (a *addressBudgets) charge(now time.Time, key string, msgs int, n int64) (overMsgs, overBytes, found bool) {
	if !a.msgs.on() && !a.bytes.on() {
		return false, false, true
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	e := a.entryLocked(now, key)
	if e == nil {
		return false, false, false
	}
	e.sent.refill(now, a.msgs, a.bytes)
	if overMsgs, overBytes = e.sent.over(msgs, n, a.msgs, a.bytes); !overMsgs && !overBytes {
		e.sent.take(msgs, n)
	}
	return overMsgs, overBytes, true
}

// connect takes one socket from key's connect budget, or reports false when it is spent. A
// client for which no entry can be made (the table, shared with REST budgets, is full of clients
// still paying off a burst: a host holding about MaxConnections addresses) is let through; its
// sockets still count against MaxConnectionsPerAddress.
func (a *addressBudgets) connect(now time.Time, key string) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	e := a.entryLocked(now, key)
	if e == nil {
		return true
	}
	e.connects.refill(now, a.connects)
	if !e.connects.holds(1, a.connects) {
		return false
	}
	e.connects.level--
	return true
}

// refund gives back the socket connect took for key, when the upgrade failed after all.
func (a *addressBudgets) refund(now time.Time, key string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if e := a.entries[key]; e != nil {
		e.connects.refill(now, a.connects)
		e.connects.level = min(a.connects.capacity, e.connects.level+1)
	}
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
			old.sent.refill(now, a.msgs, a.bytes)
			old.connects.refill(now, a.connects)
			if old.sent.full(a.msgs, a.bytes) && old.connects.full(a.connects) {
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
