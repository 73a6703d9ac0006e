package hub

import (
	"strings"
	"testing"
	"time"
)

// TestSameAddressKeyHolderProbed: a presence key is public (every member's Presence, the
// bridge's status page), and behind the README's reverse proxy every LAN client arrives from
// loopback, the bridge's own address. A socket from the holder's address joining with the key
// therefore gets the same liveness probe as one from elsewhere: a live holder keeps its key (the
// bridge is not knocked out of its room), while a reconnect whose old socket went silent or closed
// still takes the key over.
func TestSameAddressKeyHolderProbed(t *testing.T) {
	// The idle timeout (a minute) would free a silent socket's key only long after the join's
	// reply is awaited (testTimeout): only the probe frees it.
	h := startHub(t, Config{IdleTimeout: time.Minute})
	bridge := dial(t, h, dialOpts{from: "127.0.0.1"})
	bj := bridge.join(topic, cfgJSON(false, false, "bridge-peer"))
	bridge.track(bj, `{"name":"LED Bridge","isHost":false,"role":"led-bridge"}`)

	mallory := dial(t, h, dialOpts{from: "127.0.0.1"})
	if _, reply := joinAs(mallory, "bridge-peer"); !strings.Contains(reply, "PresenceKeyInUse") {
		t.Fatalf("join with the live bridge's key from the bridge's address: %s, want PresenceKeyInUse", reply)
	}
	bridge.barrier() // no system error, no phx_close: the bridge is still in the room
	if st := h.Stats(); st.ChannelsReplaced != 0 || st.JoinRefusals.PresenceKeyTaken != 1 {
		t.Fatalf("ChannelsReplaced %d, PresenceKeyTaken %d; want 0 and 1", st.ChannelsReplaced, st.JoinRefusals.PresenceKeyTaken)
	}

	// A reconnect from the same address whose old socket answers nothing any more (the network
	// blip supabase-js reconnects after) takes its key over once the probe goes unanswered.
	dialFrozen(t, h, "127.0.0.2", "alice-peer")
	waitFor(t, "alice's frozen socket to track", func() bool { return h.Stats().Presences == 2 })
	alice := dial(t, h, dialOpts{from: "127.0.0.2"})
	if _, reply := joinAs(alice, "alice-peer"); reply != string(okJoinReply) {
		t.Fatalf("rejoin from alice's address while her old socket is silent: %s, want ok", reply)
	}
	// So does one whose old socket closed (a reloaded tab).
	carol := dial(t, h, dialOpts{from: "127.0.0.3"})
	carol.track(carol.join(topic, cfgJSON(false, false, "carol-peer")), `{"name":"Carol"}`)
	carol.closeNow()
	carol2 := dial(t, h, dialOpts{from: "127.0.0.3"})
	if _, reply := joinAs(carol2, "carol-peer"); reply != string(okJoinReply) {
		t.Fatalf("rejoin from carol's address after her old socket closed: %s, want ok", reply)
	}
	if st := h.Stats(); st.JoinRefusals.PresenceKeyTaken != 1 {
		t.Errorf("PresenceKeyTaken %d, want 1", st.JoinRefusals.PresenceKeyTaken)
	}
	if n := roomSize(h, topic); n != 3 {
		t.Errorf("room has %d members, want the bridge, alice and carol", n)
	}
}
