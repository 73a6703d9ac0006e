package peer

import (
	"context"
	"fmt"
	"log/slog"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/sdp/v3"
	"github.com/pion/webrtc/v4"

	"github.com/ledbridge/ledbridge/bridge/clock"
	"github.com/ledbridge/ledbridge/bridge/lograte"
	"github.com/ledbridge/ledbridge/bridge/room"
)

const (
	// maxPendingCandidates bounds the remote candidates held until a remote
	// description arrives; browsers trickle 2–20.
	maxPendingCandidates = 64
	// maxRemoteCandidates bounds the distinct remote candidates one ICE generation (one
	// PeerConnection and remote ufrag) may have, whether they came inside an offer or answer's SDP
	// or trickled: each becomes candidate pairs and connectivity checks, so an unbounded number
	// would let one signal make the bridge send STUN to any list of addresses. Browsers have 2–20.
	maxRemoteCandidates = 64
	// maxMediaSections bounds an offer's m-lines that can carry media to the bridge (not
	// recvonly or inactive, whatever their port: maySend): every such audio section becomes a track
	// with two read goroutines and an audio stream. The web app sends one (plus perhaps a data
	// channel).
	maxMediaSections = 4
	// maxOfferedSections bounds all of an offer's m-lines. A browser never drops one: after
	// pc.removeTrack its section stays, inactive, and the next pc.addTrack brings a new one, so
	// a musician who switches microphones that way offers one more section per switch (20
	// switches, 21 sections). An inactive section costs pion only an idle transceiver.
	maxOfferedSections = 64
	// maxTransceiversKept bounds the transceivers a PeerConnection accumulates over
	// renegotiations: pion keeps one for every mid it has seen, and a browser that removes and
	// re-adds its microphone track (rather than replacing it) brings a new mid each time. Past
	// it, the offer is answered on a fresh PeerConnection, whose new DTLS certificate a browser
	// must accept mid-call, so the bound leaves room for a dozen such microphone switches.
	maxTransceiversKept = 16
	// eventQueueSize bounds pion callback events waiting for the musician's
	// goroutine. Callbacks never block (pion calls them from its own goroutines).
	eventQueueSize = 256
	// maxDataChannels bounds the data channels a PeerConnection accepts. ledbridge reads none
	// and closes each as it opens, but pion keeps every channel it ever accepted, closed or
	// not, until the PeerConnection closes, so a musician opening channels in a loop would
	// grow it without bound: past this many (the web app opens one at most), it is closed.
	maxDataChannels = 16
	// maxTracks bounds the tracks pion may start on one PeerConnection. A sender that declares
	// no SSRC in its SDP gets a new transceiver and track for every SSRC it sends under, so
	// a musician changing SSRC per packet grew the PeerConnection (and our two read
	// goroutines per track) without bound; a browser starts one per audio section, and one
	// more each time it renegotiates its microphone. Past this many, it is closed.
	maxTracks = 16
	// maxUnhandledSSRCs bounds the RTP and RTCP SSRCs pion may discard on one PeerConnection:
	// it keeps read streams (about 4 KiB) for each until the PeerConnection closes, so a
	// musician sending under a new SSRC per packet grew the bridge by ~80 MB in 20,000
	// packets. A browser causes a few (its RTCP feedback SSRC). Past this many, it is closed.
	maxUnhandledSSRCs = 64
	// maxUnconnectedRenegotiations bounds the offers answered on a PeerConnection that has
	// not connected (a browser needs one or two); later ones get a fresh PeerConnection.
	maxUnconnectedRenegotiations = 8
	// offerBurst offers from one musician are handled back to back, then one per
	// offerInterval; newer offers coalesce in the meantime (the newest wins). Each answer
	// may restart ICE, and then the bridge trickles its candidates too: at ten answers a
	// second (the bound this replaced) a few storming musicians made the bridge send more
	// than the 100 messages a second a room server allows one client, which cut its
	// signalling off for everyone. A browser needs a few offers when it connects, then one
	// per ICE restart.
	offerBurst    = 5
	offerInterval = time.Second
	// logInterval limits per-musician warnings about bad signals.
	logInterval = time.Second
)

// musician is one remote participant's PeerConnection and its goroutine.
type musician struct {
	// Constant after newMusician.
	id         MusicianID
	seq        uint64 // from Manager.musicianSeq: a musician of the same id made later has a higher one
	mgr        *Manager
	cfg        *Config
	log        *slog.Logger
	inbox      chan room.Signal // answers and candidates, in arrival order
	offerReady chan struct{}    // cap 1: pendingOffer is set
	presence   chan struct{}    // cap 1: the musician appeared in Presence
	events     chan pcEvent     // from pion callbacks
	newAddrs   chan struct{}    // cap 1: HostAddressesChanged gave the Manager new host addresses

	started bool // guarded by mgr.mu

	offerMu      sync.Mutex
	pendingOffer *room.Signal // newest unhandled offer; guarded by offerMu

	cancelMu  sync.Mutex
	cancel    context.CancelFunc // guarded by cancelMu
	cancelled bool               // guarded by cancelMu

	// Read by Stats from any goroutine.
	inPresence atomic.Bool
	connState  atomic.Int32 // webrtc.PeerConnectionState
	iceState   atomic.Int32 // webrtc.ICEConnectionState
	codec      atomic.Pointer[string]
	rx         rxCounters
	packets    *packetBudget // what her connections may send (packetCounter)
	// failureRestarts and addressGoneRestarts count the ICE restart offers sent, by cause
	// (MusicianStats.ICERestarts is their sum): each is counted once, by tryOffer, so the two
	// never disagree, whenever they are read.
	failureRestarts, addressGoneRestarts                    atomic.Uint64
	glare, malformed, duplicates, queuedCands, droppedCands atomic.Uint64
	extraTracks, undeclaredTracks                           atomic.Uint64
	dataChannels, floods                                    atomic.Uint64 // floods: connections closed by evFlood
	impostorOffers                                          atomic.Uint64 // see impostorOffer
	extraTrackLogged                                        atomic.Bool   // log the first ignored track only
	hostAddrChecks                                          atomic.Uint64 // host address checks done (checkHostAddress), which tests wait for
	// overdue: the musician holds a peer-cap slot and has not connected within its bound
	// (slotCheck), so the slot goes to a musician waiting for one (Manager.reclaimSlotsLocked).
	overdue atomic.Bool
	// longOverdue: overdue, and still not connected after her own bound again (slotCheck, armed
	// once more when she went overdue). Only then, and only if she is silent (heard unset) or
	// stalled, may a musician whose slot was taken back take this one
	// (Manager.reclaimSlotsLocked).
	longOverdue atomic.Bool
	// stalled: never connected, longOverdue, and still not connected maxSlotTimeoutFactor × the
	// Manager's slot timeout after her admission, or at longOverdue when that comes later (a
	// bound of more than half that; slotCheck, armed a third time): a browser that answers but
	// whose connection never comes up (ICE failing every time) is given as long as the slowest
	// connection an evicted musician is given, and no longer. One who has connected is a
	// musician whose network failed, left to restart (reconnectBudget).
	stalled atomic.Bool
	// heard: a signal from the musician's side has come (deliver), so a browser is behind her:
	// one slower than the slot timeout, whom a musician evicted before her leaves to connect.
	heard atomic.Bool
	// reclaimed: the Manager took her slot back (overdue) and put her at the end of the queue.
	reclaimed atomic.Bool
	// slotTimeout bounds how long she may hold her slot unconnected from her admission while
	// others wait: the Manager's slotTimeout, longer if her slot was taken back before
	// (Manager.evicted). Constant after addLocked.
	slotTimeout time.Duration

	// Owned by the run goroutine.
	cur     *pcHandle
	gen     uint64
	pending []webrtc.ICECandidateInit
	// remoteCands holds the distinct remote candidates of the current ICE generation (the
	// current PeerConnection and remoteUfrag), at most maxRemoteCandidates.
	remoteCands map[string]struct{}
	remoteUfrag string
	// held is an offer from a musician not (yet) in Presence: it is answered only once Presence
	// confirms the sender, so a stranger's offer never makes the bridge send anything.
	held    *room.Signal
	attempt int
	// outageRetries is how many times retry has tried (offered, restarted ICE, or sent our
	// answer again) with no connection up since one last came up, for outageEnded's line:
	// attempt cannot serve, as it paces the retries and may still count an earlier outage's.
	outageRetries int
	// goneAddress is the host address the selected pair was on when it went (checkHostAddress):
	// retry restarts ICE then although the connection may still count as connected. Invalid
	// when there is none.
	goneAddress netip.Addr
	// addressRestart is the host address whose going made the latest attempt an ICE restart
	// (retry), until a connection is up again; invalid otherwise. A restart made when the host
	// had only addresses the musician cannot reach gathers nothing that connects, and would
	// wait for ConnectTimeout: an address that appears meanwhile restarts it again at once.
	addressRestart netip.Addr
	// seenAddrs is the host's address set as this musician last judged its pair against it
	// (checkHostAddress; at first as the Manager had it, or as listed, when the goroutine
	// started): what went since is what a pair based on every address (0.0.0.0) may have lost.
	seenAddrs []netip.Addr
	// suspect is the newest offer impostorOffer refused, examined again when suspectCheck
	// fires (its audio may have stopped) or the connection leaves "connected".
	suspect      *suspectOffer
	suspectCheck timer
	// slotCheck runs while the musician holds a peer-cap slot and is not connected: from her
	// admission for the Manager's slotTimeout, or from the loss of a connection she had for her
	// restart budget (reconnectBudget). When it fires unconnected she is overdue, and it runs
	// once more for her slotTimeout: firing again unconnected, she is longOverdue; one who never
	// connected, once more for what is left of her stalled bound.
	slotCheck timer
	// upSince is when the current connection connected (zero while it is not up). The backoff
	// starts over only after a connection that stayed up for stableConnection, so a page that
	// connects and drops at once is offered again at a growing interval, not every second.
	upSince time.Time
	// closedByHerSide: the musician's side closed the last PeerConnection, and none has been
	// made since; retry offers on a fresh one, and says why.
	closedByHerSide bool
	// downSince is when the connection last went down after being up, until one is up again
	// (zero otherwise): how long her outage lasted is said when it ends (outageEnded).
	downSince time.Time
	// established: a PeerConnection of this musician has connected. Its negotiations then
	// keep a playing musician working, and may use the whole signal budget (signalBudget).
	established bool
	// priority is the signal budget class of the current negotiation, which its
	// candidates share.
	priority  bool
	reported  webrtc.PeerConnectionState
	signalLog lograte.Limiter // bad or unsendable signals, at most one line per logInterval
}

// pcHandle is one PeerConnection and the read goroutines pion started for it.
type pcHandle struct {
	pc   *webrtc.PeerConnection
	gen  uint64
	post func(pcEvent) // posts an event of this PeerConnection to the musician's goroutine
	// stopNet ends the ICE gatherer's name lookups and dials (see cancellableNet).
	stopNet context.CancelFunc
	// interfaces are what its ICE agent gathers on; relisted before each negotiation step,
	// so that a gathering it starts sees the host's addresses as they are then.
	interfaces *hostInterfaces
	// Owned by the musician's goroutine.
	connected      bool // it has been connected
	renegotiations int  // offers answered on it after the first
	// answerRetried: a retry has sent its latest answer again, alone; the next one restarts
	// ICE as well.
	answerRetried bool
	// heardAt is when the newest packet of the musician's track arrived, by the Clock (written
	// by the track's read goroutine, read by audioFresh); none before the first.
	heardAt clock.MonoStamp
	// remote holds the credentials of the remote description last applied (nil before one
	// was): impostorOffer compares an offer's with them. Owned by the musician's goroutine.
	remote *transportCredentials
	// unanswered: the current remote description is an offer pion refused part-way, and the
	// current local description the answer settleRefusedOffer made to get back to stable, never
	// sent. Owned by the musician's goroutine.
	unanswered bool

	dataChannels   atomic.Int64   // data channels the musician opened (and pion accepted)
	unhandledSSRCs atomic.Int64   // SSRCs pion discarded (and keeps streams for until it closes)
	wg             sync.WaitGroup // track and RTCP read goroutines
	mu             sync.Mutex
	closed         bool // guarded by mu; no read goroutine starts after it is set
	tracks         int  // guarded by mu: tracks pion started on this PeerConnection
	// mic is the sequence number (tracks at its start) of the audio track
	// read as the musician's, 0 for none (guarded by mu): it alone reaches the
	// sink and the statistics. Tracks that start meanwhile are read and
	// discarded. When it ends, the newest of them (newestWaiting) takes over
	// if it started after the last remote description (renegotiatedAt, the
	// track count then): a microphone switched by removeTrack/addTrack in one
	// renegotiation may start its new track before the old one has ended,
	// while an extra track the musician sent all along stays ignored.
	mic, newestWaiting, renegotiatedAt int
}

// markRenegotiation notes that a remote description is about to be applied:
// tracks that start after it may replace the musician's when it ends.
func (h *pcHandle) markRenegotiation() {
	h.mu.Lock()
	h.renegotiatedAt = h.tracks
	h.mu.Unlock()
}

// startTrack registers a track pion started (h.mu held, cap checked): it is
// the musician's if none is, otherwise it waits.
func (h *pcHandle) startTrack() (seq int, isMic bool) {
	seq = h.tracks
	if h.mic == 0 {
		h.mic = seq
		return seq, true
	}
	h.newestWaiting = seq
	return seq, false
}

// claimMic makes the waiting track seq the musician's if the slot is free,
// no newer track waits, and seq started after the last renegotiation.
func (h *pcHandle) claimMic(seq int) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.mic != 0 || h.newestWaiting != seq || seq <= h.renegotiatedAt || h.closed {
		return false
	}
	h.mic = seq
	return true
}

// endMic frees the slot when the musician's track seq ends.
func (h *pcHandle) endMic(seq int) {
	h.mu.Lock()
	if h.mic == seq {
		h.mic = 0
	}
	h.mu.Unlock()
}

type pcEventKind int

const (
	evCandidate pcEventKind = iota + 1 // a local candidate was gathered
	evGathered                         // local gathering finished
	evState                            // connection or ICE state changed
	evFlood                            // too many data channels, tracks or SSRCs (what says which)
)

type pcEvent struct {
	gen  uint64
	kind pcEventKind
	cand webrtc.ICECandidateInit
	what string // evFlood
}

func newMusician(m *Manager, id MusicianID, inPresence bool) *musician {
	mus := &musician{
		id:         id,
		seq:        m.musicianSeq.Add(1),
		mgr:        m,
		cfg:        &m.cfg,
		log:        m.log.With("musician", string(id)),
		inbox:      make(chan room.Signal, m.cfg.InboxSize),
		offerReady: make(chan struct{}, 1),
		presence:   make(chan struct{}, 1),
		events:     make(chan pcEvent, eventQueueSize),
		newAddrs:   make(chan struct{}, 1),
		signalLog:  lograte.Limiter{Every: logInterval},
		packets:    newPacketBudget(m.cfg.MaxPacketsPerSecond),
	}
	mus.slotTimeout = m.slotTimeout
	mus.inPresence.Store(inPresence)
	mus.connState.Store(int32(webrtc.PeerConnectionStateNew))
	mus.iceState.Store(int32(webrtc.ICEConnectionStateNew))
	return mus
}

// deliver queues a signal without blocking. Offers coalesce: only the newest
// unhandled one is kept.
func (mus *musician) deliver(sig room.Signal) {
	mus.heard.Store(true)
	if sig.Type == room.SignalOffer {
		mus.offerMu.Lock()
		if mus.pendingOffer != nil {
			mus.mgr.counters.offersCoalesced.Add(1)
		}
		mus.pendingOffer = &sig
		mus.offerMu.Unlock()
		select {
		case mus.offerReady <- struct{}{}:
		default:
		}
		return
	}
	select {
	case mus.inbox <- sig:
	default:
		mus.mgr.counters.inboxFull.Add(1)
	}
}

func (mus *musician) confirmPresence() {
	mus.inPresence.Store(true)
	select {
	case mus.presence <- struct{}{}:
	default:
	}
}

// leftoverCandidates are the remote candidates the musician had not applied when
// its goroutine ended, as signals again; called after run returns, from its goroutine.
func (mus *musician) leftoverCandidates() []room.Signal {
	var out []room.Signal
	for _, c := range mus.pending {
		out = append(out, room.Signal{Type: room.SignalCandidate, FromPeerID: string(mus.id), TargetPeerID: mus.cfg.SelfID,
			Candidate: &room.ICECandidate{Candidate: c.Candidate, SDPMid: c.SDPMid, SDPMLineIndex: c.SDPMLineIndex, UsernameFragment: c.UsernameFragment}})
	}
	for {
		select {
		case sig := <-mus.inbox:
			if sig.Type == room.SignalCandidate {
				out = append(out, sig)
			}
		default:
			return out
		}
	}
}

// stop cancels the musician's goroutine (or, before Run, marks it cancelled).
func (mus *musician) stop() {
	mus.cancelMu.Lock()
	defer mus.cancelMu.Unlock()
	if mus.cancelled {
		return
	}
	mus.cancelled = true
	if mus.cancel != nil {
		mus.cancel()
	}
}

// timer is an optional Clock timer whose channel is nil while unset, so that
// it can sit in a select.
type timer struct{ t Timer }

func (t *timer) c() <-chan time.Time {
	if t.t == nil {
		return nil
	}
	return t.t.C()
}

func (t *timer) set(clock Clock, d time.Duration) {
	t.stop()
	t.t = clock.NewTimer(d)
}

func (t *timer) stop() {
	if t.t != nil {
		t.t.Stop()
		t.t = nil
	}
}

func (t *timer) armed() bool { return t.t != nil }

// run is the musician's goroutine: it owns the PeerConnection and handles
// signals, pion events and timers one at a time.
func (mus *musician) run(ctx context.Context) {
	var offerDelay, retry, grace, offerGate timer
	var offers offerBudget
	defer func() {
		offerDelay.stop()
		retry.stop()
		grace.stop()
		offerGate.stop()
		mus.suspectCheck.stop()
		mus.slotCheck.stop()
		mus.mgr.signals.release(mus)
		mus.closePC()
		mus.reportState(webrtc.PeerConnectionStateClosed, true)
		mus.log.Debug("musician released")
	}()
	mus.seenAddrs = mus.knownHostAddresses()
	if mus.inPresence.Load() {
		offerDelay.set(mus.cfg.Clock, mus.cfg.OfferDelay)
		mus.slotCheck.set(mus.cfg.Clock, mus.slotTimeout)
	} else {
		grace.set(mus.cfg.Clock, mus.cfg.PresenceGrace)
	}
	for {
		// Offers first: candidates that follow an offer belong to it.
		var offerC <-chan struct{}
		if !offerGate.armed() {
			offerC = mus.offerReady
			select {
			case <-offerC:
				mus.takeOffer(ctx, &retry, &offers, &offerGate)
				continue
			default:
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-offerC:
			mus.takeOffer(ctx, &retry, &offers, &offerGate)
		case <-offerGate.c():
			offerGate.stop()
		case sig := <-mus.inbox:
			switch sig.Type {
			case room.SignalAnswer:
				mus.handleAnswer(ctx, sig, &retry)
			case room.SignalCandidate:
				// One that follows an offer waiting for its turn belongs to it, and waits
				// too: an ICE restart's candidates added to the generation it replaces
				// would be lost with it.
				mus.handleRemoteCandidate(sig, offerGate.armed() && mus.offerPending())
			}
		case ev := <-mus.events:
			mus.handleEvent(ctx, ev, &retry)
		case <-mus.presence:
			grace.stop()
			if !mus.established && !mus.slotCheck.armed() && !mus.overdue.Load() {
				mus.slotCheck.set(mus.cfg.Clock, mus.slotTimeout) // a stranger confirmed: her slot starts now
			}
			if held := mus.held; held != nil {
				mus.held = nil
				mus.log.Info("musician appeared in Presence; answering its held offer")
				if wait, _ := mus.handleOffer(ctx, *held, &retry, false); wait > 0 {
					mus.deferOffer(*held)
					offerGate.set(mus.cfg.Clock, wait)
				}
			}
			if mus.cur == nil && !offerDelay.armed() {
				offerDelay.set(mus.cfg.Clock, mus.cfg.OfferDelay)
			}
		case <-grace.c():
			grace.stop()
			if !mus.inPresence.Load() {
				mus.log.Info("musician never appeared in Presence; releasing it, its offer kept with the refused ones", "grace", mus.cfg.PresenceGrace)
				return
			}
		case <-offerDelay.c():
			offerDelay.stop()
			if mus.cur == nil {
				if wait := mus.admit(mus.established); wait > 0 {
					offerDelay.set(mus.cfg.Clock, wait)
					continue
				}
				mus.log.Info("musician has not offered; offering", "delay", mus.cfg.OfferDelay)
				mus.offer(ctx)
				retry.set(mus.cfg.Clock, mus.cfg.ConnectTimeout)
			}
		case <-retry.c():
			retry.stop()
			mus.retry(ctx, &retry)
		case <-mus.suspectCheck.c():
			mus.examineSuspect()
		case <-mus.slotCheck.c():
			mus.slotCheckFired()
		case <-mus.newAddrs:
			mus.checkHostAddress(ctx, &retry)
		}
	}
}

// offerBudget is the offers a musician has had handled that are not yet paid back:
// offerBurst may be outstanding, and one is paid back per offerInterval.
type offerBudget struct {
	used  int       // offers outstanding
	since time.Time // when the oldest outstanding one started its offerInterval
	// stormedAt is when an offer of a storm (see calm) was last put off by the signal
	// budget: put-off offers spend nothing, so used alone would soon call the storm calm.
	stormedAt time.Time
}

// spend records a handled offer; when none is left, gate is armed for the next one's turn.
func (b *offerBudget) spend(clock Clock, gate *timer) {
	now := clock.Now()
	for b.used > 0 && !now.Before(b.since.Add(offerInterval)) {
		b.used--
		b.since = b.since.Add(offerInterval)
	}
	if b.used == 0 {
		b.since = now
	}
	b.used++
	if b.used >= offerBurst {
		gate.set(clock, b.since.Add(offerInterval).Sub(now))
	}
}

// calm reports whether every offer handled so far has been paid back, and no offer of a
// storm was put off within offerInterval: the next one is no part of a storm.
func (b *offerBudget) calm(now time.Time) bool {
	if now.Before(b.stormedAt.Add(offerInterval)) {
		return false
	}
	return b.used == 0 || !now.Before(b.since.Add(time.Duration(b.used)*offerInterval))
}

// takeOffer handles the newest pending offer, spending the musician's offer budget; one the
// signal budget has no room for yet goes back to wait, gate armed until there may be room.
func (mus *musician) takeOffer(ctx context.Context, retry *timer, offers *offerBudget, gate *timer) {
	mus.offerMu.Lock()
	sig := mus.pendingOffer
	mus.pendingOffer = nil
	mus.offerMu.Unlock()
	if sig == nil {
		return
	}
	now := mus.cfg.Clock.Now()
	priority := mus.established && offers.calm(now)
	wait, impostor := mus.handleOffer(ctx, *sig, retry, priority)
	if wait > 0 {
		if !priority {
			offers.stormedAt = now
		}
		mus.deferOffer(*sig)
		gate.set(mus.cfg.Clock, wait)
		return
	}
	if !impostor {
		offers.spend(mus.cfg.Clock, gate)
	}
}

// offerPending reports whether an offer waits to be handled.
func (mus *musician) offerPending() bool {
	mus.offerMu.Lock()
	defer mus.offerMu.Unlock()
	return mus.pendingOffer != nil
}

// deferOffer puts back an offer the signal budget had no room for, unless a newer one
// arrived meanwhile.
func (mus *musician) deferOffer(sig room.Signal) {
	mus.offerMu.Lock()
	if mus.pendingOffer == nil {
		mus.pendingOffer = &sig
	} else {
		mus.mgr.counters.offersCoalesced.Add(1)
	}
	mus.offerMu.Unlock()
	select {
	case mus.offerReady <- struct{}{}:
	default:
	}
}

// admit asks the Manager's signal budget for room for a negotiation (an answer or offer and
// the candidates that follow), which is then promised to it; priority is for work that
// keeps an established musician working. If there is no room it returns how long to wait,
// and counts the deferral.
func (mus *musician) admit(priority bool) time.Duration {
	return mus.admitSignals(signalCost, priority)
}

// admitSignals is admit for a negotiation of need signals.
func (mus *musician) admitSignals(need int, priority bool) time.Duration {
	ok, wait := mus.mgr.signals.admit(mus, need, priority)
	if !ok {
		mus.mgr.counters.offersDeferred.Add(1)
		mus.logLimited("negotiation put off: the signal budget is spent", "wait", wait, "priority", priority, "max_signals_per_second", mus.cfg.MaxSignalsPerSecond)
		return wait
	}
	mus.priority = priority
	return 0
}

// newPC replaces the current PeerConnection (if any) with a fresh one that
// has a single recvonly audio transceiver.
func (mus *musician) newPC() error {
	mus.closePC()
	mus.closedByHerSide = false
	mus.gen++
	h := &pcHandle{gen: mus.gen, interfaces: newHostInterfaces(mus.cfg.listInterfaces)}
	post := func(ev pcEvent) {
		ev.gen = h.gen
		select {
		case mus.events <- ev:
		default:
			if ev.kind == evCandidate {
				mus.droppedCands.Add(1)
			}
		}
	}
	h.post = post
	var netCtx context.Context
	netCtx, h.stopNet = context.WithCancel(context.Background())
	api, err := newAPI(*mus.cfg, pcScope{ctx: netCtx, interfaces: h.interfaces, onUnhandledSSRC: func() {
		if h.unhandledSSRCs.Add(1) > maxUnhandledSSRCs {
			post(pcEvent{kind: evFlood, what: "SSRCs"})
		}
	}, packets: &packetCounter{budget: mus.packets, flooding: func() {
		post(pcEvent{kind: evFlood, what: packetFloodWhat})
	}}})
	if err != nil {
		h.stopNet()
		return fmt.Errorf("new PeerConnection: %w", err)
	}
	pc, err := api.NewPeerConnection(mus.cfg.rtcConfiguration())
	if err != nil {
		h.stopNet()
		return fmt.Errorf("new PeerConnection: %w", err)
	}
	h.pc = pc
	pc.OnICECandidate(func(c *webrtc.ICECandidate) {
		if c == nil {
			post(pcEvent{kind: evGathered})
			return
		}
		post(pcEvent{kind: evCandidate, cand: c.ToJSON()})
	})
	pc.OnConnectionStateChange(func(webrtc.PeerConnectionState) { post(pcEvent{kind: evState}) })
	pc.OnICEConnectionStateChange(func(webrtc.ICEConnectionState) { post(pcEvent{kind: evState}) })
	pc.OnTrack(func(track *webrtc.TrackRemote, recv *webrtc.RTPReceiver) { mus.readTrack(h, track, recv) })
	pc.OnDataChannel(func(dc *webrtc.DataChannel) {
		// Closed before pion opens it (as pion's default handler does), so it never gets a
		// read goroutine.
		_ = dc.Close()
		mus.dataChannels.Add(1)
		if h.dataChannels.Add(1) > maxDataChannels {
			post(pcEvent{kind: evFlood, what: "data channels"})
		}
	})
	tr, err := pc.AddTransceiverFromKind(webrtc.RTPCodecTypeAudio, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionRecvonly})
	if err == nil {
		err = tr.SetCodecPreferences(codecs)
	}
	if err != nil {
		_ = pc.Close()
		h.stopNet()
		return fmt.Errorf("add recvonly audio transceiver: %w", err)
	}
	mus.cur = h
	mus.connState.Store(int32(webrtc.PeerConnectionStateNew))
	mus.iceState.Store(int32(webrtc.ICEConnectionStateNew))
	return nil
}

// closePC closes the current PeerConnection and waits for its read goroutines.
func (mus *musician) closePC() {
	h := mus.cur
	if h == nil {
		return
	}
	mus.cur = nil
	h.mu.Lock()
	h.closed = true
	h.mu.Unlock()
	h.stopNet() // Close waits for the gatherer, which may be waiting for DNS
	if err := h.pc.Close(); err != nil {
		mus.log.Debug("close PeerConnection", "err", err)
	}
	h.wg.Wait()
}

// handleOffer answers an offer, holds it (a stranger's), or refuses it. If the signal
// budget has no room for the answer, it does nothing and returns how long to wait. impostor
// reports an offer refused as not the musician's tab's (see impostorOffer): it costs the
// musician's offer budget nothing, so that a room member sending them cannot hold back the
// musician's own.
func (mus *musician) handleOffer(ctx context.Context, sig room.Signal, retry *timer, priority bool) (wait time.Duration, impostor bool) {
	desc := webrtc.SessionDescription{Type: webrtc.SDPTypeOffer, SDP: sig.Description.SDP}
	scan, err := vetOffer(desc.SDP)
	if err != nil {
		mus.badSignal("offer rejected", err)
		return 0, false
	}
	if !mus.inPresence.Load() {
		// PROTOCOL.md §3–4: musicians signal. Until Presence confirms the
		// sender, its offer waits: answering it would start connectivity
		// checks towards whatever candidates a stranger wrote into it.
		// (vetOffer parsed it with pion's own parser: what is held parses.)
		if mus.held != nil {
			mus.mgr.counters.offersCoalesced.Add(1)
		} else {
			mus.log.Info("offer from a peer not in Presence held until it appears", "grace", mus.cfg.PresenceGrace)
		}
		mus.held = &sig
		return 0, false
	}
	if why, untilDown := mus.impostorOffer(desc.SDP, &scan); why != "" {
		// Nothing is answered: the musician's tab, which hears every answer to its peer id,
		// is not waiting for one. The offer is kept, to be examined again once its connection
		// leaves "connected" (or, an ICE restart, once its audio has stopped; see
		// suspectOffer): a tab that rebuilt its connection sends it only once.
		if mus.keepSuspect(sig, scan, untilDown) {
			return 0, true
		}
		mus.impostorOffers.Add(1)
		mus.logLimited("offer under the musician's peer id refused while her connection is up (any room member can send under its peer id)",
			"why", why, "refused", mus.impostorOffers.Load())
		return 0, true
	}
	fresh, again := mus.chooseFreshPC(desc.SDP, &scan)
	if again {
		// The offer we answered, again: a musician sends it again when our answer did not
		// arrive (SendSignal failed while the channel was rejoining, or the broadcast was
		// lost). Its browser, the impolite peer, waits for that answer in have-local-offer
		// and ignores our offers meanwhile, so the answer goes again (within the musician's
		// offer budget and the signal budget, as any).
		mus.duplicates.Add(1)
		return mus.resendAnswer(ctx, priority), false
	}
	if wait := mus.admit(priority); wait > 0 {
		return wait, false
	}
	mus.takeSuspect(desc.SDP)
	mus.applyOffer(ctx, desc, &scan, fresh, retry)
	return 0, false
}

// vetOffer scans an offer (scanOffer) and refuses it if it exceeds the bounds on sections,
// streams and candidates, lacks what pion needs to answer it, or holds what pion would refuse
// part-way through applying it (ErrRefusedMidway).
func vetOffer(sdp string) (offerScan, error) {
	scan, err := scanOffer(sdp)
	switch {
	case err != nil:
		return scan, err
	case scan.midway != nil:
		return scan, scan.midway
	case scan.sending > maxMediaSections || scan.sections > maxOfferedSections:
		return scan, fmt.Errorf("%d media sections, %d of them sending (at most %d, %d sending)",
			scan.sections, scan.sending, maxOfferedSections, maxMediaSections)
	case scan.streams > maxTracks:
		return scan, fmt.Errorf("%d declared streams (a=ssrc, a=rid; at most %d)", scan.streams, maxTracks)
	}
	return scan, scan.ice.complete()
}

// chooseFreshPC decides whether an offer the musician may make (impostorOffer let it through)
// is answered on a fresh PeerConnection rather than the current one, and logs why. again
// reports the offer the current one answered last, sent again: its answer is to be sent again,
// nothing applied.
func (mus *musician) chooseFreshPC(sdp string, scan *offerScan) (fresh, again bool) {
	why, again := mus.freshPCReason(sdp, scan)
	switch why {
	case "":
		return false, again
	case freshNoPC, freshGlare:
	case freshNewCertificate:
		mus.log.Info("offer with a new DTLS certificate answered on a fresh PeerConnection")
	default:
		mus.logLimited("renegotiation answered on a fresh PeerConnection", "why", why)
	}
	return true, false
}

// Why an offer needs a fresh PeerConnection (freshPCReason); the bounds' reasons are built
// with their figures.
const (
	freshNoPC           = "no open PeerConnection"
	freshGlare          = "an offer of ours outstanding (glare)"
	freshNewCertificate = "a new DTLS certificate"
)

// freshPCReason says why an offer cannot be answered on the current PeerConnection ("" if it
// can), without changing anything: chooseFreshPC acts on it, and impostorOffer refuses an offer
// that would replace a live connection whose audio arrives. again reports the offer the current
// one answered last, sent again.
func (mus *musician) freshPCReason(sdp string, scan *offerScan) (why string, again bool) {
	h := mus.cur
	if h == nil || h.pc.ConnectionState() == webrtc.PeerConnectionStateClosed {
		return freshNoPC, false
	}
	if h.pc.SignalingState() != webrtc.SignalingStateStable {
		// Glare (have-local-offer): we are polite, but pion cannot roll back a local offer
		// (pion/webrtc#2133), so the musician's offer is answered on a fresh PeerConnection
		// instead; and so is one that finds the current one in any other state.
		return freshGlare, false
	}
	if rd := h.pc.CurrentRemoteDescription(); rd != nil && rd.Type == webrtc.SDPTypeOffer && rd.SDP == sdp && !h.unanswered {
		return "", true
	}
	if h.remote != nil && !h.remote.sameDTLS(scan.creds) {
		// The musician's tab built a new RTCPeerConnection (this connection is not
		// connected, or impostorOffer would have refused it). pion keeps a PeerConnection's DTLS
		// association through every renegotiation, whatever fingerprint it names: on
		// this one the new certificate's handshake would never happen, and the
		// connection never carry audio again.
		return freshNewCertificate, false
	}
	if n := transceiversAfter(h.pc, scan.mediaMids); n > maxTransceiversKept {
		// pion keeps a transceiver (and its receiver) for every audio or video mid a
		// PeerConnection has seen: renegotiations that keep bringing new mids would
		// grow it without bound. A fresh PeerConnection starts from the offer alone.
		return fmt.Sprintf("%d transceivers, at most %d", n, maxTransceiversKept), false
	}
	if n := receiverTracks(h.pc) + scan.streams; n > maxTracks {
		// Until its receivers start (the connection is up), pion configures a track for
		// each declared stream again on every renegotiation, keeping the old ones.
		return fmt.Sprintf("%d receiver tracks, at most %d", n, maxTracks), false
	}
	if !h.connected && h.renegotiations >= maxUnconnectedRenegotiations {
		// pion keeps ~3 KiB of every description applied to a PeerConnection that has not
		// connected (its transports never started): a fresh one lets it all go.
		return fmt.Sprintf("%d renegotiations unconnected", h.renegotiations), false
	}
	return "", false
}

// applyOffer applies an admitted offer, on a fresh PeerConnection if fresh, and sends the
// answer. Whatever fails, the offer's place in the signal budget is given back.
func (mus *musician) applyOffer(ctx context.Context, desc webrtc.SessionDescription, scan *offerScan, fresh bool, retry *timer) {
	answered := false
	defer func() {
		if !answered {
			mus.mgr.signals.release(mus) // nothing will be sent for it
		}
	}()
	if err := mus.admitRemoteICE(scan.ice, fresh); err != nil {
		mus.badSignal("offer rejected", err)
		return
	}
	if fresh {
		if h := mus.cur; h != nil && h.pc.SignalingState() == webrtc.SignalingStateHaveLocalOffer {
			mus.glare.Add(1)
			mus.log.Info("offer collision; answering the musician's offer on a fresh PeerConnection")
		}
		if err := mus.newPC(); err != nil {
			mus.log.Error("cannot answer offer", "err", err)
			return
		}
	}
	pc := mus.cur.pc
	var offer sdp.SessionDescription
	if err := offer.UnmarshalString(desc.SDP); err != nil { // vetOffer parsed it: cannot fail
		mus.badSignal("offer rejected", fmt.Errorf("%w: %w", ErrUnparsableSDP, err))
		if fresh {
			mus.closePC()
		}
		return
	}
	receiveOnlyForRecvonlySections(pc, &offer)
	mus.cur.markRenegotiation()
	mus.cur.interfaces.relist() // new credentials in the offer restart ICE: it gathers again
	if err := pc.SetRemoteDescription(desc); err != nil {
		if fresh {
			mus.badSignal("offer rejected", err)
			mus.closePC()
			return
		}
		// One line, one count (Malformed): the offer refused, and whether its PeerConnection
		// is back to stable.
		switch settled, serr := mus.settleRefusedOffer(); {
		case serr != nil:
			err = fmt.Errorf("%w; left %s: %w", err, pc.SignalingState(), serr)
		case settled:
			err = fmt.Errorf("%w (refused half-applied: answered locally, the answer not sent, back to stable)", err)
		}
		mus.badSignal("offer rejected", err)
		return
	}
	mus.cur.unanswered = false
	mus.recordRemote(scan, fresh)
	if !fresh {
		mus.cur.renegotiations++
	}
	answerInOfferNumbers(pc, &offer)
	answer, err := pc.CreateAnswer(nil)
	if err == nil {
		err = pc.SetLocalDescription(answer)
	}
	if err != nil {
		mus.badSignal("cannot answer offer", err)
		if fresh {
			mus.closePC()
		}
		return
	}
	answered = true
	mus.cur.answerRetried = false
	mus.send(ctx, room.Signal{Type: room.SignalAnswer, Description: &room.SessionDescription{Type: "answer", SDP: answer.SDP}})
	mus.flushCandidates()
	if mus.connState.Load() != int32(webrtc.PeerConnectionStateConnected) {
		retry.set(mus.cfg.Clock, mus.cfg.ConnectTimeout)
	}
}

// settleRefusedOffer brings the current PeerConnection back to stable when pion refused an offer
// part-way through SetRemoteDescription and left it in have-remote-offer: otherwise every later
// offer of the musician's counts as glare, which only a fresh PeerConnection could answer, and
// impostorOffer refuses those while her audio arrives; retry leaves a connected one alone. A
// forged copy of her own broadcast offer with one line broken was enough (review 323; vetOffer
// refuses the ones its scan can see, refusedMidway). pion v4.2.26 has no rollback (its signaling state
// machine refuses one from have-remote-offer, either side), so the offer is answered locally, the
// answer never sent: what pion had applied of it stays applied (no more than an answered offer of
// hers would), and the remote credentials impostorOffer compares with stay the ones last
// recorded. unanswered marks it, so that neither that answer nor that offer counts as one the
// musician's tab has seen (freshPCReason, answerMayBeLost). settled reports that it did.
func (mus *musician) settleRefusedOffer() (settled bool, err error) {
	settled, err = answerLocally(mus.cur.pc)
	if settled {
		mus.cur.unanswered = true
	}
	return settled, err
}

// answerLocally is settleRefusedOffer's work on pc: an answer to the remote offer pc holds,
// applied and not sent, if pc is in have-remote-offer.
func answerLocally(pc *webrtc.PeerConnection) (settled bool, err error) {
	if pc.SignalingState() != webrtc.SignalingStateHaveRemoteOffer {
		return false, nil // refused before it changed anything
	}
	answer, err := pc.CreateAnswer(nil)
	if err == nil {
		err = pc.SetLocalDescription(answer)
	}
	return err == nil, err
}

// recordRemote notes a remote description just applied to the current PeerConnection: its
// candidates for the ICE generation's bound, and its credentials for impostorOffer and the
// next offer's chooseFreshPC.
func (mus *musician) recordRemote(scan *offerScan, fresh bool) {
	mus.recordRemoteICE(scan.ice, fresh)
	creds := scan.creds
	mus.cur.remote = &creds
}

// transceiversAfter is how many transceivers pc would have once an offer is applied whose
// audio and video sections have mids: the ones pc has, plus one for each mid it does not know
// (pion never removes a transceiver, and matches a section to one by its mid).
func transceiversAfter(pc *webrtc.PeerConnection, mids []string) int {
	have := pc.GetTransceivers()
	known := make(map[string]bool, len(have))
	for _, t := range have {
		known[t.Mid()] = true
	}
	n := len(have)
	for _, mid := range mids {
		if !known[mid] {
			known[mid] = true
			n++
		}
	}
	return n
}

// receiverTracks counts the tracks pion has configured on pc's receivers.
func receiverTracks(pc *webrtc.PeerConnection) int {
	n := 0
	for _, t := range pc.GetTransceivers() {
		if r := t.Receiver(); r != nil {
			n += len(r.Tracks())
		}
	}
	return n
}

func (mus *musician) handleAnswer(ctx context.Context, sig room.Signal, retry *timer) {
	h := mus.cur
	if h == nil || h.pc.SignalingState() != webrtc.SignalingStateHaveLocalOffer {
		// Late or duplicate: we have no offer outstanding.
		mus.duplicates.Add(1)
		return
	}
	scan, err := scanOffer(sig.Description.SDP) // an answer has an offer's lines
	if err == nil && scan.streams > maxTracks {
		err = fmt.Errorf("%d declared streams (a=ssrc, a=rid; at most %d)", scan.streams, maxTracks)
	}
	if err == nil && h.remote != nil && !h.remote.sameDTLS(scan.creds) {
		// Not her tab's answer: pion keeps a PeerConnection's DTLS association through every
		// renegotiation, so hers names the certificate this one was negotiated with. Anyone in
		// the room sees our offer (a broadcast) and can answer it first under her peer id;
		// applied, his ICE credentials would replace hers and her own answer be dropped as a
		// duplicate, her audio stopped (review 323). Hers may still come: the offer stays
		// outstanding. A first answer (no remote yet) has nothing to be compared with.
		mus.impostorOffers.Add(1)
		mus.logLimited("answer under the musician's peer id refused: another DTLS certificate than her connection's (any room member can send under its peer id)",
			"refused", mus.impostorOffers.Load())
		return
	}
	if err == nil {
		// Our offer made a new PeerConnection or restarted ICE; the answer
		// brings its own ufrag then, and admitRemoteICE sees a new generation.
		err = mus.admitRemoteICE(scan.ice, false)
	}
	if err != nil {
		mus.badSignal("answer rejected", err)
		return
	}
	h.markRenegotiation()
	if err := h.pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: sig.Description.SDP}); err != nil {
		mus.badSignal("answer rejected", err)
		return
	}
	h.unanswered = false
	mus.recordRemote(&scan, false)
	mus.dropSuspect()
	mus.flushCandidates()
	if mus.connState.Load() != int32(webrtc.PeerConnectionStateConnected) {
		retry.set(mus.cfg.Clock, mus.cfg.ConnectTimeout)
	}
}

// handleRemoteCandidate adds a trickled candidate, or holds it until the next remote
// description if there is none yet, the offer it follows is waiting (offerWaits), or it is
// ahead of the answer to our offer (aheadOfAnswer). One of another ICE generation than the
// applied description's with neither on the way is dropped: pion would ignore it, and counted
// towards this generation's bound, a few dozen would keep out the generation's own. (Held
// instead, for an offer of hers that might follow, they filled the queue that the next
// restart's candidates need: review 304.)
func (mus *musician) handleRemoteCandidate(sig room.Signal, offerWaits bool) {
	var init webrtc.ICECandidateInit
	if c := sig.Candidate; c != nil {
		init = webrtc.ICECandidateInit{Candidate: c.Candidate, SDPMid: c.SDPMid, SDPMLineIndex: c.SDPMLineIndex, UsernameFragment: c.UsernameFragment}
	}
	mus.keepSuspectCandidate(init)
	if offerWaits || mus.cur == nil || mus.cur.pc.RemoteDescription() == nil || mus.aheadOfAnswer(init) {
		if len(mus.pending) >= maxPendingCandidates {
			mus.droppedCands.Add(1)
			return
		}
		mus.queuedCands.Add(1)
		mus.pending = append(mus.pending, init)
		return
	}
	if mus.otherGeneration(init) {
		mus.droppedCands.Add(1)
		mus.logLimited("remote candidate dropped", "err", fmt.Errorf("not of the applied ICE generation %q", mus.remoteUfrag))
		return
	}
	mus.addRemoteCandidate(init, "candidate rejected")
}

// otherGeneration reports whether c names a ufrag other than the applied remote description's.
func (mus *musician) otherGeneration(c webrtc.ICECandidateInit) bool {
	return namesOtherUfrag(c, mus.remoteUfrag)
}

// namesOtherUfrag reports whether c names a ufrag, and another than ufrag.
func namesOtherUfrag(c webrtc.ICECandidateInit, ufrag string) bool {
	u := candidateUfrag(c)
	return u != "" && u != ufrag
}

// dropHeldOtherThan drops the held candidates that name another ufrag than ufrag, counts them
// as dropped, and returns how many went.
func (mus *musician) dropHeldOtherThan(ufrag string) int {
	kept := mus.pending[:0]
	for _, c := range mus.pending {
		if !namesOtherUfrag(c, ufrag) {
			kept = append(kept, c)
		}
	}
	n := len(mus.pending) - len(kept)
	clear(mus.pending[len(kept):])
	mus.pending = kept
	mus.droppedCands.Add(uint64(n))
	return n
}

// aheadOfAnswer reports whether c belongs to the answer our offer (an ICE restart) awaits: the
// offer is outstanding and c is of another generation than the applied remote description's.
// The musician's side makes new credentials for that answer and may trickle candidates under
// them before the answer reaches us: a pion peer gathers as it applies our offer and trickles
// what it finds at once, and signals sent through supabase-js's REST fallback, one request each,
// may arrive out of order. pion drops such a candidate, with a log line and no error, as one of
// an old generation. If the answer's SDP lacks it too, the restart has no remote candidate:
// unless her checks reach one of ours directly (a TURN relay lets none through: its permissions
// open only towards a remote candidate), it never connects, and waits ConnectTimeout for the
// next restart, which may lose the same race. Held, it is added after the answer
// (handleAnswer); one of a stale generation is dropped then (flushCandidates).
func (mus *musician) aheadOfAnswer(c webrtc.ICECandidateInit) bool {
	return mus.cur.pc.SignalingState() == webrtc.SignalingStateHaveLocalOffer && mus.otherGeneration(c)
}

// addRemoteCandidate adds a trickled candidate to the current PeerConnection
// unless the ICE generation already has maxRemoteCandidates.
func (mus *musician) addRemoteCandidate(c webrtc.ICECandidateInit, what string) {
	if !mus.takeRemoteCandidate(c.Candidate) {
		mus.droppedCands.Add(1)
		mus.logLimited("remote candidate dropped", "err", fmt.Errorf("ICE generation %q: %w (at most %d)", mus.remoteUfrag, ErrTooManyCandidates, maxRemoteCandidates))
		return
	}
	if err := mus.cur.pc.AddICECandidate(c); err != nil {
		mus.badSignal(what, err)
	}
}

// flushCandidates adds the candidates that arrived before the remote
// description, within the ICE generation's bound. Those of another generation are dropped: pion
// would ignore them, and counted they would fill the bound that this generation's own need.
func (mus *musician) flushCandidates() {
	stale := mus.dropHeldOtherThan(mus.remoteUfrag)
	for _, c := range mus.pending {
		mus.addRemoteCandidate(c, "queued candidate rejected")
	}
	if stale > 0 {
		mus.logLimited("remote candidates dropped", "err", fmt.Errorf("%d held candidates of another ICE generation than %q", stale, mus.remoteUfrag))
	}
	clear(mus.pending)
	mus.pending = mus.pending[:0]
}

// offer sends a first offer on a fresh PeerConnection. The caller has had it admitted to the
// signal budget.
func (mus *musician) offer(ctx context.Context) {
	if err := mus.tryOffer(ctx, nil); err != nil {
		mus.mgr.signals.release(mus)
		mus.log.Error("cannot offer", "err", err)
	}
}

// tryOffer is offer, returning its error rather than logging it (nothing is sent then). With a
// restart counter (failureRestarts or addressGoneRestarts: why), it offers an ICE restart on the
// current PeerConnection, counted there once sent.
func (mus *musician) tryOffer(ctx context.Context, restart *atomic.Uint64) error {
	iceRestart := restart != nil
	if mus.cur == nil {
		if err := mus.newPC(); err != nil {
			return err
		}
		iceRestart = false
	}
	pc := mus.cur.pc
	mus.cur.interfaces.relist() // an ICE restart gathers again
	o, err := pc.CreateOffer(&webrtc.OfferOptions{ICERestart: iceRestart})
	if err == nil {
		err = pc.SetLocalDescription(o)
	}
	if err != nil {
		return err
	}
	if iceRestart {
		restart.Add(1)
		noteICERestart(time.Now()) // pion's clock, not cfg.Clock: its checks come in real time
	}
	mus.send(ctx, room.Signal{Type: room.SignalOffer, Description: &room.SessionDescription{Type: "offer", SDP: o.SDP}})
	return nil
}

// answerMayBeLost reports whether the current PeerConnection's last negotiation was our
// answer to the musician's offer and it has never connected: nothing shows the answer
// arrived, and a browser waiting for it ignores our offers.
func (mus *musician) answerMayBeLost() bool {
	h := mus.cur
	if h == nil || h.connected {
		return false
	}
	rd := h.pc.CurrentRemoteDescription()
	return rd != nil && rd.Type == webrtc.SDPTypeOffer && !h.unanswered
}

// sendAnswerAgain sends the current PeerConnection's answer again. Its SDP carries the
// candidates gathered so far: the ones trickled after the lost answer were lost too (a
// browser with no remote description cannot add them).
func (mus *musician) sendAnswerAgain(ctx context.Context) {
	ld := mus.cur.pc.CurrentLocalDescription()
	if ld == nil || ld.Type != webrtc.SDPTypeAnswer {
		return
	}
	mus.send(ctx, room.Signal{Type: room.SignalAnswer, Description: &room.SessionDescription{Type: "answer", SDP: ld.SDP}})
}

// resendAnswer answers a duplicate offer with the answer it had. If the signal budget has
// no room for it, it does nothing and returns how long to wait.
func (mus *musician) resendAnswer(ctx context.Context, priority bool) time.Duration {
	if wait := mus.admitSignals(1, priority); wait > 0 {
		return wait
	}
	mus.sendAnswerAgain(ctx)
	mus.mgr.signals.release(mus)
	return 0
}

// retry runs when a connection has failed, or has not connected in time, or at once when the
// host address its selected pair was on went (goneAddress).
func (mus *musician) retry(ctx context.Context, retry *timer) {
	if mus.connState.Load() == int32(webrtc.PeerConnectionStateConnected) && !mus.goneAddress.IsValid() {
		return
	}
	// Our answer, if it may have been lost, goes again before the offer: a browser that
	// waits for it ignores the offer otherwise, and one that has it ignores the answer.
	answerAgain := mus.answerMayBeLost()
	need := signalCost
	if answerAgain {
		need++
	}
	if wait := mus.admitSignals(need, mus.established); wait > 0 {
		retry.set(mus.cfg.Clock, wait)
		return
	}
	mus.attempt++
	if mus.connState.Load() != int32(webrtc.PeerConnectionStateConnected) {
		mus.outageRetries++ // not a gone address's restart of a connection still up
	}
	h := mus.cur
	gone := mus.goneAddress
	mus.goneAddress, mus.addressRestart = netip.Addr{}, netip.Addr{}
	switch {
	case h == nil && mus.closedByHerSide:
		// Her side closed the last one, and she has not left since (that would have ended
		// this goroutine): a fresh PeerConnection offers.
		mus.log.Info("musician still here after her side closed the connection; offering again", "attempt", mus.attempt)
		mus.offer(ctx)
	case h == nil || h.pc.CurrentRemoteDescription() == nil:
		// Never negotiated (our offer went unanswered): start over.
		mus.log.Info("no connection yet; offering again", "attempt", mus.attempt)
		mus.closePC()
		mus.offer(ctx)
	case h.pc.ConnectionState() == webrtc.PeerConnectionStateClosed ||
		(h.pc.SignalingState() != webrtc.SignalingStateStable && h.pc.SignalingState() != webrtc.SignalingStateHaveLocalOffer):
		// pion closed it (a failed DTLS handshake, the musician's close_notify), or an offer
		// it refused half-applied left it in have-remote-offer: it can offer nothing, not
		// even an ICE restart. Start over, as with none.
		mus.log.Info("connection cannot be restarted; offering on a fresh PeerConnection", "attempt", mus.attempt,
			"signaling_state", h.pc.SignalingState().String(), "state", h.pc.ConnectionState().String())
		mus.closePC()
		mus.offer(ctx)
	case h.pc.SignalingState() == webrtc.SignalingStateHaveLocalOffer:
		// Our restart offer is unanswered; pion cannot make another one
		// before an answer, so send the same offer again.
		mus.log.Info("ICE restart offer unanswered; sending it again", "attempt", mus.attempt, "answer_again", answerAgain)
		if answerAgain {
			mus.sendAnswerAgain(ctx) // still the current local description; the offer is pending
		}
		if ld := h.pc.LocalDescription(); ld != nil {
			mus.send(ctx, room.Signal{Type: room.SignalOffer, Description: &room.SessionDescription{Type: "offer", SDP: ld.SDP}})
		}
	case gone.IsValid():
		mus.log.Info("host address gone; ICE restart", "address", gone, "attempt", mus.attempt,
			"state", webrtc.PeerConnectionState(mus.connState.Load()).String())
		if err := mus.tryOffer(ctx, &mus.addressGoneRestarts); err != nil {
			mus.log.Info("cannot restart ICE; offering on a fresh PeerConnection", "attempt", mus.attempt, "err", err)
			mus.closePC()
			mus.offer(ctx)
		}
	case answerAgain && !h.answerRetried:
		// The first retry sends the answer alone: a browser that waited for it connects
		// with it. An ICE restart offer right behind it would restart a connection that
		// has only begun to check its candidate pairs.
		mus.log.Info("connection not up; sending our answer again, in case it was lost", "attempt", mus.attempt)
		h.answerRetried = true
		mus.sendAnswerAgain(ctx)
		mus.mgr.signals.release(mus) // its candidates are in its SDP
	default:
		mus.log.Info("connection not up; ICE restart", "attempt", mus.attempt, "answer_again", answerAgain,
			"state", webrtc.PeerConnectionState(mus.connState.Load()).String())
		if answerAgain {
			mus.sendAnswerAgain(ctx)
		}
		if err := mus.tryOffer(ctx, &mus.failureRestarts); err != nil {
			mus.log.Info("cannot restart ICE; offering on a fresh PeerConnection", "attempt", mus.attempt, "err", err)
			mus.closePC()
			mus.offer(ctx)
		}
	}
	mus.addressRestart = gone
	retry.set(mus.cfg.Clock, mus.retryWait())
}

// maxRetryWait bounds retryWait: a tab that answers again is offered to within two
// minutes, and it may offer itself at any time.
const maxRetryWait = 2 * time.Minute

// retryWait is how long the attempt retry just made may take before the next: ConnectTimeout
// for the first, doubling after it up to maxRetryWait. A musician in Presence whose page never
// answers (a stuck or outdated tab) would otherwise cost a PeerConnection, its ICE gathering
// and an offer through the room every ConnectTimeout for as long as it stays. A connection
// that fails schedules its restart by backoff instead, at most 30 s apart.
func (mus *musician) retryWait() time.Duration {
	wait := mus.cfg.ConnectTimeout
	for i := 1; i < mus.attempt && wait < maxRetryWait; i++ {
		wait *= 2
	}
	return min(wait, max(maxRetryWait, mus.cfg.ConnectTimeout))
}

// stableConnection is how long a connection must stay up for its loss to start the restart
// backoff over.
const stableConnection = 30 * time.Second

// settleAttempts, when the current connection goes down, starts the backoff over if that
// connection had stayed up for stableConnection.
func (mus *musician) settleAttempts() {
	if !mus.upSince.IsZero() && mus.cfg.Clock.Now().Sub(mus.upSince) >= stableConnection {
		mus.attempt = 0
	}
	mus.upSince = time.Time{}
}

func (mus *musician) backoff() time.Duration {
	b := mus.cfg.RestartBackoff
	return b[min(mus.attempt, len(b)-1)]
}

func (mus *musician) handleEvent(ctx context.Context, ev pcEvent, retry *timer) {
	h := mus.cur
	if h == nil || ev.gen != h.gen {
		return // from a PeerConnection we have closed
	}
	switch ev.kind {
	case evCandidate:
		c := ev.cand
		mus.send(ctx, room.Signal{Type: room.SignalCandidate, Candidate: &room.ICECandidate{
			Candidate: c.Candidate, SDPMid: c.SDPMid, SDPMLineIndex: c.SDPMLineIndex, UsernameFragment: c.UsernameFragment,
		}})
	case evGathered:
		mus.send(ctx, room.Signal{Type: room.SignalCandidate}) // data: null, end-of-candidates
		mus.mgr.signals.release(mus)                           // the negotiation has sent all it will
	case evFlood:
		mus.floods.Add(1)
		mus.logLimited("musician's connection went over its limit of "+ev.what+"; closing it until the musician offers again",
			"max_data_channels", maxDataChannels, "max_tracks", maxTracks, "max_unhandled_ssrcs", maxUnhandledSSRCs,
			"max_packets_per_second", mus.cfg.MaxPacketsPerSecond)
		retry.stop()
		mus.closePC()
		mus.connState.Store(int32(webrtc.PeerConnectionStateClosed))
		mus.setState(webrtc.PeerConnectionStateClosed)
		mus.connectionDown()
		mus.examineSuspect()
	case evState:
		mus.iceState.Store(int32(h.pc.ICEConnectionState()))
		st := h.pc.ConnectionState()
		prev := webrtc.PeerConnectionState(mus.connState.Swap(int32(st)))
		if prev == st {
			return // an ICE state change, or a repeat
		}
		mus.setState(st)
		if st != webrtc.PeerConnectionStateConnected {
			mus.connectionDown()
		}
		if prev == webrtc.PeerConnectionStateConnected && st != webrtc.PeerConnectionStateConnected {
			mus.outageStarted(st)
		}
		if st != webrtc.PeerConnectionStateConnected && mus.suspect != nil {
			defer mus.examineSuspect() // after the state's own handling below (closePC)
		}
		switch st {
		case webrtc.PeerConnectionStateConnected:
			h.connected = true
			mus.outageEnded()
			mus.established = true
			if mus.upSince.IsZero() { // not after an ICE disconnected/connected blip
				mus.upSince = mus.cfg.Clock.Now()
			}
			mus.goneAddress = netip.Addr{} // connected again (the musician restarted ICE) before our restart's turn
			mus.addressRestart = netip.Addr{}
			retry.stop()
			mus.slotCheck.stop()
			mus.overdue.Store(false)
			mus.longOverdue.Store(false)
			mus.stalled.Store(false)
		case webrtc.PeerConnectionStateFailed:
			mus.settleAttempts()
			d := mus.backoff()
			mus.log.Warn("connection failed; ICE restart scheduled", "in", d, "attempt", mus.attempt+1)
			retry.set(mus.cfg.Clock, d)
		case webrtc.PeerConnectionStateClosed:
			// pion closed it: the musician's side closed its connection (DTLS close_notify),
			// or the DTLS handshake failed. The musician is still in Presence (it would have
			// been released otherwise): a reload that keeps its peerId, or a web app that
			// builds a new connection and waits for ours. Nothing can be restarted on this
			// one: a fresh PeerConnection offers after the backoff. Info, not Warn: her tab
			// closing the connection is also how she leaves, a moment before Presence says so:
			// this line promises no offer, which retry logs if she is still here to be offered.
			mus.settleAttempts()
			mus.log.Info("connection closed by the musician's side")
			mus.closePC()
			mus.closedByHerSide = true
			retry.set(mus.cfg.Clock, mus.backoff())
		}
	}
}

// outageStarted notes when a connection that was up went down (to st), and says so at Info if
// it is only interrupted (disconnected): pion may bring it back, or fail it an ICE failed
// timeout later (25 s by default), and until then nothing else would say her audio stopped. A
// failure or a close says so in its own line.
func (mus *musician) outageStarted(st webrtc.PeerConnectionState) {
	mus.downSince = mus.cfg.Clock.Now()
	if st == webrtc.PeerConnectionStateDisconnected {
		mus.log.Info("connection interrupted", "state", st.String())
	}
}

// outageEnded, as a connection comes up (before established is set), says that it is back
// after the retries made during this outage (attempts), or back without one (pion, or her
// side, brought it back), and how long the outage that began when it last went down lasted
// (down_for): once per outage, whatever states it passed through. A musician's first
// connection is no outage's end (the session logs it): Debug, with the retries it took.
func (mus *musician) outageEnded() {
	retries := mus.outageRetries
	mus.outageRetries = 0
	if !mus.established {
		if retries > 0 {
			mus.log.Debug("connected", "attempts", retries)
		}
		return
	}
	var args []any
	if retries > 0 {
		args = append(args, "attempts", retries)
	}
	if !mus.downSince.IsZero() {
		args = append(args, "down_for", mus.cfg.Clock.Now().Sub(mus.downSince).Round(time.Millisecond))
		mus.downSince = time.Time{}
	}
	switch {
	case retries > 0:
		mus.log.Info("reconnected", args...)
	case len(args) > 0:
		mus.log.Info("connection back", args...)
	}
}

// slotCheckFired marks a musician still unconnected when slotCheck fires overdue, arming it once
// more for longOverdue; longOverdue the second time, arming it for stalled if she never
// connected; stalled the third; and lets the Manager reclaim her slot.
func (mus *musician) slotCheckFired() {
	mus.slotCheck.stop()
	if mus.connState.Load() == int32(webrtc.PeerConnectionStateConnected) {
		return
	}
	switch {
	case !mus.overdue.Load():
		mus.overdue.Store(true)
		mus.slotCheck.set(mus.cfg.Clock, mus.slotTimeout) // for longOverdue
	case !mus.longOverdue.Load():
		mus.longOverdue.Store(true)
		if mus.established {
			break // connected before: not a browser whose connection never comes up
		}
		// Her two bounds since her admission are behind her.
		if rest := maxSlotTimeoutFactor*mus.mgr.slotTimeout - 2*mus.slotTimeout; rest > 0 {
			mus.slotCheck.set(mus.cfg.Clock, rest) // for stalled
		} else {
			mus.stalled.Store(true)
		}
	default:
		mus.stalled.Store(true)
	}
	mus.mgr.slotOverdue(mus)
}

// connectionDown starts, when a musician who has connected loses her connection, the bound on
// how long she may keep her peer-cap slot unconnected while others wait: her restart budget.
// A musician who has never connected is bound from her admission already.
func (mus *musician) connectionDown() {
	if mus.established && !mus.slotCheck.armed() {
		mus.slotCheck.set(mus.cfg.Clock, mus.reconnectBudget())
	}
}

// reconnectBudget is how long a musician who had connected may be without a connection and
// keep her slot while others wait: the whole restart backoff once (a network change or an
// outage costs a few restarts, each after its backoff), then ConnectTimeout for the last
// restart to connect. With the defaults, 76 s.
func (mus *musician) reconnectBudget() time.Duration {
	budget := mus.cfg.ConnectTimeout
	for _, b := range mus.cfg.RestartBackoff {
		budget += b
	}
	return budget
}

// setState reports a connection state change to OnStateChange.
func (mus *musician) setState(st webrtc.PeerConnectionState) { mus.reportState(st, false) }

// reportState reports a connection state change to OnStateChange, unless a musician of the
// same id made later has reported one (see Manager.reporters); released is the last report,
// as the musician's goroutine ends.
func (mus *musician) reportState(st webrtc.PeerConnectionState, released bool) {
	f := mus.cfg.OnStateChange
	if f == nil || (st == mus.reported && !released) {
		mus.reported = st
		return
	}
	m := mus.mgr
	m.reportMu.Lock()
	defer m.reportMu.Unlock()
	if newest, ok := m.reporters[mus.id]; ok && newest > mus.seq {
		return // superseded
	}
	if released {
		delete(m.reporters, mus.id)
	} else {
		m.reporters[mus.id] = mus.seq
	}
	if st == mus.reported {
		return
	}
	mus.reported = st
	f(mus.id, st)
}

// send sends a signal within the Manager's signal budget (on the room promised to the
// current negotiation, if any is left); one that does not fit is dropped and counted.
func (mus *musician) send(ctx context.Context, sig room.Signal) {
	if !mus.mgr.signals.send(mus, mus.priority) {
		mus.mgr.counters.signalsDropped.Add(1)
		mus.logLimited("signal dropped: the signal budget is spent", "type", string(sig.Type), "max_signals_per_second", mus.cfg.MaxSignalsPerSecond)
		return
	}
	sig.FromPeerID = mus.cfg.SelfID
	sig.TargetPeerID = string(mus.id)
	if err := mus.cfg.SendSignal(ctx, sig); err != nil && ctx.Err() == nil {
		mus.logLimited("cannot send signal", "type", string(sig.Type), "err", err)
	}
}

// badSignal counts and (at most once a second) logs a signal pion rejected.
func (mus *musician) badSignal(what string, err error) {
	mus.malformed.Add(1)
	mus.mgr.counters.malformed.Add(1)
	mus.logLimited(what, "err", err)
}

func (mus *musician) logLimited(msg string, args ...any) {
	if _, ok := mus.signalLog.Allow(mus.cfg.Clock.Now()); ok {
		mus.log.Warn(msg, args...)
	}
}

func (mus *musician) snapshot() MusicianStats {
	s := MusicianStats{
		ID:                mus.id,
		InPresence:        mus.inPresence.Load(),
		ConnectionState:   webrtc.PeerConnectionState(mus.connState.Load()),
		ICEState:          webrtc.ICEConnectionState(mus.iceState.Load()),
		GlareRestarts:     mus.glare.Load(),
		Malformed:         mus.malformed.Load(),
		Duplicates:        mus.duplicates.Load(),
		QueuedCandidates:  mus.queuedCands.Load(),
		DroppedCandidates: mus.droppedCands.Load(),
		IgnoredTracks:     mus.extraTracks.Load(),
		UndeclaredTracks:  mus.undeclaredTracks.Load(),
		DataChannels:      mus.dataChannels.Load(),
		Floods:            mus.floods.Load(),
		ImpostorOffers:    mus.impostorOffers.Load(),
	}
	s.AddressGoneRestarts = mus.addressGoneRestarts.Load() // read once, as musicianTotals.add does
	s.ICERestarts = mus.failureRestarts.Load() + s.AddressGoneRestarts
	if c := mus.codec.Load(); c != nil {
		s.Codec = *c
	}
	mus.rx.snapshot(&s)
	return s
}
