package peer

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/stun/v4"
	"github.com/pion/webrtc/v4"

	"github.com/ledbridge/ledbridge/bridge/lograte"
	"github.com/ledbridge/ledbridge/bridge/room"
)

// Sentinel errors.
var (
	// ErrPeerCap indicates a musician refused because MaxPeers are connected.
	ErrPeerCap = errors.New("peer cap reached")
	// ErrAlreadyRunning indicates a second call to Run.
	ErrAlreadyRunning = errors.New("peer manager already running")
	// ErrStopped indicates a call after Run has returned.
	ErrStopped = errors.New("peer manager stopped")
)

const (
	// maxWaiting bounds the list of musicians waiting for a free slot.
	maxWaiting = 256
	// maxRefusedOffers bounds the offers kept from musicians refused by the
	// cap (one each, the newest): at room.MaxSignalBytes each, 1 MiB at most.
	maxRefusedOffers = 16
	// maxRefusedCandidates bounds the candidates kept with each refused offer.
	maxRefusedCandidates = 16
	// refusedOfferMaxAge is how long a refused offer is kept. A browser that
	// offered keeps waiting for the answer (as the impolite peer it ignores
	// ours meanwhile), so a slot that frees within this time answers it.
	refusedOfferMaxAge = 5 * time.Minute
	// maxStrangers bounds the musicians known only from their offer (not, or not yet, in
	// Presence): each holds its sender's newest offer, unanswered, for PresenceGrace. They take
	// no peer-cap slot (anyone can send offers under made-up ids); past this many, a stranger's
	// offer is kept with the refused ones, where it goes first.
	maxStrangers = 16
)

// DefaultSlotTimeout is how long a musician admitted into a peer-cap slot may take to reach
// "connected" while others wait for a slot, before the slot goes to the first waiting musician
// who never had one (reclaimSlotsLocked). It
// covers one full first attempt and the retry behind it: OfferDelay (2 s) for the musician to
// offer first, then the first round's ConnectTimeout (15 s: an offer or answer through the room
// and ICE checks, which on a LAN take well under a second and through TURN a few), after which
// the bridge sends its answer again or restarts ICE, and about 10 s for that second round, the
// signal budget putting a few negotiations off when many musicians arrive at once included. A
// browser that means to play connects within the first round; a member that joins Presence and
// never answers (a stuck tab, or a squatter holding every slot) keeps the slot only this long.
const DefaultSlotTimeout = 30 * time.Second

// maxSlotTimeoutFactor caps the bound of a musician admitted again after her slot was taken
// back (nextSlotBound): 8 × DefaultSlotTimeout, 4 minutes, for a connection that is slow every
// time (a TURN relay far away) to get through once, while a squatter admitted again in her turn
// holds a slot someone waits for at most that long.
const maxSlotTimeoutFactor = 8

// Manager runs one receive-only PeerConnection per musician.
type Manager struct {
	// Constant after NewManager.
	cfg Config
	log *slog.Logger
	// slotTimeout bounds how long a musician holds a peer-cap slot without connecting while
	// others wait (Config.SlotTimeout; some tests shorten it again before Run).
	slotTimeout time.Duration

	counters managerCounters
	signals  *signalBudget // every musician's outgoing signals

	wg sync.WaitGroup // musician goroutines

	warnLog lograte.Limiter // refusals a stranger can trigger at will

	musicianSeq atomic.Uint64 // numbers musicians in the order they are made

	// hostAddrs are the host's addresses as HostAddressesChanged last gave them (comparableAddr);
	// nil before it is first called.
	hostAddrs atomic.Pointer[[]netip.Addr]

	reportMu sync.Mutex // serialises OnStateChange calls
	// reporters holds, per musician id, the number (musicianSeq) of the newest musician
	// that has reported a state and not yet its release; guarded by reportMu. An older
	// musician of the same id reports nothing more: one that left and rejoined at once
	// has a new musician while the old one's goroutine is still closing, and the old
	// one's late "closed" must not overwrite the new connection's state. At most one
	// entry per running musician.
	reporters map[MusicianID]uint64

	mu sync.Mutex
	// The mutex protects the following elements.
	runCtx    context.Context // nil before Run
	stopped   bool            // Run has returned or is returning
	musicians map[MusicianID]*musician
	// waiting: in Presence but over the cap, oldest first, those whose slot was taken back
	// (evicted) behind those who never had one (enqueueLocked).
	waiting []MusicianID
	// evicted holds, for each musician whose slot was taken back (reclaimSlotsLocked) and who
	// is still waiting or admitted again, her latest eviction; she leaves it when she leaves the
	// Manager (removeLocked, releaseLocked). At most one entry per musician in musicians or
	// waiting.
	evicted map[MusicianID]eviction
	// refusedOffers holds the newest offer of each musician refused by the
	// cap, answered when it is admitted: its browser still waits for that
	// answer and ignores our offers until then.
	refusedOffers map[MusicianID]*refusedOffer
	// away holds the musicians that left Presence with their connection up, each for its
	// PresenceGrace (MusicianAway) or RejoinGrace (MusicianMissing): at most one per musician
	// in musicians, whose peer-cap slot it keeps.
	away map[MusicianID]*awayHold
	// leaving holds the musicians removed from musicians whose goroutine has not ended yet, and
	// ended sums the counters of those whose goroutine has: between them, Stats' totals count
	// every musician's, once.
	leaving map[*musician]struct{}
	ended   musicianTotals
}

// musicianTotals sums the counters of musicians that Stats reports over the Manager's life, not
// only over the musicians it has now.
type musicianTotals struct {
	impostorOffers, iceRestarts, addressGoneRestarts uint64
}

// add adds mus's counters, final once its goroutine has ended (only that goroutine counts).
func (t *musicianTotals) add(mus *musician) {
	t.impostorOffers += mus.impostorOffers.Load()
	gone := mus.addressGoneRestarts.Load() // read once: ICERestarts - AddressGoneRestarts is the failures'
	t.iceRestarts += mus.failureRestarts.Load() + gone
	t.addressGoneRestarts += gone
}

// awayHold is a musician that left Presence while its connection was up, kept for a rejoin.
type awayHold struct {
	mus  *musician
	done chan struct{} // closed when the hold ends before its grace: a rejoin, a removal
}

// refusedOffer is an offer refused by the cap, and the candidates that
// followed it.
type refusedOffer struct {
	offer room.Signal
	at    time.Time
	cands []room.Signal
}

// managerCounters count what the Manager dropped or refused; all atomics.
type managerCounters struct {
	refused         atomic.Uint64 // joins and offers past MaxPeers
	wrongTarget     atomic.Uint64 // signals for another peer
	noSender        atomic.Uint64 // signals without fromPeerId, or from ourselves
	unknownSender   atomic.Uint64 // answers/candidates from someone with no PeerConnection
	inboxFull       atomic.Uint64 // answers/candidates dropped on a full inbox (or past a refused offer's bound)
	offersCoalesced atomic.Uint64 // offers replaced by a newer one before being handled
	refusedExpired  atomic.Uint64 // offers kept from refusal, then dropped for age or room
	// strangersOverflow: offers from peers not in Presence past maxStrangers, kept with the refused ones
	strangersOverflow atomic.Uint64
	malformed         atomic.Uint64 // signals rejected by us or by pion
	signalsDropped    atomic.Uint64 // candidates not sent: the signal budget was spent
	offersDeferred    atomic.Uint64 // negotiations put off until the signal budget had room
	slotsReclaimed    atomic.Uint64 // slots taken from musicians not connected in time, for those waiting
}

// NewManager checks the config and builds the shared pion API. It starts no
// goroutines; call Run.
func NewManager(cfg Config) (*Manager, error) {
	c, err := cfg.withDefaults()
	if err != nil {
		return nil, fmt.Errorf("peer.NewManager: %w", err)
	}
	for i, s := range c.ICEServers {
		for _, u := range s.URLs {
			uri, err := stun.ParseURI(u)
			if err != nil {
				return nil, fmt.Errorf("peer.NewManager: ICEServers[%d] URL %q: %v: %w", i, u, err, ErrConfig)
			}
			if (uri.Scheme == stun.SchemeTypeTURN || uri.Scheme == stun.SchemeTypeTURNS) && (s.Username == "" || s.Credential == "") {
				return nil, fmt.Errorf("peer.NewManager: ICEServers[%d] TURN URL %q needs a username and credential: %w", i, u, ErrConfig)
			}
		}
	}
	if _, err := newAPI(c, pcScope{}); err != nil { // each PeerConnection builds its own; this checks the config
		return nil, fmt.Errorf("peer.NewManager: %w", err)
	}
	log := c.Logger.With("component", "peer")
	if err := c.checkGathering(log); err != nil {
		return nil, fmt.Errorf("peer.NewManager: %w", err)
	}
	m := &Manager{cfg: c, log: log, slotTimeout: c.SlotTimeout, musicians: map[MusicianID]*musician{},
		signals:       newSignalBudget(c.Clock, c.MaxSignalsPerSecond),
		refusedOffers: map[MusicianID]*refusedOffer{}, warnLog: lograte.Limiter{Every: logInterval},
		reporters: map[MusicianID]uint64{}, evicted: map[MusicianID]eviction{}, away: map[MusicianID]*awayHold{}, leaving: map[*musician]struct{}{}}
	// A held musician whose connection fails or closes is released at once (MusicianAway):
	// every state change passes by the Manager first.
	report := m.cfg.OnStateChange
	m.cfg.OnStateChange = func(id MusicianID, st webrtc.PeerConnectionState) {
		m.connectionChanged(id, st)
		if report != nil {
			report(id, st)
		}
	}
	return m, nil
}

// Run starts the musicians' goroutines and keeps admitting new ones until ctx
// is cancelled; then it closes every PeerConnection and returns nil once all
// goroutines have exited.
func (m *Manager) Run(ctx context.Context) error {
	m.mu.Lock()
	if m.runCtx != nil || m.stopped {
		m.mu.Unlock()
		return ErrAlreadyRunning
	}
	m.runCtx = ctx
	for _, mus := range m.musicians {
		m.startLocked(mus)
	}
	m.mu.Unlock()

	<-ctx.Done()
	m.mu.Lock()
	m.stopped = true
	m.mu.Unlock()
	m.wg.Wait()
	return nil
}

// MusicianJoined tells the Manager a musician appeared in Presence. If it has
// not offered within OfferDelay, ledbridge offers. Past MaxPeers it returns
// ErrPeerCap and the musician waits for a free slot.
func (m *Manager) MusicianJoined(id MusicianID) error {
	if id == "" || string(id) == m.cfg.SelfID {
		return fmt.Errorf("peer: musician id %q: %w", id, room.ErrInvalidPayload)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.stoppingLocked() {
		return ErrStopped
	}
	mus, known := m.musicians[id]
	if known && mus.inPresence.Load() {
		if m.dropHoldLocked(mus) {
			m.log.Info("musician back in Presence within its grace; its connection kept", "musician", id)
		}
		mus.confirmPresence()
		return nil
	}
	if m.presentLocked() >= m.cfg.MaxPeers {
		// A stranger's musician stays as it is, its offer held: when a slot frees it is
		// confirmed there, or, if its PresenceGrace ends first, its offer is kept with the
		// refused ones (musicianExited).
		m.enqueueLocked(id)
		m.reclaimSlotsLocked()
		if mus := m.musicians[id]; mus != nil && mus.inPresence.Load() {
			return nil // first in the queue, admitted into a slot held unconnected for too long
		}
		m.counters.refused.Add(1)
		m.warnLimited("musician refused: peer cap reached", "musician", id, "max_peers", m.cfg.MaxPeers, "refused_total", m.counters.refused.Load())
		return fmt.Errorf("peer: musician %s: %w (%d)", id, ErrPeerCap, m.cfg.MaxPeers)
	}
	if known {
		mus.confirmPresence() // it takes its slot now, and its held offer is answered
		return nil
	}
	m.addLocked(id, true)
	return nil
}

// MusicianAway tells the Manager a musician left Presence, and reports whether its connection
// is kept. A musician whose connection is connected (pion's consent checks are being answered:
// the media path is alive, muted or not) keeps its PeerConnection, tracks and sinks as they are
// for PresenceGrace, and its peer-cap slot: a Realtime socket that drops for a moment shows in
// Presence as a leave and, about a second later, a join under the same key, while the media
// path never dropped; closing it would leave the musician's tab holding the PeerConnection the
// bridge closed, deaf to the bridge's new offers, and she would not be heard again. MusicianJoined within the grace keeps it all, with
// no new offer. Without that, or if the connection fails or closes meanwhile, the musician is
// released. A musician whose connection is not up is released at once (releaseLocked): its
// PeerConnection is closed, its place in the queue for a slot and its kept offer dropped, and
// everything it held released (asynchronously; Run waits).
//
// While held, the musician is the same as one in Presence to offers under its id: those of
// another tab or room member (the sender of a signal is not authenticated) are refused while
// the connection is up (ImpostorOffers), so no one inherits it by claiming its key. A second
// leave of a held musician keeps the first one's grace: leave/rejoin storms hold one musician
// per key, each counted against MaxPeers.
func (m *Manager) MusicianAway(id MusicianID) (held bool) {
	return m.hold(id, m.cfg.PresenceGrace,
		"musician left Presence with its connection up; keeping it for a rejoin")
}

// MusicianMissing tells the Manager a musician is missing from the Presence the room server
// gave on the bridge's own (re)join, and reports whether her connection is kept. That is no
// leave the server saw: a room server that restarted (a self-hosted Supabase, or a LAN hub,
// stopped and started again) comes back with an empty Presence, and lists each musician only
// once her own client has reconnected and rejoined, by supabase-js's backoffs up to tens of
// seconds after the bridge (DefaultRejoinGrace), while the media paths, peer to peer, never
// dropped. She is held as MusicianAway holds her, for RejoinGrace instead of PresenceGrace:
// a connection that fails or closes meanwhile is still released at once, and one not up is
// not held.
func (m *Manager) MusicianMissing(id MusicianID) (held bool) {
	return m.hold(id, m.cfg.RejoinGrace,
		"musician missing from the room's Presence after the bridge rejoined (the room server may have restarted); keeping her connection for her rejoin")
}

// hold is MusicianAway and MusicianMissing: it holds musician id, if her connection is up, for
// grace, logging msg.
func (m *Manager) hold(id MusicianID, grace time.Duration, msg string) (held bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	mus, ok := m.musicians[id]
	if ok && m.away[id] != nil {
		return true
	}
	if !ok || !mus.inPresence.Load() || m.runCtx == nil || m.stoppingLocked() ||
		webrtc.PeerConnectionState(mus.connState.Load()) != webrtc.PeerConnectionStateConnected {
		m.releaseLocked(id)
		return false
	}
	h := &awayHold{mus: mus, done: make(chan struct{})}
	m.away[id] = h
	ctx, timer := m.runCtx, m.cfg.Clock.NewTimer(grace)
	m.wg.Add(1)
	go func() {
		defer m.wg.Done()
		defer timer.Stop()
		select {
		case <-timer.C():
		case <-h.done:
			return
		case <-ctx.Done():
			return // Run closes every musician
		}
		m.mu.Lock()
		defer m.mu.Unlock()
		if m.away[id] == h {
			m.log.Info("musician did not come back to Presence within its grace; closing its connection", "musician", id, "grace", grace)
			m.removeLocked(mus)
		}
	}()
	m.log.Info(msg, "musician", id, "grace", grace)
	return true
}

// releaseLocked forgets musician id at once: its PeerConnection is closed, held or not, and its
// place in the queue for a slot and its kept offer are dropped.
func (m *Manager) releaseLocked(id MusicianID) {
	m.waiting = slices.DeleteFunc(m.waiting, func(w MusicianID) bool { return w == id })
	delete(m.evicted, id)
	delete(m.refusedOffers, id)
	if mus, ok := m.musicians[id]; ok {
		m.removeLocked(mus)
	}
}

// connectionChanged releases a held musician (MusicianAway) whose connection failed or closed:
// its media path is gone, and a rejoin would need a new connection anyway. It runs on the
// musician's goroutine, from reportState.
func (m *Manager) connectionChanged(id MusicianID, st webrtc.PeerConnectionState) {
	if st != webrtc.PeerConnectionStateFailed && st != webrtc.PeerConnectionStateClosed {
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	h := m.away[id]
	if h == nil || webrtc.PeerConnectionState(h.mus.connState.Load()) != st {
		return // no hold, or the report of a musician released already
	}
	m.log.Info("connection of a musician away from Presence "+st.String()+"; releasing it", "musician", id)
	m.removeLocked(h.mus)
}

// dropHoldLocked ends mus's hold, if it has one, and reports whether it had.
func (m *Manager) dropHoldLocked(mus *musician) bool {
	h := m.away[mus.id]
	if h == nil || h.mus != mus {
		return false
	}
	delete(m.away, mus.id)
	close(h.done)
	return true
}

// HandleSignal routes a webrtc-signal from the room to its musician. It never
// blocks. Signals for another peer, without a sender, or from an unknown
// sender that is not offering are dropped and counted.
func (m *Manager) HandleSignal(sig room.Signal) {
	switch {
	case sig.Type != room.SignalOffer && sig.Type != room.SignalAnswer && sig.Type != room.SignalCandidate,
		sig.Type != room.SignalCandidate && sig.Description == nil:
		m.counters.malformed.Add(1)
		return
	case sig.TargetPeerID != m.cfg.SelfID:
		m.counters.wrongTarget.Add(1)
		return
	case sig.FromPeerID == "" || sig.FromPeerID == m.cfg.SelfID:
		m.counters.noSender.Add(1)
		return
	}
	id := MusicianID(sig.FromPeerID)
	m.mu.Lock()
	// Delivered with mu held (deliver never blocks), so that a musician whose
	// goroutine has ended cannot get a signal after musicianExited looked.
	defer m.mu.Unlock()
	mus, ok := m.musicians[id]
	if !ok && !m.stoppingLocked() {
		if ro := m.refusedOffers[id]; ro != nil && sig.Type == room.SignalCandidate {
			if len(ro.cands) < maxRefusedCandidates {
				ro.cands = append(ro.cands, sig)
			} else {
				m.counters.inboxFull.Add(1)
				m.warnLimited("candidate dropped: too many kept with a refused offer", "musician", id, "kept", maxRefusedCandidates)
			}
			return
		}
		if sig.Type == room.SignalOffer {
			switch {
			case slices.Contains(m.waiting, id): // in Presence, the cap is full
				m.keepRefusedOfferLocked(sig)
				m.counters.refused.Add(1)
				m.warnLimited("offer refused: peer cap reached; kept to answer when a slot frees", "musician", id, "max_peers", m.cfg.MaxPeers, "refused_total", m.counters.refused.Load())
				return
			case m.strangersLocked() >= maxStrangers:
				m.keepRefusedOfferLocked(sig)
				m.counters.strangersOverflow.Add(1)
				m.warnLimited("offer from a peer not in Presence kept with the refused ones: too many strangers' offers held", "musician", id, "max_strangers", maxStrangers)
				return
			}
			// An offer may overtake the Presence sync that announces its sender. Its musician
			// holds it, unanswered, and takes no peer-cap slot until Presence confirms it:
			// anyone can send offers under made-up ids.
			mus, ok = m.addLocked(id, false), true
		}
	}
	if !ok {
		m.counters.unknownSender.Add(1)
		return
	}
	mus.deliver(sig)
}

// keepRefusedOfferLocked keeps the newest refused offer of its sender,
// forgetting expired ones and, past maxRefusedOffers, the oldest; offers of
// musicians waiting in Presence go last, since anyone can send offers under
// made-up ids: a stranger's offer is dropped rather than push one of theirs out.
func (m *Manager) keepRefusedOfferLocked(sig room.Signal) {
	now := m.cfg.Clock.Now()
	id := MusicianID(sig.FromPeerID)
	var oldest MusicianID
	oldestWaits := false
	for k, ro := range m.refusedOffers {
		if now.Sub(ro.at) > refusedOfferMaxAge {
			delete(m.refusedOffers, k)
			m.counters.refusedExpired.Add(1)
			m.warnLimited("refused offer dropped unanswered: too old", "musician", k, "max_age", refusedOfferMaxAge)
			continue
		}
		waits := slices.Contains(m.waiting, k)
		if oldest == "" || (oldestWaits && !waits) || (oldestWaits == waits && ro.at.Before(m.refusedOffers[oldest].at)) {
			oldest, oldestWaits = k, waits
		}
	}
	if m.refusedOffers[id] == nil && len(m.refusedOffers) >= maxRefusedOffers {
		if oldestWaits && !slices.Contains(m.waiting, id) {
			oldest = id // every kept offer is a waiting musician's: keep them
		}
		delete(m.refusedOffers, oldest)
		m.counters.refusedExpired.Add(1)
		m.warnLimited("refused offer dropped unanswered: too many kept", "musician", oldest, "kept", maxRefusedOffers)
		if oldest == id {
			return
		}
	}
	m.refusedOffers[id] = &refusedOffer{offer: sig, at: now}
}

// SlotTimeout is how long a musician may hold a peer-cap slot unconnected while others wait
// (Config.SlotTimeout, DefaultSlotTimeout when unset).
func (m *Manager) SlotTimeout() time.Duration { return m.slotTimeout }

// slotOverdue is called from mus's goroutine when mus has held its slot unconnected past its
// bound (musician.slotCheck): if someone waits who may take it (reclaimSlotsLocked), it goes
// to them.
func (m *Manager) slotOverdue(mus *musician) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.musicians[mus.id] == mus {
		m.reclaimSlotsLocked()
	}
}

// reclaimSlotsLocked gives the slots of overdue musicians (in Presence, not connected within
// their bound: see musician.slotCheck) to the musicians waiting, those who never had a slot
// first, in the order they came. Without
// it, room members that join Presence and never answer an offer (a stuck tab, or anyone on the
// LAN with the room code) hold every slot for good, and a musician who joins after them is
// never heard, although MaxPeers means musicians connected at once. Each overdue one goes to
// the end of the queue, to be admitted again in its turn; with no one waiting, nothing changes.
// A musician away from Presence (MusicianAway) is connected, or released, and keeps her slot.
//
// A musician who never had a slot takes one back, and one only: the queue holds them first
// (enqueueLocked), and each reclaim admits the first. One evicted waits behind them for a slot
// that frees or for her turn, and takes no overdue slot back herself, else each eviction would
// set off the next (one musician joining behind four silent members tore all four down) and two
// slow musicians would swap one slot for ever, neither connecting. Admitted again, she has
// twice her last bound (nextSlotBound), so a connection slower than the slot timeout gets
// through in the end.
//
// Once no newcomer waits, the first evicted waiter takes back one slot given away while she
// waited (its holder admitted after her eviction) whose holder is silent (nothing heard from
// her side) and longOverdue: still not connected after twice her own bound. Else a silent
// member joining after her would hold the slot she lost for good, as nothing frees it. The
// slots of those who held them before her eviction are not hers to take: the silent members
// would trade them among themselves. A holder who answered is a musician slower than the slot
// timeout, left to connect, as is one whose offer is still to come within her second bound;
// but not for ever: once stalled (never connected, maxSlotTimeoutFactor × the slot timeout
// after her admission), a browser whose connection never comes up gives the slot back too.
func (m *Manager) reclaimSlotsLocked() {
	var tookOne []MusicianID // waiters who took a slot in this pass: one each
	for len(m.waiting) > 0 && !m.stoppingLocked() && !slices.Contains(tookOne, m.waiting[0]) {
		ev, wasEvicted := m.evicted[m.waiting[0]]
		var overdue *musician
		for _, mus := range m.musicians {
			if mus.overdue.Load() && mus.inPresence.Load() && m.away[mus.id] == nil &&
				webrtc.PeerConnectionState(mus.connState.Load()) != webrtc.PeerConnectionStateConnected &&
				(!wasEvicted || (mus.longOverdue.Load() && (!mus.heard.Load() || mus.stalled.Load()) && mus.seq > ev.lastSeq)) &&
				(overdue == nil || mus.seq < overdue.seq) {
				overdue = mus
			}
		}
		if overdue == nil {
			return
		}
		tookOne = append(tookOne, m.waiting[0])
		m.counters.slotsReclaimed.Add(1)
		m.warnLimited("peer-cap slot taken back from a musician not connected in time; she waits behind the others",
			"musician", overdue.id, "state", webrtc.PeerConnectionState(overdue.connState.Load()).String(),
			"for", m.waiting[0], "slot_timeout", overdue.slotTimeout, "reclaimed_total", m.counters.slotsReclaimed.Load())
		overdue.reclaimed.Store(true)
		if len(m.waiting) < maxWaiting {
			m.waiting = append(m.waiting, overdue.id)
			m.evicted[overdue.id] = eviction{nextBound: nextSlotBound(overdue.slotTimeout, m.slotTimeout), lastSeq: m.musicianSeq.Load()}
		}
		m.removeLocked(overdue) // closes its PeerConnection and admits m.waiting[0]
	}
}

// eviction is what the Manager keeps of a musician whose slot was taken back (Manager.evicted).
type eviction struct {
	nextBound time.Duration // her bound at her next admission (nextSlotBound)
	// lastSeq is the newest musician.seq at her eviction: those with a higher one were
	// admitted while she waited, the only ones whose slot she may take back.
	lastSeq uint64
}

// wasEvictedLocked reports whether id's slot was taken back since she joined (reclaimSlotsLocked).
func (m *Manager) wasEvictedLocked(id MusicianID) bool {
	_, ok := m.evicted[id]
	return ok
}

// enqueueLocked puts id, refused by the cap, in the queue for a slot (if not there yet and
// the queue has room): behind those who never had a slot, ahead of those whose slot was taken
// back (reclaimSlotsLocked), who wait for a slot to free after every newcomer's turn.
func (m *Manager) enqueueLocked(id MusicianID) {
	if slices.Contains(m.waiting, id) || len(m.waiting) >= maxWaiting {
		return
	}
	i := len(m.waiting)
	if !m.wasEvictedLocked(id) {
		i = slices.IndexFunc(m.waiting, m.wasEvictedLocked)
		if i < 0 {
			i = len(m.waiting)
		}
	}
	m.waiting = slices.Insert(m.waiting, i, id)
}

// nextSlotBound is the bound at her next admission of a musician admitted with bound prev
// whose slot was taken back: twice prev, up to maxSlotTimeoutFactor × slotTimeout.
func nextSlotBound(prev, slotTimeout time.Duration) time.Duration {
	return min(2*prev, maxSlotTimeoutFactor*slotTimeout)
}

// presentLocked counts the musicians that hold a peer-cap slot: those in Presence.
func (m *Manager) presentLocked() int {
	n := 0
	for _, mus := range m.musicians {
		if mus.inPresence.Load() {
			n++
		}
	}
	return n
}

// strangersLocked counts the musicians known only from their offer.
func (m *Manager) strangersLocked() int { return len(m.musicians) - m.presentLocked() }

// warnLimited logs at most one refusal a second (the counters have them all):
// a stranger flooding offers must not flood the log. Called with mu held.
func (m *Manager) warnLimited(msg string, args ...any) {
	if _, ok := m.warnLog.Allow(m.cfg.Clock.Now()); ok {
		m.log.Warn(msg, args...)
	}
}

// addLocked registers a musician and, if Run has started, its goroutine. An
// offer the cap refused it earlier (and its candidates) is handed over to be
// answered.
func (m *Manager) addLocked(id MusicianID, inPresence bool) *musician {
	mus := newMusician(m, id, inPresence)
	if ev, ok := m.evicted[id]; ok {
		mus.slotTimeout = ev.nextBound
	}
	m.musicians[id] = mus
	m.waiting = slices.DeleteFunc(m.waiting, func(w MusicianID) bool { return w == id })
	if ro := m.refusedOffers[id]; ro != nil {
		delete(m.refusedOffers, id)
		if m.cfg.Clock.Now().Sub(ro.at) <= refusedOfferMaxAge {
			m.log.Info("answering the offer refused while the cap was full", "musician", id, "age", m.cfg.Clock.Now().Sub(ro.at))
			mus.deliver(ro.offer)
			for _, c := range ro.cands {
				mus.deliver(c)
			}
		} else {
			m.counters.refusedExpired.Add(1)
			m.warnLimited("refused offer dropped unanswered: too old", "musician", id, "max_age", refusedOfferMaxAge)
		}
	}
	if m.runCtx != nil {
		m.startLocked(mus)
	}
	return mus
}

// stoppingLocked reports whether Run is ending: no musician may start then,
// or Run's final Wait could miss it.
func (m *Manager) stoppingLocked() bool {
	return m.stopped || (m.runCtx != nil && m.runCtx.Err() != nil)
}

func (m *Manager) startLocked(mus *musician) {
	if mus.started || m.stoppingLocked() {
		return
	}
	mus.started = true
	ctx, cancel := context.WithCancel(m.runCtx)
	mus.cancelMu.Lock()
	mus.cancel = cancel
	cancelled := mus.cancelled
	mus.cancelMu.Unlock()
	if cancelled {
		cancel()
	}
	m.wg.Add(1)
	go func() {
		defer m.wg.Done()
		defer cancel()
		mus.run(ctx)
		m.musicianExited(mus)
	}()
}

// removeLocked forgets a musician, stops its goroutine and admits the oldest
// waiting musician into the freed slot.
func (m *Manager) removeLocked(mus *musician) {
	if m.musicians[mus.id] != mus {
		return
	}
	m.dropHoldLocked(mus)
	delete(m.musicians, mus.id)
	if !slices.Contains(m.waiting, mus.id) {
		delete(m.evicted, mus.id) // she left, or exited to start afresh
	}
	if mus.started {
		m.leaving[mus] = struct{}{} // until its goroutine ends (musicianExited)
	}
	mus.stop()
	if len(m.waiting) > 0 && !m.stoppingLocked() && m.presentLocked() < m.cfg.MaxPeers {
		next := m.waiting[0]
		m.waiting = m.waiting[1:]
		m.log.Info("musician admitted into a freed slot", "musician", next)
		if held := m.musicians[next]; held != nil {
			held.confirmPresence() // known from its offer: that is answered now
		} else {
			m.addLocked(next, true)
		}
	}
}

// musicianExited is called when a musician's goroutine ends on its own
// (Presence grace expired) or after its release (MusicianAway), from that goroutine. An offer
// that reached the goroutine after its last look (HandleSignal delivers with mu
// held, so none can arrive after this) starts a fresh musician, unless the
// musician left. A stranger that Presence confirmed while the cap was full
// leaves its offer (and candidates) with the refused ones, to be answered when
// it is admitted; one confirmed as its grace ran out starts afresh in its slot.
// A stranger never confirmed leaves its held offer with the refused ones too, to
// be answered if it is announced later.
func (m *Manager) musicianExited(mus *musician) {
	held, cands := mus.held, mus.leftoverCandidates() // run has returned: this goroutine owns them
	m.mu.Lock()
	defer m.mu.Unlock()
	defer func() { // after removeLocked below, which may put it in leaving
		delete(m.leaving, mus)
		m.ended.add(mus)
	}()
	onItsOwn := m.musicians[mus.id] == mus
	mus.offerMu.Lock()
	newest := mus.pendingOffer
	mus.pendingOffer = nil
	mus.offerMu.Unlock()
	late := newest
	if newest == nil {
		newest = held
	}
	if onItsOwn && mus.inPresence.Load() && !m.stoppingLocked() {
		m.dropHoldLocked(mus)
		delete(m.musicians, mus.id)
		mus.stop()
		m.log.Info("musician appeared in Presence as its grace ended; starting afresh", "musician", mus.id)
		fresh := m.addLocked(mus.id, true)
		if newest != nil {
			fresh.deliver(*newest)
			for _, c := range cands {
				fresh.deliver(c)
			}
		}
		return
	}
	m.removeLocked(mus)
	if m.stoppingLocked() {
		return
	}
	// One whose slot was taken back (reclaimSlotsLocked) waits again: an offer of hers that
	// arrived meanwhile is kept, as a waiting musician's, for her turn.
	if slices.Contains(m.waiting, mus.id) && (onItsOwn || mus.reclaimed.Load()) {
		if newest != nil && m.refusedOffers[mus.id] == nil {
			m.keepRefusedOfferLocked(*newest)
			if ro := m.refusedOffers[mus.id]; ro != nil {
				ro.cands = append(ro.cands, cands[:min(len(cands), maxRefusedCandidates)]...)
			}
		}
		return
	}
	if !onItsOwn {
		return
	}
	if late == nil {
		if held != nil {
			// Its PresenceGrace ended unconfirmed, but the sender may be in Presence all the
			// same: the session announces at most 2×MaxPeers musicians, the others only as
			// places free. Its browser, the impolite peer, waits for the answer to this offer
			// and ignores ours meanwhile, so the offer is kept with the refused ones (bounded,
			// strangers' first to go), for addLocked to answer on MusicianJoined.
			m.keepRefusedOfferLocked(*held)
			if ro := m.refusedOffers[mus.id]; ro != nil {
				ro.cands = append(ro.cands, cands[:min(len(cands), maxRefusedCandidates)]...)
			}
		}
		return
	}
	if m.strangersLocked() >= maxStrangers {
		m.keepRefusedOfferLocked(*late)
		m.counters.strangersOverflow.Add(1)
		m.warnLimited("offer from a peer not in Presence kept with the refused ones: too many strangers' offers held", "musician", mus.id, "max_strangers", maxStrangers)
		return
	}
	m.log.Info("offer arrived as the musician was released; starting afresh", "musician", mus.id)
	m.addLocked(mus.id, false).deliver(*late)
}

// Stats is a snapshot of the Manager's counters and every musician's state.
type Stats struct {
	Musicians []MusicianStats
	// Waiting are the musicians in Presence refused by the cap, in admission order: they have
	// no PeerConnection (or only a stranger's, holding its offer) until a slot frees, so a
	// status display shows them as waiting rather than by a connection state that never moves.
	Waiting  []MusicianID
	MaxPeers int // the cap (Config.MaxPeers, defaults applied) that Waiting waits behind

	RefusedPeerCap       uint64 // joins and offers refused because MaxPeers were connected
	WrongTarget          uint64 // signals addressed to another peer
	MissingSender        uint64 // signals without a usable fromPeerId
	UnknownSender        uint64 // answers/candidates from a peer with no connection
	InboxDrops           uint64 // answers/candidates dropped on a full inbox
	OffersCoalesced      uint64 // offers superseded by a newer offer before being handled
	RefusedOffersDropped uint64 // offers kept after a cap refusal, dropped unanswered (too old, or too many kept)
	// StrangerOffersOverflow counts offers from peers not in Presence that found
	// maxStrangers offers held already and were kept with the refused ones instead.
	StrangerOffersOverflow uint64
	// SignalsDropped counts signals (trickled candidates, end-of-candidates) not
	// sent because MaxSignalsPerSecond were spent.
	SignalsDropped uint64
	// OffersDeferred counts answers and offers put off because the signal budget
	// had no room for them (offers coalesce while they wait).
	OffersDeferred uint64
	// SlotsReclaimed counts peer-cap slots taken back, while musicians waited for one, from
	// musicians that had not connected within their bound (DefaultSlotTimeout after admission,
	// twice their last bound when admitted again after this, or their restart budget after a
	// connection was lost): each went back to the end of Waiting, its PeerConnection closed,
	// and the longest-waiting musician who never had a slot took it, one each; with none
	// waiting, the first whose slot was taken back, from one admitted after that who had not
	// connected within twice its bound (one heard from, who never connected: within
	// maxSlotTimeoutFactor × the slot timeout, or twice its bound if that is longer).
	SlotsReclaimed   uint64
	MalformedSignals uint64 // signals pion rejected (bad SDP, bad candidate), all musicians
	// ImpostorOffers sums MusicianStats.ImpostorOffers over every musician since the Manager
	// was made, those released included: it never goes down.
	ImpostorOffers uint64
	// ICERestarts and AddressGoneRestarts sum MusicianStats' over every musician since the
	// Manager was made, those released included: they never go down.
	ICERestarts, AddressGoneRestarts uint64
}

// MusicianStats is one musician's connection and RTP reception.
type MusicianStats struct {
	ID                MusicianID
	InPresence        bool
	ConnectionState   webrtc.PeerConnectionState
	ICEState          webrtc.ICEConnectionState
	Codec             string // MIME type of the current audio track, e.g. "audio/opus"
	PacketsReceived   uint64 // RTP packets read, padding-only ones included
	PacketsLost       uint64 // from sequence-number gaps (RFC 3550 A.3)
	Jitter            time.Duration
	Bytes             uint64 // RTP payload bytes
	PaddingOnly       uint64 // packets without payload, not passed to the sink's WriteRTP (see EmptyMarker)
	BadRTP            uint64 // packets that did not parse as RTP, or that pion refused (a payload type not negotiated)
	ICERestarts       uint64 // ICE-restart offers sent
	GlareRestarts     uint64 // PeerConnections replaced to answer an offer during our own
	Malformed         uint64 // signals from this musician pion rejected
	Duplicates        uint64 // late or duplicate answers (ignored) and offers (answered again)
	QueuedCandidates  uint64 // candidates held for a remote description (none yet, hers waiting, or the answer to ours)
	DroppedCandidates uint64 // candidates dropped (hers: held queue full, of another ICE generation, past maxRemoteCandidates; ours: event queue full)
	IgnoredTracks     uint64 // audio tracks after a PeerConnection's first, read and discarded
	UndeclaredTracks  uint64 // tracks pion started for an SSRC the offer does not declare, read and discarded
	DataChannels      uint64 // data channels the musician opened, each closed at once
	// Floods counts her connections closed for opening too many tracks, SSRCs or data channels,
	// for sending more RTP and RTCP packets than Config.MaxPacketsPerSecond allows (packetBudget),
	// or for reads that keep failing.
	Floods uint64
	// AddressGoneRestarts counts the ICE restarts (in ICERestarts too) made because the host
	// address the connection's selected candidate pair was on went (HostAddressesChanged),
	// rather than after a failure.
	AddressGoneRestarts uint64
	// ImpostorOffers counts offers under the musician's peer id refused, unanswered, while its
	// connection was up and its audio arriving, because they had another DTLS certificate or
	// other ICE credentials than its tab's: another room member's (Realtime does not
	// authenticate the sender), or a tab of the same peer id that is not the one streaming;
	// or because only a fresh PeerConnection could answer them, which would close the live one.
	// Answers to the bridge's offers with another DTLS certificate than the connection's are
	// counted here too (handleAnswer).
	ImpostorOffers uint64
}

// Stats returns a snapshot; it is safe to call from any goroutine.
func (m *Manager) Stats() Stats {
	m.mu.Lock()
	s := Stats{Waiting: slices.Clone(m.waiting), MaxPeers: m.cfg.MaxPeers}
	totals := m.ended
	for _, mus := range m.musicians {
		s.Musicians = append(s.Musicians, mus.snapshot())
		totals.add(mus)
	}
	for mus := range m.leaving {
		totals.add(mus)
	}
	m.mu.Unlock()
	s.ImpostorOffers, s.ICERestarts, s.AddressGoneRestarts = totals.impostorOffers, totals.iceRestarts, totals.addressGoneRestarts
	slices.SortFunc(s.Musicians, func(a, b MusicianStats) int { return strings.Compare(string(a.ID), string(b.ID)) })
	s.MalformedSignals = m.counters.malformed.Load()
	s.RefusedPeerCap = m.counters.refused.Load()
	s.WrongTarget = m.counters.wrongTarget.Load()
	s.MissingSender = m.counters.noSender.Load()
	s.UnknownSender = m.counters.unknownSender.Load()
	s.InboxDrops = m.counters.inboxFull.Load()
	s.OffersCoalesced = m.counters.offersCoalesced.Load()
	s.RefusedOffersDropped = m.counters.refusedExpired.Load()
	s.StrangerOffersOverflow = m.counters.strangersOverflow.Load()
	s.SignalsDropped = m.counters.signalsDropped.Load()
	s.OffersDeferred = m.counters.offersDeferred.Load()
	s.SlotsReclaimed = m.counters.slotsReclaimed.Load()
	return s
}
