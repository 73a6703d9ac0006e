package wled_test

import (
	"context"
	"errors"
	"net"
	"os/exec"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/ipv4"

	"github.com/ledbridge/ledbridge/bridge/testenv"
	"github.com/ledbridge/ledbridge/wled"
)

// A venue's LED LAN as a veth pair: this machine's end, lan0, has an address; lan1 stands for the
// WLEDs' side. lan1 takes packets whose source is lan0's address (accept_local), which it would
// otherwise drop as martian, both ends being in one namespace.
const ledLAN = "ip link add lan0 type veth peer name lan1 && ip link set lan0 up && ip link set lan1 up && " +
	"ip addr add 10.77.0.1/24 dev lan0 && echo 1 > /proc/sys/net/ipv4/conf/lan1/accept_local"

// wifiDefaultRoute adds a second network, wifi0/wifi1, that holds the default route, as a Pi's
// Wi-Fi does while its Ethernet is on the LED LAN.
const wifiDefaultRoute = "ip link add wifi0 type veth peer name wifi1 && ip link set wifi0 up && ip link set wifi1 up && " +
	"ip addr add 10.88.0.1/24 dev wifi0 && echo 1 > /proc/sys/net/ipv4/conf/wifi1/accept_local && " +
	"ip route add default via 10.88.0.254 dev wifi0"

// soundSyncListener receives the default sound sync group on one interface, as an audio-reactive
// WLED on that network does, and tells which interface each packet arrived on.
type soundSyncListener struct {
	conn *net.UDPConn
	pc   *ipv4.PacketConn
	ifi  *net.Interface
}

func listenSoundSync(t *testing.T, ifName string) *soundSyncListener {
	t.Helper()
	ifi, err := net.InterfaceByName(ifName)
	if err != nil {
		t.Fatal(err)
	}
	c, err := net.ListenMulticastUDP("udp4", ifi, &net.UDPAddr{IP: net.IPv4(239, 0, 0, 1), Port: 11988})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	pc := ipv4.NewPacketConn(c)
	if err := pc.SetControlMessage(ipv4.FlagInterface, true); err != nil {
		t.Fatal(err)
	}
	return &soundSyncListener{conn: c, pc: pc, ifi: ifi}
}

// sendUntilHeard sends a packet every 10 ms until l receives one that arrived on l's interface
// (at most 15 s), and returns Send's last error.
func sendUntilHeard(t *testing.T, s *wled.SoundSyncSender, l *soundSyncListener) error {
	t.Helper()
	heard := make(chan error, 1)
	go func() {
		buf := make([]byte, 64)
		_ = l.conn.SetReadDeadline(time.Now().Add(15 * time.Second))
		for {
			n, cm, _, err := l.pc.ReadFrom(buf)
			if err != nil {
				heard <- err
				return
			}
			if n == wled.SoundSyncPacketLen && string(buf[:6]) == "00002\x00" && cm != nil && cm.IfIndex == l.ifi.Index {
				heard <- nil
				return
			}
		}
	}()
	var last error
	for {
		select {
		case err := <-heard:
			if err != nil {
				t.Fatalf("nothing heard on %s: %v; Send's last error: %v", l.ifi.Name, err, last)
			}
			return last
		case <-time.After(10 * time.Millisecond):
			last = s.Send(wled.SoundSync{})
		}
	}
}

// On a LED LAN with no default route (no gateway: the case discovery joins per interface for),
// sound sync to WLED's default group reaches the LAN. It used to dial 239.0.0.1 through the
// routing table, which had no route for it: "connect: network is unreachable", for ever.
func TestSoundSyncMulticastWithoutDefaultRoute(t *testing.T) {
	if !testenv.InNetworkNamespace(t, ledLAN) {
		return
	}
	l := listenSoundSync(t, "lan1")
	s, err := wled.NewSoundSyncSender("")
	if err != nil {
		t.Fatal(err)
	}
	runSender(t, s)
	sendUntilHeard(t, s, l)
	if err := s.Send(wled.SoundSync{}); err != nil {
		t.Errorf("Send: %v", err)
	}
}

// With the default route on Wi-Fi, sound sync still reaches the LED LAN (and the Wi-Fi too): it
// used to leave by the default route only.
func TestSoundSyncMulticastOnEveryInterface(t *testing.T) {
	if !testenv.InNetworkNamespace(t, ledLAN+" && "+wifiDefaultRoute) {
		return
	}
	lan, wifi := listenSoundSync(t, "lan1"), listenSoundSync(t, "wifi1")
	s, err := wled.NewSoundSyncSender("")
	if err != nil {
		t.Fatal(err)
	}
	runSender(t, s)
	sendUntilHeard(t, s, lan)
	sendUntilHeard(t, s, wifi)
	if a := testing.AllocsPerRun(100, func() { _ = s.Send(wled.SoundSync{}) }); a != 0 {
		t.Errorf("%v allocs per Send", a)
	}
}

// Before any interface has an address, Send says so; the sender picks up the LAN when it comes
// up, drops it when it goes, and takes it again when it is back.
func TestSoundSyncMulticastFollowsInterfaces(t *testing.T) {
	if !testenv.InNetworkNamespace(t, "true") {
		return
	}
	s, err := wled.NewSoundSyncSender("")
	if err != nil {
		t.Fatal(err)
	}
	runSender(t, s)
	waitSendError(t, s, "no network interface")
	run(t, ledLAN)
	sendUntilHeard(t, s, listenSoundSync(t, "lan1"))

	run(t, "ip link del lan0") // its peer lan1 goes with it
	waitSendError(t, s, "no network interface")
	run(t, ledLAN)
	sendUntilHeard(t, s, listenSoundSync(t, "lan1"))
}

// waitSendError sends until Send's error is ErrSoundSyncNotConnected and says want (at most 15 s).
func waitSendError(t *testing.T, s *wled.SoundSyncSender, want string) {
	t.Helper()
	var err error
	for deadline := time.Now().Add(15 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if err = s.Send(wled.SoundSync{}); errors.Is(err, wled.ErrSoundSyncNotConnected) && strings.Contains(err.Error(), want) {
			return
		}
	}
	t.Fatalf("Send: %v; want ErrSoundSyncNotConnected saying %q", err, want)
}

func run(t *testing.T, script string) {
	t.Helper()
	if out, err := exec.Command("sh", "-c", script).CombinedOutput(); err != nil {
		t.Fatalf("%s: %v\n%s", script, err, out)
	}
}

// Send's error says why there is no socket: before Run, no route to a unicast address (here no
// network at all), and after Run. It used to say "no socket yet (network not up?)" throughout.
func TestSoundSyncSaysWhyItHasNoSocket(t *testing.T) {
	if !testenv.InNetworkNamespace(t, "true") {
		return
	}
	s, err := wled.NewSoundSyncSender("10.9.0.2:11988")
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Send(wled.SoundSync{}); !errors.Is(err, wled.ErrSoundSyncNotConnected) || !strings.Contains(err.Error(), "Run has not") {
		t.Errorf("before Run: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = s.Run(ctx) }()
	waitSendError(t, s, "10.9.0.2:11988: connect: network is unreachable")
	cancel()
	<-done
	if err := s.Send(wled.SoundSync{}); !errors.Is(err, wled.ErrSoundSyncNotConnected) || !strings.Contains(err.Error(), "Run has returned") {
		t.Errorf("after Run: %v", err)
	}
}
