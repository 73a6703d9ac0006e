package hub

import (
	"errors"
	"fmt"
	"net/http"
	"sort"
	"strings"
	"testing"

	"github.com/coder/websocket"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/ledbridge/ledbridge/bridge/realtime/wire"
)

// gathered reads reg into name → value, a labelled series keyed as name{label=value}.
func gathered(t *testing.T, reg prometheus.Gatherer) map[string]float64 {
	t.Helper()
	families, err := reg.Gather()
	if err != nil {
		t.Fatalf("Gather: %v", err)
	}
	out := map[string]float64{}
	for _, f := range families {
		for _, m := range f.GetMetric() {
			key := f.GetName()
			if len(m.GetLabel()) > 0 {
				var labels []string
				for _, l := range m.GetLabel() {
					labels = append(labels, l.GetName()+"="+l.GetValue())
				}
				key += "{" + strings.Join(labels, ",") + "}"
			}
			switch {
			case m.GetCounter() != nil:
				out[key] = m.GetCounter().GetValue()
			case m.GetGauge() != nil:
				out[key] = m.GetGauge().GetValue()
			default:
				t.Fatalf("%s is neither a counter nor a gauge", key)
			}
		}
	}
	return out
}

// settle sends a heartbeat and reads everything queued for c up to its reply: afterwards every
// frame c sent has been handled and every frame queued for it before the heartbeat has arrived.
func (c *rawClient) settle() {
	c.t.Helper()
	ref := c.ref()
	c.sendMsg("", ref, "phoenix", "heartbeat", "{}")
	for {
		if f := c.next(); !f.binary {
			var m wire.Message
			if c.vsn.DecodeText(f.data, &m) == nil && m.Topic == "phoenix" && m.Event == "phx_reply" && m.Ref.Value == ref {
				return
			}
		}
	}
}

// TestMetricsFromRealTraffic registers the hub's series in a fresh registry, drives the hub over
// real WebSockets (refused upgrades of four kinds, two rooms, Presence, broadcasts in both
// serializers, a malformed frame, a refused join, a refused REST request) and checks what a scrape
// reports. The traffic counters are checked by their change over a known exchange.
func TestMetricsFromRealTraffic(t *testing.T) {
	t.Cleanup(http.DefaultClient.CloseIdleConnections)
	reg := prometheus.NewRegistry()
	h := startHub(t, Config{Metrics: reg, Secret: "s3cret", MaxConnections: 4, MaxConnectionsPerAddress: 3})

	// Refused upgrades: one of each kind the set-up allows, over real dials.
	if got := dialStatus(t, h, "apikey=nope&vsn=2.0.0", nil, ""); got != http.StatusUnauthorized {
		t.Fatalf("wrong key: HTTP %d", got)
	}
	if got := dialStatus(t, h, "apikey=s3cret&vsn=9.9.9", nil, ""); got != http.StatusBadRequest {
		t.Fatalf("bad vsn: HTTP %d", got)
	}
	key := dialOpts{apikey: "s3cret", from: "127.0.0.1"}
	a, b, c := dial(t, h, key), dial(t, h, key), dial(t, h, key)
	if _, err := tryDial(t, h, key); err == nil || !strings.Contains(err.Error(), "HTTP 429") {
		t.Fatalf("fourth socket from one address: %v, want HTTP 429", err)
	}
	v1 := dial(t, h, dialOpts{apikey: "s3cret", vsn: "1.0.0", from: "127.0.0.2"})
	if _, err := tryDial(t, h, dialOpts{apikey: "s3cret", from: "127.0.0.3"}); err == nil || !strings.Contains(err.Error(), "HTTP 429") {
		t.Fatalf("fifth socket on the server: %v, want HTTP 429", err)
	}

	// Room ABC123 holds a, b and v1 (a and b tracked in Presence); DEF456 holds c.
	aj := a.join(topic, cfgJSON(false, false, "a"))
	bj := b.join(topic, cfgJSON(false, false, "b"))
	v1.join(topic, cfgJSON(false, false, "v1"))
	c.join("realtime:DEF456", `{}`)
	a.sendMsg(aj, a.ref(), topic, "presence", `{"type":"presence","event":"track","payload":{"name":"A"}}`)
	a.settle()
	b.sendMsg(bj, b.ref(), topic, "presence", `{"type":"presence","event":"track","payload":{"name":"B"}}`)
	b.settle()
	// A raw binary broadcast (b gets it, v1 cannot) and a JSON one (a and v1 get it).
	a.sendPush(aj, "", topic, "led-raw", wire.EncodingBinary, []byte{1, 2, 3})
	a.settle()
	b.sendMsg(bj, "", topic, "broadcast", `{"type":"broadcast","event":"tempo-change","payload":{"tempo":128}}`)
	b.settle()
	c.sendRaw(false, []byte(`["1","2","realtime:DEF456"`)) // malformed
	c.sendMsg("9", "9", "realtime:GHI789", "phx_join", `{"config":{"postgres_changes":[{"event":"*"}]}}`)
	c.settle()
	for _, cl := range []*rawClient{a, b, v1} {
		cl.settle()
	}
	postWithWrongKey(t, h)

	got := gathered(t, reg)
	want := map[string]float64{
		"ledbridge_hub_connections":                                    4,
		"ledbridge_hub_rooms":                                          2,
		"ledbridge_hub_channels":                                       4,
		"ledbridge_hub_presences":                                      2,
		"ledbridge_hub_broadcasts_total":                               2,
		"ledbridge_hub_frames_undeliverable_total":                     1,
		"ledbridge_hub_frames_malformed_total":                         1,
		"ledbridge_hub_joins_refused_total{reason=bad_request}":        1,
		"ledbridge_hub_joins_refused_total{reason=channels}":           0,
		"ledbridge_hub_joins_refused_total{reason=server_rooms}":       0,
		"ledbridge_hub_joins_refused_total{reason=address_rooms}":      0,
		"ledbridge_hub_joins_refused_total{reason=room_full}":          0,
		"ledbridge_hub_joins_refused_total{reason=presence_key_taken}": 0,
		"ledbridge_hub_broadcasts_forged_total":                        0,
		"ledbridge_hub_broadcasts_untracked_total":                     0,
		"ledbridge_hub_channels_replaced_total":                        0,
		"ledbridge_hub_rest_refused_total":                             1,
		"ledbridge_hub_http_connections_refused_total":                 0,
		"ledbridge_hub_rate_limited_total":                             0,
		"ledbridge_hub_slow_clients_dropped_total":                     0,
		"ledbridge_hub_presence_limited_total":                         0,
		"ledbridge_hub_handshakes_refused_total{reason=bad_key}":       1,
		"ledbridge_hub_handshakes_refused_total{reason=bad_vsn}":       1,
		"ledbridge_hub_handshakes_refused_total{reason=server_full}":   1,
		"ledbridge_hub_handshakes_refused_total{reason=address_full}":  1,
		"ledbridge_hub_handshakes_refused_total{reason=closing}":       0,
		"ledbridge_hub_handshakes_refused_total{reason=bad_upgrade}":   0,
	}
	for name, w := range want {
		if v, ok := got[name]; !ok || v != w {
			t.Errorf("%s = %v (exported: %t), want %v", name, v, ok, w)
		}
	}
	traffic := []string{"ledbridge_hub_frames_received_total", "ledbridge_hub_frames_received_bytes_total",
		"ledbridge_hub_frames_queued_total", "ledbridge_hub_frames_queued_bytes_total"}
	var names []string
	for name := range got {
		names = append(names, name)
	}
	sort.Strings(names)
	if len(got) != len(want)+len(traffic) {
		t.Errorf("the registry exports %d series, want %d: %v", len(got), len(want)+len(traffic), names)
	}

	// A known exchange: n heartbeats from a, each answered with one reply to a alone.
	const n = 5
	var sentBytes, repliedBytes int
	for range n {
		ref := a.ref()
		frame, err := a.vsn.AppendText(nil, &wire.Message{Topic: "phoenix", Event: "heartbeat", Ref: wire.RefOf(ref), Payload: []byte("{}")})
		if err != nil {
			t.Fatal(err)
		}
		a.sendRaw(false, frame)
		reply := a.next()
		if !strings.Contains(string(reply.data), `"phx_reply"`) {
			t.Fatalf("heartbeat answered with %s", reply)
		}
		sentBytes += len(frame)
		repliedBytes += len(reply.data)
	}
	after := gathered(t, reg)
	for name, delta := range map[string]float64{
		"ledbridge_hub_frames_received_total":       n,
		"ledbridge_hub_frames_received_bytes_total": float64(sentBytes),
		"ledbridge_hub_frames_queued_total":         n,
		"ledbridge_hub_frames_queued_bytes_total":   float64(repliedBytes),
	} {
		if d := after[name] - got[name]; d != delta || got[name] == 0 {
			t.Errorf("%s went from %v to %v over %d heartbeats, want +%v from a non-zero count", name, got[name], after[name], n, delta)
		}
	}

	// Names and types follow Prometheus' conventions, and every series says what it counts.
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range families {
		name, counter := f.GetName(), f.GetType() == dto.MetricType_COUNTER
		if !strings.HasPrefix(name, "ledbridge_hub_") || counter != strings.HasSuffix(name, "_total") || len(f.GetHelp()) < 20 {
			t.Errorf("%s (%v): want the ledbridge_hub_ prefix, _total on counters only, and a HELP text; HELP %q", name, f.GetType(), f.GetHelp())
		}
	}
}

// TestMetricsRegistration: a server without Config.Metrics registers nothing (not even in the
// default registry), and a second server in one registry is refused by New rather than exporting
// colliding series.
func TestMetricsRegistration(t *testing.T) {
	if _, err := New(Config{}); err != nil {
		t.Fatal(err)
	}
	families, err := prometheus.DefaultGatherer.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range families {
		if strings.HasPrefix(f.GetName(), "ledbridge_hub_") {
			t.Errorf("a server without Config.Metrics exported %s in the default registry", f.GetName())
		}
	}

	reg := prometheus.NewRegistry()
	if _, err := New(Config{Metrics: reg}); err != nil {
		t.Fatal(err)
	}
	_, err = New(Config{Metrics: reg})
	var already prometheus.AlreadyRegisteredError
	if !errors.As(err, &already) {
		t.Errorf("second server in one registry: %v, want prometheus.AlreadyRegisteredError", err)
	}
}

// BenchmarkScrape measures one gathering of the hub's series (Stats, which visits every room under
// its lock, and the constant metrics) on a server holding 16 rooms of 4 members each: the whole
// cost of the metrics, paid by the scrape, not by the traffic.
func BenchmarkScrape(b *testing.B) {
	reg := prometheus.NewRegistry()
	s, err := New(Config{Metrics: reg})
	if err != nil {
		b.Fatal(err)
	}
	for r := range 16 {
		t := fmt.Sprintf("realtime:ROOM%02d", r)
		for range 4 {
			c := socketlessConn(s, wire.V2)
			c.handleFrame(websocket.MessageText, []byte(`["1","1","`+t+`","phx_join",{"config":{"presence":{"enabled":true}}}]`))
			drain(c)
		}
	}
	if st := s.Stats(); st.Rooms != 16 || st.Channels != 64 {
		b.Fatalf("set-up: %d rooms, %d channels", st.Rooms, st.Channels)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := reg.Gather(); err != nil {
			b.Fatal(err)
		}
	}
}
