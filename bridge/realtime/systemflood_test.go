package realtime_test

import (
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/ledbridge/ledbridge/bridge/testlog"

	"github.com/ledbridge/ledbridge/bridge/realtime"
	"github.com/ledbridge/ledbridge/bridge/realtime/wire"
)

// TestSystemErrorFloodIsNotAmplified: a server repeating `system` errors, each with a huge
// message, gets the channel rejoined (with backoff) but cannot make the client log a line per
// frame, nor a message of any length into the log and the status.
func TestSystemErrorFloodIsNotAmplified(t *testing.T) {
	srv := newFakeServer(t)
	var logs testlog.Buffer
	// No rejoin during the test: every error after the first arrives while it is pending.
	h := startClient(t, srv, realtime.Config{Logger: slog.New(slog.NewTextHandler(&logs, nil)), RejoinBackoff: []time.Duration{time.Hour}})
	h.waitState(realtime.StateJoined, 10*time.Second)
	c := srv.lastConn()
	huge := strings.Repeat("m", 100<<10)
	const flood = 50
	for range flood {
		srv.send(c, wire.RefOf(c.joinRef), wire.Ref{}, "realtime:ABC123", "system",
			fmt.Sprintf(`{"extension":"system","status":"error","message":%q,"channel":"ABC123"}`, huge))
	}
	srv.send(c, wire.RefOf(c.joinRef), wire.Ref{}, "realtime:ABC123", "broadcast", `{"type":"broadcast","event":"after","payload":{}}`)
	h.waitFor("the broadcast after the flood", 10*time.Second, func() bool {
		for _, e := range h.events {
			if e.Kind == realtime.EventBroadcast && e.Event == "after" {
				return true
			}
		}
		return false
	})
	h.stop()
	if n := strings.Count(logs.String(), `msg="realtime: server system error"`); n != 1 {
		t.Errorf("%d system errors logged %d lines", flood, n)
	}
	if n := len(logs.String()); n > 64<<10 {
		t.Errorf("%d bytes of log for %d system errors", n, flood)
	}
	if err := h.c.Status().Err; err == nil || len(err.Error()) > 1024 {
		t.Errorf("status error of %d bytes", len(fmt.Sprint(err)))
	}
}
