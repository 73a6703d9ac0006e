package peer

import (
	"net"
	"net/netip"
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

// The same change with pion's own ICE timeouts (5 s to disconnected, 25 s more to failed), the
// host address watch telling the Manager of it: the bridge restarts ICE at once for the musician
// whose selected pair was on the address that went, instead of half a minute later on failure.
// How long the audio took to come back is logged (not asserted): about 31 s before the watch
// told the Manager, well under a second since.
func TestHostAddressGoneRestartsICEAtOnce(t *testing.T) {
	if !testenv.InNetworkNamespace(t, addressChangeSetup) {
		return
	}
	r, m, s := startVethIvy(t)
	signalsBefore := len(r.bridgeSignals())

	const change = "ip addr add 10.89.0.8/24 dev veth0 && ip addr del 10.89.0.7/24 dev veth0"
	if out, err := exec.Command("sh", "-c", change).CombinedOutput(); err != nil {
		t.Fatalf("%s: %v\n%s", change, err, out)
	}
	changed, before := time.Now(), s.fromMic("ivy")
	m.HostAddressesChanged(hostAddresses(t))
	waitLonger(t, "ivy's audio after the address change", func() bool { return s.fromMic("ivy") >= before+25 })
	t.Logf("ivy's audio back (25 packets, 0.5 s of it, heard) %v after the address change", time.Since(changed).Round(10*time.Millisecond))

	sigs := r.bridgeSignals()[signalsBefore:]
	if n := countSignals(sigs, room.SignalOffer, "ivy"); n < 1 {
		t.Errorf("bridge sent %d offers to ivy after the address change, want an ICE-restart offer", n)
	}
	if got := bridgeAddresses(sigs); !got["10.89.0.8"] || got["10.89.0.7"] {
		t.Errorf("bridge candidates after the change on %v, want 10.89.0.8 alone", got)
	}
	st, _ := musicianStats(m, "ivy")
	if st.AddressGoneRestarts != 1 || st.ICERestarts != 1 {
		t.Errorf("AddressGoneRestarts = %d, ICERestarts = %d; want the one restart, for the address that went", st.AddressGoneRestarts, st.ICERestarts)
	}
}

// An address that comes and goes beside the one the connection uses (a second address on the same
// interface) changes the host's addresses twice, and the bridge, told each time, leaves the
// connection alone: an ICE restart would drop the pair that works.
func TestHostAddressChangeBesideTheSelectedPairLeavesItAlone(t *testing.T) {
	if !testenv.InNetworkNamespace(t, addressChangeSetup) {
		return
	}
	requireLoopback(t)
	r, s, states := newTestRoom(t), &sinks{}, &stateLog{}
	cfg := bridgeConfig(t, r, s)
	cfg.Interfaces = []string{"veth0"}
	cfg.OnStateChange = states.record
	m := startManager(t, cfg, r)
	newTestMusician(t, r, "ivy", musicianOpts{offerFirst: true})
	if err := m.MusicianJoined("ivy"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "bridge connected to ivy", bridgeConnected(m, "ivy"))
	waitFor(t, "ivy's audio", func() bool { return s.fromMic("ivy") >= 10 })
	signalsBefore, statesBefore := len(r.bridgeSignals()), len(states.get("ivy"))

	for i, change := range []string{"ip addr add 10.89.0.9/24 dev veth0", "ip addr del 10.89.0.9/24 dev veth0"} {
		if out, err := exec.Command("sh", "-c", change).CombinedOutput(); err != nil {
			t.Fatalf("%s: %v\n%s", change, err, out)
		}
		m.HostAddressesChanged(hostAddresses(t))
		waitFor(t, "ivy's check of the host's addresses", func() bool { return hostAddressChecks(m, "ivy") > uint64(i) })
	}
	before := s.fromMic("ivy")
	waitFor(t, "ivy's audio after the changes", func() bool { return s.fromMic("ivy") >= before+25 })

	if n := countSignals(r.bridgeSignals()[signalsBefore:], room.SignalOffer, "ivy"); n != 0 {
		t.Errorf("bridge sent ivy %d offers after the changes, want none", n)
	}
	if got := states.get("ivy")[statesBefore:]; len(got) != 0 {
		t.Errorf("ivy's connection went through %v after the changes, want it left connected", got)
	}
	if st, _ := musicianStats(m, "ivy"); st.ICERestarts != 0 || st.AddressGoneRestarts != 0 {
		t.Errorf("ICERestarts = %d, AddressGoneRestarts = %d; want none", st.ICERestarts, st.AddressGoneRestarts)
	}
}

// hostAddressChecks is how many times musician id has checked its pair against the host's addresses.
func hostAddressChecks(m *Manager, id MusicianID) uint64 {
	m.mu.Lock()
	defer m.mu.Unlock()
	if mus := m.musicians[id]; mus != nil {
		return mus.hostAddrChecks.Load()
	}
	return 0
}

// hostAddresses lists the host's addresses, as the daemon's host address watch does.
func hostAddresses(t *testing.T) []netip.Addr {
	t.Helper()
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		t.Fatal(err)
	}
	var out []netip.Addr
	for _, a := range addrs {
		if p, err := netip.ParsePrefix(a.String()); err == nil {
			out = append(out, p.Addr())
		}
	}
	return out
}

// waitLonger is waitFor with room for pion's own ICE timeouts (half a minute to failed).
func waitLonger(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(90 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("gave up waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
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

// startVethIvy starts a bridge gathering on veth0 only (addressChangeSetup's network namespace)
// and musician ivy, who offers, and waits until her audio arrives.
func startVethIvy(t *testing.T) (*testRoom, *Manager, *sinks) {
	requireLoopback(t)
	r, s := newTestRoom(t), &sinks{}
	cfg := bridgeConfig(t, r, s)
	cfg.Interfaces = []string{"veth0"}
	m := startManager(t, cfg, r)
	newTestMusician(t, r, "ivy", musicianOpts{offerFirst: true})
	if err := m.MusicianJoined("ivy"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "bridge connected to ivy", bridgeConnected(m, "ivy"))
	waitFor(t, "ivy's audio", func() bool { return s.fromMic("ivy") >= 10 })
	return r, m, s
}
