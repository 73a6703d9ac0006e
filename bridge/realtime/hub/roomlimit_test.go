package hub

import (
	"fmt"
	"testing"

	"github.com/ledbridge/ledbridge/bridge/realtime/wire"
)

// tryJoin sends a join for topic and returns the reply (and consumes presence_state after a
// successful join with Presence enabled).
func (c *rawClient) tryJoin(topic, config string) (joinRef string, reply wire.Message) {
	c.t.Helper()
	ref := c.ref()
	c.sendMsg(ref, ref, topic, "phx_join", `{"config":`+config+`}`)
	reply = c.nextMsg()
	if string(reply.Payload) == string(okJoinReply) && config != "{}" {
		if m := c.nextMsg(); m.Event != "presence_state" {
			c.t.Fatalf("after join got %s, want presence_state", m.Event)
		}
	}
	return ref, reply
}

const addressRoomsReason = `{"status":"error","response":{"reason":"ChannelRateLimitReached: Too many rooms started from this address (limit %d)"}}`

// TestOneHostCannotHoldEveryRoom is the reviewer's case: three sockets from one address join new
// topics until refused. Before MaxRoomsPerAddress they held all MaxRooms rooms, and a musician's
// join to start the jam was refused; now the host gets DefaultMaxRoomsPerAddress rooms, each
// further one is refused with its own reason and counted, and the musician's room starts.
func TestOneHostCannotHoldEveryRoom(t *testing.T) {
	h := startHub(t, Config{})
	held := 0
	for s := range 3 {
		c := dial(t, h, dialOpts{from: "127.0.0.1"})
		for i := range 10 {
			_, m := c.tryJoin(fmt.Sprintf("realtime:junk%d-%d", s, i), `{}`)
			if string(m.Payload) == string(okJoinReply) {
				held++
				continue
			}
			if want := fmt.Sprintf(addressRoomsReason, DefaultMaxRoomsPerAddress); string(m.Payload) != want {
				t.Fatalf("refused join: %s, want %s", m.Payload, want)
			}
		}
	}
	if held != DefaultMaxRoomsPerAddress {
		t.Errorf("one address started %d rooms, want %d", held, DefaultMaxRoomsPerAddress)
	}
	musician := dial(t, h, dialOpts{from: "127.0.0.2"})
	musician.join(topic, cfgJSON(false, false, "m1"))
	st := h.Stats()
	if want := uint64(30 - DefaultMaxRoomsPerAddress); st.JoinRefusals.AddressRooms != want || st.JoinsRefused != want {
		t.Errorf("JoinRefusals.AddressRooms = %d, JoinsRefused = %d; want %d each", st.JoinRefusals.AddressRooms, st.JoinsRefused, want)
	}
	if st.Rooms != DefaultMaxRoomsPerAddress+1 {
		t.Errorf("Rooms = %d, want %d", st.Rooms, DefaultMaxRoomsPerAddress+1)
	}
}

// TestRoomsPerAddressCountsStartedRooms: a room counts against the client that started it until
// it empties, whoever else is in it; joining a room that exists costs nothing.
func TestRoomsPerAddressCountsStartedRooms(t *testing.T) {
	h := startHub(t, Config{MaxRoomsPerAddress: 2})
	a := dial(t, h, dialOpts{from: "127.0.0.1"})
	b := dial(t, h, dialOpts{from: "127.0.0.1"})
	other := dial(t, h, dialOpts{from: "127.0.0.2"})
	refused := func(c *rawClient, topic string) {
		t.Helper()
		if _, m := c.tryJoin(topic, `{}`); string(m.Payload) != fmt.Sprintf(addressRoomsReason, 2) {
			t.Fatalf("join %s: %s, want the per-address room refusal", topic, m.Payload)
		}
	}
	leave := func(c *rawClient, joinRef, topic string) {
		t.Helper()
		c.sendMsg(joinRef, c.ref(), topic, "phx_leave", "{}")
		c.nextMsg() // reply
		c.nextMsg() // phx_close
	}

	aR1 := a.join("realtime:R1", `{}`)
	aR2 := a.join("realtime:R2", `{}`)
	refused(b, "realtime:R3")              // the address's second socket shares its budget
	bR1 := b.join("realtime:R1", `{}`)     // a room that exists costs nothing
	oR1 := other.join("realtime:R1", `{}`) // nor for another client
	other.join("realtime:OTHER", `{}`)     // which has a budget of its own

	// R2 empties: its place in 127.0.0.1's budget comes back.
	leave(a, aR2, "realtime:R2")
	b.join("realtime:R3", `{}`)
	// R1 outlives its starter's channels (127.0.0.2 is still in it): it still counts.
	leave(a, aR1, "realtime:R1")
	leave(b, bR1, "realtime:R1")
	refused(a, "realtime:R4")
	// Once R1 empties, 127.0.0.1 may start another.
	leave(other, oR1, "realtime:R1")
	a.join("realtime:R4", `{}`)

	st := h.Stats()
	if st.JoinRefusals.AddressRooms != 2 || st.JoinsRefused != 2 {
		t.Errorf("JoinRefusals.AddressRooms = %d, JoinsRefused = %d; want 2 each", st.JoinRefusals.AddressRooms, st.JoinsRefused)
	}
	h.mu.Lock()
	started := h.roomsStarted.Clients()
	h.mu.Unlock()
	if st.Rooms != 3 || started != 2 { // R3 and R4 from 127.0.0.1, OTHER from 127.0.0.2
		t.Errorf("Rooms = %d and %d clients with rooms; want 3 and 2", st.Rooms, started)
	}
}
