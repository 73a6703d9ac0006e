//go:build measure

package session_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os/exec"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ledbridge/ledbridge/wled/wledtest"
)

// TestMeasureStatusPageCost measures what watching the status page costs the daemon: the CPU time
// of a built `ledbridge join` (embedded room, one pion musician playing the A3 fixture, a DDP strip
// of 300 LEDs and a DNRGB strip of 600) over three windows: nobody watching, three headless
// Chromium processes watching the page (each receiving status events at 4 Hz and previews at
// 30 Hz), nobody watching again. The page's cost is the watched window minus the mean of the two
// others. Run with LEDBRIDGE_MEASURE_STATUS=60s (the window); it logs MEASURE lines and asserts
// nothing about timing.
func TestMeasureStatusPageCost(t *testing.T) {
	window := measureDuration(t, "LEDBRIDGE_MEASURE_STATUS")
	chromiumPath, nodePath := requireBrowser(t)
	ddp := wledtest.New(t, wledtest.Config{LEDs: 300, Name: "ddp-300"})
	dnrgb := wledtest.New(t, wledtest.Config{LEDs: 600, Name: "dnrgb-600"})
	d := startDaemon(t, []string{ddp.DDPURL(), dnrgb.RealtimeURL("dnrgb")}, true)
	pid := d.cmd.Process.Pid
	m := startMusician(t, musicianOpts{id: "ana", name: "Ana", fixture: fixture("a3_220hz.opus"), offers: true, hubURL: d.hubURL, code: testCode})
	waitFor(t, 30*time.Second, "ana connected to the daemon", m.connected)
	waitFor(t, 10*time.Second, "the strip shows the music", func() bool {
		fr := ddp.Frames()
		return len(fr) > 0 && frameSum(fr[len(fr)-1].Pixels) > 0
	})
	time.Sleep(5 * time.Second) // start-up work settles

	measure := func(name string) float64 {
		load0 := loadAvg()
		cpu0, t0 := procCPU(t, pid), time.Now()
		time.Sleep(window)
		cpu1, t1 := procCPU(t, pid), time.Now()
		pct := 100 * float64(cpu1-cpu0) / float64(t1.Sub(t0))
		t.Logf("MEASURE status-page: %-22s window %v, daemon CPU %v = %.2f %% of one core (load average %s → %s)",
			name, t1.Sub(t0).Round(time.Millisecond), cpu1-cpu0, pct, load0, loadAvg())
		return pct
	}

	idle1 := measure("no viewer")

	raw, _ := json.Marshal(map[string]any{"url": d.statusURL + "/", "browsers": 3, "chromium": chromiumPath})
	ctx, cancel := context.WithTimeout(context.Background(), window+2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, nodePath, "watch.mjs", string(raw))
	cmd.Dir = browserDir
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	lines := bufio.NewScanner(stdout)
	next := func() map[string]json.RawMessage {
		for lines.Scan() {
			var v map[string]json.RawMessage
			if json.Unmarshal(lines.Bytes(), &v) == nil {
				if v["pageError"] != nil {
					t.Errorf("a watching page threw: %s", v["pageError"])
					continue
				}
				return v
			}
		}
		return nil
	}
	if v := next(); v == nil || v["ready"] == nil {
		_ = stdin.Close()
		_ = cmd.Wait()
		t.Fatalf("the browsers did not get ready (%v); stderr:\n%s", v, lastLines(stderr.String(), 30))
	}
	time.Sleep(3 * time.Second) // page loads and Chromium start-up are not the watching cost
	watched := measure("3 Chromium viewers")
	_ = stdin.Close()
	res := next()
	_ = cmd.Wait()
	var pages []struct {
		Previews, Statuses int
		Seconds            float64
	}
	if err := json.Unmarshal(res["pages"], &pages); err != nil || len(pages) != 3 {
		t.Fatalf("watch.mjs reported %v (%v); stderr:\n%s", res, err, lastLines(stderr.String(), 30))
	}
	for i, p := range pages {
		t.Logf("MEASURE status-page: viewer %d received %.1f previews/s and %.1f status events/s", i+1, float64(p.Previews)/p.Seconds, float64(p.Statuses)/p.Seconds)
	}
	time.Sleep(3 * time.Second)
	idle2 := measure("no viewer again")
	t.Logf("MEASURE status-page: extra daemon CPU with 3 viewers = %.2f %% of one core (watched %.2f − mean idle %.2f)", watched-(idle1+idle2)/2, watched, (idle1+idle2)/2)

	// The same stream to 30 plain readers (the server's work per viewer does not depend on who
	// reads), to see the per-viewer cost above the noise of the idle windows.
	const readers = 30
	rctx, stopReaders := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	var received atomic.Int64
	for range readers {
		req, _ := http.NewRequestWithContext(rctx, http.MethodGet, d.statusURL+"/api/events", nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil || resp.StatusCode != http.StatusOK {
			t.Fatalf("reader: %v %v", err, resp)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer resp.Body.Close()
			n, _ := io.Copy(io.Discard, resp.Body)
			received.Add(n)
		}()
	}
	time.Sleep(3 * time.Second)
	many := measure("30 SSE readers")
	stopReaders()
	wg.Wait()
	time.Sleep(3 * time.Second)
	idle3 := measure("no viewer, third")
	idle := (idle1 + idle2 + idle3) / 3
	t.Logf("MEASURE status-page: 30 readers received %.0f kB/s in all; extra daemon CPU %.2f %% of one core = %.3f %% per viewer (mean idle %.2f)",
		float64(received.Load())/1000/(window+3*time.Second).Seconds(), many-idle, (many-idle)/readers, idle)
	t.Logf("MEASURE status-page: daemon VmRSS %d kB, VmHWM %d kB", procStatusKB(t, pid, "VmRSS"), procStatusKB(t, pid, "VmHWM"))
}
