package peer

import (
	"net"
	"testing"
	"time"

	"github.com/pion/stun/v4"
)

// A host on the LAN sending binding requests to the bridge's ICE port, one with no USERNAME and
// one with a USERNAME of its own, is no ICE restart's stale check: ice's "Discard request with
// wrong username" stays a warning for both.
func TestForeignSTUNProbeWarns(t *testing.T) {
	requireLoopback(t)
	forgetICERestarts(t)
	_, _, ana, buf := anaConnectedLogged(t, nil)
	pair, err := ana.pc.GetTransceivers()[0].Sender().Transport().ICETransport().GetSelectedCandidatePair()
	if err != nil || pair == nil {
		t.Fatalf("her selected pair: %v, %v", pair, err)
	}
	c, err := net.DialUDP("udp4", nil, &net.UDPAddr{IP: net.ParseIP(pair.Remote.Address), Port: int(pair.Remote.Port)})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	discarded := func(why string) func() bool {
		return func() bool { return len(warningsWith(buf.String(), "Discard request with wrong username", why)) > 0 }
	}
	if _, err := c.Write(stun.MustBuild(stun.TransactionID, stun.BindingRequest, stun.Fingerprint).Raw); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the request without USERNAME discarded", discarded("attribute not found"))
	time.Sleep(1100 * time.Millisecond) // past the one-warning-a-second limit
	if _, err := c.Write(stun.MustBuild(stun.TransactionID, stun.BindingRequest, stun.NewUsername("scan:me"), stun.Fingerprint).Raw); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the request with a stranger's USERNAME discarded", discarded("username mismatch"))
	log := buf.String()
	for _, why := range []string{"attribute not found", "username mismatch"} {
		if got := warningsWith(log, "level=WARN", "Discard request with wrong username", why); len(got) != 1 {
			t.Errorf("want one WARN for the probe with %q, got %q in:\n%s", why, got, warningsWith(log, "Discard request"))
		}
	}
}

// The bridge's own ICE restart (a failed connection's) is what makes the other side's checks
// for the replaced ufrag expected for a while, so it is noted.
func TestBridgeICERestartIsNoted(t *testing.T) {
	forgetICERestarts(t)
	buf, cut := startOutageIvy(t, time.Second, true)
	cut.Store(true)
	waitFor(t, "the connection back logged", func() bool { return len(ivyInfoLines(buf.String(), "down_for=")) > 0 })
	if !staleCheckExpected(time.Now()) {
		t.Fatalf("the bridge restarted ICE (%q) and no restart is noted", warningsWith(buf.String(), "ICE restart"))
	}
}
