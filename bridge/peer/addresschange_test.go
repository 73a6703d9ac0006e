package peer

import (
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/pion/webrtc/v4"

	"github.com/ledbridge/ledbridge/bridge/room"
	"github.com/ledbridge/ledbridge/bridge/testenv"
)

// The Pi's address changes under a streaming musician (a new DHCP lease): its connection
// fails, and the ICE restart that follows must gather on the address the Pi has now. The test
// runs in a network namespace of its own, where the bridge gathers on veth0 alone (10.89.0.7,
// then 10.89.0.8) and the musician on the loopback; both ends are in the namespace, so the
// kernel carries their packets over lo. A socket bound to the old address can send nothing
// once it is gone, and nothing reaches it. The new address comes before the old one goes, as the
// reviewer's repro had it; promote_secondaries (on in systemd's sysctl defaults, off in a new
// namespace) keeps the kernel from deleting it with the old one.
const addressChangeSetup = "ip link add veth0 type veth peer name veth1 && " +
	"echo 1 > /proc/sys/net/ipv4/conf/veth0/promote_secondaries && " +
	"ip link set veth0 up && ip link set veth1 up && ip addr add 10.89.0.7/24 dev veth0"

func TestICERestartAfterOwnAddressChangeGathersOnTheNewAddress(t *testing.T) {
	if !testenv.InNetworkNamespace(t, addressChangeSetup) {
		return
	}
	requireLoopback(t)
	r, s, states := newTestRoom(t), &sinks{}, &stateLog{}
	cfg := bridgeConfig(t, r, s)
	cfg.Interfaces = []string{"veth0"}
	cfg.ICEDisconnectedTimeout, cfg.ICEFailedTimeout = 500*time.Millisecond, time.Second
	cfg.RestartBackoff = []time.Duration{100 * time.Millisecond}
	cfg.OnStateChange = states.record
	m := startManager(t, cfg, r)
	newTestMusician(t, r, "ivy", musicianOpts{offerFirst: true})
	if err := m.MusicianJoined("ivy"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "bridge connected to ivy", bridgeConnected(m, "ivy"))
	waitFor(t, "ivy's audio", func() bool { return s.fromMic("ivy") >= 10 })
	if got := bridgeAddresses(r.bridgeSignals()); !got["10.89.0.7"] || got["10.89.0.8"] {
		t.Fatalf("bridge candidates before the change on %v, want 10.89.0.7", got)
	}
	signalsBefore := len(r.bridgeSignals())

	const change = "ip addr add 10.89.0.8/24 dev veth0 && ip addr del 10.89.0.7/24 dev veth0"
	if out, err := exec.Command("sh", "-c", change).CombinedOutput(); err != nil {
		t.Fatalf("%s: %v\n%s", change, err, out)
	}
	waitFor(t, "bridge to see the failure", func() bool {
		for _, st := range states.get("ivy") {
			if st == webrtc.PeerConnectionStateFailed {
				return true
			}
		}
		return false
	})
	waitFor(t, "bridge reconnected to ivy", bridgeConnected(m, "ivy"))
	before := s.fromMic("ivy")
	waitFor(t, "ivy's audio after the restart", func() bool { return s.fromMic("ivy") >= before+25 })
	if got := bridgeAddresses(r.bridgeSignals()[signalsBefore:]); !got["10.89.0.8"] || got["10.89.0.7"] {
		t.Errorf("bridge candidates after the change on %v, want 10.89.0.8 alone", got)
	}
	if st, _ := musicianStats(m, "ivy"); st.ICERestarts < 1 {
		t.Errorf("ICERestarts = %d, want the reconnection to be an ICE restart", st.ICERestarts)
	}
}

// bridgeAddresses returns the addresses of the host candidates in sigs, trickled or in an SDP.
func bridgeAddresses(sigs []room.Signal) map[string]bool {
	addrs := map[string]bool{}
	note := func(cand string) {
		cand = strings.TrimPrefix(strings.TrimPrefix(cand, "a="), "candidate:")
		f := strings.Fields(cand)
		if len(f) >= 8 && f[6] == "typ" && f[7] == "host" {
			addrs[f[4]] = true
		}
	}
	for _, sig := range sigs {
		if sig.Candidate != nil {
			note(sig.Candidate.Candidate)
		}
		if sig.Description != nil {
			for _, l := range strings.Split(sig.Description.SDP, "\r\n") {
				if strings.HasPrefix(l, "a=candidate:") {
					note(l)
				}
			}
		}
	}
	return addrs
}
