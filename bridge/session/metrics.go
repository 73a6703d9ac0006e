package session

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/ledbridge/ledbridge/bridge/peer"
	"github.com/ledbridge/ledbridge/bridge/realtime"
)

// metrics are the session's Prometheus series. Counters the hot path bumps are prometheus
// counters (atomic adds, no allocation); everything owned by other parts (device outputs, peers,
// the ticker) is read at scrape time by the collector.
type metrics struct {
	s              *Session
	frameTime      prometheus.Histogram
	framesRendered prometheus.Counter
	dropped        *prometheus.CounterVec
	reconnects     prometheus.Counter
	loopErrors     *prometheus.CounterVec
	// ignoredMusicians is how many musicians in Presence are past the session's cap.
	ignoredMusicians prometheus.Gauge
	lastState        realtime.State

	deviceFrames  *prometheus.Desc
	devicePackets *prometheus.Desc
	deviceErrors  *prometheus.Desc
	deviceDropped *prometheus.Desc
	lateTicks     *prometheus.Desc
	ticks         *prometheus.Desc
	peersByState  *prometheus.Desc
	packetsLost   *prometheus.Desc
	musicians     *prometheus.Desc
	// impostorOffers is peer.MusicianStats.ImpostorOffers, for the musicians the session
	// follows (in Presence), like packetsLost: the peer Manager also tracks peers known only
	// from their offers, whose ids anyone in the room can make up, and they get no series.
	impostorOffers *prometheus.Desc
	// The signal budget's work (peer.Config.MaxSignalsPerSecond): non-zero means offers storm.
	signalsDropped *prometheus.Desc
	offersDeferred *prometheus.Desc
}

func newMetrics(reg prometheus.Registerer, s *Session) (*metrics, error) {
	m := &metrics{
		s: s,
		frameTime: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "ledbridge_loop_frame_seconds",
			Help:    "Time one 60 fps tick takes: analysis of every source, render and submit of every strip.",
			Buckets: []float64{.0001, .00025, .0005, .001, .002, .004, .008, .016, .033},
		}),
		framesRendered: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "ledbridge_loop_frames_rendered_total", Help: "Strip frames rendered and submitted to device outputs.",
		}),
		dropped: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "ledbridge_room_dropped_messages_total", Help: "Broadcasts dropped because their payload failed validation, by event.",
		}, []string{"event"}),
		reconnects: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "ledbridge_realtime_reconnects_total", Help: "Times the Realtime connection was lost and is being re-established.",
		}),
		loopErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "ledbridge_loop_errors_total", Help: "Frame loop steps that failed, by step (render: a strip's frame; sound_sync: a sound sync packet).",
		}, []string{"step"}),
		ignoredMusicians: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "ledbridge_room_musicians_ignored", Help: "Musicians in Presence that ledbridge does not follow because it already follows twice its peer cap.",
		}),
		deviceFrames:  prometheus.NewDesc("ledbridge_wled_frames_sent_total", "Frames sent to a device.", deviceLabels, nil),
		devicePackets: prometheus.NewDesc("ledbridge_wled_packets_sent_total", "UDP packets sent to a device.", deviceLabels, nil),
		deviceErrors:  prometheus.NewDesc("ledbridge_wled_send_errors_total", "Frames that failed to send to a device.", deviceLabels, nil),
		deviceDropped: prometheus.NewDesc("ledbridge_wled_frames_dropped_total", "Frames replaced by a newer one before they were sent.", deviceLabels, nil),
		lateTicks:     prometheus.NewDesc("ledbridge_loop_late_ticks_total", "Frame slots skipped because a tick started more than a period late.", nil, nil),
		ticks:         prometheus.NewDesc("ledbridge_loop_ticks_total", "Ticks of the frame loop.", nil, nil),
		peersByState:  prometheus.NewDesc("ledbridge_webrtc_peers", "Musicians' peer connections by state.", []string{"state"}, nil),
		packetsLost:   prometheus.NewDesc("ledbridge_audio_packets_lost_total", "RTP packets that never arrived, per musician.", []string{"musician"}, nil),
		musicians:     prometheus.NewDesc("ledbridge_room_musicians", "Musicians in the room's Presence.", nil, nil),
		impostorOffers: prometheus.NewDesc("ledbridge_webrtc_impostor_offers_total",
			"Offers under a musician's peer id refused unanswered while her connection was up and her audio arriving, "+
				"because they named another DTLS certificate or other ICE credentials than her tab's (another room member's), per musician.",
			[]string{"musician"}, nil),
		signalsDropped: prometheus.NewDesc("ledbridge_webrtc_signals_dropped_total",
			"Trickled candidates not sent because the outgoing signal budget was spent.", nil, nil),
		offersDeferred: prometheus.NewDesc("ledbridge_webrtc_offers_deferred_total",
			"Answers and offers put off because the outgoing signal budget had no room for them.", nil, nil),
	}
	for _, c := range []prometheus.Collector{m.frameTime, m.framesRendered, m.dropped, m.reconnects, m.loopErrors, m.ignoredMusicians, m} {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	return m, nil
}

func (m *metrics) realtimeState(st realtime.Status) {
	if st.State == realtime.StateReconnecting && m.lastState != realtime.StateReconnecting {
		m.reconnects.Inc()
	}
	m.lastState = st.State
}

// deviceLabels label every per-strip series with the strip's name and its key (the MAC of a
// discovered device, the URL of a configured one): names are not unique (every fresh WLED is
// called "WLED"), and two series with the same labels make the whole scrape fail.
var deviceLabels = []string{"device", "id"}

// Describe implements prometheus.Collector.
func (m *metrics) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{m.deviceFrames, m.devicePackets, m.deviceErrors, m.deviceDropped, m.lateTicks, m.ticks, m.peersByState, m.packetsLost, m.musicians, m.impostorOffers, m.signalsDropped, m.offersDeferred} {
		ch <- d
	}
}

// Collect implements prometheus.Collector, reading the parts' own counters.
func (m *metrics) Collect(ch chan<- prometheus.Metric) {
	s := m.s
	for _, st := range s.devices.current() {
		o := st.out.Stats()
		ch <- prometheus.MustNewConstMetric(m.deviceFrames, prometheus.CounterValue, float64(o.FramesSent), st.name, st.key)
		ch <- prometheus.MustNewConstMetric(m.devicePackets, prometheus.CounterValue, float64(o.Packets), st.name, st.key)
		ch <- prometheus.MustNewConstMetric(m.deviceErrors, prometheus.CounterValue, float64(o.SendErrors), st.name, st.key)
		ch <- prometheus.MustNewConstMetric(m.deviceDropped, prometheus.CounterValue, float64(o.Dropped), st.name, st.key)
	}
	ts := s.ticker.Stats()
	ch <- prometheus.MustNewConstMetric(m.lateTicks, prometheus.CounterValue, float64(ts.LateTicks))
	ch <- prometheus.MustNewConstMetric(m.ticks, prometheus.CounterValue, float64(ts.Ticks))
	byState := map[string]int{}
	s.mu.Lock()
	n := len(s.musicians)
	type lost struct {
		name string
		v    uint64
	}
	var losses []lost
	followed := make([]string, 0, len(s.musicians))
	for _, mu := range s.musicians {
		followed = append(followed, mu.id)
		mu.mu.Lock()
		byState[mu.peerState.String()]++
		mu.mu.Unlock()
		if st := mu.stream.Load(); st != nil {
			losses = append(losses, lost{mu.id, st.Stats().Lost})
		}
	}
	s.mu.Unlock()
	for state, c := range byState {
		ch <- prometheus.MustNewConstMetric(m.peersByState, prometheus.GaugeValue, float64(c), state)
	}
	for _, l := range losses {
		ch <- prometheus.MustNewConstMetric(m.packetsLost, prometheus.CounterValue, float64(l.v), l.name)
	}
	ch <- prometheus.MustNewConstMetric(m.musicians, prometheus.GaugeValue, float64(n))
	ps := s.peers.Stats()
	impostor := make(map[peer.MusicianID]uint64, len(ps.Musicians))
	for _, pm := range ps.Musicians {
		impostor[pm.ID] = pm.ImpostorOffers
	}
	for _, id := range followed {
		ch <- prometheus.MustNewConstMetric(m.impostorOffers, prometheus.CounterValue, float64(impostor[peer.MusicianID(id)]), id)
	}
	ch <- prometheus.MustNewConstMetric(m.signalsDropped, prometheus.CounterValue, float64(ps.SignalsDropped))
	ch <- prometheus.MustNewConstMetric(m.offersDeferred, prometheus.CounterValue, float64(ps.OffersDeferred))
}
