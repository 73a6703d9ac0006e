package hub

import (
	"fmt"
	"strings"
	"testing"

	"github.com/ledbridge/ledbridge/bridge/realtime/wire"
)

// TestPresenceKeyBounded: the presence key travels in every presence_state and presence_diff, and
// MaxPresenceBytes does not cover it. A few members joining with frame-sized keys must not push
// the room's presence_state past what clients accept (the Go client discards frames over
// wire.MaxFrameSize, and would then never learn who is in the room), so such joins are refused.
func TestPresenceKeyBounded(t *testing.T) {
	h := startHub(t, Config{})
	const topic = "realtime:KEYS23"
	for i := range 5 {
		longKey := strings.Repeat("k", 250<<10) + string(rune('a'+i))
		// Each a client of its own: one client's sockets together send one socket's bytes.
		c := dial(t, h, dialOpts{from: fmt.Sprintf("127.0.0.%d", 10+i)})
		ref := c.ref()
		c.sendMsg(ref, ref, topic, "phx_join", `{"config":`+cfgJSON(false, false, longKey)+`}`)
		m := c.nextMsg()
		if m.Event != "phx_reply" {
			t.Fatalf("join answered with %s", m.Event)
		}
		if string(m.Payload) == string(okJoinReply) {
			c.nextMsg() // presence_state
			trackRef := c.ref()
			c.sendMsg(ref, trackRef, topic, "presence", `{"type":"presence","event":"track","payload":{}}`)
			for m := c.nextMsg(); m.Event != "phx_reply" || m.Ref.Value != trackRef; m = c.nextMsg() {
			}
		} else if !strings.Contains(string(m.Payload), "PresenceKeyTooLong") {
			t.Fatalf("join with a %d-byte key answered %s", len(longKey), m.Payload)
		}
	}
	// A key of the usual size (a peerId) joins; the room's state fits any client's frame limit.
	c := dial(t, h, dialOpts{})
	c.barrier()
	ref := c.ref()
	c.sendMsg(ref, ref, topic, "phx_join", `{"config":`+cfgJSON(false, false, "peer-1b2c3d4e-5f60-4718-92a3-b4c5d6e7f809")+`}`)
	if m := c.nextMsg(); string(m.Payload) != string(okJoinReply) {
		t.Fatalf("join reply %s", m.Payload)
	}
	f := c.next()
	if len(f.data) > wire.MaxFrameSize {
		t.Fatalf("presence_state of %d bytes, over the %d-byte frame limit of clients", len(f.data), wire.MaxFrameSize)
	}
	var m wire.Message
	if err := c.vsn.DecodeText(f.data, &m); err != nil || m.Event != "presence_state" {
		t.Fatalf("after the join got %.80s (%v), want presence_state", f.data, err)
	}
	// The boundary: the longest accepted key, and one byte more.
	for _, tc := range []struct {
		n  int
		ok bool
	}{{maxPresenceKeyBytes, true}, {maxPresenceKeyBytes + 1, false}} {
		c := dial(t, h, dialOpts{})
		ref := c.ref()
		c.sendMsg(ref, ref, "realtime:EDGE23", "phx_join", `{"config":`+cfgJSON(false, false, strings.Repeat("k", tc.n))+`}`)
		if m := c.nextMsg(); (string(m.Payload) == string(okJoinReply)) != tc.ok {
			t.Errorf("join with a %d-byte key answered %s", tc.n, m.Payload)
		}
	}
}
