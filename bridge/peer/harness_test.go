package peer

import (
	"context"
	"encoding/json"
	"log/slog"
	"math/rand/v2"
	"net"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pion/ice/v4"
	"github.com/pion/interceptor"
	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/pion/transport/v5"
	"github.com/pion/webrtc/v4"

	"github.com/ledbridge/ledbridge/bridge/room"
)

const bridgeID = "bridge-1"

// testLogger writes to the test log only when -v is given, keeping failures readable.
func testLogger(t *testing.T) *slog.Logger {
	if testing.Verbose() {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug})).With("test", t.Name())
	}
	return slog.New(slog.DiscardHandler)
}

// requireLoopback checks that the loopback interface is up (skipping, or
// failing under CI, when it is not): the tests' peers talk over it.
func requireLoopback(t *testing.T) {
	t.Helper()
	ifs, err := net.Interfaces()
	if err != nil {
		requireOrSkip(t, "cannot list network interfaces: "+err.Error())
	}
	for _, i := range ifs {
		if i.Name == "lo" && i.Flags&net.FlagUp != 0 {
			return
		}
	}
	requireOrSkip(t, `no "lo" loopback interface that is up`)
}

// testRoom stands in for the Realtime channel: it carries signals between the
// bridge's Manager and the test musicians, through the JSON encoding and the
// validating decoder that the real session uses.
type testRoom struct {
	t   *testing.T
	mgr *Manager

	mu         sync.Mutex
	musicians  map[string]*testMusician
	fromBridge []room.Signal // every signal the bridge sent, in order
	// holdBridge, if set, sees each bridge signal first; returning true
	// means the test takes care of delivering it.
	holdBridge func(sig room.Signal) bool
	// holdMusician does the same for signals from musicians.
	holdMusician func(sig room.Signal) bool
}

func (r *testRoom) setHolds(bridge, musician func(room.Signal) bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.holdBridge, r.holdMusician = bridge, musician
}

func newTestRoom(t *testing.T) *testRoom {
	return &testRoom{t: t, musicians: map[string]*testMusician{}}
}

func (r *testRoom) sendFromBridge(ctx context.Context, sig room.Signal) error {
	b, err := json.Marshal(sig)
	if err != nil {
		r.t.Errorf("bridge sent an unencodable signal %+v: %v", sig, err)
		return err
	}
	decoded, err := room.DecodeSignal(b)
	if err != nil {
		r.t.Errorf("bridge sent an invalid signal %s: %v", b, err)
		return err
	}
	r.mu.Lock()
	r.fromBridge = append(r.fromBridge, decoded)
	hold := r.holdBridge
	m := r.musicians[decoded.TargetPeerID]
	r.mu.Unlock()
	if hold != nil && hold(decoded) {
		return nil
	}
	if m != nil {
		m.receive(decoded)
	}
	return nil
}

func (r *testRoom) bridgeSignals() []room.Signal {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]room.Signal(nil), r.fromBridge...)
}

// toBridge encodes a musician's signal as it travels and hands it to the Manager.
func (r *testRoom) toBridge(sig room.Signal) {
	b, err := json.Marshal(sig)
	if err != nil {
		r.t.Errorf("musician signal does not encode: %v", err)
		return
	}
	decoded, err := room.DecodeSignal(b)
	if err != nil {
		r.t.Errorf("musician signal %s invalid: %v", b, err)
		return
	}
	r.mu.Lock()
	hold := r.holdMusician
	r.mu.Unlock()
	if hold != nil && hold(decoded) {
		return
	}
	r.mgr.HandleSignal(decoded)
}

// recordingSink is the RTPSink a test's OnTrack returns.
type recordingSink struct {
	packets   atomic.Int64
	fromMic   atomic.Int64 // payloads carrying testMusician's marker
	lastSeq   atomic.Uint32
	closed    atomic.Int32
	mime      string
	afterStop atomic.Int64 // WriteRTP calls after Close
}

func (s *recordingSink) WriteRTP(p *rtp.Packet) {
	if s.closed.Load() != 0 {
		s.afterStop.Add(1)
	}
	s.packets.Add(1)
	s.lastSeq.Store(uint32(p.SequenceNumber))
	if len(p.Payload) >= 4 && string(p.Payload[:4]) == micMarker {
		s.fromMic.Add(1)
	}
}

func (s *recordingSink) Close() error { s.closed.Add(1); return nil }

// sinks collects one recordingSink per musician track.
type sinks struct {
	mu sync.Mutex
	by map[MusicianID][]*recordingSink
}

func (s *sinks) onTrack(id MusicianID, codec webrtc.RTPCodecParameters) RTPSink {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.by == nil {
		s.by = map[MusicianID][]*recordingSink{}
	}
	rs := &recordingSink{mime: codec.MimeType}
	s.by[id] = append(s.by[id], rs)
	return rs
}

func (s *sinks) get(id MusicianID) []*recordingSink {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]*recordingSink(nil), s.by[id]...)
}

func (s *sinks) packets(id MusicianID) int64 {
	var n int64
	for _, rs := range s.get(id) {
		n += rs.packets.Load()
	}
	return n
}

func (s *sinks) fromMic(id MusicianID) int64 {
	var n int64
	for _, rs := range s.get(id) {
		n += rs.fromMic.Load()
	}
	return n
}

// bridgeConfig is a Manager config for loopback tests.
func bridgeConfig(t *testing.T, r *testRoom, s *sinks) Config {
	return Config{
		SelfID:       bridgeID,
		NetworkTypes: []string{"udp4"},
		Interfaces:   []string{"lo"},
		OfferDelay:   time.Hour, // tests that want the bridge to offer set a short one
		SendSignal:   r.sendFromBridge,
		OnTrack:      s.onTrack,
		Logger:       testLogger(t),
	}
}

// runManager starts a Manager's Run on r; cancel stops it and done yields
// what Run returned.
func runManager(t *testing.T, cfg Config, r *testRoom) (m *Manager, cancel context.CancelFunc, done <-chan error) {
	t.Helper()
	m, err := NewManager(cfg)
	if err != nil {
		t.Fatal(err)
	}
	r.mgr = m
	ctx, cancel := context.WithCancel(context.Background())
	ran := make(chan error, 1)
	go func() { ran <- m.Run(ctx) }()
	return m, cancel, ran
}

// startManager runs a Manager until the test ends and waits for Run to return.
func startManager(t *testing.T, cfg Config, r *testRoom) *Manager {
	t.Helper()
	m, cancel, done := runManager(t, cfg, r)
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("Run returned %v", err)
			}
		case <-time.After(20 * time.Second):
			t.Error("Run did not return 20 s after cancel")
		}
	})
	return m
}

// micMarker starts every payload a well-behaved test musician sends.
const micMarker = "MIC!"

type musicianOpts struct {
	offerFirst bool          // add the mic track at once, so the musician offers
	garbage    bool          // send random payload bytes instead of marked ones
	nack       bool          // offer NACK for audio, skip every lossEvery-th sequence number, record NACKs
	net        transport.Net // vnet instead of loopback
	// failedAfter, on vnet, is her ICE failed timeout (1 s if zero): longer for a test whose
	// outage the bridge must see come back before her side gives up.
	failedAfter time.Duration
	// dataChannel opens a data channel before the first offer, so the offer has an
	// application section and SCTP is started (browsers that chat do this).
	dataChannel bool
	// churnSSRC sends every RTP packet under a new SSRC (an interceptor rewrites it
	// before SRTP, so the bridge authenticates each one).
	churnSSRC bool
	// rewritePT, if set, gives each outgoing RTP packet the payload type it returns (n
	// counts the packets sent, from 1; seq and pt are the packet's), as a sender that
	// switches codec or sends a stray packet of another type would (an interceptor
	// rewrites it before SRTP).
	rewritePT func(n uint32, seq uint16, pt uint8) uint8
	// media, if set, gives each packet's payload and how far its timestamp advances from
	// the one before (its duration in RTP clock units), in place of the marked payloads.
	media func(seq uint16) (payload []byte, tsStep uint32)
	// editSDP, if set, rewrites each offer and answer she sends, as a page that edits its
	// SDP (its Opus fmtp, say) does; pion refuses an edited description, so she sets hers.
	editSDP func(sdp string) string
	// burst, if above 1, is how many packets she sends every 20 ms (a flood), each a 20 ms
	// packet of its own.
	burst int
	// divertSSRC, if set, sends nine packets in ten under that SSRC instead of her track's
	// (0: where Chrome sends its bandwidth probes; another: one her offer does not declare); an
	// interceptor rewrites them before SRTP.
	divertSSRC *uint32
}

// ssrcDivert is a musician-side interceptor that applies musicianOpts.divertSSRC.
type ssrcDivert struct {
	interceptor.NoOp
	to uint32
	n  atomic.Uint32
}

func (c *ssrcDivert) NewInterceptor(string) (interceptor.Interceptor, error) { return c, nil }

func (c *ssrcDivert) BindLocalStream(_ *interceptor.StreamInfo, w interceptor.RTPWriter) interceptor.RTPWriter {
	return interceptor.RTPWriterFunc(func(h *rtp.Header, payload []byte, a interceptor.Attributes) (int, error) {
		diverted := *h
		if c.n.Add(1)%10 != 0 {
			diverted.SSRC = c.to
		}
		return w.Write(&diverted, payload, a)
	})
}

// ptRewrite is a musician-side interceptor that applies musicianOpts.rewritePT.
type ptRewrite struct {
	interceptor.NoOp
	n       atomic.Uint32
	rewrite func(n uint32, seq uint16, pt uint8) uint8
}

func (c *ptRewrite) NewInterceptor(string) (interceptor.Interceptor, error) { return c, nil }

func (c *ptRewrite) BindLocalStream(_ *interceptor.StreamInfo, w interceptor.RTPWriter) interceptor.RTPWriter {
	return interceptor.RTPWriterFunc(func(h *rtp.Header, payload []byte, a interceptor.Attributes) (int, error) {
		rewritten := *h
		rewritten.PayloadType = c.rewrite(c.n.Add(1), h.SequenceNumber, h.PayloadType)
		return w.Write(&rewritten, payload, a)
	})
}

// ssrcChurn is a musician-side interceptor that gives every outgoing RTP packet a new SSRC.
type ssrcChurn struct {
	interceptor.NoOp
	n atomic.Uint32
}

func (c *ssrcChurn) NewInterceptor(string) (interceptor.Interceptor, error) { return c, nil }

func (c *ssrcChurn) BindLocalStream(_ *interceptor.StreamInfo, w interceptor.RTPWriter) interceptor.RTPWriter {
	return interceptor.RTPWriterFunc(func(h *rtp.Header, payload []byte, a interceptor.Attributes) (int, error) {
		churned := *h
		churned.SSRC = h.SSRC + c.n.Add(1)
		return w.Write(&churned, payload, a)
	})
}

// testMusician is a browser-like participant written with pion: the impolite
// side of perfect negotiation, trickling ICE, sending one Opus track.
type testMusician struct {
	t     *testing.T
	id    string
	room  *testRoom
	opts  musicianOpts
	pc    *webrtc.PeerConnection
	track *webrtc.TrackLocalStaticRTP
	chat  *webrtc.DataChannel // opts.dataChannel

	inbox     chan room.Signal
	negNeeded chan struct{}
	stop      chan struct{}
	wg        sync.WaitGroup
	rtcpDone  sync.WaitGroup // readRTCP, which ends only when pc closes

	trackAdded   bool     // owned by the run goroutine
	nacked       sync.Map // sequence number (uint16) → true, from NACKs the bridge sent (opts.nack)
	ignoredOffer atomic.Int64
	strayAnswers atomic.Int64 // answers that came with no offer of ours outstanding
	offersSent   atomic.Int64
	state        atomic.Int32

	// sendMu orders pauseAudio with the sending of a packet.
	sendMu   sync.Mutex
	paused   bool   // guarded by sendMu: sendAudio sends nothing
	lastSent uint16 // guarded by sendMu: the sequence number of the newest packet written
}

// musicianAPI is a browser stand-in's pion API: default codecs (NACK for audio if opts.nack),
// IPv4 host candidates on loopback only, or on opts.net's virtual network.
func musicianAPI(t *testing.T, opts musicianOpts) *webrtc.API {
	t.Helper()
	var me webrtc.MediaEngine
	if err := me.RegisterDefaultCodecs(); err != nil {
		t.Fatal(err)
	}
	if opts.nack {
		me.RegisterFeedback(webrtc.RTCPFeedback{Type: "nack"}, webrtc.RTPCodecTypeAudio)
	}
	var se webrtc.SettingEngine
	se.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4})
	se.SetIncludeLoopbackCandidate(true)
	se.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled)
	if opts.net != nil {
		se.SetNet(opts.net)
		failed := time.Second
		if opts.failedAfter > 0 {
			failed = opts.failedAfter
		}
		se.SetICETimeouts(500*time.Millisecond, failed, 100*time.Millisecond)
	} else {
		se.SetInterfaceFilter(func(name string) bool { return name == "lo" })
	}
	if opts.churnSSRC || opts.rewritePT != nil || opts.divertSSRC != nil {
		var reg interceptor.Registry
		if opts.divertSSRC != nil {
			reg.Add(&ssrcDivert{to: *opts.divertSSRC})
		}
		if opts.churnSSRC {
			reg.Add(&ssrcChurn{})
		}
		if opts.rewritePT != nil {
			reg.Add(&ptRewrite{rewrite: opts.rewritePT})
		}
		return webrtc.NewAPI(webrtc.WithMediaEngine(&me), webrtc.WithSettingEngine(se), webrtc.WithInterceptorRegistry(&reg))
	}
	return webrtc.NewAPI(webrtc.WithMediaEngine(&me), webrtc.WithSettingEngine(se))
}

func newTestMusician(t *testing.T, r *testRoom, id string, opts musicianOpts) *testMusician {
	t.Helper()
	return newTestMusicianOn(t, musicianAPI(t, opts), r, id, opts, nil)
}

// newTestMusicianOn is newTestMusician on api (a browser's codec numbering, say); beforeRun, if
// not nil, changes her connection after her microphone is added (when she offers first) and
// before she starts negotiating.
func newTestMusicianOn(t *testing.T, api *webrtc.API, r *testRoom, id string, opts musicianOpts, beforeRun func(*webrtc.PeerConnection)) *testMusician {
	t.Helper()
	pc, err := api.NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		t.Fatal(err)
	}
	track, err := webrtc.NewTrackLocalStaticRTP(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2}, "mic", id)
	if err != nil {
		t.Fatal(err)
	}
	m := &testMusician{
		t: t, id: id, room: r, opts: opts, pc: pc, track: track,
		inbox: make(chan room.Signal, 1024), negNeeded: make(chan struct{}, 1), stop: make(chan struct{}),
	}
	pc.OnNegotiationNeeded(func() {
		select {
		case m.negNeeded <- struct{}{}:
		default:
		}
	})
	pc.OnICECandidate(func(c *webrtc.ICECandidate) {
		sig := room.Signal{Type: room.SignalCandidate, FromPeerID: id, TargetPeerID: bridgeID}
		if c != nil {
			j := c.ToJSON()
			sig.Candidate = &room.ICECandidate{Candidate: j.Candidate, SDPMid: j.SDPMid, SDPMLineIndex: j.SDPMLineIndex, UsernameFragment: j.UsernameFragment}
		}
		r.toBridge(sig)
	})
	pc.OnConnectionStateChange(func(s webrtc.PeerConnectionState) { m.state.Store(int32(s)) })
	r.mu.Lock()
	r.musicians[id] = m
	r.mu.Unlock()

	if opts.dataChannel {
		if m.chat, err = pc.CreateDataChannel("chat", nil); err != nil {
			t.Fatal(err)
		}
	}
	if opts.offerFirst {
		m.addTrack() // before run starts: trackAdded is the run goroutine's afterwards
	}
	if beforeRun != nil {
		beforeRun(pc)
	}
	m.wg.Add(2)
	go m.run()
	go m.sendAudio()
	t.Cleanup(m.close)
	return m
}

func (m *testMusician) addTrack() {
	sender, err := m.pc.AddTrack(m.track)
	if err != nil {
		m.t.Errorf("musician %s AddTrack: %v", m.id, err)
		return
	}
	m.trackAdded = true
	if m.opts.nack {
		m.rtcpDone.Add(1)
		go m.readRTCP(sender)
	}
}

// lossEvery: with opts.nack, the musician never sends every lossEvery-th sequence number.
const lossEvery = 25

// readRTCP records the sequence numbers the bridge's NACKs ask for; it ends when the
// PeerConnection closes. (No read deadline: in pion v4.2.26 setting one races with Send.)
func (m *testMusician) readRTCP(sender *webrtc.RTPSender) {
	defer m.rtcpDone.Done()
	for {
		pkts, _, err := sender.ReadRTCP()
		if err != nil {
			return
		}
		for _, p := range pkts {
			if n, ok := p.(*rtcp.TransportLayerNack); ok {
				for _, pair := range n.Nacks {
					for _, seq := range pair.PacketList() {
						m.nacked.Store(seq, true)
					}
				}
			}
		}
	}
}

// negotiateNow adds the microphone track from the musician's goroutine, which
// makes pion fire negotiationneeded, so the musician offers.
func (m *testMusician) negotiateNow() {
	m.receive(room.Signal{Type: "add-track"})
}

func (m *testMusician) receive(sig room.Signal) {
	select {
	case m.inbox <- sig:
	default:
		m.t.Errorf("musician %s inbox full", m.id)
	}
}

// run is perfect negotiation, impolite side.
func (m *testMusician) run() {
	defer m.wg.Done()
	for {
		select {
		case <-m.stop:
			return
		case <-m.negNeeded:
			if m.pc.SignalingState() != webrtc.SignalingStateStable {
				continue
			}
			offer, err := m.pc.CreateOffer(nil)
			if err == nil {
				err = m.pc.SetLocalDescription(offer)
			}
			if err != nil {
				m.t.Logf("musician %s offer: %v", m.id, err)
				continue
			}
			m.offersSent.Add(1)
			m.room.toBridge(room.Signal{Type: room.SignalOffer, FromPeerID: m.id, TargetPeerID: bridgeID,
				Description: &room.SessionDescription{Type: "offer", SDP: m.edited(offer.SDP)}})
		case sig := <-m.inbox:
			m.handle(sig)
		}
	}
}

// edited is the SDP of a description she made as she sends it (opts.editSDP).
func (m *testMusician) edited(sdp string) string {
	if m.opts.editSDP != nil {
		return m.opts.editSDP(sdp)
	}
	return sdp
}

func (m *testMusician) handle(sig room.Signal) {
	switch sig.Type {
	case "add-track":
		m.addTrack()
	case room.SignalOffer:
		if m.pc.SignalingState() != webrtc.SignalingStateStable {
			m.ignoredOffer.Add(1) // impolite: our own offer wins a collision
			return
		}
		if err := m.pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeOffer, SDP: sig.Description.SDP}); err != nil {
			m.t.Errorf("musician %s SetRemoteDescription(offer): %v", m.id, err)
			return
		}
		if !m.trackAdded {
			m.addTrack() // answer with the microphone
		}
		answer, err := m.pc.CreateAnswer(nil)
		if err == nil {
			err = m.pc.SetLocalDescription(answer)
		}
		if err != nil {
			m.t.Errorf("musician %s answer: %v", m.id, err)
			return
		}
		m.room.toBridge(room.Signal{Type: room.SignalAnswer, FromPeerID: m.id, TargetPeerID: bridgeID,
			Description: &room.SessionDescription{Type: "answer", SDP: m.edited(answer.SDP)}})
	case room.SignalAnswer:
		if m.pc.SignalingState() == webrtc.SignalingStateStable {
			// An answer sent again in case it was lost, and it was not: a browser's
			// setRemoteDescription refuses it, and perfect negotiation logs that.
			m.strayAnswers.Add(1)
			return
		}
		if err := m.pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: sig.Description.SDP}); err != nil {
			m.t.Errorf("musician %s SetRemoteDescription(answer): %v", m.id, err)
		}
	case room.SignalCandidate:
		var init webrtc.ICECandidateInit
		if c := sig.Candidate; c != nil {
			init = webrtc.ICECandidateInit{Candidate: c.Candidate, SDPMid: c.SDPMid, SDPMLineIndex: c.SDPMLineIndex, UsernameFragment: c.UsernameFragment}
		}
		if err := m.pc.AddICECandidate(init); err != nil && m.ignoredOffer.Load() == 0 {
			m.t.Logf("musician %s AddICECandidate: %v", m.id, err)
		}
	}
}

// sendAudio sends a 20 ms Opus-sized packet every 20 ms while the track is bound, and not paused.
func (m *testMusician) sendAudio() {
	defer m.wg.Done()
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	rng := rand.New(rand.NewPCG(uint64(len(m.id)), 7))
	var seq uint16
	var ts uint32
	payload := make([]byte, 1200)
	for {
		select {
		case <-m.stop:
			return
		case <-tick.C:
		}
		m.sendMu.Lock()
		for range max(1, m.opts.burst) {
			if m.paused {
				break
			}
			seq++
			m.sendPacket(seq, &ts, rng, payload)
		}
		m.sendMu.Unlock()
	}
}

// sendPacket sends packet seq, advancing *ts by its duration; m.sendMu is held.
func (m *testMusician) sendPacket(seq uint16, ts *uint32, rng *rand.Rand, payload []byte) {
	var media []byte
	if m.opts.media != nil {
		var step uint32
		media, step = m.opts.media(seq)
		*ts += step
	} else {
		*ts += 960
	}
	if m.opts.nack && seq%lossEvery == 0 {
		return // lost on the way
	}
	pkt := rtp.Packet{Header: rtp.Header{Version: 2, SequenceNumber: seq, Timestamp: *ts}}
	if media != nil {
		pkt.Payload = media
	} else if m.opts.garbage {
		n := 1 + rng.IntN(len(payload)-1)
		for i := range payload[:n] {
			payload[i] = byte(rng.Uint32())
		}
		pkt.Payload = payload[:n]
		pkt.Marker = rng.IntN(2) == 0
		pkt.Timestamp = rng.Uint32() // timestamps that jump anywhere
	} else {
		n := copy(payload, micMarker)
		for i := n; i < 80; i++ {
			payload[i] = byte(i)
		}
		pkt.Payload = payload[:80]
	}
	// Errors before the track is bound (no transceiver yet) are expected.
	if m.track.WriteRTP(&pkt) == nil {
		m.lastSent = seq
	}
}

// pauseAudio stops sendAudio and returns the sequence number of the last packet it wrote: no
// packet is written after it returns.
func (m *testMusician) pauseAudio() uint16 {
	m.sendMu.Lock()
	defer m.sendMu.Unlock()
	m.paused = true
	return m.lastSent
}

// resumeAudio lets sendAudio send again, from where it stopped.
func (m *testMusician) resumeAudio() {
	m.sendMu.Lock()
	defer m.sendMu.Unlock()
	m.paused = false
}

// waitAudioStopped pauses mus's audio and waits until its last packet has reached the
// bridge's newest sink for it: then the bridge has heard the last of it.
func waitAudioStopped(t *testing.T, s *sinks, mus *testMusician) {
	t.Helper()
	last := mus.pauseAudio()
	waitFor(t, mus.id+"'s last packet at the bridge", func() bool {
		all := s.get(MusicianID(mus.id))
		return len(all) > 0 && uint16(all[len(all)-1].lastSeq.Load()) == last
	})
}

func (m *testMusician) connState() webrtc.PeerConnectionState {
	return webrtc.PeerConnectionState(m.state.Load())
}

func (m *testMusician) close() {
	select {
	case <-m.stop:
		return
	default:
	}
	close(m.stop)
	m.wg.Wait()
	if err := m.pc.Close(); err != nil {
		m.t.Logf("musician %s close: %v", m.id, err)
	}
	m.rtcpDone.Wait()
}

// waitFor polls cond until it holds; the timeout only bounds a broken test.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("gave up waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func musicianStats(m *Manager, id MusicianID) (MusicianStats, bool) {
	for _, s := range m.Stats().Musicians {
		if s.ID == id {
			return s, true
		}
	}
	return MusicianStats{}, false
}

func bridgeConnected(m *Manager, id MusicianID) func() bool {
	return func() bool {
		s, ok := musicianStats(m, id)
		return ok && s.ConnectionState == webrtc.PeerConnectionStateConnected
	}
}

func countSignals(sigs []room.Signal, typ room.SignalType, target string) int {
	n := 0
	for _, s := range sigs {
		if s.Type == typ && s.TargetPeerID == target {
			n++
		}
	}
	return n
}

func sdpHas(sdp, line string) bool {
	for _, l := range strings.Split(sdp, "\r\n") {
		if l == line {
			return true
		}
	}
	return false
}
