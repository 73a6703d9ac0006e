package peer

import (
	"os/exec"
	"testing"
	"time"

	"github.com/ledbridge/ledbridge/bridge/testenv"
)

// The Pi's only LAN address goes for a moment (Wi-Fi drops and comes back, the same lease) and
// the host address watch tells the Manager both times. While it is gone the host has nothing an
// ICE restart could gather on, so the bridge leaves the connection as it is; its socket works
// again as soon as the address is back. It used to restart at once, on no address: the restart
// found no candidate, and the connection, "connecting" since, waited for ConnectTimeout (15 s)
// before it was restarted again, where a bridge never told of the change had its audio back in
// about 2 s. How long the audio took is logged; the wait is bounded well under that 15 s.
func TestHostAddressBackAfterAMomentKeepsTheAudioGoing(t *testing.T) {
	if !testenv.InNetworkNamespace(t, addressChangeSetup) {
		return
	}
	_, m, s := startVethIvy(t)

	runIP(t, "ip addr del 10.89.0.7/24 dev veth0")
	gone := time.Now()
	m.HostAddressesChanged(hostAddresses(t))
	waitFor(t, "ivy's check of the host's addresses", func() bool { return hostAddressChecks(m, "ivy") >= 1 })
	time.Sleep(1500*time.Millisecond - time.Since(gone))
	runIP(t, "ip addr add 10.89.0.7/24 dev veth0")
	m.HostAddressesChanged(hostAddresses(t))
	before := s.fromMic("ivy")

	deadline := gone.Add(8 * time.Second)
	for s.fromMic("ivy") < before+25 {
		if time.Now().After(deadline) {
			st, _ := musicianStats(m, "ivy")
			t.Fatalf("ivy's audio not back 8 s after her address went for 1.5 s (state %s, %d ICE restarts)", st.ConnectionState, st.ICERestarts)
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Logf("ivy's audio back (25 packets heard) %v after the address went", time.Since(gone).Round(10*time.Millisecond))
}

// runIP runs an ip(8) command line through the shell.
func runIP(t *testing.T, cmd string) {
	t.Helper()
	if out, err := exec.Command("sh", "-c", cmd).CombinedOutput(); err != nil {
		t.Fatalf("%s: %v\n%s", cmd, err, out)
	}
}
