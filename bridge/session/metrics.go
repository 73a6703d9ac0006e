package session

import (
	"sync"

	"github.com/pion/webrtc/v4"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/ledbridge/ledbridge/analysis/effect"
	"github.com/ledbridge/ledbridge/bridge/audio"
	"github.com/ledbridge/ledbridge/bridge/realtime"
	"github.com/ledbridge/ledbridge/bridge/room"
	"github.com/ledbridge/ledbridge/wled"
)

// metrics are the session's Prometheus series. Counters the hot path bumps are prometheus
// counters (atomic adds, no allocation); everything owned by other parts (device outputs, peers,
// the ticker) is read at scrape time by the collector.
//
// No series is labelled with a musician's peer id: her tab chooses it (PROTOCOL.md: unique per
// tab, new on every reload), so every reload, and every id anyone in the room makes up, would be
// a new series for as long as the process runs. Per-musician detail is on /api/status.
type metrics struct {
	s              *Session
	frameTime      prometheus.Histogram
	framesRendered prometheus.Counter
	dropped        *prometheus.CounterVec
	reconnects     prometheus.Counter
	// realtimeConnected is 1 while the channel is joined: reconnects counts every attempt, so its
	// rate says how hard the client is trying, not whether the room is joined now.
	realtimeConnected prometheus.Gauge
	loopErrors        *prometheus.CounterVec
	// ignoredMusicians is how many musicians in Presence are past the session's cap.
	ignoredMusicians prometheus.Gauge
	// placesGiven counts the records without a connection that gave their place to a musician
	// waiting past the cap (evictUnconnectedLocked).
	placesGiven prometheus.Counter
	lastState   realtime.State

	deviceFrames  *prometheus.Desc
	devicePackets *prometheus.Desc
	deviceErrors  *prometheus.Desc
	deviceDropped *prometheus.Desc
	lateTicks     *prometheus.Desc
	ticks         *prometheus.Desc
	peersByState  *prometheus.Desc
	packetsLost   *prometheus.Desc
	musicians     *prometheus.Desc
	// silent counts the musicians whose connection is up and whose audio has not arrived for
	// her silenceWait, the gap after which the loop treats her as stopped: nothing of hers
	// lights (a sender in Opus DTX, a packet every ≈ 400 ms, is not stopped between packets).
	silent          *prometheus.Desc
	packetsReceived *prometheus.Desc
	// droppedSamples and packetsSkipped are audio that arrived and was thrown away unheard,
	// which packetsLost does not count (audio.StreamStats: RingDropped; Stale, OverBudget).
	droppedSamples *prometheus.Desc
	packetsSkipped *prometheus.Desc
	// impostorOffers is peer.Stats.ImpostorOffers: every musician's, those gone included.
	impostorOffers *prometheus.Desc
	// iceRestarts is peer.Stats' ICE restarts by reason, every musician's, those gone included:
	// address_gone (AddressGoneRestarts) and other (the rest of ICERestarts: her connection
	// failed, or did not come up).
	iceRestarts *prometheus.Desc
	// The signal budget's work (peer.Config.MaxSignalsPerSecond): non-zero means offers storm.
	signalsDropped *prometheus.Desc
	offersDeferred *prometheus.Desc
	// slotsReclaimed is peer.Stats.SlotsReclaimed: peer-cap slots held unconnected past the slot
	// timeout, given to a musician waiting for one.
	slotsReclaimed *prometheus.Desc
	// deviceReopenFailures counts a strip's sockets that could not be re-opened (wled.OutputStats):
	// the strip stays dark until a later try works, and the log says so at most once a minute.
	deviceReopenFailures *prometheus.Desc
	// deviceOnline is the status page's online of each listed strip: 0 for a configured line not
	// driven yet, which has its series (all at 0) from start-up under the labels its strip takes.
	deviceOnline *prometheus.Desc
	// loopLook is the status page's look (what the strips show, or fade to), as one series per
	// look the code knows (shownLooks): 1 for the current one.
	loopLook *prometheus.Desc

	totals runningTotals
}

// runningTotals keeps the audio counters, whose counts live in streams that come and go, as
// counters that never go down: a musician's stream is dropped when she leaves or sends a new
// track. A scrape adds what each current stream counted since the last scrape (all of it for a
// stream it sees first); a stream dropped is folded in once, when it is dropped (retire), with
// what it counted since the last scrape that saw it, if any did. So a musician who comes and goes
// between two scrapes counts, and nothing is kept of a stream once retired.
//
// A stream is retired once no scrape can list it any more (swapped out of its musician's record),
// and a scrape lists and counts the streams with mu held: a stream is counted up to a point by
// one or the other, never twice.
type runningTotals struct {
	mu      sync.Mutex
	streams map[*audio.Stream]audio.StreamStats // counted up to these by a scrape, until retired
	lost    uint64
	packets uint64
	// Thrown away unheard: samples pushed out of the ring, packets not decoded.
	ringDropped, stale, overBudget uint64
}

// retire folds a stream that no musician's record holds any more into the totals.
func (t *runningTotals) retire(st *audio.Stream) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.addLocked(st)
	delete(t.streams, st)
}

// addLocked adds what the stream counted since the last scrape that saw it.
func (t *runningTotals) addLocked(st *audio.Stream) {
	now, before := st.Stats(), t.streams[st]
	t.lost += now.Lost - before.Lost
	t.packets += now.Packets - before.Packets
	t.ringDropped += now.RingDropped - before.RingDropped
	t.stale += now.Stale - before.Stale
	t.overBudget += now.OverBudget - before.OverBudget
	t.streams[st] = now
}

func newMetrics(reg prometheus.Registerer, s *Session) (*metrics, error) {
	m := &metrics{
		s:      s,
		totals: runningTotals{streams: map[*audio.Stream]audio.StreamStats{}},
		frameTime: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "ledbridge_loop_frame_seconds",
			Help:    "Time one 60 fps tick takes: analysis of every source, render and submit of every strip.",
			Buckets: []float64{.0001, .00025, .0005, .001, .002, .004, .008, .016, .033},
		}),
		framesRendered: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "ledbridge_loop_frames_rendered_total", Help: "Strip frames rendered and submitted to device outputs.",
		}),
		dropped: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "ledbridge_room_dropped_messages_total", Help: "Broadcasts dropped, by event: their payload failed validation, or (led-update) the frame was a straggler or a second sender's.",
		}, []string{"event"}),
		reconnects: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "ledbridge_realtime_reconnects_total", Help: "Realtime reconnect attempts: one for each loss of the connection, and one more for each retry that failed.",
		}),
		realtimeConnected: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "ledbridge_realtime_connected", Help: "1 while the room's Realtime channel is joined, else 0.",
		}),
		loopErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "ledbridge_loop_errors_total", Help: "Frame loop steps that failed, by step (render: a strip's frame; sound_sync: a sound sync packet).",
		}, []string{"step"}),
		ignoredMusicians: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "ledbridge_room_musicians_ignored", Help: "Musicians in Presence that ledbridge does not follow because it already follows twice its peer cap.",
		}),
		placesGiven: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "ledbridge_room_musicians_unfollowed_total",
			Help: "Musicians in Presence the session stopped following, without a connection for longer than the peer slot timeout, " +
				"to follow one waiting past twice the peer cap in their place (room members that track Presence and never answer an offer, or went dark).",
		}),
		deviceFrames:  prometheus.NewDesc("ledbridge_wled_frames_sent_total", "Frames sent to a device.", deviceLabels, nil),
		devicePackets: prometheus.NewDesc("ledbridge_wled_packets_sent_total", "UDP packets sent to a device.", deviceLabels, nil),
		deviceErrors:  prometheus.NewDesc("ledbridge_wled_send_errors_total", "Frames that failed to send to a device.", deviceLabels, nil),
		deviceDropped: prometheus.NewDesc("ledbridge_wled_frames_dropped_total", "Frames replaced by a newer one before they were sent.", deviceLabels, nil),
		lateTicks:     prometheus.NewDesc("ledbridge_loop_late_ticks_total", "Frame slots skipped because a tick started more than a period late.", nil, nil),
		ticks:         prometheus.NewDesc("ledbridge_loop_ticks_total", "Ticks of the frame loop.", nil, nil),
		peersByState:  prometheus.NewDesc("ledbridge_webrtc_peers", "Musicians' peer connections by state.", []string{"state"}, nil),
		packetsLost:   prometheus.NewDesc("ledbridge_audio_packets_lost_total", "Musicians' RTP packets that never arrived.", nil, nil),
		musicians:     prometheus.NewDesc("ledbridge_room_musicians", "Musicians the session follows (at most twice the peer cap; ledbridge_room_musicians_ignored counts the rest).", nil, nil),
		silent: prometheus.NewDesc("ledbridge_room_musicians_silent",
			"Musicians whose connection is up but whose audio has not arrived for as long as the frame loop waits before treating them as stopped.", nil, nil),
		packetsReceived: prometheus.NewDesc("ledbridge_audio_packets_received_total", "Musicians' RTP packets with audio received.", nil, nil),
		droppedSamples: prometheus.NewDesc("ledbridge_audio_dropped_samples_total",
			"Musicians' decoded audio, in 48 kHz samples (48000 is one second of one musician), thrown away unheard because the frame loop "+
				"did not read it within the 150 ms each musician's buffer holds: the bridge is short of CPU. Notes in it never lit.", nil, nil),
		packetsSkipped: prometheus.NewDesc("ledbridge_audio_packets_skipped_total",
			"Musicians' RTP packets received but not decoded, by reason: stale, part of a backlog (a network stall, or a bridge short of CPU "+
				"reading its socket late) older than the newest 150 ms that arrived with it; over_budget, a sender's packets coming faster than "+
				"1.2 times real time for longer than a second (a flooding peer).", []string{"reason"}, nil),
		impostorOffers: prometheus.NewDesc("ledbridge_webrtc_impostor_offers_total",
			"Offers under a musician's peer id refused unanswered while her connection was up and her audio arriving, "+
				"because they named another DTLS certificate or other ICE credentials than her tab's (another room member's); "+
				"and answers to the bridge's offers naming another DTLS certificate than her connection's.",
			nil, nil),
		iceRestarts: prometheus.NewDesc("ledbridge_webrtc_ice_restarts_total",
			"ICE restarts of musicians' connections the bridge offered, by reason: address_gone, the host address the connection "+
				"was on went (a new DHCP lease, Wi-Fi roaming); other, the connection failed or did not come up.",
			[]string{"reason"}, nil),
		signalsDropped: prometheus.NewDesc("ledbridge_webrtc_signals_dropped_total",
			"Trickled candidates not sent because the outgoing signal budget was spent.", nil, nil),
		offersDeferred: prometheus.NewDesc("ledbridge_webrtc_offers_deferred_total",
			"Answers and offers put off because the outgoing signal budget had no room for them.", nil, nil),
		slotsReclaimed: prometheus.NewDesc("ledbridge_webrtc_slots_reclaimed_total",
			"Peer-cap slots taken back, while musicians waited for one, from musicians not connected within the slot timeout "+
				"after their admission (or their restart budget after a lost connection), and given to a waiting one: those who never had a slot first.", nil, nil),
		deviceReopenFailures: prometheus.NewDesc("ledbridge_wled_reopen_failures_total",
			"Re-opens of a device's socket, after sends kept failing, that failed too (no route, the interface gone).", deviceLabels, nil),
		deviceOnline: prometheus.NewDesc("ledbridge_wled_online",
			"1 while a device is online as the status page says it (it answers and our frames reach it), else 0; "+
				"0 too for a configured device line not driven yet (its name does not resolve, its JSON API does not answer).", deviceLabels, nil),
		loopLook: prometheus.NewDesc("ledbridge_loop_look",
			"1 for the look the strips show, or fade to, as the status page says (local: effects from the musicians' audio; "+
				"broadcast: the host's led-update frames; idle: the idle look), 0 for the others; all 0 before the first frame.",
			[]string{"look"}, nil),
	}
	// Every label value exists from the start, at 0: a series that appears with its first event
	// hides that event from increase() and rate().
	for _, event := range droppedEvents {
		m.dropped.WithLabelValues(event)
	}
	for _, step := range loopSteps {
		m.loopErrors.WithLabelValues(step)
	}
	for _, c := range []prometheus.Collector{m.frameTime, m.framesRendered, m.dropped, m.reconnects, m.realtimeConnected, m.loopErrors, m.ignoredMusicians, m.placesGiven, m} {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	return m, nil
}

// droppedEvents are the broadcasts handleBroadcast validates, and may drop.
var droppedEvents = []string{room.EventSignal, room.EventTempoChange, room.EventPlaybackControl,
	room.EventStateRequest, room.EventStateResponse, room.EventLEDUpdate}

// loopSteps are the frame loop's steps that count their failures (frame.go).
var loopSteps = []string{"render", "sound_sync"}

// shownLooks are the looks the frame loop shows, each a ledbridge_loop_look series.
var shownLooks = []effect.Look{effect.LookLocal, effect.LookBroadcast, effect.LookIdle}

// peerStates are the connection states a musician's peer reports.
var peerStates = []webrtc.PeerConnectionState{webrtc.PeerConnectionStateNew, webrtc.PeerConnectionStateConnecting,
	webrtc.PeerConnectionStateConnected, webrtc.PeerConnectionStateDisconnected,
	webrtc.PeerConnectionStateFailed, webrtc.PeerConnectionStateClosed}

func (m *metrics) realtimeState(st realtime.Status) {
	if st.State == realtime.StateReconnecting && m.lastState != realtime.StateReconnecting {
		m.reconnects.Inc()
	}
	m.lastState = st.State
	if st.State == realtime.StateJoined {
		m.realtimeConnected.Set(1)
	} else {
		m.realtimeConnected.Set(0)
	}
}

// deviceLabels label every per-strip series with the strip's name and its key (the MAC of a
// discovered device, the URL of a configured one): names are not unique (every fresh WLED is
// called "WLED"), and two series with the same labels make the whole scrape fail.
var deviceLabels = []string{"device", "id"}

// collectDevice sends one strip's series: its output's counters o and whether it is online.
func (m *metrics) collectDevice(ch chan<- prometheus.Metric, name, key string, o wled.OutputStats, online bool) {
	ch <- prometheus.MustNewConstMetric(m.deviceFrames, prometheus.CounterValue, float64(o.FramesSent), name, key)
	ch <- prometheus.MustNewConstMetric(m.devicePackets, prometheus.CounterValue, float64(o.Packets), name, key)
	ch <- prometheus.MustNewConstMetric(m.deviceErrors, prometheus.CounterValue, float64(o.SendErrors), name, key)
	ch <- prometheus.MustNewConstMetric(m.deviceDropped, prometheus.CounterValue, float64(o.Dropped), name, key)
	ch <- prometheus.MustNewConstMetric(m.deviceReopenFailures, prometheus.CounterValue, float64(o.ReopenFailures), name, key)
	v := 0.0
	if online {
		v = 1
	}
	ch <- prometheus.MustNewConstMetric(m.deviceOnline, prometheus.GaugeValue, v, name, key)
}

// Describe implements prometheus.Collector.
func (m *metrics) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{m.deviceFrames, m.devicePackets, m.deviceErrors, m.deviceDropped, m.deviceReopenFailures, m.deviceOnline, m.lateTicks, m.ticks, m.peersByState, m.packetsLost, m.droppedSamples, m.packetsSkipped, m.musicians, m.silent, m.packetsReceived, m.impostorOffers, m.iceRestarts, m.signalsDropped, m.offersDeferred, m.slotsReclaimed, m.loopLook} {
		ch <- d
	}
}

// Collect implements prometheus.Collector, reading the parts' own counters.
func (m *metrics) Collect(ch chan<- prometheus.Metric) {
	s := m.s
	strips, lines := s.devices.view()
	now := s.clock.Now()
	for _, st := range strips {
		o := st.out.Stats()
		m.collectDevice(ch, st.name, st.key, o, stripOnline(st, o, now))
	}
	// A configured line not driven yet has its strip's series, at 0, under the labels its strip
	// takes (a wled:// line's device label is its WLED's name once that answers: see lineState).
	for _, l := range lines {
		if l.waiting {
			m.collectDevice(ch, l.name, l.key, wled.OutputStats{}, false)
		}
	}
	ts := s.ticker.Stats()
	ch <- prometheus.MustNewConstMetric(m.lateTicks, prometheus.CounterValue, float64(ts.LateTicks))
	ch <- prometheus.MustNewConstMetric(m.ticks, prometheus.CounterValue, float64(ts.Ticks))
	byState := make(map[string]int, len(peerStates))
	for _, st := range peerStates {
		byState[st.String()] = 0
	}
	s.mu.Lock()
	m.totals.mu.Lock() // from the first stream listed to the last counted: see runningTotals
	// A musician held for a rejoin (in away) has left Presence.
	n := len(s.musicians) - len(s.away)
	silent := 0
	for _, mu := range s.musicians {
		mu.mu.Lock()
		state := mu.peerState
		mu.mu.Unlock()
		byState[state.String()]++
		st := mu.stream.Load()
		if st != nil {
			m.totals.addLocked(st)
		}
		if state == webrtc.PeerConnectionStateConnected && (st == nil || mu.audioStopped(st)) {
			silent++
		}
	}
	lost, packets := m.totals.lost, m.totals.packets
	ringDropped, stale, overBudget := m.totals.ringDropped, m.totals.stale, m.totals.overBudget
	m.totals.mu.Unlock()
	s.mu.Unlock()
	for state, c := range byState {
		ch <- prometheus.MustNewConstMetric(m.peersByState, prometheus.GaugeValue, float64(c), state)
	}
	ch <- prometheus.MustNewConstMetric(m.packetsLost, prometheus.CounterValue, float64(lost))
	ch <- prometheus.MustNewConstMetric(m.packetsReceived, prometheus.CounterValue, float64(packets))
	ch <- prometheus.MustNewConstMetric(m.droppedSamples, prometheus.CounterValue, float64(ringDropped))
	ch <- prometheus.MustNewConstMetric(m.packetsSkipped, prometheus.CounterValue, float64(stale), "stale")
	ch <- prometheus.MustNewConstMetric(m.packetsSkipped, prometheus.CounterValue, float64(overBudget), "over_budget")
	ch <- prometheus.MustNewConstMetric(m.musicians, prometheus.GaugeValue, float64(n))
	ch <- prometheus.MustNewConstMetric(m.silent, prometheus.GaugeValue, float64(silent))
	ps := s.peers.Stats()
	ch <- prometheus.MustNewConstMetric(m.impostorOffers, prometheus.CounterValue, float64(ps.ImpostorOffers))
	ch <- prometheus.MustNewConstMetric(m.iceRestarts, prometheus.CounterValue, float64(ps.AddressGoneRestarts), "address_gone")
	ch <- prometheus.MustNewConstMetric(m.iceRestarts, prometheus.CounterValue, float64(ps.ICERestarts-ps.AddressGoneRestarts), "other")
	ch <- prometheus.MustNewConstMetric(m.signalsDropped, prometheus.CounterValue, float64(ps.SignalsDropped))
	ch <- prometheus.MustNewConstMetric(m.offersDeferred, prometheus.CounterValue, float64(ps.OffersDeferred))
	ch <- prometheus.MustNewConstMetric(m.slotsReclaimed, prometheus.CounterValue, float64(ps.SlotsReclaimed))
	shown := effect.Look(s.loop.look.Load())
	for _, look := range shownLooks {
		v := 0.0
		if look == shown {
			v = 1
		}
		ch <- prometheus.MustNewConstMetric(m.loopLook, prometheus.GaugeValue, v, look.String())
	}
}
