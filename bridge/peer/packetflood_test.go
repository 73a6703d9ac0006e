package peer

import (
	"testing"
	"time"
)

// packetRate counts a flood only when it lasts: a stall's backlog, delivered at once, and a
// musician who sends at her limit are no flood; the gap of a pause is judged by its length.
func TestPacketRateTellsAFloodFromABacklog(t *testing.T) {
	start := time.Unix(1_700_000_000, 0)
	// send gives r pps packets a second, evenly, for secs seconds from *at; it reports
	// whether any packet was counted as a flood, and the first such time.
	send := func(r *packetRate, at *time.Time, pps int, secs float64) (bool, time.Duration) {
		step := time.Second / time.Duration(pps)
		n := int(float64(pps) * secs)
		for range n {
			if r.add(*at) {
				return true, at.Sub(start)
			}
			*at = at.Add(step)
		}
		return false, 0
	}
	t.Run("a browser's 50 a second", func(t *testing.T) {
		r, at := &packetRate{limit: 100}, start
		if flood, when := send(r, &at, 50, 30); flood {
			t.Fatalf("a flood counted at %v", when)
		}
	})
	t.Run("at the limit", func(t *testing.T) {
		r, at := &packetRate{limit: 100}, start
		if flood, when := send(r, &at, 100, 30); flood {
			t.Fatalf("a flood counted at %v", when)
		}
	})
	t.Run("a stall's backlog at once, then the stream", func(t *testing.T) {
		r, at := &packetRate{limit: 100}, start
		if flood, when := send(r, &at, 1_000_000, 0.0005); flood { // 500 packets within half a millisecond
			t.Fatalf("a flood counted at %v", when)
		}
		if flood, when := send(r, &at, 50, 30); flood {
			t.Fatalf("a flood counted at %v", when)
		}
	})
	t.Run("two seconds over, one under, two over", func(t *testing.T) {
		r, at := &packetRate{limit: 100}, start
		for _, pps := range []int{300, 300, 50, 300, 300, 50, 300, 300} {
			if flood, when := send(r, &at, pps, 1); flood {
				t.Fatalf("a flood counted at %v", when)
			}
		}
	})
	t.Run("a pause after a second over", func(t *testing.T) {
		r, at := &packetRate{limit: 100}, start
		send(r, &at, 300, 1)
		at = at.Add(5 * time.Second)
		send(r, &at, 300, 0.9)
		at = at.Add(5 * time.Second) // the window of 0.9 s of 300 a second and 5 s of nothing
		if flood, when := send(r, &at, 300, 1.5); flood {
			t.Fatalf("a flood counted at %v", when)
		}
	})
	t.Run("three seconds over", func(t *testing.T) {
		r, at := &packetRate{limit: 100}, start
		flood, when := send(r, &at, 200, 10)
		if !flood {
			t.Fatal("10 s at twice the limit never counted as a flood")
		}
		if when < floodWindows*time.Second || when > (floodWindows+1)*time.Second {
			t.Fatalf("flood counted at %v, want at the end of its %dth second over", when, floodWindows)
		}
	})
}

// A musician whose connection sends far more RTP packets than any audio needs has it closed
// (until she offers again); a musician beside her keeps her connection and her audio.
func TestAMusicianFloodingRTPIsClosedAndTheOtherPlaysOn(t *testing.T) {
	requireLoopback(t)
	r, s, states := newTestRoom(t), &sinks{}, &stateLog{}
	cfg := bridgeConfig(t, r, s)
	cfg.OnStateChange = states.record
	// A low limit, so that the flood stays cheap for a test run under the race detector: she
	// sends 10 packets every 20 ms (500 a second), ten times a browser's rate.
	cfg.MaxPacketsPerSecond = 200
	m := startManager(t, cfg, r)
	newTestMusician(t, r, "ana", musicianOpts{offerFirst: true})
	newTestMusician(t, r, "eve", musicianOpts{offerFirst: true, burst: 10})
	for _, id := range []MusicianID{"ana", "eve"} {
		if err := m.MusicianJoined(id); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, "bridge connected to ana", bridgeConnected(m, "ana"))
	waitFor(t, "ana's audio", func() bool { return s.fromMic("ana") >= 10 })
	waitFor(t, "eve's flooding connection closed", func() bool {
		st, _ := musicianStats(m, "eve")
		return st.Floods > 0
	})
	eve, _ := musicianStats(m, "eve")
	if eve.PacketsReceived < uint64(floodWindows*cfg.MaxPacketsPerSecond) {
		t.Errorf("eve's connection closed after %d packets: before %d s over the limit of %d a second", eve.PacketsReceived, floodWindows, cfg.MaxPacketsPerSecond)
	}
	before := s.fromMic("ana")
	waitFor(t, "ana's audio after eve's connection closed", func() bool { return s.fromMic("ana") >= before+50 })
	if leftConnected(states.get("ana")) {
		t.Errorf("ana's connection changed state: %v", states.get("ana"))
	}
	if st, _ := musicianStats(m, "ana"); st.Floods != 0 {
		t.Errorf("ana, at a browser's rate, counted %d floods", st.Floods)
	}
}
