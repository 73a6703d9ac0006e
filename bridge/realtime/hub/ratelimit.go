package hub

import "time"

// burstSeconds is how many seconds of its rate a message or byte budget holds, at most (see
// burstCapacity). Hosted Supabase counts messages as a rolling average over about a minute, so a
// client may go well past the rate for a moment there: a host sending LED frames at 60 fps that
// restarts ICE to eight peers at once (56 signals), or a web app replaying its buffered pushes as
// it rejoins. A client that keeps sending above the rate is still shut down: at k times the rate,
// once the burst allowance is spent (after burstSeconds/(k-1) seconds when it holds burstSeconds).
const burstSeconds = 10

// burstQueueShare is the share of a member's outbound queue one sender's burst may fill: a burst
// reaches every member's queue at once, and a queue that overflows drops its member as a slow
// client. A quarter lets several members burst together without evicting a reader that keeps up.
const burstQueueShare = 4

// burstCapacity is a budget's burst allowance: burstSeconds of the rate, but no more than a
// burstQueueShare of the outbound queue, and no less than a second of the rate (the budget of
// the one-second windows these averages replaced).
func burstCapacity(perSecond, queue int64) float64 {
	capacity := queue / burstQueueShare
	if perSecond <= capacity/burstSeconds { // so that burstSeconds*perSecond cannot overflow
		capacity = burstSeconds * perSecond
	}
	return float64(max(perSecond, capacity))
}

// floodFactor is how many times a limit the frames refused by it may arrive at before their socket
// is closed (over a second, like a budget of floodFactor times the limit with a second's burst). A
// socket past a limit has no channel left, so what it keeps sending is dropped; one that floods
// that fast only costs the server reads.
const floodFactor = 10

// rate is a token bucket's refill rate per second and its capacity. A negative perSecond is no
// limit.
type rate struct {
	perSecond, capacity float64
}

// newRate is a limit of perSecond (negative: none) holding capacity tokens.
func newRate(perSecond int64, capacity float64) rate {
	return rate{perSecond: float64(perSecond), capacity: capacity}
}

func (r rate) on() bool { return r.perSecond >= 0 }

// scaled is r with its rate and capacity times k (no limit stays none).
func (r rate) scaled(k float64) rate {
	if !r.on() {
		return r
	}
	return rate{perSecond: k * r.perSecond, capacity: k * r.capacity}
}

// rateLimits are the server's budgets, derived once from Config.
type rateLimits struct {
	msgs, bytes rate // MaxMessagesPerSecond and MaxBytesPerSecond, with burstCapacity
	// floodFactor times those, a second of each; floodMsgs is also the heartbeats' own budget.
	floodMsgs, floodBytes rate
}

func newRateLimits(cfg Config) rateLimits {
	msgs, bytes := int64(cfg.MaxMessagesPerSecond), cfg.MaxBytesPerSecond
	flood := func(limit int64) rate {
		r := floodFactor * float64(limit) // a negative limit stays none
		return rate{perSecond: r, capacity: r}
	}
	return rateLimits{
		msgs:       newRate(msgs, burstCapacity(msgs, int64(cfg.OutboundQueueFrames))),
		bytes:      newRate(bytes, burstCapacity(bytes, cfg.OutboundQueueBytes)),
		floodMsgs:  flood(msgs),
		floodBytes: flood(bytes),
	}
}

// tokenBucket is one budget's tokens (messages or bytes): they accrue at the rate's perSecond up
// to its capacity, and each admitted frame takes its share. So the rate bounds the average, and
// the capacity the burst a client that was quiet (or under the rate) may send at once.
type tokenBucket struct {
	level float64   // tokens left
	last  time.Time // when level was last brought up to date; zero before the first use
}

// refill brings the tokens up to date at now. A bucket's first use finds it full; a clock that went
// backwards adds nothing.
func (b *tokenBucket) refill(now time.Time, r rate) {
	if !r.on() {
		return
	}
	if b.last.IsZero() {
		b.level = r.capacity
	} else {
		// Clamped even when no time passed: a socket's share of its client's budget shrinks as
		// the client opens more sockets (addressBudgets.admitFrame).
		b.level = min(r.capacity, b.level+r.perSecond*max(0, now.Sub(b.last).Seconds()))
	}
	b.last = now
}

// holds reports whether n tokens are left (always, when r is no limit).
func (b *tokenBucket) holds(n float64, r rate) bool { return !r.on() || b.level >= n }

// full reports whether the bucket is as it would be new (always, when r is no limit).
func (b *tokenBucket) full(r rate) bool { return !r.on() || b.last.IsZero() || b.level >= r.capacity }

// rateBudget is one client's message and byte budgets: a socket's frames, or an address's REST
// broadcasts, against Config.MaxMessagesPerSecond and MaxBytesPerSecond.
type rateBudget struct {
	msgs, bytes tokenBucket
}

func (b *rateBudget) refill(now time.Time, msgs, bytes rate) {
	b.msgs.refill(now, msgs)
	b.bytes.refill(now, bytes)
}

// over reports which budget msgs more messages of n bytes in all would exceed.
func (b *rateBudget) over(msgs int, n int64, msgRate, byteRate rate) (overMsgs, overBytes bool) {
	return !b.msgs.holds(float64(msgs), msgRate), !b.bytes.holds(float64(n), byteRate)
}

// take spends msgs messages and n bytes.
func (b *rateBudget) take(msgs int, n int64) {
	b.msgs.level -= float64(msgs)
	b.bytes.level -= float64(n)
}

// holdsASecond reports whether both budgets hold a second's worth of their rate: what a socket
// shut down for its rate must have earned back before it is served again.
func (b *rateBudget) holdsASecond(msgs, bytes rate) bool {
	return b.msgs.holds(msgs.perSecond, msgs) && b.bytes.holds(bytes.perSecond, bytes)
}

// full reports whether forgetting the budget would change nothing.
func (b *rateBudget) full(msgs, bytes rate) bool { return b.msgs.full(msgs) && b.bytes.full(bytes) }
