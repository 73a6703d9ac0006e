package wled_test

import (
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ledbridge/ledbridge/bridge/testenv"
	"github.com/ledbridge/ledbridge/wled"
)

// stalledLink is a veth whose transmit queue does not drain (tbf at 8 bit/s with a huge queue
// stands for a wedged Wi-Fi driver): packets pile up in the qdisc until the socket's send buffer
// is full, and a blocking write then waits until the queue moves.
const stalledLink = "ip link add v0 type veth peer name v1 && ip addr add 10.9.0.1/24 dev v0 && " +
	"ip link set v0 up && ip link set v1 up && ip neigh add 10.9.0.2 lladdr 02:00:00:00:00:02 dev v0 && " +
	"ip route add 239.0.0.0/8 dev v0 && tc qdisc add dev v0 root tbf rate 8bit burst 1600 limit 100000000"

// Send runs on the frame loop's tick: an interface whose queue is stuck must cost a packet, not
// hold the tick (review 306: one Send had not returned after 7 s). Well past the send buffer's
// few hundred packets, every Send returns; the stuck ones say why.
func TestSoundSyncSendDoesNotWaitOnAStuckInterface(t *testing.T) {
	sendsPastAFullBuffer(t, "10.9.0.2:11988")
}

func TestSoundSyncMulticastDoesNotWaitOnAStuckInterface(t *testing.T) {
	sendsPastAFullBuffer(t, "239.0.0.1:11988")
}

func sendsPastAFullBuffer(t *testing.T, addr string) {
	if !testenv.InNetworkNamespace(t, stalledLink) {
		return
	}
	s := sendingTo(t, addr)
	const sends = 2000 // the default send buffer holds a few hundred of these packets
	done := make(chan error, 1)
	go func() {
		var last error
		for range sends {
			if err := s.Send(wled.SoundSync{}); err != nil {
				last = err
			}
		}
		done <- last
	}()
	select {
	case last := <-done:
		if last == nil {
			t.Fatalf("%d sends into a queue that does not drain all succeeded: the link does not stall", sends)
		}
		t.Logf("%d sends returned; the last failure: %v", sends, last)
	case <-time.After(30 * time.Second):
		t.Fatalf("Send blocked on the stuck interface (%d sends not done after 30 s)", sends)
	}
}

// twoLinks: v0 stuck (stalledLink, the lower interface index) and v2 healthy (the LED LAN); both multicast.
const twoLinks = stalledLink + " && ip link add v2 type veth peer name v3 && ip addr add 10.8.0.1/24 dev v2 && " +
	"ip link set v2 up && ip link set v3 up"

func txPackets(t *testing.T, dev string) int {
	b, err := os.ReadFile("/proc/net/dev")
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range strings.Split(string(b), "\n") {
		f := strings.Fields(strings.ReplaceAll(l, ":", " "))
		if len(f) > 10 && f[0] == dev {
			n, _ := strconv.Atoi(f[10])
			return n
		}
	}
	t.Fatalf("no %s", dev)
	return 0
}

// A stuck interface must not cost the healthy ones their packets: Send tries each interface
// once and moves on (review 309: with one write deadline shared by the interfaces, the stuck one
// spent it and the healthy one after it sent 0 of 100).
func TestSoundSyncHealthyInterfaceAfterAStuckOne(t *testing.T) {
	if !testenv.InNetworkNamespace(t, twoLinks) {
		return
	}
	s := sendingTo(t, "239.0.0.1:11988")
	// Fill v0's socket buffer.
	for range 2000 {
		_ = s.Send(wled.SoundSync{})
	}
	before := txPackets(t, "v2")
	var lastErr error
	fails := 0
	for range 100 {
		if err := s.Send(wled.SoundSync{}); err != nil {
			fails++
			lastErr = err
		}
	}
	got := txPackets(t, "v2") - before
	t.Logf("v2 (healthy) sent %d of 100; %d Sends failed; last: %v", got, fails, lastErr)
	if got < 90 {
		t.Errorf("the healthy interface lost %d of 100 packets to the stuck one", 100-got)
	}
}

// sendingTo runs a sound sync sender to addr and returns it once a Send has gone out.
func sendingTo(t *testing.T, addr string) *wled.SoundSyncSender {
	t.Helper()
	s, err := wled.NewSoundSyncSender(addr)
	if err != nil {
		t.Fatal(err)
	}
	runSender(t, s)
	for deadline := time.Now().Add(5 * time.Second); s.Send(wled.SoundSync{}) != nil; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the sender never opened its sockets")
		}
	}
	return s
}
