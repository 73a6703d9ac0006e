package hub

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/ledbridge/ledbridge/bridge/realtime/wire"
)

// FuzzRESTBroadcast feeds the REST broadcast endpoints (the batch POST and
// /{topic}/events/{event}) what any client on the network controls: the path after
// BroadcastAPIPath (percent-decoded, as net/http hands it over), the Content-Type and the body,
// with a vsn 2.0.0 and a vsn 1.0.0 member in room R. The hub must never panic nor answer 5xx,
// every frame it queues must decode with its recipient's serializer (a frame one client cannot
// read costs that musician the room), a single event it accepts for room R (202) must reach the
// vsn 2.0.0 member once, and the room must be released when its members leave.
func FuzzRESTBroadcast(f *testing.F) {
	f.Add("", "application/json", []byte(ledUpdateBatch))
	f.Add("/", "application/json; charset=utf-8", []byte(`{"messages":[{"topic":"R","event":"e\u0000\"","payload":{"a":[1,2,{"b":null}]}}]}`))
	f.Add("", "application/json", []byte(`{"messages":[{"topic":"R","event":"led-update","payload":{}},{"topic":"S","event":"x","payload":[]}]}`))
	f.Add("", "application/json", []byte(`{"messages":[{"topic":"R","event":"e","payload":{"s":"\ud800"}}]}`))
	f.Add("/R/events/led-update", "application/json", []byte(`{"colors":["#ff0000"],"seq":1}`))
	f.Add("/R/events/e", "application/json", []byte(`{"x":"\u2028"}`))
	f.Add("/R/events/e", "application/json", []byte("{\"x\":\"\xff\"}"))
	f.Add("/R/events/e", "application/octet-stream", []byte{0, 1, 2, 0xff})
	f.Add("/R/events/webrtc-signal", "application/json", []byte(`{"fromPeerId":"a","type":"offer"}`))
	f.Add("/R/events/e/extra", "text/plain", []byte(`{}`))
	f.Add("/"+strings.Repeat("R", 300)+"/events/e", "application/json", []byte(`1`))
	f.Fuzz(func(t *testing.T, path, contentType string, body []byte) {
		s, err := New(Config{MaxMessagesPerSecond: 50, MaxFrameBytes: 4096, Now: func() time.Time { return fuzzEpoch }})
		if err != nil {
			t.Fatal(err)
		}
		v2, v1 := socketlessConn(s, wire.V2), socketlessConn(s, wire.V1)
		v2.receive(websocket.MessageText, []byte(`["1","1","realtime:R","phx_join",{"config":{"broadcast":{"self":true}}}]`))
		v1.receive(websocket.MessageText, []byte(`{"topic":"realtime:R","event":"phx_join","payload":{},"ref":"1","join_ref":"1"}`))
		checkQueued(t, v2) // the join replies
		checkQueued(t, v1)

		req := httptest.NewRequest(http.MethodPost, BroadcastAPIPath, strings.NewReader(string(body)))
		req.URL.Path = BroadcastAPIPath + path
		req.Header.Set("Content-Type", contentType)
		req.RemoteAddr = "10.0.0.9:1234"
		rec := httptest.NewRecorder()
		s.serveBroadcastAPI(rec, req)
		if rec.Code >= 500 {
			t.Fatalf("%q %q: %d %s", path, contentType, rec.Code, rec.Body)
		}
		if got := len(v2.out); rec.Code == http.StatusAccepted && strings.HasPrefix(path, "/R/events/") && got != 1 {
			t.Fatalf("%q %q: accepted, but the room's vsn 2.0.0 member got %d frames", path, contentType, got)
		}
		checkQueued(t, v2)
		checkQueued(t, v1)
		v2.leaveAll()
		v1.leaveAll()
		if len(s.rooms) != 0 {
			t.Fatalf("%d rooms left after their members left", len(s.rooms))
		}
	})
}
