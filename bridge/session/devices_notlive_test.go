package session

import (
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ledbridge/ledbridge/wled"
	"github.com/ledbridge/ledbridge/wled/wledtest"
)

// A WLED with "Receive UDP realtime" off takes our packets and ignores them: its /json/info keeps
// saying live: false. These tests stream to such a WLED (a fake that decodes the frames behind a
// JSON API that reports live as the test says) and check that the log says so once, and says
// when it shows our frames again.

// feedStrip submits frames to key's strip, as the frame loop does, until the test ends.
func feedStrip(t *testing.T, r *deviceRig, key string) {
	t.Helper()
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		tick := time.NewTicker(10 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-stop:
				return
			case <-tick.C:
				if st := r.strip(key); st != nil {
					st.out.Submit(make([]byte, st.frameBytes))
				}
			}
		}
	}()
	t.Cleanup(func() { close(stop); <-done })
}

// streamingForASecond waits until key's strip has been sending for over a second, what a poll
// needs to count: WLED enters realtime mode at the first packet.
func streamingForASecond(t *testing.T, r *deviceRig, key string) {
	t.Helper()
	waitFor(t, "a second of frames", func() bool {
		st := r.strip(key)
		if st == nil {
			return false
		}
		s := st.out.Stats()
		return !s.FirstSent.IsZero() && time.Since(s.FirstSent) > 1100*time.Millisecond
	})
}

// logLines are the lines of logs that contain every one of words.
func logLines(logs string, words ...string) []string {
	var out []string
	for _, line := range strings.Split(logs, "\n") {
		all := line != ""
		for _, w := range words {
			all = all && strings.Contains(line, w)
		}
		if all {
			out = append(out, line)
		}
	}
	return out
}

func TestConfiguredWLEDIgnoringRealtimeWarnsOnce(t *testing.T) {
	const ip = "127.0.194.20"
	fake := startStripFake(t, ip, "02fc00019420", 60)
	var live atomic.Bool
	var polls atomic.Int64
	api := startInfoFront(t, ip, func() wled.Info {
		polls.Add(1)
		i := fake.Info()
		i.Live = live.Load()
		return i
	})
	url := "wled://" + api.String()
	r := startDeviceRig(t, []string{url}, nil, func(d *deviceSet) { d.recheckEvery = 20 * time.Millisecond })
	waitStrips(t, r, url+"->"+fake.RealtimeAddr()+"/60")
	feedStrip(t, r, url)
	streamingForASecond(t, r, url)
	waitFor(t, "the warning", func() bool { return len(logLines(r.logs.String(), "level=WARN", "Receive UDP realtime")) > 0 })
	seen := polls.Load()
	waitFor(t, "five more polls", func() bool { return polls.Load() >= seen+5 })
	if n := len(logLines(r.logs.String(), "level=WARN", "Receive UDP realtime")); n != 1 {
		t.Fatalf("%d warnings, want 1:\n%s", n, r.logs.String())
	}
	live.Store(true)
	waitFor(t, "the all-clear", func() bool { return len(logLines(r.logs.String(), "level=INFO", "shows our frames again")) > 0 })
	w := logLines(r.logs.String(), "level=WARN", "Receive UDP realtime")[0]
	for _, want := range []string{"not showing", url} {
		if !strings.Contains(w, want) {
			t.Errorf("warning %q does not mention %q", w, want)
		}
	}
}

func TestDiscoveredWLEDIgnoringRealtimeWarnsOnce(t *testing.T) {
	const ip, mac = "127.0.194.21", "02fc00019421"
	fake := startStripFake(t, ip, mac, 60)
	var live atomic.Bool
	api := startInfoFront(t, ip, func() wled.Info { i := fake.Info(); i.Live = live.Load(); return i })
	browser := &answerBrowser{}
	browser.set(answerFor("bar", api.String()))
	r := startDeviceRig(t, nil, browser, nil)
	r.clock.waitRound(t)
	waitStrips(t, r, mac+"->"+fake.RealtimeAddr()+"/60")
	feedStrip(t, r, mac)
	streamingForASecond(t, r, mac)
	for range 6 {
		r.clock.nextRound(t)
	}
	if n := len(logLines(r.logs.String(), "level=WARN", "Receive UDP realtime", "mac="+mac)); n != 1 {
		t.Fatalf("%d warnings, want 1:\n%s", n, r.logs.String())
	}
	live.Store(true)
	r.clock.nextRound(t)
	if n := len(logLines(r.logs.String(), "level=INFO", "shows our frames again")); n != 1 {
		t.Fatalf("%d all-clear lines, want 1:\n%s", n, r.logs.String())
	}
}

// A WLED that shows our frames (the fake reports live: true while it receives them) is never
// warned about, however often it is polled.
func TestWLEDShowingOurFramesIsNotWarnedAbout(t *testing.T) {
	const ip = "127.0.194.22"
	fake := wledtest.New(t, wledtest.Config{LEDs: 60, VID: oldFirmwareVID, HTTPListen: "-", DDPListen: "-", RealtimeListen: ip + ":0"})
	var polls atomic.Int64
	api := startInfoFront(t, ip, func() wled.Info { polls.Add(1); return fake.Info() })
	url := "wled://" + api.String()
	r := startDeviceRig(t, []string{url}, nil, func(d *deviceSet) { d.recheckEvery = 20 * time.Millisecond })
	waitStrips(t, r, url+"->"+fake.RealtimeAddr()+"/60")
	feedStrip(t, r, url)
	streamingForASecond(t, r, url)
	seen := polls.Load()
	waitFor(t, "five more polls", func() bool { return polls.Load() >= seen+5 })
	if lines := logLines(r.logs.String(), "Receive UDP realtime"); len(lines) != 0 {
		t.Errorf("a WLED that shows our frames was warned about:\n%s", r.logs.String())
	}
}
