package hub

import (
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/ledbridge/ledbridge/bridge/testlog"
)

// TestRateLimitHitsAreLoggedOncePerSecond: every socket over the message rate limit is counted and
// shut down, but an attacker opening many sockets cannot turn the log into an amplifier: the hits
// of one second share one line, which says how many it stands for.
func TestRateLimitHitsAreLoggedOncePerSecond(t *testing.T) {
	clock := newFakeClock()
	var logs testlog.Buffer
	h := startHub(t, Config{Now: clock.Now, MaxMessagesPerSecond: 3, Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	const sockets = 5
	flood := func(round uint64) {
		for i := 0; i < sockets; i++ {
			// Each from an address of its own: one client's sockets share its budgets.
			c := dial(t, h, dialOpts{from: fmt.Sprintf("127.0.%d.%d", round, i+1)})
			for n := 0; n < 31; n++ { // the budget is ten seconds of the rate: the 31st frame is over it
				c.sendMsg("", fmt.Sprint(n+1), "realtime:nowhere", "broadcast", "{}")
			}
			for n := 0; n < 30; n++ {
				c.nextMsg() // the admitted pushes' replies (unmatched topic)
			}
		}
		waitFor(t, "every flooder's last frame", func() bool { return h.Stats().RateLimited == round*sockets })
	}
	flood(1)
	if n := strings.Count(logs.String(), "over message rate limit"); n != 1 {
		t.Errorf("%d sockets over the limit in one second logged %d lines, want 1:\n%s", sockets, n, logs.String())
	}
	clock.Advance(time.Second)
	flood(2)
	if n := strings.Count(logs.String(), "over message rate limit"); n != 2 {
		t.Errorf("logged %d lines over two seconds, want 2:\n%s", n, logs.String())
	}
	if !strings.Contains(logs.String(), fmt.Sprintf("suppressed=%d", sockets-1)) {
		t.Errorf("the second line does not say how many hits it stands for:\n%s", logs.String())
	}
	if st := h.Stats(); st.RateLimited != 2*sockets {
		t.Errorf("RateLimited = %d, want %d", st.RateLimited, 2*sockets)
	}
}

// TestMalformedLogIsBounded: a client's own strings quoted in the malformed-frame log line are cut,
// so a frame-sized name cannot make each of those lines a quarter of a megabyte.
func TestMalformedLogIsBounded(t *testing.T) {
	var logs testlog.Buffer
	h := startHub(t, Config{Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	c := dial(t, h, dialOpts{})
	jr := c.join(topic, cfgJSON(false, false, "k"))
	c.sendMsg(jr, c.ref(), topic, "presence", `{"type":"presence","event":"`+strings.Repeat("e", 200<<10)+`"}`)
	if m := c.nextMsg(); m.Event != "phx_reply" || !strings.Contains(string(m.Payload), "unknown presence event") {
		t.Fatalf("got %s %.100s", m.Event, m.Payload)
	}
	if !strings.Contains(logs.String(), "unknown presence event") || len(logs.String()) > 4<<10 {
		t.Errorf("%d bytes of log for one malformed frame:\n%.300s", len(logs.String()), logs.String())
	}
}
