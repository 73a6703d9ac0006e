package session

import (
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ledbridge/ledbridge/wled"
)

// A WLED that drops our packets but is driven by another sender says live: true, with lm naming
// that sender's protocol: that is not our stream, so the warning stays and names the other
// source instead of an all-clear.
func TestOtherSenderLiveIsNotOurFrames(t *testing.T) {
	for _, tc := range []struct {
		name, ip, mac, otherLM string
	}{
		{"e131", "127.0.202.10", "02fc00020210", "E1.31"},
		{"ddp", "127.0.202.11", "02fc00020211", "DDP"}, // we stream UDP realtime (lm "UDP"), another sender DDP
	} {
		t.Run(tc.name, func(t *testing.T) {
			fake := startStripFake(t, tc.ip, tc.mac, 60)
			const dropsOurs, otherDrives, showsOurs = 0, 1, 2
			var state atomic.Int32
			api := startInfoFront(t, tc.ip, func() wled.Info {
				i := fake.Info()
				switch state.Load() {
				case dropsOurs:
					i.Live, i.LiveMode = false, ""
				case otherDrives:
					i.Live, i.LiveMode = true, tc.otherLM
				case showsOurs:
					i.Live, i.LiveMode = true, "UDP" // what WLED says while UDP realtime drives it
				}
				return i
			})
			url := "wled://" + api.String()
			r := startDeviceRig(t, []string{url}, nil, func(d *deviceSet) { d.recheckEvery = 20 * time.Millisecond })
			waitStrips(t, r, url+"->"+fake.RealtimeAddr()+"/60")
			feedStrip(t, r, url)
			streamingForASecond(t, r, url)
			waitFor(t, "the warning", func() bool { return len(logLines(r.logs.String(), "level=WARN", "Receive UDP realtime")) > 0 })
			state.Store(otherDrives)
			waitFor(t, "the other-source warning", func() bool {
				return len(logLines(r.logs.String(), "level=WARN", "another source", "lm="+tc.otherLM)) > 0
			})
			if lines := logLines(r.logs.String(), "shows our frames again"); len(lines) != 0 {
				t.Fatalf("another sender's stream counted as ours:\n%s", strings.Join(lines, "\n"))
			}
			w := logLines(r.logs.String(), "level=WARN", "another source")[0]
			for _, want := range []string{url, "not showing our frames"} {
				if !strings.Contains(w, want) {
					t.Errorf("warning %q does not mention %q", w, want)
				}
			}
			// Our stream taking over again (WLED in "UDP" mode) is the all-clear.
			state.Store(showsOurs)
			waitFor(t, "the all-clear", func() bool { return len(logLines(r.logs.String(), "level=INFO", "shows our frames again")) > 0 })
		})
	}
}
