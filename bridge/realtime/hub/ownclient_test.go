package hub

import (
	"net/http"
	"testing"
)

// The program running the hub (ledbridge join's own session) presents OwnClientToken and counts as
// a client of its own: the sockets other programs open from its address cannot take its
// per-address cap, nor spend its budgets (review 317). A wrong token counts as the address.
func TestOwnClientTokenMakesAClientOfItsOwn(t *testing.T) {
	const token = "0123456789abcdef0123456789abcdef"
	h := startHub(t, Config{MaxConnectionsPerAddress: 2, OwnClientToken: token})
	dial(t, h, dialOpts{from: "127.0.0.9"})
	dial(t, h, dialOpts{from: "127.0.0.9"})
	if _, err := tryDial(t, h, dialOpts{from: "127.0.0.9"}); err == nil {
		t.Fatal("a third socket from the address was let in past its cap of 2")
	}
	wrong := http.Header{OwnClientHeader: {token[:31] + "0"}}
	if _, err := tryDial(t, h, dialOpts{from: "127.0.0.9", header: wrong}); err == nil {
		t.Fatal("a socket with a wrong token was let in past its address's cap")
	}
	own := http.Header{OwnClientHeader: {token}}
	c, err := tryDial(t, h, dialOpts{from: "127.0.0.9", header: own})
	if err != nil {
		t.Fatalf("the hub's own client, from a full address: %v", err)
	}
	c.join(topic, cfgJSON(false, false, "ledbridge"))
	h.addrs.mu.Lock()
	defer h.addrs.mu.Unlock()
	if e := h.addrs.entries[ownClientKey]; e == nil || e.open != 1 {
		t.Errorf("the own client's entry %+v, want one socket holding it", e)
	}
}
