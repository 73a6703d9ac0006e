package hub

import (
	"log/slog"
	"net/http"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// metricsMaxInFlight bounds the scrapes gathered at once; one more is answered 503 at once. A
// scrape visits every room under its lock (Stats), so a LAN host scraping in a loop from many
// connections must not be able to keep the rooms' locks busy: Prometheus scrapes one target one
// request at a time, and two servers scraping for redundancy still fit.
const metricsMaxInFlight = 2

// collector exports Stats as the ledbridge_hub_* Prometheus series. It reads Stats at scrape time,
// so the server's hot paths pay nothing for it beyond the atomic counters they already bump.
type collector struct {
	s      *Server
	series []statSeries
	// refused is ledbridge_hub_handshakes_refused_total{reason} and joinsRefused
	// ledbridge_hub_joins_refused_total{reason}; every reason is always exported, zero included,
	// so that a rate over it exists before the first refusal.
	refused, joinsRefused *prometheus.Desc
}

// statSeries is one unlabelled series and the Stats field it reports.
type statSeries struct {
	desc  *prometheus.Desc
	typ   prometheus.ValueType
	value func(*Stats) float64
}

// refusalReasons are the reason label's values, in the order of HandshakeRefusals' fields.
var refusalReasons = []struct {
	label string
	count func(*HandshakeRefusals) uint64
}{
	{"bad_key", func(r *HandshakeRefusals) uint64 { return r.BadKey }},
	{"bad_vsn", func(r *HandshakeRefusals) uint64 { return r.BadVsn }},
	{"server_full", func(r *HandshakeRefusals) uint64 { return r.ServerFull }},
	{"address_full", func(r *HandshakeRefusals) uint64 { return r.AddressFull }},
	{"closing", func(r *HandshakeRefusals) uint64 { return r.Closing }},
	{"bad_upgrade", func(r *HandshakeRefusals) uint64 { return r.BadUpgrade }},
}

// joinRefusalReasons are the reason label's values of the refused joins, in the order of
// JoinRefusals' fields.
var joinRefusalReasons = []struct {
	label string
	count func(*JoinRefusals) uint64
}{
	{"bad_request", func(r *JoinRefusals) uint64 { return r.BadRequest }},
	{"channels", func(r *JoinRefusals) uint64 { return r.Channels }},
	{"server_rooms", func(r *JoinRefusals) uint64 { return r.ServerRooms }},
	{"address_rooms", func(r *JoinRefusals) uint64 { return r.AddressRooms }},
	{"room_full", func(r *JoinRefusals) uint64 { return r.RoomFull }},
	{"presence_key_taken", func(r *JoinRefusals) uint64 { return r.PresenceKeyTaken }},
}

func newCollector(s *Server) *collector {
	gauge := func(name, help string, v func(*Stats) int) statSeries {
		return statSeries{prometheus.NewDesc(name, help, nil, nil), prometheus.GaugeValue, func(st *Stats) float64 { return float64(v(st)) }}
	}
	counter := func(name, help string, v func(*Stats) uint64) statSeries {
		return statSeries{prometheus.NewDesc(name, help, nil, nil), prometheus.CounterValue, func(st *Stats) float64 { return float64(v(st)) }}
	}
	return &collector{
		s: s,
		series: []statSeries{
			gauge("ledbridge_hub_connections", "WebSockets open on the LAN room server, counting those still completing their upgrade.",
				func(st *Stats) int { return st.Connections }),
			gauge("ledbridge_hub_rooms", "Rooms (topics) with at least one member on the LAN room server.",
				func(st *Stats) int { return st.Rooms }),
			gauge("ledbridge_hub_channels", "Channels joined on the LAN room server (one socket in one room), over every room.",
				func(st *Stats) int { return st.Channels }),
			gauge("ledbridge_hub_presences", "Presence metas tracked on the LAN room server, over every room.",
				func(st *Stats) int { return st.Presences }),
			counter("ledbridge_hub_frames_received_total", "WebSocket frames received from clients, heartbeats included.",
				func(st *Stats) uint64 { return st.FramesIn }),
			counter("ledbridge_hub_frames_received_bytes_total", "Bytes of the WebSocket frames received from clients (payloads, without WebSocket framing).",
				func(st *Stats) uint64 { return st.BytesIn }),
			counter("ledbridge_hub_frames_queued_total", "WebSocket frames queued for sending to clients (a fan-out counts once per recipient; a frame that overflowed a slow client's queue, dropped with the client, included).",
				func(st *Stats) uint64 { return st.FramesOut }),
			counter("ledbridge_hub_frames_queued_bytes_total", "Bytes of the WebSocket frames queued for sending to clients (a frame that overflowed a slow client's queue, dropped with the client, included).",
				func(st *Stats) uint64 { return st.BytesOut }),
			counter("ledbridge_hub_broadcasts_total", "Broadcasts fanned out to a room, from sockets and the REST broadcast endpoints.",
				func(st *Stats) uint64 { return st.Broadcasts }),
			counter("ledbridge_hub_frames_malformed_total", "Client frames dropped because they did not decode or made no sense.",
				func(st *Stats) uint64 { return st.Malformed }),
			counter("ledbridge_hub_rate_limited_total", "Client frames and REST broadcast messages dropped by the per-client message and byte rate limits.",
				func(st *Stats) uint64 { return st.RateLimited }),
			counter("ledbridge_hub_slow_clients_dropped_total", "Sockets dropped because their outbound queue was full or a write stalled.",
				func(st *Stats) uint64 { return st.SlowClients }),
			counter("ledbridge_hub_frames_undeliverable_total", "Frames skipped for one recipient that cannot receive them: binary payloads for vsn 1.0.0 sockets.",
				func(st *Stats) uint64 { return st.Undeliverable }),
			counter("ledbridge_hub_presence_limited_total", "Presence track and untrack calls refused by the presence rate limit (each closes its channel).",
				func(st *Stats) uint64 { return st.PresenceLimited }),
			counter("ledbridge_hub_broadcasts_forged_total", "Broadcasts dropped because their payload's fromPeerId was not the sending channel's presence key (webrtc-signal, state-request, state-response), or refused on REST because it was not held in the room by the requesting client: a member speaking as another. Also led-update from a member that tracks Presence and is not the room's host (on REST: from a client with such a member, or none, in the room).",
				func(st *Stats) uint64 { return st.ForgedSenders }),
			counter("ledbridge_hub_broadcasts_untracked_total", "led-update, tempo-change and playback-control dropped because their member had not tracked Presence (on REST: the requesting client's members in the room had not); a page sending before its track, not a forgery.",
				func(st *Stats) uint64 { return st.UntrackedSenders }),
			counter("ledbridge_hub_channels_replaced_total", "Channels closed because a newer socket joined their room with their presence key while theirs was closing or did not answer a ping (a supabase-js reconnect, a musician whose address changed).",
				func(st *Stats) uint64 { return st.ChannelsReplaced }),
			counter("ledbridge_hub_rest_refused_total", "REST broadcast requests answered with an error (bad key or body, too many messages or requests at once, rate limit).",
				func(st *Stats) uint64 { return st.RESTRefused }),
			counter("ledbridge_hub_http_connections_refused_total", "TCP connections closed for the caps: at accept past hub.max_http_connections_per_address from one client or hub.max_http_connections, every open one (of the client's, or in all) being served, or idle to admit a new one at either cap.",
				func(st *Stats) uint64 { return st.HTTPConnectionsRefused }),
		},
		refused: prometheus.NewDesc("ledbridge_hub_handshakes_refused_total",
			"WebSocket upgrades refused, by reason: bad_key (401), bad_vsn (400), server_full (429: the server-wide socket cap), "+
				"address_full (429: hub.max_connections_per_address), closing (the server is shutting down), "+
				"bad_upgrade (not a WebSocket upgrade, or an Origin outside hub.allowed_origins).",
			[]string{"reason"}, nil),
		joinsRefused: prometheus.NewDesc("ledbridge_hub_joins_refused_total",
			"Channel joins answered with an error, by reason: bad_request (a topic, payload or presence key the server does not take, "+
				"or postgres_changes), channels (too many on the socket), server_rooms (hub.max_rooms rooms exist), "+
				"address_rooms (hub.max_rooms_per_address rooms started by the client exist), room_full (hub.max_clients_per_room), "+
				"presence_key_taken (another live socket holds the join's presence key in the room).",
			[]string{"reason"}, nil),
	}
}

// Describe implements prometheus.Collector.
func (c *collector) Describe(ch chan<- *prometheus.Desc) {
	for _, sr := range c.series {
		ch <- sr.desc
	}
	ch <- c.refused
	ch <- c.joinsRefused
}

// Collect implements prometheus.Collector.
func (c *collector) Collect(ch chan<- prometheus.Metric) {
	st := c.s.Stats()
	for _, sr := range c.series {
		ch <- prometheus.MustNewConstMetric(sr.desc, sr.typ, sr.value(&st))
	}
	for _, r := range refusalReasons {
		ch <- prometheus.MustNewConstMetric(c.refused, prometheus.CounterValue, float64(r.count(&st.HandshakeRefusals)), r.label)
	}
	for _, r := range joinRefusalReasons {
		ch <- prometheus.MustNewConstMetric(c.joinsRefused, prometheus.CounterValue, float64(r.count(&st.JoinRefusals)), r.label)
	}
}

// newMetricsHandler serves g in the Prometheus text format behind the Origin check, at most
// metricsMaxInFlight scrapes at once.
func (s *Server) newMetricsHandler(g prometheus.Gatherer) http.Handler {
	scrape := promhttp.HandlerFor(g, promhttp.HandlerOpts{
		ErrorLog:            slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
		MaxRequestsInFlight: metricsMaxInFlight,
	})
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !s.originAllowed(r) {
			s.log.Debug("hub: metrics scrape refused: Origin not allowed", "remote", r.RemoteAddr, "origin", r.Header.Get("Origin"))
			writeJSONError(w, http.StatusForbidden, "Origin not allowed")
			return
		}
		scrape.ServeHTTP(w, r)
	})
}
