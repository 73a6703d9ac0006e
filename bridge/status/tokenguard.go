package status

import (
	"log/slog"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// How the controls slow down guessing of the token: a client (clientaddr.Key) may send
// freeTokenFailures wrong tokens; after that each further one makes it wait, tokenBackoffMin
// first and twice as long after each failure, up to tokenBackoffMax, during which its requests
// are answered 429 whatever token they carry. A right token clears its record. At full speed
// over HTTP a client tried some 20 000 tokens a second; now it gets about one a minute.
//
// A host may take any number of addresses (IPv4 aliases; on the Pi's own link each IPv6 address
// is its own client, and SLAAC gives thousands), and each new client starts with free failures.
// So all clients together may also fail at most globalTokenFailures times in any
// globalTokenWindow; past that every control request waits until the window has room, except
// from the trustedTokenClients clients that gave the right token most recently (within
// tokenForgetAfter): a client that knows the token tests no guess with it, and without them a
// few dozen addresses, each settled at one failure per tokenBackoffMax, would refill the budget
// as fast as it empties and keep staff out for as long as they liked. Staff on a phone that has
// not given the right token lately are refused while such an attack lasts (the log says so).
const (
	freeTokenFailures = 5
	tokenBackoffMin   = time.Second
	tokenBackoffMax   = time.Minute
	// A client whose newest failure is older than tokenForgetAfter (and whose wait is over)
	// starts afresh: staff who mistyped the token last week have no strike against them.
	tokenForgetAfter = 10 * time.Minute
	// maxTokenClients bounds the clients remembered, so that hosts sending wrong tokens from
	// many addresses cannot grow the table without end. Only forgotten records make room: a
	// record with failures is never dropped for a new client (dropping the oldest one let a host
	// with more addresses than this guess without end). Past it new clients share one record.
	// Under the global budget at most globalTokenFailures * tokenForgetAfter/globalTokenWindow
	// (300) records are not forgotten, so the table fills only if that budget is raised.
	maxTokenClients = 1024
	// tokenWarnEvery spaces the warnings about wrong tokens: one line, then at most one more per
	// interval, saying how many failures it did not log, so that guessing cannot flood the log.
	tokenWarnEvery = 10 * time.Second
	// At most globalTokenFailures wrong tokens are compared in any globalTokenWindow, from all
	// clients together.
	globalTokenFailures = 30
	globalTokenWindow   = time.Minute
	// trustedTokenClients bounds the clients that skip the shared wait for having given the
	// right token within tokenForgetAfter: a few staff phones and laptops, searched on every
	// control request.
	trustedTokenClients = 16
)

// tokenGuard remembers wrong control tokens per client and in all, and says who must wait.
type tokenGuard struct {
	now        func() time.Time // time.Now; tests replace it
	log        *slog.Logger
	maxClients int // maxTokenClients; tests lower it
	failures   prometheus.Counter
	throttled  prometheus.Counter

	// The mutex protects the following elements.
	mu      sync.Mutex
	clients map[string]*tokenFailures
	// overflow is the one record that clients not in a full table share.
	overflow tokenFailures
	// roomAt: no record in clients can be forgotten before then, so a full table is not
	// searched again for room on every request before it.
	roomAt time.Time
	// recent holds the times of the newest globalTokenFailures failures of all clients, a ring
	// whose oldest entry is at recentOldest (zero times while it has fewer).
	recent       [globalTokenFailures]time.Time
	recentOldest int
	warnedAt     time.Time // of the newest warning logged
	unwarned     int       // failures since then not logged
	// trusted are the clients that gave the right token most recently, with when; an empty
	// client or an old time is a free slot.
	trusted        [trustedTokenClients]trustedClient
	lockedWarnedAt time.Time // of the newest warning about a client refused for everyone's failures
	lockedUnwarned int       // such refusals since then not logged
}

// trustedClient is a client that gave the right token at at.
type trustedClient struct {
	client string
	at     time.Time
}

// tokenFailures is one client's record.
type tokenFailures struct {
	count int       // wrong tokens since the last right one (or since it was forgotten)
	last  time.Time // the newest one
	until time.Time // its requests are refused until then
}

// forgotten tells whether f no longer counts at now: its newest failure is old and its wait over.
func (f *tokenFailures) forgotten(now time.Time) bool {
	return now.Sub(f.last) > tokenForgetAfter && !now.Before(f.until)
}

// newTokenGuard makes a guard whose counters are registered on reg.
func newTokenGuard(log *slog.Logger, reg prometheus.Registerer) *tokenGuard {
	g := &tokenGuard{
		now: time.Now, log: log, maxClients: maxTokenClients, clients: map[string]*tokenFailures{},
		failures: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "ledbridge_status_token_failures_total",
			Help: "Status page control requests with a wrong token (each answered 401; one with no token is answered 401 too but not counted: it tests no guess).",
		}),
		throttled: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "ledbridge_status_token_throttled_total",
			Help: "Status page control requests refused (429) because their client, or all clients together, sent too many wrong tokens; their token was not checked.",
		}),
	}
	reg.MustRegister(g.failures, g.throttled)
	return g
}

// check compares client's token (matches) unless client must wait, and records the outcome.
// wait > 0 refuses the request (the token was not compared), and everyone says that it waits
// because all clients together failed too often; otherwise ok tells whether the token matched.
// Wait, comparison and record are one step, so that concurrent requests from a client about to
// be made to wait cannot all slip through before the first failure is recorded. remote is the
// request's address, for the log.
func (g *tokenGuard) check(client, remote string, matches func() bool) (wait time.Duration, everyone, ok bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	now := g.now()
	f := g.clients[client]
	shared := f == nil && !g.haveRoom(now)
	if shared {
		f = &g.overflow
	}
	if f != nil {
		wait = f.until.Sub(now)
	}
	// Past the global budget even a client with no failures of its own waits, and so do staff
	// with the right token: a fresh address is exactly what a guesser with many addresses has,
	// and every comparison tests a token, so admitting those that match would still let it
	// guess. The lock-out lasts until the oldest of the budget's failures leaves the window;
	// the guesser's failures are what fill it, for as long as they keep coming. A trusted
	// client already knows the token: it waits for its own failures only.
	trusted := g.trustedSlot(client, now)
	if global := g.globalWait(now); global > wait && trusted < 0 {
		wait, everyone = global, true // a zero time (budget not used up) gives a negative wait
	}
	if wait > 0 {
		g.throttled.Inc()
		if everyone {
			g.warnLockedOut(now, client, remote, wait)
		}
		return wait, everyone, false
	}
	if matches() {
		// The shared record stays: it holds the failures of every client outside the table,
		// the guesser's among them.
		if !shared {
			delete(g.clients, client)
		}
		g.trust(trusted, client, now)
		return 0, false, true
	}
	g.failures.Inc()
	g.recent[g.recentOldest] = now
	g.recentOldest = (g.recentOldest + 1) % len(g.recent)
	if f != nil && f.forgotten(now) {
		*f = tokenFailures{}
	}
	if f == nil {
		f = &tokenFailures{}
		g.clients[client] = f
	}
	f.count++
	f.last = now
	var backoff time.Duration
	if f.count >= freeTokenFailures {
		backoff = tokenBackoffMax
		if shift := f.count - freeTokenFailures; shift < 16 { // 2^16 s is far above the cap
			backoff = min(tokenBackoffMin<<shift, tokenBackoffMax)
		}
		f.until = now.Add(backoff)
	}
	if !g.warnedAt.IsZero() && now.Sub(g.warnedAt) < tokenWarnEvery {
		g.unwarned++
		return 0, false, false
	}
	g.log.Warn("status page: wrong control token", "remote", remote, "client", client,
		"sharedRecord", shared, "failures", f.count, "refusedFor", backoff,
		"allRefusedFor", max(0, g.globalWait(now)),
		"notLoggedSincePrevious", g.unwarned)
	g.warnedAt, g.unwarned = now, 0
	return 0, false, false
}

// haveRoom tells whether the table can take a new client, first dropping the records that are
// forgotten anyway when it is full. No other record is dropped (see maxTokenClients).
func (g *tokenGuard) haveRoom(now time.Time) bool {
	if len(g.clients) < g.maxClients {
		return true
	}
	if now.Before(g.roomAt) {
		return false
	}
	// Records only ever move their times later and new ones start at now, so the earliest time
	// one of them can be forgotten stays a lower bound until the next search.
	g.roomAt = time.Time{}
	for client, f := range g.clients {
		if f.forgotten(now) {
			delete(g.clients, client)
			continue
		}
		at := f.last.Add(tokenForgetAfter)
		if f.until.After(at) {
			at = f.until
		}
		if g.roomAt.IsZero() || at.Before(g.roomAt) {
			g.roomAt = at
		}
	}
	return len(g.clients) < g.maxClients
}

// trustedSlot returns the index in g.trusted of client if it gave the right token within
// tokenForgetAfter, else -1.
func (g *tokenGuard) trustedSlot(client string, now time.Time) int {
	for i := range g.trusted {
		if t := &g.trusted[i]; t.client == client && !t.at.IsZero() && now.Sub(t.at) <= tokenForgetAfter {
			return i
		}
	}
	return -1
}

// trust records that client gave the right token at now, in its slot (trustedSlot) or, for a
// client not trusted yet, in the slot given the right token longest ago.
func (g *tokenGuard) trust(slot int, client string, now time.Time) {
	if slot < 0 {
		slot = 0
		for i := range g.trusted {
			if g.trusted[i].at.Before(g.trusted[slot].at) {
				slot = i
			}
		}
	}
	g.trusted[slot] = trustedClient{client: client, at: now}
}

// forgetTrusted trusts no client any more: for a new token, which they do not know. A request
// that compared the old token while the new one was being set may still be trusted after it.
func (g *tokenGuard) forgetTrusted() {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.trusted = [trustedTokenClients]trustedClient{}
}

// warnLockedOut logs, at most once per tokenWarnEvery, that a client was refused for the failures
// of all clients together: staff on a phone that has not given the right token lately are locked
// out like that while many addresses guess, and this line tells them why.
func (g *tokenGuard) warnLockedOut(now time.Time, client, remote string, wait time.Duration) {
	if !g.lockedWarnedAt.IsZero() && now.Sub(g.lockedWarnedAt) < tokenWarnEvery {
		g.lockedUnwarned++
		return
	}
	g.log.Warn("status page: control request refused unchecked: all clients together sent too many wrong tokens; only clients that gave the right token lately are admitted",
		"remote", remote, "client", client, "refusedFor", wait, "trustedWithin", tokenForgetAfter,
		"notLoggedSincePrevious", g.lockedUnwarned)
	g.lockedWarnedAt, g.lockedUnwarned = now, 0
}

// globalWait is how long every untrusted client waits for the shared budget: until the oldest of
// the last globalTokenFailures failures leaves the window (negative when the budget is not spent).
// Called with g.mu held.
func (g *tokenGuard) globalWait(now time.Time) time.Duration {
	return g.recent[g.recentOldest].Add(globalTokenWindow).Sub(now)
}
