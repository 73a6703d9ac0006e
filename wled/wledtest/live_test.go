package wledtest

import (
	"bytes"
	"context"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ledbridge/ledbridge/wled"
)

// stepClock is a clock the test moves by hand.
type stepClock struct{ ns atomic.Int64 }

func (c *stepClock) Now() time.Time      { return time.Unix(0, c.ns.Load()) }
func (c *stepClock) add(d time.Duration) { c.ns.Add(int64(d)) }
func newStepClock() *stepClock {
	c := &stepClock{}
	c.ns.Store(time.Unix(1000, 0).UnixNano())
	return c
}
func drgbPacket(timeout byte) []byte {
	return cat(bs(2, timeout), bs(1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12))
}
func ddpPushPacket(seq byte) []byte {
	return cat(bs(0x41, seq, 0x0B, 0x01, 0, 0, 0, 0, 0, 12), bytes.Repeat(bs(9), 12))
}
func postLive(t *testing.T, f *Fake, on bool) {
	t.Helper()
	body := `{"live":false}`
	if on {
		body = `{"live":true}`
	}
	resp, err := http.Post("http://"+f.HTTPAddr()+"/json/state", "application/json", bytes.NewBufferString(body))
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
}

// The fake's live (info.live, info.lm) follows WLED's realtime timeout (wled00/udp.cpp
// realtimeLock, handleNotifications; e131.cpp handleDDPPacket): a UDP realtime packet with
// timeout byte N keeps it live for N×1000+1 ms, 255 for ever; a DDP packet for the realtime
// timeout setting (2500 ms by default); a later packet never shortens "for ever"; a timeout-0
// packet, {"live":false}, or the time running out end it; {"live":true} makes it live for ever.
// Before, it stayed live from its first frame until a release, which no WLED does.
func TestFakeLiveFollowsWLEDsRealtimeTimeout(t *testing.T) {
	clock := newStepClock()
	f := New(t, Config{LEDs: 4, Now: clock.Now})
	want := func(what string, live bool, mode string) {
		t.Helper()
		if i := f.Info(); i.Live != live || i.LiveMode != mode {
			t.Errorf("%s: live %v lm %q, want %v %q", what, i.Live, i.LiveMode, live, mode)
		}
		i, err := (&wled.Client{}).Info(context.Background(), f.HTTPAddr())
		if err != nil {
			t.Fatal(err)
		}
		if i.Live != live || i.LiveMode != mode {
			t.Errorf("%s: /json/info says live %v lm %q, want %v %q", what, i.Live, i.LiveMode, live, mode)
		}
	}
	want("before any packet", false, "")

	sendRaw(t, f, f.RealtimeAddr(), drgbPacket(1))
	want("after a DRGB packet with timeout byte 1", true, "UDP")
	clock.add(1001 * time.Millisecond)
	want("1001 ms later", true, "UDP")
	clock.add(time.Millisecond)
	want("1002 ms later", false, "")

	sendRaw(t, f, f.DDPAddr(), ddpPushPacket(1))
	want("after a DDP packet", true, "DDP")
	clock.add(2500 * time.Millisecond)
	want("2500 ms later", true, "DDP")
	clock.add(time.Millisecond)
	want("2501 ms later", false, "")

	sendRaw(t, f, f.RealtimeAddr(), drgbPacket(66)) // 66001 ms: beyond 65000, yet not "never"
	clock.add(66001 * time.Millisecond)
	want("66001 ms after timeout byte 66", true, "UDP")
	clock.add(time.Millisecond)
	want("66002 ms after timeout byte 66", false, "")

	sendRaw(t, f, f.RealtimeAddr(), drgbPacket(255))
	clock.add(time.Hour)
	want("an hour after timeout byte 255", true, "UDP")
	sendRaw(t, f, f.RealtimeAddr(), drgbPacket(1))
	clock.add(time.Hour)
	want("an hour after a timeout-1 packet that followed 255", true, "UDP")
	sendRaw(t, f, f.RealtimeAddr(), bs(2, 0))
	want("after a timeout-0 packet", false, "")

	postLive(t, f, true)
	clock.add(time.Hour)
	want(`an hour after {"live":true}`, true, "")
	postLive(t, f, false)
	want(`after {"live":false}`, false, "")

	g := New(t, Config{LEDs: 4, Now: clock.Now, RealtimeTimeout: 100 * time.Millisecond})
	sendRaw(t, g, g.DDPAddr(), ddpPushPacket(1))
	clock.add(101 * time.Millisecond)
	if g.Info().Live {
		t.Error("a DDP packet kept the fake live beyond its RealtimeTimeout of 100 ms")
	}
}
