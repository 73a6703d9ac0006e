package session

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"math"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/webrtc/v4"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/ledbridge/ledbridge/analysis"
	"github.com/ledbridge/ledbridge/analysis/color"
	"github.com/ledbridge/ledbridge/analysis/effect"
	"github.com/ledbridge/ledbridge/bridge/audio"
	"github.com/ledbridge/ledbridge/bridge/lograte"
	"github.com/ledbridge/ledbridge/bridge/peer"
	"github.com/ledbridge/ledbridge/bridge/realtime"
	"github.com/ledbridge/ledbridge/bridge/room"
	"github.com/ledbridge/ledbridge/bridge/status"
	"github.com/ledbridge/ledbridge/discovery"
	"github.com/ledbridge/ledbridge/wled"
)

// Config configures a Session. Code is required; zero fields elsewhere mean defaults.
type Config struct {
	Code    room.Code
	Name    string // shown in Presence; default "LED bridge"
	Version string // ledbridge's version, for the Presence meta's client field
	// PeerID is ledbridge's peerId (Presence key); default "ledbridge-<random>".
	PeerID string
	Mode   effect.Mode // default auto

	// Realtime is the room connection; Channel, PresenceKey, ClientVersion, OnStatus and Logger are
	// filled in (a caller's OnStatus is replaced), and LeaveTimeout defaults to 300 ms.
	Realtime realtime.Config
	// Peer configures WebRTC; SelfID, SendSignal, OnTrack, OnStateChange and Logger are filled in.
	Peer peer.Config

	// Devices are device URLs (wled://, ddp://…); Discovery, if not nil, adds what mDNS finds.
	Devices   []string
	Discovery *discovery.Config
	// Protocol forces a protocol for discovered and wled:// devices ("" or "auto": DDP if supported).
	Protocol        string
	RealtimeTimeout time.Duration // WLED UDP realtime timeout byte
	MaxMilliamps    float32       // per-strip current limit; 0 is off

	Effect   effect.Config
	Analysis analysis.Config

	// SoundSyncAddr, if set, receives WLED audio-reactive sound sync v2 packets of the mix.
	SoundSyncAddr string
	// OpenSink makes each strip's Sink; nil opens a device output (*wled.Output).
	OpenSink SinkOpener

	// HostedBy ("supabase" or "lan") and RoomURL are shown on the status page. CurrentRoomURL,
	// when set, replaces RoomURL with its answer at every snapshot: a LAN-hosted room's URL
	// follows the host's address (a Pi that boots before DHCP has only loopback at start-up). A
	// status page may poll fast, so it must answer from memory, never with a syscall.
	HostedBy       string
	RoomURL        string
	CurrentRoomURL func() string

	FPS int // frame loop rate; default 60
	// EmptyRoomReset is how long the room must have been without musicians for the next one to
	// join it back at room.DefaultState (tempo, playback); default DefaultEmptyRoomReset.
	EmptyRoomReset time.Duration
	Clock          Clock
	Logger         *slog.Logger
	Metrics        prometheus.Registerer
	// OnReady is called once, when the room is first joined, with a status line.
	OnReady func(status string)
}

// DefaultEmptyRoomReset is Config.EmptyRoomReset's default: longer than a page reload or a
// musician's network blip (their Presence leave and rejoin), short against the gap between bands.
const DefaultEmptyRoomReset = 30 * time.Second

// ErrNoCode is returned by New without a room code.
var ErrNoCode = errors.New("session: a room code is required")

// Session is one joined room and everything that lights the strips from it.
type Session struct {
	cfg    Config
	log    *slog.Logger
	clock  Clock
	client *realtime.Client
	peers  *peer.Manager
	wled   *wled.Client
	meta   room.Meta
	met    *metrics
	ticker *Ticker
	loop   *frameLoop
	proc   status.ProcessSampler

	dropped struct{ broadcasts, signals atomic.Uint64 }
	// refusalsAdvised are the keys (joinRefusalAdvice) of the join refusals whose advice was
	// logged since the room was last joined: onRealtimeStatus logs each once, not at every retry,
	// even when the server's reasons alternate; at most maxRefusalsAdvised of them.
	refusalsAdvised struct {
		sync.Mutex
		keys []string
	}
	// notFollowed is how many musicians in Presence syncPresence left without a record (past
	// maxMusicians): the status page counts them, as it cannot list them.
	notFollowed atomic.Int64

	// The mutex protects the following elements.
	mu        sync.Mutex
	musicians map[string]*musician
	tempo     float64
	playing   bool
	stopped   bool // playback-control false was received (and no true since)
	mode      effect.Mode
	ledColors []color.RGB // the last accepted led-update frame; the loop copies it when ledGen moves
	ledSeq    int64
	ledHasSeq bool
	ledAt     time.Time
	ledGen    uint64
	ready     bool
	stopping  bool
	partsCtx  context.Context // nil until Run; cancelled when the session stops
	effectCfg effect.Config
	devices   *deviceSet
	badMetas  map[string]bool // Presence keys whose meta failed validation (counted once)
	overCap   lograte.Limiter // Presence holds more musicians than the session keeps records for
	// presenceLog and badMetaLog hold back the joined and left lines and the unreadable-meta
	// warnings of a Presence flood: a new key costs a client nothing.
	presenceLog, badMetaLog lograte.Budget
	// away holds the records of musicians that left Presence while the peer manager keeps
	// their connection for a rejoin (peer.Manager.MusicianAway): a record stays, its stream
	// and analyser with it, until its musician is back in Presence or its connection is
	// closed. Every one is also in musicians.
	away map[string]*musician
	// followed notes, for each record, when it was made and how her connection went: a record
	// with no connection for the slot timeout gives its place to a musician waiting for one
	// (evictUnconnectedLocked). It goes with the record (addMusicianLocked, dropMusicianLocked).
	followed map[*musician]*followedRecord
	// lostPlaceAt is when each Presence key last gave its place to one waiting, and how long it
	// waits before it takes another's: such a key waits behind those who never lost theirs, else
	// room order would put the earliest of the members that never connect first again every
	// time. Bounded by the Presence table: a key is forgotten when it leaves it.
	lostPlaceAt map[string]placeLoss
	// presenceRecheck is, while musicians wait for a place, when one of them or a followed
	// record may have become due (givePlaces; zero while nobody waits): handleEvents reads
	// Presence again then.
	presenceRecheck time.Time
	// otherBridges holds the Presence keys of the other led-bridge participants warned about, for
	// as long as they stay in Presence: two bridges on one LAN both drive the strips they find.
	otherBridges map[string]bool
	// hostID is the participant Presence elects host (room.ElectHost), "" while nobody claims
	// it: while there is one, only its state-response is the room's state (PROTOCOL.md §3).
	hostID string
	// stateAsk: the state-requests sent and state-responses applied since the room was last joined;
	// answerer is who answers a state-request in the latest Presence table (see syncPresence).
	stateAsk roomStateAsk
	answerer string
	// roomHadMusicians: the last Presence table read while joined held a musician; emptySince:
	// when a table read while joined last found the room emptied (zero while it holds
	// musicians). See noteRoomOccupancy.
	roomHadMusicians bool
	emptySince       time.Time

	// ledRate is what the followed led-update sequence (ledSeq) is learnt to do; ledOther, while
	// ledHasOther, is a sequence whose sender may still be sending beside it (a second host tab,
	// or the old host, left by a restart). See ledOrderLocked.
	ledRate     ledRate
	ledOther    ledSequence
	ledHasOther bool
	// ledSendersLog limits the warnings about a second led-update sender.
	ledSendersLog lograte.Limiter
	// ledIgnoredSaid: a led-update's unusable seq or ts was logged (once: a host's counter that
	// misbehaves does so in every frame). Events goroutine only.
	ledIgnoredSaid bool
	// badBroadcastLog limits the warnings about dropped broadcasts.
	badBroadcastLog lograte.Limiter

	// ledScratch receives the next led-update's colours; it is swapped with ledColors only once
	// they all parsed, so a rejected frame never touches the accepted one. Events goroutine only.
	ledScratch []color.RGB
	// playbackLog limits the playback-change lines: any participant may send playback-control.
	playbackLog lograte.Limiter

	wg sync.WaitGroup // every goroutine Run starts, announce included
}

// New checks cfg and builds the session's parts. It starts nothing; call Run.
func New(cfg Config) (*Session, error) {
	if cfg.Code == "" {
		return nil, ErrNoCode
	}
	if cfg.Name == "" {
		cfg.Name = "LED bridge"
	}
	if cfg.Version == "" {
		cfg.Version = "dev"
	}
	if cfg.PeerID == "" {
		var b [6]byte
		_, _ = rand.Read(b[:])
		cfg.PeerID = "ledbridge-" + hex.EncodeToString(b[:])
	}
	if cfg.Mode == effect.ModeUnknown {
		cfg.Mode = effect.ModeAuto
	}
	if cfg.FPS <= 0 {
		cfg.FPS = analysis.FrameRate
	}
	if cfg.EmptyRoomReset <= 0 {
		cfg.EmptyRoomReset = DefaultEmptyRoomReset
	}
	if cfg.Clock == nil {
		cfg.Clock = &SystemClock{}
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Metrics == nil {
		cfg.Metrics = prometheus.NewRegistry()
	}
	if cfg.OpenSink == nil {
		cfg.OpenSink = openOutput
	}
	if cfg.HostedBy == "" {
		cfg.HostedBy = "supabase"
	}
	if err := cfg.Effect.Validate(); err != nil {
		return nil, fmt.Errorf("session: effects: %w", err)
	}
	s := &Session{
		cfg:         cfg,
		log:         cfg.Logger,
		clock:       cfg.Clock,
		wled:        &wled.Client{},
		meta:        room.BridgeMeta(cfg.Name, cfg.Version, cfg.Clock.Now()),
		musicians:   map[string]*musician{},
		tempo:       room.DefaultState.Tempo,
		playing:     room.DefaultState.IsPlaying,
		mode:        cfg.Mode,
		effectCfg:   cfg.Effect,
		badMetas:    map[string]bool{},
		away:        map[string]*musician{},
		overCap:     lograte.Limiter{Every: time.Minute},
		presenceLog: lograte.Budget{Burst: presenceLogBurst, Every: presenceLogEvery},
		badMetaLog:  lograte.Budget{Burst: presenceLogBurst, Every: presenceLogEvery},

		// Kept by syncPresence (warnOtherBridges).
		otherBridges: map[string]bool{},
		followed:     map[*musician]*followedRecord{},
		lostPlaceAt:  map[string]placeLoss{},

		// Both hold any valid frame, so that parsing one never allocates.
		ledColors:   make([]color.RGB, 0, room.MaxLEDColors),
		ledScratch:  make([]color.RGB, 0, room.MaxLEDColors),
		playbackLog: lograte.Limiter{Every: playbackLogEvery},

		ledSendersLog:   lograte.Limiter{Every: ledSendersLogEvery},
		badBroadcastLog: lograte.Limiter{Every: badBroadcastLogEvery},
	}
	var err error
	if s.met, err = newMetrics(cfg.Metrics, s); err != nil {
		return nil, err
	}

	rc := cfg.Realtime
	rc.Channel = string(cfg.Code)
	rc.PresenceKey = cfg.PeerID
	rc.ClientVersion = "ledbridge/" + cfg.Version
	rc.Logger = cfg.Logger.With("part", "realtime")
	rc.OnStatus = s.onRealtimeStatus
	if rc.LeaveTimeout == 0 {
		rc.LeaveTimeout = leaveTimeout
	}
	if s.client, err = realtime.New(rc); err != nil {
		return nil, fmt.Errorf("session: %w", err)
	}

	pc := cfg.Peer
	pc.SelfID = cfg.PeerID
	pc.SendSignal = s.sendSignal
	pc.OnTrack = s.onTrack
	pc.OnStateChange = s.onPeerState
	pc.Logger = cfg.Logger.With("part", "webrtc")
	if s.peers, err = peer.NewManager(pc); err != nil {
		return nil, fmt.Errorf("session: %w", err)
	}

	s.devices, err = newDeviceSet(s)
	if err != nil {
		return nil, err
	}
	s.loop, err = newFrameLoop(s)
	if err != nil {
		return nil, err
	}
	s.ticker = NewTicker(time.Second/time.Duration(cfg.FPS), cfg.Clock, s.loop.tick)
	s.ticker.log = s.log
	return s, nil
}

// PeerID is ledbridge's Presence key in the room.
func (s *Session) PeerID() string { return s.cfg.PeerID }

// Run joins the room and lights the strips until ctx is done; then it untracks, leaves, closes
// every peer, releases every device and returns nil once all its goroutines have stopped.
func (s *Session) Run(ctx context.Context) error {
	// The parts run on their own contexts so that, on shutdown, the room still hears the untrack
	// before the connection closes, while the devices are already being released.
	partsCtx, stopParts := context.WithCancel(context.Background())
	defer stopParts()
	devicesCtx, stopDevices := context.WithCancel(context.Background())
	defer stopDevices()
	s.mu.Lock()
	s.partsCtx = partsCtx
	s.mu.Unlock()
	failed := make(chan error, 5)
	goRun := func(name string, ctx context.Context, run func(context.Context) error) {
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			if err := run(ctx); err != nil && ctx.Err() == nil {
				failed <- fmt.Errorf("%s: %w", name, err)
			}
		}()
	}
	goRun("realtime", partsCtx, s.client.Run)
	goRun("webrtc", partsCtx, s.peers.Run)
	goRun("devices", devicesCtx, s.devices.run)
	goRun("events", partsCtx, s.handleEvents)
	goRun("frame loop", partsCtx, s.loop.run)

	var err error
	select {
	case <-ctx.Done():
	case err = <-failed:
	}
	stopDevices() // release the strips (DDP: {"live":false}; UDP realtime: timeout 0) meanwhile
	untrackCtx, cancel := context.WithTimeout(context.Background(), untrackTimeout)
	if uerr := s.client.Untrack(untrackCtx); uerr != nil {
		s.log.Debug("untrack on shutdown", "err", uerr)
	}
	cancel()
	s.mu.Lock()
	s.stopping = true
	s.mu.Unlock()
	stopParts() // leaves the channel and closes every peer
	s.wg.Wait()
	return err
}

// Shutdown budget: the daemon must exit within 2 s of SIGTERM. The untrack, the leave and the
// socket close each get at most this long, while the devices are released in parallel.
const (
	untrackTimeout = 300 * time.Millisecond
	leaveTimeout   = 300 * time.Millisecond
)

// onRealtimeStatus runs on the client's goroutine for every connection state change.
func (s *Session) onRealtimeStatus(st realtime.Status) {
	s.met.realtimeState(st)
	if st.State != realtime.StateJoined {
		key, advice, level, server := joinRefusalAdvice(st.Err)
		if advice != "" && s.firstRefusal(key) {
			s.log.Log(context.Background(), level, "room not joined: "+advice, "server", server) // the server never echoes the token
		}
		return
	}
	s.refusalsAdvised.Lock()
	s.refusalsAdvised.keys = s.refusalsAdvised.keys[:0]
	s.refusalsAdvised.Unlock()
	s.mu.Lock()
	first := !s.ready
	s.ready = true
	s.stateAsk = roomStateAsk{}
	ctx := s.partsCtx
	if s.stopping || ctx == nil {
		s.mu.Unlock()
		return
	}
	// Track and ask for the room state on every (re)join; the client re-tracks on rejoin itself,
	// but the first track is ours. Run them off the client's goroutine: they wait for replies.
	s.wg.Add(1)
	s.mu.Unlock()
	go func() {
		defer s.wg.Done()
		s.announce(ctx, first)
	}()
}

// SetAccessToken replaces the Supabase access token (supabase.access_token, reloaded on SIGHUP)
// without leaving the room: a joined channel gets it at once, and every later join uses it; a
// channel waiting to rejoin after the server refused the old one rejoins at once.
func (s *Session) SetAccessToken(token string) { s.client.SetAccessToken(token) }

// accessTokenAdvice says what the operator must do when the server refuses the access token.
const accessTokenAdvice = "the Supabase access token (supabase.access_token) has expired or was refused by the server; " +
	"replace it in the config file, then systemctl reload ledbridge"

// maxRefusalsAdvised bounds the join refusals advised once each until the room is joined again
// (Session.refusalsAdvised): the server has a handful of codes, but each reason without a code
// is a key of its own. Past it, new reasons get no advice (the client still logs their words).
const maxRefusalsAdvised = 16

// firstRefusal reports whether the refusal key is to be advised: not yet since the room was last
// joined, and fewer than maxRefusalsAdvised keys were.
func (s *Session) firstRefusal(key string) bool {
	s.refusalsAdvised.Lock()
	defer s.refusalsAdvised.Unlock()
	if slices.Contains(s.refusalsAdvised.keys, key) || len(s.refusalsAdvised.keys) >= maxRefusalsAdvised {
		return false
	}
	s.refusalsAdvised.keys = append(s.refusalsAdvised.keys, key)
	return true
}

// joinRefusalAdvice returns, for a status error that is the server's refusal of the join, what
// the operator can do about it, at which level, and the server's words; key tells the reasons
// apart (one per code: the token's refusals are one). Only the token is applied by a reload.
func joinRefusalAdvice(err error) (key, advice string, level slog.Level, server string) {
	var refusal *realtime.ReplyError
	if !errors.As(err, &refusal) || refusal.Op != "join" {
		if errors.Is(err, realtime.ErrAccessTokenRejected) { // a joined channel shut down at the token's exp
			return "token", accessTokenAdvice, slog.LevelError, err.Error()
		}
		return "", "", 0, ""
	}
	key, level, server = refusal.Code(), slog.LevelError, refusal.Reason
	switch {
	case refusal.TokenNotOfProject():
		return "token", accessTokenAdvice + " (while it is empty, supabase.key is sent as the token: " +
			"check it is this project's anon key, then systemctl restart ledbridge)", level, server
	case errors.Is(refusal, realtime.ErrAccessTokenRejected):
		return "token", accessTokenAdvice, level, server
	case key == "Unauthorized":
		advice = "the room is private (supabase.private) and no RLS policy on realtime.messages lets the user of " +
			"supabase.access_token read it: add a SELECT policy for its topic in the Supabase project, or put a token " +
			"of a user that one admits in the config file and systemctl reload ledbridge"
	case key == "PrivateOnly":
		advice = "the Supabase project only allows private channels: set supabase.private: true and a user JWT in " +
			"supabase.access_token (an RLS policy on realtime.messages must let that user read the room), " +
			"then systemctl restart ledbridge"
	case key == "TenantNotFound":
		advice = "no Supabase project answers at supabase.url (--supabase-url, LEDBRIDGE_SUPABASE_URL): " +
			"check the project reference in https://<ref>.supabase.co, then systemctl restart ledbridge"
	case key == "RealtimeDisabledForTenant":
		advice = "Realtime is disabled for the project at supabase.url (a paused or suspended project): " +
			"restore it in the Supabase dashboard, or check supabase.url (--supabase-url)"
	case refusal.RateLimited():
		advice, level = "a limit of the Supabase project was reached (connections, channels or joins a second "+
			"for its plan; a server limit, not a ledbridge setting): the bridge backs off and retries by itself", slog.LevelWarn
	default:
		advice, level = "the Supabase server refused the join; the bridge retries with backoff", slog.LevelWarn
	}
	if key == "" {
		key = "reason: " + refusal.Reason
	}
	return key, advice, level, server
}

// realtimeHealthState is the connection state /healthz reports while the room is not joined: the
// state's name, and, when the server refuses the access token, what to do about it (rejoining
// with the same token can never succeed, so "reconnecting" alone would mislead).
func realtimeHealthState(rt realtime.Status) string {
	if rt.State != realtime.StateJoined && errors.Is(rt.Err, realtime.ErrAccessTokenRejected) {
		return rt.State.String() + ": " + accessTokenAdvice
	}
	return rt.State.String()
}

// roomRequestTimeout bounds the pushes the session makes for a join (its Presence track, a
// state-request), as long as the client's own push timeout (realtime.DefaultPushTimeout): a
// stalled server must not hold the goroutine that sends them past the join they were for.
const roomRequestTimeout = 10 * time.Second

func (s *Session) announce(parent context.Context, first bool) {
	ctx, cancel := context.WithTimeout(parent, roomRequestTimeout)
	defer cancel()
	if first {
		if err := s.client.Track(ctx, s.meta); err != nil && !errors.Is(err, realtime.ErrClosed) {
			s.log.Warn("presence track failed", "err", err)
		}
	}
	if s.claimStateRequestOnJoin() {
		s.requestRoomState(ctx)
	}
	if first && parent.Err() == nil {
		s.log.Info("joined room", "room", s.cfg.Code, "peer_id", s.cfg.PeerID, "hosted_by", s.cfg.HostedBy)
		if s.cfg.OnReady != nil {
			s.cfg.OnReady(fmt.Sprintf("Joined %s", s.cfg.Code))
		}
	}
}

// requestRoomState broadcasts a state-request: the host, or any musician while there is none,
// answers with a state-response addressed to ledbridge (PROTOCOL.md §3).
func (s *Session) requestRoomState(ctx context.Context) {
	if err := s.client.Broadcast(ctx, room.EventStateRequest, room.StateRequest{FromPeerID: s.cfg.PeerID}); err != nil &&
		!errors.Is(err, realtime.ErrClosed) && !errors.Is(err, realtime.ErrNotJoined) {
		s.log.Warn("state-request failed", "err", err)
	}
}

// roomStateAsk is, since the room was last joined, the state-requests sent and the room state
// heard (claimStateRequestOnJoin, claimStateRequestLocked).
type roomStateAsk struct {
	sent          bool   // a state-request went out
	sentTo        string // the answerer asked, by a request Presence prompted or the join's (claimStateRequestLocked)
	sentOnJoin    bool   // the join's own request went out (after the join's reply)
	prompted      int    // requests Presence prompted
	heard         bool   // a state-response was applied
	heardFromHost bool   // and it came from the elected host
}

// maxStateAsksPerJoin bounds the state-requests Presence may prompt in one join: a room whose
// host or first musician keeps changing must not draw a request at every Presence change.
const maxStateAsksPerJoin = 3

// claimStateRequestOnJoin reports whether the request sent on joining is still to go: not when a
// Presence change since the join already asked the same answerer (the table came first).
func (s *Session) claimStateRequestOnJoin() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	a := &s.stateAsk
	if a.sent && a.sentTo == s.answerer {
		return false
	}
	// Whom it reaches is not s.answerer, which may come from a table read before this join's
	// presence_state: that state's list says (claimStateRequestLocked).
	a.sent, a.sentOnJoin = true, true
	return true
}

// claimStateRequestLocked reports whether ledbridge must ask for the room's state now that Presence
// shows answerer, who answers state-requests (the host, else the first musician; "" for none),
// and records the request. The request sent on joining reaches only those in the room then, and
// when ledbridge is the room server it rejoins (a restart) before anyone is back, so nobody
// heard it. inJoinState says the join's presence_state listed answerer: it was in the channel
// when the join's reply came, so it heard the join's request, even when the table that shows it
// is read after that request went out. A new answerer is asked, unless the room's state was
// heard from the host, or (when there is no host) from anyone; one whose Presence comes and goes
// is asked once, and at most maxStateAsksPerJoin requests go out a join. Called with s.mu held.
func (s *Session) claimStateRequestLocked(answerer string, hostElected, inJoinState bool) bool {
	a := &s.stateAsk
	if a.sentOnJoin && inJoinState {
		a.sentTo = answerer
	}
	if answerer == "" || (a.sent && answerer == a.sentTo) || a.prompted >= maxStateAsksPerJoin ||
		a.heardFromHost || (!hostElected && a.heard) {
		return false
	}
	a.sent, a.sentTo = true, answerer
	a.prompted++
	return true
}

func (s *Session) sendSignal(ctx context.Context, sig room.Signal) error {
	return s.client.Broadcast(ctx, room.EventSignal, sig)
}

// handleEvents applies the room's broadcasts and Presence changes until ctx is done.
func (s *Session) handleEvents(ctx context.Context) error {
	events := s.client.Events()
	// recheck reads Presence again when a record without a connection may give its place to a
	// musician waiting for one (presenceRecheck): nothing else may happen in the room meanwhile.
	recheck := time.NewTimer(time.Hour)
	recheck.Stop()
	defer recheck.Stop()
	readPresence := func() {
		s.syncPresence()
		s.mu.Lock()
		at := s.presenceRecheck
		s.mu.Unlock()
		if at.IsZero() {
			recheck.Stop()
			return
		}
		recheck.Reset(max(at.Sub(s.clock.Now()), 0))
	}
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-recheck.C:
			readPresence()
		case ev, ok := <-events:
			if !ok {
				return nil
			}
			switch ev.Kind {
			case realtime.EventBroadcast:
				s.handleBroadcast(ev.Event, ev.Payload)
			case realtime.EventPresenceSync: // follows every batch of joins and leaves
				readPresence()
			}
		}
	}
}

// handleBroadcast validates and applies one broadcast. Invalid payloads are dropped, counted and
// warned about (warnDropped).
func (s *Session) handleBroadcast(event string, payload []byte) {
	// A web app's listeners take "Tempo-Change" for tempo-change (CanonicalEvent), and so does
	// the bridge. An unknown name stays as it is and is ignored below.
	event, _ = room.CanonicalEvent(event)
	v, err := room.DecodeEvent(event, payload)
	if errors.Is(err, room.ErrUnknownEvent) {
		return // unknown events are ignored (PROTOCOL.md §3)
	}
	if err != nil {
		if event == room.EventSignal {
			s.dropped.signals.Add(1)
		} else {
			s.dropped.broadcasts.Add(1)
		}
		s.met.dropped.WithLabelValues(event).Inc()
		s.warnDropped(event, err)
		return
	}
	switch m := v.(type) {
	case room.Signal:
		if m.TargetPeerID != s.cfg.PeerID {
			return
		}
		s.peers.HandleSignal(m)
	case room.TempoChange:
		s.mu.Lock()
		s.tempo = m.Tempo
		s.mu.Unlock()
	case room.PlaybackControl:
		s.mu.Lock()
		changed := s.playing != m.IsPlaying || s.stopped != !m.IsPlaying
		s.playing = m.IsPlaying
		s.stopped = !m.IsPlaying
		s.mu.Unlock()
		// Only changes are worth a line, and those at most one per playbackLogEvery: any
		// participant can send playback-control as fast as the room relays it.
		if changed {
			if suppressed, ok := s.playbackLog.Allow(s.clock.Now()); ok {
				s.log.Info("playback", "playing", m.IsPlaying, "changes_suppressed", suppressed)
			}
		}
	case room.StateResponse:
		if m.TargetPeerID != "" && m.TargetPeerID != s.cfg.PeerID {
			return
		}
		s.mu.Lock()
		// PROTOCOL.md §3: the host answers, or any musician when there is no host. A broadcast
		// carries no sender but the fromPeerId its payload claims, so while Presence has a host,
		// a response that does not name it (another musician's, or one naming no one) is not
		// the room's state: it would override the host's.
		if s.hostID != "" && m.FromPeerID != s.hostID {
			host := s.hostID
			s.mu.Unlock()
			s.log.Debug("ignored a state-response from a participant who is not the host", "from", m.FromPeerID, "host", host)
			return
		}
		s.tempo = m.State.Tempo
		s.playing = m.State.IsPlaying
		s.stateAsk.heard = true
		s.stateAsk.heardFromHost = s.hostID != "" // checked above: it names the host
		if m.State.IsPlaying {
			s.stopped = false // a playback-control true we missed (e.g. while reconnecting)
		}
		s.mu.Unlock()
	case room.LEDUpdate:
		if m.Ignored != nil && !s.ledIgnoredSaid {
			s.ledIgnoredSaid = true
			s.log.Warn("led-update frames with an unusable seq or ts: applying them as if they had none (said once)", "err", m.Ignored)
		}
		s.applyLEDUpdate(m)
	}
}

// warnDropped says, at most once per badBroadcastLogEvery, that a broadcast of event was dropped
// and why: a host whose frames are all refused leaves the strips idle, with nothing else to say so.
func (s *Session) warnDropped(event string, err error) {
	if suppressed, ok := s.badBroadcastLog.Allow(s.clock.Now()); ok {
		s.log.Warn("dropped an invalid broadcast", suppressedArgs("warnings_suppressed", suppressed, "event", event, "err", err)...)
	}
}

// How applyLEDUpdate tells a host that started its seq again (a reloaded page, a new host) from
// a frame overtaken by a newer one. One sender's broadcasts reach us in order (one WebSocket,
// relayed in order), so a seq that goes back is a restart, except for the one interleave a
// single host can make: supabase-js sends a broadcast over REST while its socket is not joined,
// and frames sent so can arrive after those sent over the socket just before or after. That
// overlap lasts at most a REST round trip, well under 500 ms, so 30 frames at 60 fps: a frame at
// most ledSeqRestart steps (ledRate) behind the last one taken is such a straggler (or a
// duplicate), dropped and counted; one further behind starts the order afresh at once. So does
// any frame after a pause long enough for auto mode to count the host's frames as gone
// (effect.BroadcastFresh). (A shorter pause would take a straggler of a host that sends only a
// few frames a second, a throttled background tab, as a restart and show its stale colours.) A
// page reloaded before it sent ledSeqRestart frames starts within reach of its old seq, and is
// taken once its new seq passes the old one: at most half a second late.
const (
	ledRestartGap = effect.BroadcastFresh
	ledSeqRestart = 30
	// ledSendersLogEvery is the least time between two warnings about a second sender.
	ledSendersLogEvery = time.Minute
	// ledMinPeriod bounds a sequence's learnt time between frames from below (a 240 Hz
	// display's animation frames), so that two frames received together teach it nothing absurd.
	ledMinPeriod = time.Second / 240
	// ledSwitchMargin: see outsends.
	ledSwitchMargin = 4
)

// playbackLogEvery is the least time between two playback-change log lines.
const playbackLogEvery = 5 * time.Second

// badBroadcastLogEvery is the least time between two warnings about dropped broadcasts: any
// participant can send garbage as fast as the room relays it.
const badBroadcastLogEvery = 10 * time.Second

// ledRate is what a sequence of led-update seqs is learnt to do. PROTOCOL.md §3 says only that
// seq is an increasing integer: a host may count its frames (a step of 1) or the milliseconds of
// performance.now() (about 17 at 60 fps), so seq distances are measured in the sequence's own
// step. period is its usual time between two frames, for how far it may have moved after a
// pause (a throttled background tab that derives its seq from time jumps by what its rate
// covers). Until known (two frames of its own seen), the values are those of the sequence it
// took over from, or of a counter at 60 fps. frames counts its frames as of its last, each
// weighing less by e every ledRestartGap: how much it sends now, for two sequences both live.
type ledRate struct {
	step   float64
	period time.Duration
	known  bool
	frames float64
}

// ledFreshRate is a new sequence's, until it has shown its own.
var ledFreshRate = ledRate{step: 1, period: time.Second / 60}

// note learns from one frame dSeq (> 0) ahead of the sequence's last, dt after it. A single
// jump (a missed animation frame, a counter moved forward) moves the estimates only a little.
func (r *ledRate) note(dSeq int64, dt time.Duration) {
	step, dt := float64(dSeq), max(dt, ledMinPeriod)
	if !r.known {
		r.step, r.period, r.known = step, dt, true
		return
	}
	r.step += (min(step, 4*r.step) - r.step) / 8
	r.period += (min(dt, 4*r.period) - r.period) / 8
}

// sent counts one frame of the sequence at now, its previous at last.
func (r *ledRate) sent(last, now time.Time) { r.frames = r.framesAt(last, now) + 1 }

// framesAt is frames as of now, the sequence's last frame at last.
func (r *ledRate) framesAt(last, now time.Time) float64 {
	return r.frames * math.Exp(-float64(now.Sub(last))/float64(ledRestartGap))
}

// outsends says whether a sequence that has sent frames, as of now, sends clearly more than
// one that has sent others: twice as many, and ledSwitchMargin more (a few frames' jitter
// just after a restart must not undo it), so that two tabs at the same rate never flicker.
func outsends(frames, others float64) bool {
	return frames >= 2*others && frames >= others+ledSwitchMargin
}

// steps is d seq in the sequence's steps.
func (r *ledRate) steps(d int64) float64 { return float64(d) / max(r.step, 1) }

// reach is how far ahead of its last frame the sequence's next may be, elapsed after it:
// ledSeqRestart steps, and what its rate covers in that time.
func (r *ledRate) reach(elapsed time.Duration) float64 {
	return max(r.step, 1) * (ledSeqRestart + float64(elapsed)/float64(max(r.period, ledMinPeriod)))
}

// ledSequence is a led-update sequence other than the followed one: its last seq, when its last
// frame came, and its rate.
type ledSequence struct {
	seq  int64
	at   time.Time
	rate ledRate
}

// ledOrder is what ledOrderLocked makes of a led-update.
type ledOrder int

const (
	ledNext      ledOrder = iota // take it: the followed sequence's next frame, or the first
	ledRestart                   // take it: its seq went back, its sender started again
	ledStraggler                 // drop it: at most ledSeqRestart steps behind (see ledSeqRestart)
	ledOtherSent                 // drop it: the other sequence's (see ledOrderLocked)
	ledSwitch                    // take it: the other sequence's, which now sends clearly more
)

// ledOrderLocked says whether to take a led-update with u's seq at now. A broadcast names no
// sender, so two senders (two host tabs, or a new host while the old tab still sends) can only
// be told apart by their seqs: after a restart, the sequence it left is kept as the other, and
// while it may still be sending, a frame beyond the followed sequence's reach that continues it
// (not behind it by more than ledSeqRestart of its steps) is the other's, and dropped: one
// picture holds instead of the two interleaved. While both send, the one sending clearly more
// is followed (outsends; frames counted since the restart): a live tab, not one the browser
// throttles in the background whose first frame looked like a reload; at the same rate, the one
// that started last. Frames of the other never move the followed sequence's state, nor those of
// the followed the other's; the other is forgotten ledRestartGap after its own last frame, and
// taken again once the followed one pauses as long. A seq that jumps forward without continuing
// another sequence is followed.
// Called with s.mu held; it notes the other's frames, the caller the frames it takes.
func (s *Session) ledOrderLocked(u room.LEDUpdate, now time.Time) ledOrder {
	if !u.HasSeq || !s.ledHasSeq || now.Sub(s.ledAt) > ledRestartGap {
		return ledNext
	}
	if s.ledHasOther && now.Sub(s.ledOther.at) > ledRestartGap {
		s.ledHasOther = false
	}
	o := &s.ledOther
	switch d := u.Seq - s.ledSeq; {
	case d <= 0 && s.ledRate.steps(-d) <= ledSeqRestart:
		return ledStraggler
	case d > 0 && (!s.ledHasOther || float64(d) <= s.ledRate.reach(now.Sub(s.ledAt))):
		return ledNext
	case s.ledHasOther && o.rate.steps(o.seq-u.Seq) <= ledSeqRestart:
		if u.Seq <= o.seq {
			return ledOtherSent // its straggler
		}
		o.rate.note(u.Seq-o.seq, now.Sub(o.at))
		o.rate.sent(o.at, now)
		o.seq, o.at = u.Seq, now
		if outsends(o.rate.frames, s.ledRate.framesAt(s.ledAt, now)) {
			return ledSwitch
		}
		return ledOtherSent
	case d < 0:
		return ledRestart
	}
	return ledNext // a jump forward that does not continue the other sequence
}

// applyLEDUpdate takes one led-update on the events goroutine. The colours are parsed outside
// s.mu, which every tick takes, into ledScratch, and swapped in only once they all parsed.
func (s *Session) applyLEDUpdate(u room.LEDUpdate) {
	now := s.clock.Now()
	s.mu.Lock()
	order, following := s.ledOrderLocked(u, now), s.ledSeq
	s.mu.Unlock()
	if order == ledStraggler || order == ledOtherSent {
		s.dropped.broadcasts.Add(1)
		s.met.dropped.WithLabelValues(room.EventLEDUpdate).Inc()
		if order == ledOtherSent {
			if suppressed, ok := s.ledSendersLog.Allow(now); ok {
				s.log.Warn("two participants send led-update frames (two host tabs, or the old host still sending): "+
					"showing the one that sends more frames (at the same rate, the one that started last), "+
					"dropping the other's until it pauses for 2 s",
					"seq", u.Seq, "following_seq", following, "frames_dropped_since_last_warning", suppressed)
			}
		}
		return
	}
	colors, err := color.ParseColors(u.Colors, s.ledScratch[:0])
	if err != nil {
		s.dropped.broadcasts.Add(1)
		s.met.dropped.WithLabelValues(room.EventLEDUpdate).Inc()
		s.warnDropped(room.EventLEDUpdate, err)
		return
	}
	s.mu.Lock()
	s.ledColors, s.ledScratch = colors, s.ledColors
	if u.HasSeq {
		switch {
		case !s.ledHasSeq || now.Sub(s.ledAt) > ledRestartGap:
			// A fresh start: no sequence left behind is still being sent.
			s.ledRate, s.ledHasOther = ledFreshRate, false
			s.ledRate.frames = 1
		case order == ledRestart:
			// The sequence left becomes the other, its frames counted from here (a reloaded page's
			// old one sends no more); the new one starts from its rate (a reloaded page sends as
			// the old one did) until it shows its own.
			s.ledOther = ledSequence{seq: s.ledSeq, at: s.ledAt, rate: s.ledRate}
			s.ledOther.rate.frames = 0
			s.ledHasOther, s.ledRate.known, s.ledRate.frames = true, false, 1
		case order == ledSwitch:
			// ledOrderLocked noted the frame in the other's state, which becomes the followed one.
			s.ledOther, s.ledRate = ledSequence{seq: s.ledSeq, at: s.ledAt, rate: s.ledRate}, s.ledOther.rate
		default:
			s.ledRate.note(u.Seq-s.ledSeq, now.Sub(s.ledAt))
			s.ledRate.sent(s.ledAt, now)
		}
		s.ledSeq, s.ledHasSeq = u.Seq, true
	}
	s.ledAt = now
	s.ledGen++
	s.mu.Unlock()
}

// forgetAbsent drops from seen the Presence keys no longer in table: what was noted about a
// participant (warned about, counted once, when it lost its place) ends when it leaves.
func forgetAbsent[V any](seen map[string]V, table map[string][]realtime.Meta) {
	maps.DeleteFunc(seen, func(key string, _ V) bool {
		_, present := table[key]
		return !present
	})
}

// syncPresence reconciles the musicians with the Presence table.
func (s *Session) syncPresence() {
	present := map[string]room.Meta{}
	// The table with the join it follows, of one moment: who of those it lacks was seen in this
	// join, and whether the server's Presence survived the bridge's rejoin (see missing below).
	view := s.client.PresenceView()
	table := view.Table
	s.mu.Lock()
	forgetAbsent(s.badMetas, table)
	forgetAbsent(s.otherBridges, table)
	forgetAbsent(s.lostPlaceAt, table)
	s.mu.Unlock()
	var bridges []room.Member // the other led-bridge participants, for warnOtherBridges
	// PROTOCOL.md §2: the host is whichever participant claims it and joined first, musician or
	// not, so every participant is a candidate.
	candidates := make([]room.Member, 0, len(table))
	for key, metas := range table {
		if key == s.cfg.PeerID || len(metas) == 0 {
			continue
		}
		meta, err := room.DecodeMeta(metas[len(metas)-1].Data)
		if err != nil {
			// A meta with fields we cannot read keeps the others (its role above all); one that is
			// no meta at all leaves a participant who may still send audio: a musician under its
			// key. Either is counted once.
			var partial *room.MetaFieldsError
			usable := errors.As(err, &partial)
			s.mu.Lock()
			if !s.badMetas[key] {
				s.badMetas[key] = true
				s.dropped.broadcasts.Add(1)
				if suppressed, ok := s.badMetaLog.Allow(s.clock.Now()); ok {
					msg := "unreadable Presence meta; treating the participant as a musician"
					if usable {
						msg = "Presence meta with unreadable fields; they are left unset"
					}
					who := "peer_id" // a host or another bridge
					if !usable || meta.IsMusician() {
						who = "musician" // as the lines that follow her name her
					}
					s.log.Warn(msg, suppressedArgs("warnings_suppressed", suppressed, who, key, "err", err)...)
				}
			}
			s.mu.Unlock()
			if !usable {
				meta = room.Meta{Name: key}
			}
		}
		candidates = append(candidates, room.Member{PeerID: key, Meta: meta})
		if meta.IsMusician() {
			present[key] = meta
		}
		if meta.Role == room.RoleLEDBridge {
			bridges = append(bridges, room.Member{PeerID: key, Meta: meta})
		}
	}
	s.warnOtherBridges(bridges)
	host, _ := room.ElectHost(candidates)          // PeerID "" when nobody claims it
	answering, _ := room.ElectAnswerer(candidates) // the host, else the first musician
	answerer := answering.PeerID
	// Only a table read while joined may say the room emptied: the client keeps the table across
	// a reconnect until the next presence_state, and that may come ahead of its join's reply.
	joinedRoom := s.client.State() == realtime.StateJoined
	// Nor may one read before this join's presence_state prompt a state-request: its answerer
	// may be one who left while ledbridge was away, and would count as asked when she is back.
	inJoinState, joinStateApplied := view.InJoinState(answerer), view.Applied
	var joined, back, fresh []string
	var left []*musician
	// missing are those of left missing from the room server's fresh Presence after the
	// bridge's rejoin (MusicianMissing): not seen in this join's Presence (neither by a sync
	// since its presence_state nor listed in it), from a server whose Presence did not survive
	// the rejoin. The others left in a leave the server saw (MusicianAway): one listed in the
	// state and gone left after it, and one absent from a Presence that survived (only the
	// bridge's socket dropped, or the channel was joined again) left while the bridge was away.
	missing := map[*musician]bool{}
	lostPlaceAt := map[string]placeLoss{} // of the fresh ones that lost their place before
	s.mu.Lock()
	s.hostID, s.answerer = host.PeerID, answerer
	if joinedRoom && joinStateApplied && !s.stopping && s.partsCtx != nil &&
		s.claimStateRequestLocked(answerer, host.PeerID != "", inJoinState) {
		ctx := s.partsCtx
		s.wg.Add(1)
		go func() { // off the Presence reader: the broadcast waits for the room server
			defer s.wg.Done()
			ctx, cancel := context.WithTimeout(ctx, roomRequestTimeout)
			defer cancel()
			s.log.Debug("asking the room's state of a participant new in Presence", "peer_id", answerer)
			s.requestRoomState(ctx)
		}()
	}
	for id, meta := range present {
		if m, ok := s.musicians[id]; ok {
			if view.Applied {
				m.seenInJoin = view.Join
			}
			m.setMeta(meta)
			if m.provisional {
				m.provisional = false
				joined = append(joined, id)
			}
			if s.away[id] == m {
				delete(s.away, id)
				back = append(back, id)
			}
			continue
		}
		fresh = append(fresh, id)
		if loss, ok := s.lostPlaceAt[id]; ok {
			lostPlaceAt[id] = loss
		}
	}
	kept := 0
	for id, m := range s.musicians {
		if _, ok := present[id]; ok || m.provisional || s.away[id] == m {
			kept++
		}
	}
	s.mu.Unlock()

	// Presence is open to every client of the room: keep at most twice the peer cap, the host and
	// the earliest joiners first (the room's order, which also elects its host), and after them
	// those who gave their place to one waiting, the earliest to give it first. A record gets its
	// analyser only when audio arrives (onTrack).
	slices.SortFunc(fresh, freshOrder(present, lostPlaceAt))
	ignored := 0
	var evicted []*musician
	var recheckAt time.Time
	if places := max(s.maxMusicians()-kept, 0); len(fresh) > places {
		ignored = len(fresh) - places
		if suppressed, ok := s.overCap.Allow(s.clock.Now()); ok {
			s.log.Warn("more musicians in Presence than ledbridge follows; ignoring the latest until places free",
				"ignored", ignored, "max", s.maxMusicians(), "warnings_suppressed", suppressed)
		}
		evicted, recheckAt = s.givePlaces(present, fresh[places:], lostPlaceAt)
		fresh = fresh[:places+len(evicted)]
	}
	s.mu.Lock()
	s.presenceRecheck = recheckAt
	s.mu.Unlock()
	s.releaseEvicted(evicted)
	s.met.ignoredMusicians.Set(float64(ignored))
	s.notFollowed.Store(int64(ignored))
	built := make([]*musician, 0, len(fresh))
	for _, id := range fresh {
		built = append(built, presenceMusician(id, present[id]))
	}

	s.mu.Lock()
	// Leaves first, so that a musician who reloads her page (a new peer id, the old one leaving
	// in the same sync) finds her old record away and keeps its hue (addMusicianLocked).
	for id, m := range s.musicians {
		if _, ok := present[id]; !ok && !m.provisional && s.away[id] != m {
			// Away until the peer manager says whether it keeps her connection (below).
			s.away[id] = m
			left = append(left, m)
			seen := view.Applied && (m.seenInJoin == view.Join || view.InJoinState(id))
			if !seen && !view.Survived {
				missing[m] = true
			}
		}
	}
	for _, m := range built {
		if _, ok := s.musicians[m.id]; ok {
			continue // its audio arrived meanwhile and made a provisional record
		}
		if view.Applied {
			m.seenInJoin = view.Join
		}
		s.addMusicianLocked(m)
		joined = append(joined, m.id)
	}
	reset := s.noteRoomOccupancy(joinedRoom, len(present) > 0, s.clock.Now())
	s.mu.Unlock()
	if reset {
		s.log.Info("a musician joined a room that had been empty: tempo and playback back to the room's initial state",
			"tempo", room.DefaultState.Tempo, "playing", room.DefaultState.IsPlaying, "empty_for_at_least", s.cfg.EmptyRoomReset)
	}
	// A join's lines (and a leave's) go out in full at a band's pace; a flood is summarised.
	for _, id := range joined {
		err := s.peers.MusicianJoined(peer.MusicianID(id))
		suppressed, ok := s.presenceLog.Allow(s.clock.Now())
		if !ok {
			continue
		}
		args := append(musicianArgs(id, present[id].Name), "host", present[id].IsHost)
		s.log.Info("musician joined", presenceArgs(suppressed, args...)...)
		if err != nil {
			s.log.Warn("musician not connected", "musician", id, "err", err)
		}
	}
	for _, id := range back {
		// Her connection was kept (MusicianAway), and now the hold ends: no new offer.
		err := s.peers.MusicianJoined(peer.MusicianID(id))
		if suppressed, ok := s.presenceLog.Allow(s.clock.Now()); ok {
			s.log.Info("musician back", presenceArgs(suppressed, "musician", id)...)
			if err != nil { // her grace ended as she came back, and the cap is full meanwhile
				s.log.Warn("musician not connected", "musician", id, "err", err)
			}
		}
	}
	for _, m := range left {
		// A Realtime socket that drops for a moment costs a Presence leave and, a second later,
		// a join: a musician whose media path is alive keeps her connection, stream and analyser
		// for the peer manager's grace (onPeerState forgets her if it closes meanwhile). One
		// missing from the Presence the room server gave on the bridge's rejoin (a server that
		// restarted lists her only once her own client has rejoined) keeps them for its
		// longer RejoinGrace.
		hold := s.peers.MusicianAway
		if missing[m] {
			hold = s.peers.MusicianMissing
		}
		if hold(peer.MusicianID(m.id)) {
			continue
		}
		s.forgetAway(m)
	}
	if len(joined)+len(back)+len(left)+len(evicted) > 0 {
		s.loop.musiciansChanged()
	}
}

// freshOrder orders the musicians new in Presence for the places left: those who never gave
// their place to one waiting first, then the earliest to give it, then the room's order.
func freshOrder(present map[string]room.Meta, lostPlaceAt map[string]placeLoss) func(a, b string) int {
	return func(a, b string) int {
		la, lostA := lostPlaceAt[a]
		lb, lostB := lostPlaceAt[b]
		switch {
		case lostA != lostB && !lostA:
			return -1
		case lostA != lostB:
			return 1
		case lostA && !la.at.Equal(lb.at):
			return la.at.Compare(lb.at)
		}
		return room.CompareMembers(room.Member{PeerID: a, Meta: present[a]}, room.Member{PeerID: b, Meta: present[b]})
	}
}

// releaseEvicted releases the peer-side state of the records evictUnconnectedLocked dropped,
// as if they had left Presence, before the joins take the slots freed: a record without a
// connection has none to keep.
func (s *Session) releaseEvicted(evicted []*musician) {
	for _, m := range evicted {
		s.met.placesGiven.Inc()
		if s.peers.MusicianAway(peer.MusicianID(m.id)) {
			// Connected as she gave her place: the peer manager holds her connection for its
			// grace, and she is followed again when a place frees within it.
			s.log.Info("musician connected as she gave her place", "musician", m.id)
		}
		s.mu.Lock()
		wait := s.lostPlaceAt[m.id].wait
		s.mu.Unlock()
		if wait > s.peers.SlotTimeout() {
			// She lost it before, and took it back without connecting: said once already.
			s.log.Debug("musician without a connection gives her place again", "musician", m.id, "waits", wait)
			continue
		}
		if suppressed, ok := s.presenceLog.Allow(s.clock.Now()); ok {
			s.log.Warn("musician without a connection for the slot timeout gives her place to one waiting; she waits behind the others",
				presenceArgs(suppressed, "musician", m.id, "slot_timeout", s.peers.SlotTimeout())...)
		}
	}
}

// followedRecord is what the session notes about a record for evictUnconnectedLocked.
type followedRecord struct {
	since     time.Time // when the record was made
	connected bool      // her connection was up at least once
	up        bool      // her connection is up now
	downAt    time.Time // when her connection last went down after being up
}

// noteState records a connection state change of the record's musician at now.
func (f *followedRecord) noteState(state webrtc.PeerConnectionState, now time.Time) {
	switch state {
	case webrtc.PeerConnectionStateConnected:
		f.connected, f.up = true, true
	case webrtc.PeerConnectionStateDisconnected, webrtc.PeerConnectionStateFailed, webrtc.PeerConnectionStateClosed:
		if f.up {
			f.up, f.downAt = false, now
		}
	}
}

// dueFrom is when the slot timeout of a record that may give its place starts, and ok false if
// it may not now: one that never connected nor sent audio, from when it was made; one that lost
// its connection, once the peer manager has taken her slot back for the musicians waiting for
// one (slotless), from when the connection went down or her last audio arrived, the later. A
// record up now, or down but still holding her slot (her restarts may bring her back), keeps its
// place.
func (f *followedRecord) dueFrom(m *musician, slotless bool) (from time.Time, ok bool) {
	st := m.stream.Load()
	switch {
	case !f.connected:
		return f.since, st == nil
	case f.up || !slotless:
		return time.Time{}, false
	}
	from = f.downAt
	if st != nil {
		if last := st.LastAudioArrival(); last.After(from) {
			from = last
		}
	}
	return from, true
}

// givePlaces gives the places of records without a connection (evictUnconnectedLocked) to the
// musicians in waiting, fresh ones past maxMusicians in the order they are to be followed in.
// One that lost her place herself waits her placeLoss.wait before she takes another's (the slot
// timeout after her first loss, doubling with each further one up to maxPlaceWaitFactor slot
// timeouts): else the members that never connect would swap places among themselves at
// every Presence change. It returns the dropped records, their keys noted in lostPlaceAt, and
// when to look again: within a slot timeout, always later than now.
func (s *Session) givePlaces(present map[string]room.Meta, waiting []string, lostPlaceAt map[string]placeLoss) (evicted []*musician, recheckAt time.Time) {
	now, timeout := s.clock.Now(), s.peers.SlotTimeout()
	ready := 0 // the waiting ones that may take a place now: the first ones
	var readyAt time.Time
	for _, id := range waiting {
		if loss, lost := lostPlaceAt[id]; lost && now.Sub(loss.at) < loss.wait {
			readyAt = earliest(readyAt, loss.at.Add(loss.wait))
			continue
		}
		ready++
	}
	// Those waiting for a peer-cap slot themselves give theirs first: a musician followed in
	// their place joins that queue behind them otherwise, while the peer manager gives the slots
	// of those holding one unconnected to the queue by itself.
	var slotless map[string]bool
	if ready > 0 {
		slotless = map[string]bool{}
		for _, id := range s.peers.Stats().Waiting {
			slotless[string(id)] = true
		}
	}
	s.mu.Lock()
	evicted, dueAt, dueLeft := s.evictUnconnectedLocked(present, slotless, ready, now, timeout)
	s.mu.Unlock()
	if len(evicted) > 0 {
		readyAt = earliest(readyAt, now.Add(timeout))
	}
	if ready > len(evicted) {
		recheckAt = earliest(recheckAt, dueAt) // a record becomes due for the ones still waiting
	}
	if dueLeft > 0 || !dueAt.IsZero() {
		recheckAt = earliest(recheckAt, readyAt) // one waiting becomes ready for a record due
	}
	// And at least every slot timeout while anyone waits (those just evicted included): a
	// followed record's connection may go down, and the peer manager take its slot back, with no
	// Presence change to tell.
	recheckAt = earliest(recheckAt, now.Add(timeout))
	return evicted, recheckAt
}

// earliest is the earlier of a and b, a zero time meaning none.
func earliest(a, b time.Time) time.Time {
	if a.IsZero() || (!b.IsZero() && b.Before(a)) {
		return b
	}
	return a
}

// evictUnconnectedLocked drops up to want records that hold no audio connection and are due
// (followedRecord.dueFrom: never connected, or lost their connection and their peer-cap slot)
// since longer than the peer manager's slot timeout, so that musicians in Presence past
// maxMusicians get their places: else room members that track Presence and never answer an
// offer, or that connected once and went dark, present first, hold every place for good, and a
// musician who joins after them is never followed, never offered a connection (the peer
// manager's own reclaim, for its slots, cannot reach her). Those in slotless (waiting for a
// peer-cap slot) go first, then the longest followed; each one's key is noted in lostPlaceAt, so
// that it waits behind the others. A musician connected now, or away within her Presence-leave
// hold, is never dropped so. It returns the dropped records, whose peer-side state the caller
// releases, when the next record becomes due (zero: none) and how many due ones it left.
// Called with s.mu held.
func (s *Session) evictUnconnectedLocked(present map[string]room.Meta, slotless map[string]bool, want int, now time.Time, timeout time.Duration) (evicted []*musician, dueAt time.Time, dueLeft int) {
	var due []*musician
	for id, m := range s.musicians {
		f := s.followed[m]
		if _, ok := present[id]; !ok || m.provisional || s.away[id] == m || f == nil {
			continue
		}
		from, ok := f.dueFrom(m, slotless[id])
		if !ok {
			continue
		}
		if at := from.Add(timeout); at.After(now) {
			dueAt = earliest(dueAt, at)
			continue
		}
		due = append(due, m)
	}
	slices.SortFunc(due, func(a, b *musician) int {
		if slotless[a.id] != slotless[b.id] {
			if slotless[a.id] {
				return -1
			}
			return 1
		}
		if c := s.followed[a].since.Compare(s.followed[b].since); c != 0 {
			return c
		}
		return -room.CompareMembers(room.Member{PeerID: a.id, Meta: present[a.id]}, room.Member{PeerID: b.id, Meta: present[b.id]})
	})
	evicted = due[:min(want, len(due))]
	for _, m := range evicted {
		s.dropMusicianLocked(m)
		s.lostPlaceAt[m.id] = s.lostPlaceAt[m.id].next(now, timeout)
	}
	return evicted, dueAt, len(due) - len(evicted)
}

// maxPlaceWaitFactor caps the wait of a key that keeps losing its place (placeLoss.next), in
// slot timeouts: as peer's cap on the bound of a musician whose slot keeps being taken back.
const maxPlaceWaitFactor = 8

// placeLoss is when a Presence key last gave its place to one waiting and how long it waits
// before it takes another's (Session.lostPlaceAt).
type placeLoss struct {
	at   time.Time
	wait time.Duration
}

// next is the loss of a key that gives its place again at now: it waits the slot timeout after
// its first loss and twice as long after each next one, at most maxPlaceWaitFactor slot
// timeouts. Two members that never connect, alone in a full room with one waiting, would
// otherwise take each other's place at every slot timeout, each swap logged, for as long as
// their tabs stay open.
func (l placeLoss) next(now time.Time, timeout time.Duration) placeLoss {
	wait := timeout
	if l.wait > 0 {
		wait = min(2*l.wait, maxPlaceWaitFactor*timeout)
	}
	return placeLoss{at: now, wait: wait}
}

// warnOtherBridges logs one warning for each other led-bridge participant in Presence that it has
// not warned about while it stayed there. Two bridges in one room are fine in two venues, but on
// one LAN both drive the strips they find, which then show both senders' frames interleaved, and
// nothing else would say why. Its lines take the Presence lines' budget: a key costs a client
// nothing, and so does a flood of them claiming to be bridges.
func (s *Session) warnOtherBridges(present []room.Member) {
	slices.SortFunc(present, room.CompareMembers)
	for _, b := range present {
		s.mu.Lock()
		known := s.otherBridges[b.PeerID]
		s.otherBridges[b.PeerID] = true
		s.mu.Unlock()
		if known {
			continue
		}
		if suppressed, ok := s.presenceLog.Allow(s.clock.Now()); ok {
			s.log.Warn("another LED bridge is in the room: if it drives the same strips, they show both bridges' frames interleaved (stop one, or give each bridge its own devices)",
				presenceArgs(suppressed, "peer_id", b.PeerID, "name", b.Meta.Name, "client", b.Meta.Client)...)
		}
	}
}

// forgetAway drops the record of a musician who left Presence, unless she came back meanwhile
// (or it was dropped already), and logs her leave.
func (s *Session) forgetAway(m *musician) {
	s.mu.Lock()
	gone := s.away[m.id] == m
	if gone {
		delete(s.away, m.id)
		s.dropMusicianLocked(m)
	}
	s.mu.Unlock()
	if !gone {
		return
	}
	s.loop.musiciansChanged()
	if suppressed, ok := s.presenceLog.Allow(s.clock.Now()); ok {
		s.log.Info("musician left", presenceArgs(suppressed, musicianArgs(m.id, m.metaName())...)...)
	}
}

// addMusicianLocked puts a new record in musicians, with its streams counted in the metrics once
// replaced (streamDone). Its index (which picks her hue) is that of an away record of the same
// name whose audio stopped, the musician before her page reload (her peer id is new, she is not;
// reloadedAway), else the lowest
// that no record holds: hues are spread from index 0 on, and a counter that only grew would give
// each reload a new hue and, after a few, one that a present musician's hue is near. Called with
// s.mu held.
func (s *Session) addMusicianLocked(m *musician) {
	m.streamDone = s.met.totals.retire
	m.index = s.freeIndexLocked(m.meta.Name)
	s.musicians[m.id] = m
	s.followed[m] = &followedRecord{since: s.clock.Now()}
}

// reloadSilence is how long an away record's audio must have stopped for a new record of her name
// to be her after a page reload: the old tab's audio stops when it unloads, a second or more
// before the new one is in Presence. A record away while her audio still flows is a Realtime
// blip of a tab that will be back (its connection is held for that), and a newcomer of the same
// name ("Guest") beside her must not share her hue.
const reloadSilence = time.Second

// reloadedAway reports whether the away record o may be a reloaded page's old one
// (reloadSilence): no audio track, or none for reloadSilence.
func reloadedAway(o *musician) bool {
	st := o.stream.Load()
	return st == nil || st.Starved() >= reloadSilence
}

// freeIndexLocked returns the index for a new record named name (see addMusicianLocked).
func (s *Session) freeIndexLocked(name string) int {
	if name != "" {
		for _, o := range s.away {
			if o.metaName() == name && reloadedAway(o) {
				return o.index
			}
		}
	}
	used := make(map[int]bool, len(s.musicians))
	for _, o := range s.musicians {
		used[o.index] = true
	}
	i := 0
	for used[i] {
		i++
	}
	return i
}

// dropMusicianLocked removes a musician's record, and counts her stream's last packets in the
// metrics: nothing reads it any more. Called with s.mu held.
func (s *Session) dropMusicianLocked(m *musician) {
	delete(s.musicians, m.id)
	delete(s.followed, m)
	// Swapped out, so that a track of hers starting as she goes cannot hand it to streamDone too.
	if st := m.stream.Swap(nil); st != nil {
		s.met.totals.retire(st)
	}
}

// presenceArgs returns a Presence line's attributes args, and after them how many such lines the
// flood limit held back since the last one it let through (suppressedArgs).
func presenceArgs(suppressed int, args ...any) []any {
	return suppressedArgs("presence_lines_suppressed", suppressed, args...)
}

// suppressedArgs returns a rate-limited line's attributes args, and after them, under key, how
// many such lines its limit held back since the last one it let through, when it held back any:
// a zero says nothing an operator needs.
func suppressedArgs(key string, suppressed int, args ...any) []any {
	if suppressed > 0 {
		args = append(args, key, suppressed)
	}
	return args
}

// musicianArgs names a musician in a line: her id under the key every musician line uses, and
// her display name when she gave one.
func musicianArgs(id, name string) []any {
	if name == "" {
		return []any{"musician", id}
	}
	return []any{"musician", id, "name", name}
}

// Presence lines a flood may write at once, and then the least time between two of them: a
// band's comings and goings, a few a minute, are logged in full. (A lograte.Limiter's one line
// per interval would hold back a band arriving together, or a bridge joining a full room.)
const (
	presenceLogBurst = 20
	presenceLogEvery = 3 * time.Second
)

// noteRoomOccupancy records whether Presence holds a musician. When a musician joins a room that
// had been without musicians for Config.EmptyRoomReset while ledbridge was in it, the room's tempo
// and playback state go back to room.DefaultState first, and it reports true if that changed
// them: the state belonged to a band that left, and a stop it left behind would otherwise idle the
// strips for the next band, which may jam without ever pressing play (README "Modes"). A shorter
// absence (a page reload, a network blip of the last musician) keeps the state. Called with s.mu
// held.
func (s *Session) noteRoomOccupancy(joinedRoom, occupied bool, now time.Time) (reset bool) {
	if !joinedRoom {
		s.roomHadMusicians = s.roomHadMusicians || occupied
		return false
	}
	if !occupied {
		if s.roomHadMusicians && s.emptySince.IsZero() {
			s.emptySince = now
		}
		s.roomHadMusicians = false
		return false
	}
	s.roomHadMusicians = true
	emptyFor, wasEmpty := now.Sub(s.emptySince), !s.emptySince.IsZero()
	s.emptySince = time.Time{}
	if !wasEmpty || emptyFor < s.cfg.EmptyRoomReset {
		return false
	}
	def := room.DefaultState
	reset = s.tempo != def.Tempo || s.playing != def.IsPlaying || s.stopped
	s.tempo, s.playing, s.stopped = def.Tempo, def.IsPlaying, false
	return reset
}

// maxMusicians is how many musician records the session keeps: twice the peer cap, so that
// musicians waiting for a connection slot are still followed in Presence.
func (s *Session) maxMusicians() int {
	if s.cfg.Peer.MaxPeers > 0 {
		return 2 * s.cfg.Peer.MaxPeers
	}
	return 2 * peer.DefaultMaxPeers
}

// presenceMusician is the record of a musician known from Presence only: it has no analyser and
// no PCM buffer (about half a MiB together) until her audio arrives, as a participant may never
// send any and a flood of Presence keys costs a client nothing. onTrack gives it both before it
// hands the frame loop a stream: the loop reads them only once it sees one.
func presenceMusician(id string, meta room.Meta) *musician {
	return &musician{id: id, meta: meta, peerState: webrtc.PeerConnectionStateNew}
}

// The peer's reader looks for these on the sink onTrack returns: without EmptyMarker, every
// padding-only probe or comfort-noise packet would be concealed as a lost packet.
var (
	_ peer.CodecSwitcher = (*audio.Stream)(nil)
	_ peer.EmptyMarker   = (*audio.Stream)(nil)
)

// onTrack runs on the track's read goroutine when a musician's audio starts. The peer manager
// answers an offer only once Presence confirmed its sender, so the musician is normally known by
// now; should its record be missing (Presence changed meanwhile), it gets a provisional one that
// Presence confirms, or that goes when the connection closes.
func (s *Session) onTrack(id peer.MusicianID, codec webrtc.RTPCodecParameters) peer.RTPSink {
	s.mu.Lock()
	m := s.musicians[string(id)]
	if m == nil {
		var err error
		m, err = newMusician(string(id), room.Meta{Name: string(id)}, 0, s.cfg.Analysis)
		if err != nil {
			s.mu.Unlock()
			s.log.Error("cannot analyse musician", "musician", id, "err", err)
			return nil
		}
		m.provisional = true
		s.addMusicianLocked(m)
	}
	analysed := m.analyzer != nil
	s.mu.Unlock()
	if !analysed {
		// Built outside s.mu, which every tick takes; set under it, as two tracks of hers may
		// start at once. Both are in place before attachStream publishes the stream.
		fresh, err := newMusician(string(id), room.Meta{}, 0, s.cfg.Analysis)
		if err != nil {
			s.log.Error("cannot analyse musician", "musician", id, "err", err)
			return nil
		}
		s.mu.Lock()
		if m.analyzer == nil {
			m.analyzer, m.pcm = fresh.analyzer, fresh.pcm
		}
		s.mu.Unlock()
	}
	s.loop.musiciansChanged()
	st, err := m.attachStream(codec, s.clock.Now)
	if err != nil {
		s.log.Warn("unsupported audio track", "musician", id, "codec", codec.MimeType, "err", err)
		return nil
	}
	s.log.Info("receiving audio", "musician", id, "codec", codec.MimeType, "channels", codec.Channels)
	return st
}

func (s *Session) onPeerState(id peer.MusicianID, state webrtc.PeerConnectionState) {
	s.mu.Lock()
	m := s.musicians[string(id)]
	if m != nil && m.provisional && state == webrtc.PeerConnectionStateClosed {
		s.dropMusicianLocked(m) // never confirmed by Presence
		m = nil
		s.loop.musiciansChanged()
	}
	away := m != nil && s.away[string(id)] == m && state == webrtc.PeerConnectionStateClosed
	firstUp := false
	if f := s.followed[m]; f != nil {
		firstUp = state == webrtc.PeerConnectionStateConnected && !f.connected
		f.noteState(state, s.clock.Now())
	}
	s.mu.Unlock()
	if away {
		s.forgetAway(m) // the peer manager released her: the grace ended, or her connection closed
		return
	}
	if m != nil {
		m.setPeerState(state)
	}
	// The peer manager logs a connection's failures, closes and comebacks with their detail
	// (attempt, backoff); her first connection is the one change it does not log.
	level := slog.LevelDebug
	if firstUp {
		level = slog.LevelInfo
	}
	s.log.Log(context.Background(), level, "musician connection", "musician", id, "state", state.String())
}
