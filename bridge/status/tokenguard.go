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
const (
	freeTokenFailures = 5
	tokenBackoffMin   = time.Second
	tokenBackoffMax   = time.Minute
	// A client whose newest failure is older than tokenForgetAfter (and whose wait is over)
	// starts afresh: staff who mistyped the token last week have no strike against them.
	tokenForgetAfter = 10 * time.Minute
	// maxTokenClients bounds the clients remembered, so that hosts sending wrong tokens from
	// many addresses cannot grow the table without end: the stalest records go first.
	maxTokenClients = 1024
	// tokenWarnEvery spaces the warnings about wrong tokens: one line, then at most one more per
	// interval, saying how many failures it did not log, so that guessing cannot flood the log.
	tokenWarnEvery = 10 * time.Second
)

// tokenGuard remembers wrong control tokens per client, and says who must wait.
type tokenGuard struct {
	now        func() time.Time // time.Now; tests replace it
	log        *slog.Logger
	maxClients int // maxTokenClients; tests lower it
	failures   prometheus.Counter
	throttled  prometheus.Counter

	// The mutex protects the following elements.
	mu       sync.Mutex
	clients  map[string]*tokenFailures
	warnedAt time.Time // of the newest warning logged
	unwarned int       // failures since then not logged
}

// tokenFailures is one client's record.
type tokenFailures struct {
	count int       // wrong tokens since the last right one (or since it was forgotten)
	last  time.Time // the newest one
	until time.Time // its requests are refused until then
}

// newTokenGuard makes a guard whose counters are registered on reg.
func newTokenGuard(log *slog.Logger, reg prometheus.Registerer) *tokenGuard {
	g := &tokenGuard{
		now: time.Now, log: log, maxClients: maxTokenClients, clients: map[string]*tokenFailures{},
		failures: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "ledbridge_status_token_failures_total",
			Help: "Status page control requests with a wrong or missing token (each answered 401).",
		}),
		throttled: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "ledbridge_status_token_throttled_total",
			Help: "Status page control requests refused (429) because their client sent too many wrong tokens; their token was not checked.",
		}),
	}
	reg.MustRegister(g.failures, g.throttled)
	return g
}

// check compares client's token (matches) unless client must wait, and records the outcome.
// wait > 0 refuses the request (the token was not compared); otherwise ok tells whether it
// matched. Wait, comparison and record are one step, so that concurrent requests from a client
// about to be made to wait cannot all slip through before the first failure is recorded. remote
// is the request's address, for the log.
func (g *tokenGuard) check(client, remote string, matches func() bool) (wait time.Duration, ok bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	now := g.now()
	f := g.clients[client]
	if f != nil {
		if wait = f.until.Sub(now); wait > 0 {
			g.throttled.Inc()
			return wait, false
		}
	}
	if matches() {
		delete(g.clients, client)
		return 0, true
	}
	g.failures.Inc()
	if f != nil && now.Sub(f.last) > tokenForgetAfter {
		*f = tokenFailures{}
	}
	if f == nil {
		g.makeRoom(now)
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
		return 0, false
	}
	g.log.Warn("status page: wrong or missing control token", "remote", remote, "client", client,
		"failures", f.count, "refusedFor", backoff, "notLoggedSincePrevious", g.unwarned)
	g.warnedAt, g.unwarned = now, 0
	return 0, false
}

// makeRoom frees a place in a full table: the records that are forgotten anyway, or else the one
// with the oldest failure (a client guessing now keeps its record: its failures are the newest).
func (g *tokenGuard) makeRoom(now time.Time) {
	if len(g.clients) < g.maxClients {
		return
	}
	var stalest string
	var stalestAt time.Time
	for client, f := range g.clients {
		if now.Sub(f.last) > tokenForgetAfter && !now.Before(f.until) {
			delete(g.clients, client)
			continue
		}
		if stalest == "" || f.last.Before(stalestAt) {
			stalest, stalestAt = client, f.last
		}
	}
	if len(g.clients) >= g.maxClients {
		delete(g.clients, stalest)
	}
}
