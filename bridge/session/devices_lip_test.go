package session

import (
	"net"
	"net/netip"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ledbridge/ledbridge/wled"
	"github.com/ledbridge/ledbridge/wled/wledtest"
)

// discardUDP is a UDP port on ip that takes datagrams and shows nothing: a WLED that ignores ours.
func discardUDP(t *testing.T, ip string) int {
	t.Helper()
	c, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(netip.AddrPortFrom(netip.MustParseAddr(ip), 0)))
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		buf := make([]byte, 2048)
		for {
			if _, _, err := c.ReadFromUDP(buf); err != nil {
				return
			}
		}
	}()
	t.Cleanup(func() { _ = c.Close(); <-done })
	return c.LocalAddr().(*net.UDPAddr).Port
}

// driveFrom streams DDP frames of leds black pixels to dst from a socket bound to ip, as another
// sender on the LAN does, until the test ends.
func driveFrom(t *testing.T, ip, dst string, leds int) {
	t.Helper()
	c, err := net.DialUDP("udp", net.UDPAddrFromAddrPort(netip.AddrPortFrom(netip.MustParseAddr(ip), 0)),
		net.UDPAddrFromAddrPort(netip.MustParseAddrPort(dst)))
	if err != nil {
		t.Fatal(err)
	}
	n := 3 * leds
	pkt := append([]byte{0x41, 1, 0x0B, 0x01, 0, 0, 0, 0, byte(n >> 8), byte(n)}, make([]byte, n)...)
	stop, done := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-stop:
				return
			case <-tick.C:
				_, _ = c.Write(pkt)
			}
		}
	}()
	t.Cleanup(func() { close(stop); <-done; _ = c.Close() })
}

// A WLED that another DDP sender drives says live: true and lm "DDP", as it would for ours: only
// lip, the other sender's address, tells them apart. Here the second sender streams from
// 127.0.0.2 while our packets go to a port that ignores them; our address towards the device
// (127.0.204.1) is 127.0.0.1, so the poll must not count as our frames.
func TestSameProtocolSenderFromAnotherAddressIsNotOurFrames(t *testing.T) {
	const ip, mac = "127.0.204.1", "02fc00020401"
	fake := wledtest.New(t, wledtest.Config{MAC: mac, LEDs: 60, Name: "strip-0401",
		HTTPListen: "-", RealtimeListen: "-", DDPListen: ip + ":0"})
	ignored := discardUDP(t, ip)
	var ours atomic.Value // the lip the JSON API reports instead of the fake's, once set
	api := startInfoFront(t, ip, func() wled.Info {
		i := fake.Info()
		if lip, _ := ours.Load().(string); lip != "" {
			i.Live, i.LiveMode, i.LiveIP = true, "DDP", lip
		}
		return i
	})
	url := "wled://" + api.String() + "?ddpport=" + strconv.Itoa(ignored)
	r := startDeviceRig(t, []string{url}, nil, func(d *deviceSet) { d.recheckEvery = 20 * time.Millisecond })
	waitStrips(t, r, url+"->"+ip+":"+strconv.Itoa(ignored)+"/60")
	driveFrom(t, "127.0.0.2", fake.DDPAddr(), 60)
	feedStrip(t, r, url)
	streamingForASecond(t, r, url)
	if i := fake.Info(); !i.Live || i.LiveMode != "DDP" || i.LiveIP != "127.0.0.2" {
		t.Fatalf("the fake is not driven by the other sender: live %v lm %q lip %q", i.Live, i.LiveMode, i.LiveIP)
	}
	waitFor(t, "the other-source warning", func() bool {
		return len(logLines(r.logs.String(), "level=WARN", "another source", "lip=127.0.0.2")) > 0
	})
	w := logLines(r.logs.String(), "level=WARN", "another source")[0]
	for _, want := range []string{url, "not showing our frames", `from 127.0.0.2`} {
		if !strings.Contains(w, want) {
			t.Errorf("warning %q does not mention %q", w, want)
		}
	}
	if lines := logLines(r.logs.String(), "shows our frames again"); len(lines) != 0 {
		t.Fatalf("another sender's stream counted as ours:\n%s", strings.Join(lines, "\n"))
	}
	// Our own address, in the IPv4-mapped form too, is our stream: the all-clear.
	ours.Store("::ffff:127.0.0.1")
	waitFor(t, "the all-clear", func() bool { return len(logLines(r.logs.String(), "level=INFO", "shows our frames again")) > 0 })
}
