package hub

import (
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/ledbridge/ledbridge/bridge/testlog"
)

// These tests cover the REST broadcast endpoint's limits: without them one unauthenticated POST
// could fan out thousands of messages and evict every member as a slow client.

func batchBody(n int, event string) string {
	var b strings.Builder
	b.WriteString(`{"messages":[`)
	for i := 0; i < n; i++ {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `{"topic":"ABC123","event":%q,"payload":{"n":%d}}`, event, i)
	}
	b.WriteString(`]}`)
	return b.String()
}

// TestRESTBatchCap: the reviewer's 3000-message POST is refused whole, and no member is evicted.
func TestRESTBatchCap(t *testing.T) {
	t.Cleanup(http.DefaultClient.CloseIdleConnections)
	clock := newFakeClock()
	h := startHub(t, Config{Now: clock.Now})
	members := []*rawClient{dial(t, h, dialOpts{}), dial(t, h, dialOpts{vsn: "1.0.0"})}
	for i, c := range members {
		c.join(topic, cfgJSON(false, false, fmt.Sprintf("m%d", i)))
	}
	for _, n := range []int{3000, MaxBroadcastBatch + 1} {
		code, body := post(t, h, BroadcastAPIPath, "application/json", batchBody(n, "spam"))
		if want := fmt.Sprintf("too many messages in one request: %d (limit %d)", n, MaxBroadcastBatch); code != http.StatusRequestEntityTooLarge || !strings.Contains(body, want) {
			t.Errorf("%d messages: HTTP %d %s, want 413 %q", n, code, body, want)
		}
	}
	for _, c := range members {
		if got := c.expectOnlyUTF8UntilBarrier(); len(got) != 0 {
			t.Fatalf("a refused batch was delivered in part: %d frames", len(got))
		}
	}
	// A full batch within the budget is delivered whole, in order.
	if code, body := post(t, h, BroadcastAPIPath, "application/json", batchBody(MaxBroadcastBatch, "ok")); code != http.StatusAccepted {
		t.Fatalf("%d messages: HTTP %d %s", MaxBroadcastBatch, code, body)
	}
	for _, c := range members {
		for i := 0; i < MaxBroadcastBatch; i++ {
			if m := c.nextMsg(); !strings.Contains(string(m.Payload), fmt.Sprintf(`"payload":{"n":%d}`, i)) {
				t.Fatalf("message %d: %s", i, m.Payload)
			}
		}
	}
	if st := h.Stats(); st.SlowClients != 0 || st.Connections != len(members) || st.RESTRefused != 2 {
		t.Errorf("stats %+v: want no slow clients, %d connections, 2 refused requests", st, len(members))
	}
}

// TestRESTRateLimit: REST messages count against the same budgets as a socket's (ten seconds of
// the rates: 50 messages and 81 920 bytes here), per remote address; a request that would exceed
// one is refused whole with 429, and consumes nothing.
func TestRESTRateLimit(t *testing.T) {
	t.Cleanup(http.DefaultClient.CloseIdleConnections)
	clock := newFakeClock()
	h := startHub(t, Config{MaxMessagesPerSecond: 5, MaxFrameBytes: 4096, MaxBytesPerSecond: 8192, Now: clock.Now})
	// The member is another client: a client's REST requests share its sockets' budget, and keep
	// their reserves (TestRESTAndSocketsShareTheClientsBudget).
	c := dial(t, h, dialOpts{from: "127.0.0.7"})
	c.join(topic, `{}`)
	single := BroadcastAPIPath + "/ABC123/events/e"
	steps := []struct {
		path, body string
		want       int
	}{
		{BroadcastAPIPath, batchBody(30, "a"), http.StatusAccepted}, // 30 of 50
		{BroadcastAPIPath, batchBody(30, "b"), http.StatusTooManyRequests},
		{BroadcastAPIPath, batchBody(18, "c"), http.StatusAccepted}, // 48
		{single, `{"n":48}`, http.StatusAccepted},                   // 49
		{single, `{"n":49}`, http.StatusAccepted},                   // 50
		{single, `{"n":50}`, http.StatusTooManyRequests},
	}
	delivered := 0
	for i, st := range steps {
		code, body := post(t, h, st.path, "application/json", st.body)
		if code != st.want {
			t.Fatalf("step %d: HTTP %d %s, want %d", i, code, body, st.want)
		}
		if code == http.StatusTooManyRequests && !strings.Contains(body, "Too many messages per second") {
			t.Errorf("step %d: body %s", i, body)
		}
		if code == http.StatusAccepted {
			delivered += strings.Count(st.body, `"n"`)
		}
	}
	if got := len(c.expectOnlyUTF8UntilBarrier()); got != delivered {
		t.Fatalf("member got %d broadcasts, want %d", got, delivered)
	}
	if st := h.Stats(); st.RateLimited != 31 {
		t.Errorf("RateLimited = %d, want 31 (30 + 1 refused messages)", st.RateLimited)
	}

	// Refilled (ten seconds later): the byte budget (81 920) now decides, 2998-byte bodies at a
	// time, of which 27 fit.
	clock.Advance(10 * time.Second)
	big := `{"x":"` + strings.Repeat("a", 2990) + `"}`
	for i := 0; i < 28; i++ {
		want := http.StatusAccepted
		if i == 27 {
			want = http.StatusTooManyRequests
		}
		code, body := post(t, h, single, "application/json", big)
		if code != want {
			t.Fatalf("body %d: HTTP %d %s, want %d", i, code, body, want)
		}
		if code == http.StatusTooManyRequests && !strings.Contains(body, "Too many bytes per second") {
			t.Errorf("body %d: %s", i, body)
		}
	}
	if got := len(c.expectOnlyUTF8UntilBarrier()); got != 27 {
		t.Fatalf("member got %d large broadcasts, want 27", got)
	}
}

// TestRESTLimitHitsAreLoggedOncePerSecond: each refused request is counted, but a client repeating
// it cannot turn the log into an amplifier.
func TestRESTLimitHitsAreLoggedOncePerSecond(t *testing.T) {
	t.Cleanup(http.DefaultClient.CloseIdleConnections)
	clock := newFakeClock()
	var logs testlog.Buffer
	h := startHub(t, Config{Now: clock.Now, Logger: testlog.NewLogger(&logs, slog.LevelInfo)})
	for i := 0; i < 5; i++ {
		if code, _ := post(t, h, BroadcastAPIPath, "application/json", batchBody(MaxBroadcastBatch+1, "x")); code != http.StatusRequestEntityTooLarge {
			t.Fatalf("HTTP %d, want 413", code)
		}
	}
	clock.Advance(time.Second)
	post(t, h, BroadcastAPIPath, "application/json", batchBody(MaxBroadcastBatch+1, "x"))
	if n := strings.Count(logs.String(), "REST batch over its message cap"); n != 2 {
		t.Errorf("logged %d times, want 2 (once per second):\n%s", n, logs.String())
	}
	if !strings.Contains(logs.String(), "rest_refused_total=6") || h.Stats().RESTRefused != 6 {
		t.Errorf("RESTRefused = %d; log:\n%s", h.Stats().RESTRefused, logs.String())
	}
}
