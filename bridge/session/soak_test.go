//go:build measure

package session_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ledbridge/ledbridge/bridge/room"
	"github.com/ledbridge/ledbridge/bridge/status"
)

// TestMeasureSoak runs the ledbridge binary for LEDBRIDGE_MEASURE_SOAK (e.g. 30m) while the room
// churns the way a long jam does, and logs the daemon's memory, goroutines, threads and open
// files every 30 s: what grows without bound shows as a trend between the first sample after
// warm-up and the last. Two musicians stay for the whole run (one offers, one waits for the
// bridge's offer) and 4 DDP strips are driven throughout. Every 20 s a musician with a new peer
// id joins (offer directions alternating), plays for 12 s and leaves, and a rogue participant
// sends malformed signals and LED frames plus 50 offers, each from another unknown peer id, so
// that every map keyed by a remote id is exercised with ids that never come back.
func TestMeasureSoak(t *testing.T) {
	window := measureDuration(t, "LEDBRIDGE_MEASURE_SOAK")
	strips, urls := fourStrips(t)
	d := startDaemon(t, urls, true)
	pid := d.cmd.Process.Pid
	music := filepath.Join("..", "..", "testdata", "latency", "music_stereo_cbr128.opus")

	steady := []*testMusician{
		startMusician(t, musicianOpts{id: "steady-a", name: "Steady A", fixture: music, offers: true, hubURL: d.hubURL, code: testCode}),
		startMusician(t, musicianOpts{id: "steady-b", name: "Steady B", fixture: fixture("bass_line.opus"), offers: false, hubURL: d.hubURL, code: testCode}),
	}
	for _, m := range steady {
		waitFor(t, 30*time.Second, m.id+" connected to the daemon", m.connected)
	}

	send := startRogue(t, d.hubURL).send
	abuse := func(round int) {
		bridge := steady[0].bridgeID()
		send(room.EventSignal, map[string]any{"type": "offer", "fromPeerId": "rogue", "targetPeerId": bridge, "data": map[string]any{"type": "offer", "sdp": "v=0 not sdp"}})
		send(room.EventSignal, map[string]any{"type": "ice-candidate", "fromPeerId": fmt.Sprintf("ghost-%d", round), "targetPeerId": bridge, "data": map[string]any{"candidate": "candidate:1 1 udp 1 127.0.0.1 9 typ host", "sdpMid": "0"}})
		send(room.EventLEDUpdate, map[string]any{"colors": []any{"#zzzzzz", map[string]int{"r": 300}}})
		send(room.EventTempoChange, map[string]any{"tempo": "fast"})
		for i := range 50 {
			// A well-formed offer from a peer id that is not in Presence and never returns.
			send(room.EventSignal, map[string]any{"type": "offer", "fromPeerId": fmt.Sprintf("ghost-%d-%d", round, i), "targetPeerId": bridge,
				"data": map[string]any{"type": "offer", "sdp": fmt.Sprintf("v=0\r\no=- %d 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n", i)}})
			time.Sleep(20 * time.Millisecond)
		}
	}

	type sample struct {
		at                      time.Duration
		rssKB, fds, threads, gs int
		musicians               int
	}
	read := func(start time.Time) sample {
		s := sample{at: time.Since(start).Round(time.Second), rssKB: procStatusKB(t, pid, "VmRSS"), threads: procStatusKB(t, pid, "Threads")}
		if ents, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid)); err == nil {
			s.fds = len(ents)
		}
		resp, err := http.Get(d.statusURL + "/api/status")
		if err != nil {
			t.Errorf("status page: %v", err)
			return s
		}
		defer resp.Body.Close()
		var snap status.Snapshot
		if err := json.NewDecoder(resp.Body).Decode(&snap); err != nil {
			t.Errorf("status page: %v", err)
			return s
		}
		s.gs, s.musicians = snap.Pipeline.Goroutines, len(snap.Musicians)
		return s
	}

	start := time.Now()
	var samples []sample
	nextSample := start
	joins := 0
	for round := 0; time.Since(start) < window; round++ {
		if !time.Now().Before(nextSample) {
			s := read(start)
			samples = append(samples, s)
			t.Logf("MEASURE soak: t=%v rss %d kB, goroutines %d, threads %d, fds %d, musicians on the status page %d, joins so far %d",
				s.at, s.rssKB, s.gs, s.threads, s.fds, s.musicians, joins)
			nextSample = nextSample.Add(30 * time.Second)
		}
		m := startMusician(t, musicianOpts{id: fmt.Sprintf("churn-%d", round), name: fmt.Sprintf("Churn %d", round), fixture: fixture("c_major_chord.opus"), offers: round%2 == 0, hubURL: d.hubURL, code: testCode})
		waitFor(t, 30*time.Second, m.id+" connected to the daemon", m.connected)
		joins++
		abuse(round)
		time.Sleep(11 * time.Second)
		m.leave()
		time.Sleep(8 * time.Second)
	}
	time.Sleep(20 * time.Second) // the last leaver's Presence timeout and clean-up
	s := read(start)
	samples = append(samples, s)
	t.Logf("MEASURE soak: t=%v rss %d kB, goroutines %d, threads %d, fds %d, musicians on the status page %d, joins %d (end)",
		s.at, s.rssKB, s.gs, s.threads, s.fds, s.musicians, joins)

	for _, m := range steady {
		if !m.connected() {
			t.Errorf("%s lost its connection during the soak", m.id)
		}
	}
	for _, f := range strips {
		if fr := f.Frames(); len(fr) == 0 || time.Since(fr[len(fr)-1].Received) > time.Second {
			t.Errorf("%s stopped receiving frames", f.Config().Name)
		}
	}
	if log := d.log(); strings.Contains(log, "panic") {
		t.Errorf("the daemon logged a panic:\n%s", log)
	}
	// The trend, from the first sample after 2 minutes of warm-up (buffers and pools filled).
	warm := samples[0]
	for _, x := range samples {
		if x.at >= 2*time.Minute {
			warm = x
			break
		}
	}
	peak := samples[0]
	for _, x := range samples {
		peak.rssKB, peak.gs, peak.fds, peak.threads = max(peak.rssKB, x.rssKB), max(peak.gs, x.gs), max(peak.fds, x.fds), max(peak.threads, x.threads)
	}
	t.Logf("MEASURE soak: %v, %d musician joins and leaves, %d rogue offers from one-off peer ids; from t=%v to the end: rss %d → %d kB (peak %d), goroutines %d → %d (peak %d), fds %d → %d, threads %d → %d",
		window, joins, joins*50, warm.at, warm.rssKB, s.rssKB, peak.rssKB, warm.gs, s.gs, peak.gs, warm.fds, s.fds, warm.threads, s.threads)
}
