package wled_test

import (
	"net"
	"os/exec"
	"strconv"
	"testing"
	"time"

	"github.com/ledbridge/ledbridge/bridge/testenv"
	"github.com/ledbridge/ledbridge/wled"
)

// linkLocalPair makes a veth pair, va and vb, with fe80::1 on va and fe80::2 on vb: a WLED at
// an IPv6 link-local address behind the interface va (a USB Ethernet adapter). Deleting va
// deletes both ends, as unplugging the adapter does; running it again plugs it back in, with new
// interface indexes.
const linkLocalPair = "ip link add va type veth peer name vb && " +
	"ip addr add fe80::1/64 dev va nodad && ip addr add fe80::2/64 dev vb nodad && " +
	"ip link set va up && ip link set vb up"

// A sender to a link-local address whose zone is an interface name (ddp://[fe80::…%eth0]) sends
// again as soon as its interface is back after being deleted and made again. Go maps a zone name
// to an interface index from a cache it refreshes at most once a minute, so a socket re-opened
// with the name kept the gone interface's index: the strip stayed dark until the cache expired,
// and every failed re-open went uncounted.
func TestSenderFollowsItsZonesInterfaceAcrossARecreation(t *testing.T) {
	if !testenv.InNetworkNamespace(t, linkLocalPair) {
		return
	}
	device, err := net.ListenUDP("udp6", &net.UDPAddr{IP: net.IPv6unspecified})
	if err != nil {
		t.Fatal(err)
	}
	defer device.Close()
	port := device.LocalAddr().(*net.UDPAddr).Port
	s, err := wled.NewSender(wled.SenderConfig{Protocol: wled.ProtocolDDP, Addr: "[fe80::2%va]:" + strconv.Itoa(port), LEDs: 30})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	frame := make([]byte, s.FrameBytes())
	received := func() bool {
		_ = device.SetReadDeadline(time.Now().Add(20 * time.Millisecond))
		buf := make([]byte, 2048)
		_, _, err := device.ReadFromUDP(buf)
		return err == nil
	}
	// sendUntilReceived sends a frame every 20 ms until the device gets one. Its deadline is a
	// safety net far below the minute Go's zone cache lives, so a sender that waits for the cache
	// fails it.
	sendUntilReceived := func(what string) {
		t.Helper()
		for deadline := time.Now().Add(15 * time.Second); ; {
			_, _ = s.Send(frame)
			if received() {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("no packet at the device %s (reopens %d, failed reopens %d)", what, s.Reopens(), s.ReopenFailures())
			}
		}
	}
	sendUntilReceived("at first")

	if out, err := exec.Command("ip", "link", "del", "va").CombinedOutput(); err != nil {
		t.Fatalf("ip link del va: %v\n%s", err, out)
	}
	// Sends fail while the interface is gone, and the re-opens they lead to fail and are counted.
	for deadline := time.Now().Add(10 * time.Second); s.ReopenFailures() == 0; time.Sleep(20 * time.Millisecond) {
		if _, err := s.Send(frame); err == nil {
			t.Fatal("a send succeeded with its interface gone")
		}
		if time.Now().After(deadline) {
			t.Fatalf("no failed re-open counted while the interface is gone (reopens %d)", s.Reopens())
		}
	}

	if out, err := exec.Command("sh", "-c", linkLocalPair).CombinedOutput(); err != nil {
		t.Fatalf("%s: %v\n%s", linkLocalPair, err, out)
	}
	before := s.Reopens()
	sendUntilReceived("after its interface came back")
	if s.Reopens() == before {
		t.Errorf("packets arrive without a re-open (%d): the test did not exercise one", before)
	}
}
