package wled_test

import (
	"errors"
	"net"
	"os/exec"
	"testing"

	"github.com/ledbridge/ledbridge/bridge/testenv"
	"github.com/ledbridge/ledbridge/wled"
)

// Sound sync configured while the network is not up yet (a venue's switch booting after the Pi):
// the sender is made anyway, Send reports that it has no socket, and packets flow once a route
// to the receiver exists. Before, opening the socket failed and `join` exited for good.
func TestSoundSyncSenderWaitsForTheNetwork(t *testing.T) {
	if !testenv.InNetworkNamespace(t, "true") {
		return
	}
	s, err := wled.NewSoundSyncSender("10.9.0.2:11988")
	if err != nil {
		t.Fatalf("no route yet: %v", err)
	}
	runSender(t, s)
	if err := s.Send(wled.SoundSync{}); !errors.Is(err, wled.ErrSoundSyncNotConnected) {
		t.Fatalf("Send before the network is up: %v, want ErrSoundSyncNotConnected", err)
	}
	if out, err := exec.Command("ip", "addr", "add", "10.9.0.2/32", "dev", "lo").CombinedOutput(); err != nil {
		t.Fatalf("ip addr add: %v\n%s", err, out)
	}
	l, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(10, 9, 0, 2), Port: 11988})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	sendUntilReceived(t, s, l)
}

// This machine's own address changes under a running sender (see ownAddressSetup): its socket
// is replaced once its sends have failed for ReopenAfter, and packets flow again.
func TestSoundSyncSenderRecoversAfterOwnAddressChange(t *testing.T) {
	if !testenv.InNetworkNamespace(t, ownAddressSetup) {
		return
	}
	l, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(10, 9, 0, 2), Port: 11988})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	s, err := wled.NewSoundSyncSender("10.9.0.2:11988")
	if err != nil {
		t.Fatal(err)
	}
	runSender(t, s)
	sendUntilReceived(t, s, l)
	changeOwnAddress(t)
	sendUntilReceived(t, s, l)
	if n := s.Reopens(); n != 1 {
		t.Errorf("socket replaced %d times, want 1", n)
	}
}
