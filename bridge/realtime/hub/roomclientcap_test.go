package hub

import (
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/ledbridge/ledbridge/bridge/testlog"
)

// TestOneHostCannotFillARoom is the reviewer's case: sockets from two addresses (one dual-stack
// laptop) join the room and track nothing until it is full; a musician's join was then refused
// RoomFull, and the only trace was a DEBUG line. Now each address gets
// MaxClientsPerRoomPerAddress (ledbridge's 8) members of the room, further joins from it are refused with
// their own reason, the musician gets in, and the refusals are logged at WARN, one line a second.
func TestOneHostCannotFillARoom(t *testing.T) {
	clock := newFakeClock()
	var logs testlog.Buffer
	const perAddress = 8
	h := startHub(t, Config{Now: clock.Now, MaxClientsPerRoomPerAddress: perAddress, Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	want := fmt.Sprintf(`{"status":"error","response":{"reason":"RoomFull: Too many clients from this address in this room (limit %d)"}}`, perAddress)
	joined := 0
	var turnedAway *rawClient
	for _, from := range []string{"127.0.0.1", "127.0.0.2"} {
		for i := range DefaultMaxConnectionsPerAddress {
			c := dial(t, h, dialOpts{from: from})
			_, m := c.tryJoin(topic, cfgJSON(false, false, fmt.Sprintf("%s-%d", from, i)))
			switch string(m.Payload) {
			case string(okJoinReply):
				joined++
			case want:
				turnedAway = c
			default:
				t.Fatalf("join from %s: %s, want ok or %s", from, m.Payload, want)
			}
		}
	}
	if joined != 2*perAddress {
		t.Errorf("two addresses joined %d members, want %d", joined, 2*perAddress)
	}
	musician := dial(t, h, dialOpts{from: "127.0.0.3"})
	musician.join(topic, cfgJSON(false, true, "musician"))
	refused := uint64(2 * (DefaultMaxConnectionsPerAddress - perAddress))
	if st := h.Stats(); st.JoinRefusals.RoomFull != refused {
		t.Errorf("JoinRefusals.RoomFull = %d, want %d", st.JoinRefusals.RoomFull, refused)
	}
	if n := strings.Count(logs.String(), "level=WARN msg=\"hub: join refused\""); n != 1 {
		t.Errorf("%d refusals in one second logged %d WARN lines, want 1:\n%s", refused, n, logs.String())
	}
	clock.Advance(time.Second)
	if _, m := turnedAway.tryJoin(topic, cfgJSON(false, false, "late")); string(m.Payload) != want {
		t.Fatalf("join: %s, want %s", m.Payload, want)
	}
	if !strings.Contains(logs.String(), fmt.Sprintf("suppressed=%d", refused-1)) {
		t.Errorf("the second line does not say how many refusals it stands for:\n%s", logs.String())
	}
}

// TestRoomFullIsLoggedAtWarn: the cap on the whole room is logged at WARN too.
func TestRoomFullIsLoggedAtWarn(t *testing.T) {
	var logs testlog.Buffer
	h := startHub(t, Config{MaxClientsPerRoom: 2, Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	for i := range 2 {
		dial(t, h, dialOpts{from: fmt.Sprintf("127.0.0.%d", i+1)}).join(topic, cfgJSON(false, false, fmt.Sprint(i)))
	}
	c := dial(t, h, dialOpts{from: "127.0.0.3"})
	if _, m := c.tryJoin(topic, cfgJSON(false, false, "third")); !strings.Contains(string(m.Payload), "RoomFull: Too many clients in this room (limit 2)") {
		t.Fatalf("join: %s", m.Payload)
	}
	if !strings.Contains(logs.String(), "level=WARN msg=\"hub: join refused\"") || !strings.Contains(logs.String(), "RoomFull") {
		t.Errorf("RoomFull not logged at WARN:\n%s", logs.String())
	}
}
