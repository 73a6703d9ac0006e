package wledtest

import (
	"net"
	"testing"
	"time"

	"github.com/ledbridge/ledbridge/wled"
)

// sendFrom sends pkt to the fake's address dst from a socket bound to ip (any port).
func sendFrom(t *testing.T, ip, dst string, pkt []byte) {
	t.Helper()
	laddr, err := net.ResolveUDPAddr("udp", net.JoinHostPort(ip, "0"))
	if err != nil {
		t.Fatal(err)
	}
	raddr, err := net.ResolveUDPAddr("udp", dst)
	if err != nil {
		t.Fatal(err)
	}
	c, err := net.DialUDP("udp", laddr, raddr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := c.Write(pkt); err != nil {
		t.Fatal(err)
	}
}

// The fake's /json/info says who drives it in lip, as WLED does: the source address of the
// realtime packets it shows, the last sender's when two send, and "" out of realtime mode.
func TestFakeReportsTheLiveSendersAddress(t *testing.T) {
	clock := newStepClock()
	f := New(t, Config{LEDs: 4, Now: clock.Now})
	lip := func() string {
		info, err := (&wled.Client{}).Info(t.Context(), f.HTTPAddr())
		if err != nil {
			t.Fatal(err)
		}
		return info.LiveIP
	}
	if got := lip(); got != "" {
		t.Fatalf("before any packet: lip = %q, want \"\"", got)
	}
	waitPackets := func(n int) {
		t.Helper()
		for deadline := time.Now().Add(5 * time.Second); f.Packets() < n; time.Sleep(time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("the fake took %d packets, want %d", f.Packets(), n)
			}
		}
	}
	sendFrom(t, "127.0.0.2", f.DDPAddr(), ddpPushPacket(1))
	waitPackets(1)
	if got := lip(); got != "127.0.0.2" {
		t.Fatalf("driven by DDP from 127.0.0.2: lip = %q", got)
	}
	sendFrom(t, "127.0.0.3", f.RealtimeAddr(), drgbPacket(2))
	waitPackets(2)
	if info := f.Info(); info.LiveIP != "127.0.0.3" || info.LiveMode != "UDP" {
		t.Fatalf("then by DRGB from 127.0.0.3: lip %q, lm %q", info.LiveIP, info.LiveMode)
	}
	// A malformed packet is not taken: it does not make its sender the live one.
	sendFrom(t, "127.0.0.4", f.RealtimeAddr(), []byte{2})
	waitPackets(3)
	if got := f.Info().LiveIP; got != "127.0.0.3" {
		t.Fatalf("after a malformed packet from 127.0.0.4: lip = %q, want 127.0.0.3", got)
	}
	clock.add(2*time.Second + 2*time.Millisecond) // the DRGB packet's 2 s run out
	if got := lip(); got != "" {
		t.Fatalf("out of realtime mode: lip = %q, want \"\"", got)
	}
}
