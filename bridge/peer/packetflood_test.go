package peer

import (
	"testing"
	"time"

	"github.com/pion/rtcp"
)

// The packet budget lets a browser's stream, a stall's backlog and a short burst through, and
// runs dry for a flood, whether it is sent steadily or in bursts with pauses between.
func TestPacketBudgetTellsAFloodFromABacklog(t *testing.T) {
	start := time.Unix(1_700_000_000, 0)
	// send spends pps packets a second, evenly, for secs seconds from *at; it reports whether
	// the budget ran dry, and when.
	send := func(b *packetBudget, at *time.Time, pps int, secs float64) (bool, time.Duration) {
		step := time.Second / time.Duration(pps)
		for range int(float64(pps) * secs) {
			if b.spend(*at) {
				return true, at.Sub(start)
			}
			*at = at.Add(step)
		}
		return false, 0
	}
	const limit = 100
	noFlood := func(t *testing.T, b *packetBudget, at *time.Time, pps int, secs float64) {
		t.Helper()
		if flood, when := send(b, at, pps, secs); flood {
			t.Fatalf("a flood counted at %v", when)
		}
	}
	t.Run("a browser's 50 a second", func(t *testing.T) {
		b, at := newPacketBudget(limit), start
		noFlood(t, b, &at, 50, 60)
	})
	t.Run("at the limit", func(t *testing.T) {
		b, at := newPacketBudget(limit), start
		noFlood(t, b, &at, limit, 60)
	})
	t.Run("a stall's backlog at once, then the stream", func(t *testing.T) {
		b, at := newPacketBudget(limit), start
		noFlood(t, b, &at, 1_000_000, 0.00025) // 250 packets within a quarter of a millisecond
		noFlood(t, b, &at, 50, 60)
	})
	t.Run("twice the limit", func(t *testing.T) {
		b, at := newPacketBudget(limit), start
		flood, when := send(b, &at, 2*limit, 10)
		// The depth (floodSeconds at the limit) drains at the limit a second.
		if !flood || when < (floodSeconds-1)*time.Second || when > (floodSeconds+1)*time.Second {
			t.Fatalf("flood %v at %v; want one after about %d s", flood, when, floodSeconds)
		}
		at = at.Add(floodSeconds * time.Second) // a pause fills it again
		noFlood(t, b, &at, 50, 60)
	})
	t.Run("bursts with pauses between", func(t *testing.T) {
		// Two seconds at five times the limit, one second of nothing, again and again: three
		// times the limit on average.
		b, at := newPacketBudget(limit), start
		for range 20 {
			if flood, _ := send(b, &at, 5*limit, 2); flood {
				return
			}
			at = at.Add(time.Second)
		}
		t.Fatal("a minute at three times the limit, in bursts, never counted as a flood")
	})
}

// A musician whose connection sends far more RTP or RTCP packets than any audio needs has it
// closed (until she offers again); a musician beside her keeps her connection and her audio.
// The packets are counted as pion decrypts them, so a flood counts where no track reader sees
// it: on SSRC 0 (pion reads it itself, as Chrome's bandwidth probes), on an SSRC her offer does
// not declare (pion keeps and never reads it), and as RTCP about an SSRC nobody sends.
func TestAMusicianFloodingIsClosedAndTheOtherPlaysOn(t *testing.T) {
	probe, undeclared := uint32(0), uint32(0x5eed)
	for _, tc := range []struct {
		name  string
		flood musicianOpts
		rtcp  bool // besides her audio, 500 RTCP packets a second about an unknown SSRC
	}{
		{"RTP on her track", musicianOpts{offerFirst: true, burst: 10}, false},
		{"RTP on SSRC 0", musicianOpts{offerFirst: true, burst: 10, divertSSRC: &probe}, false},
		{"RTP on an undeclared SSRC", musicianOpts{offerFirst: true, burst: 10, divertSSRC: &undeclared}, false},
		{"RTCP about an unknown SSRC", musicianOpts{offerFirst: true}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			requireLoopback(t)
			r, s, states := newTestRoom(t), &sinks{}, &stateLog{}
			cfg := bridgeConfig(t, r, s)
			cfg.OnStateChange = states.record
			// A low limit, so that the flood stays cheap for a test run under the race
			// detector: she sends 500 packets a second, ten times a browser's rate.
			cfg.MaxPacketsPerSecond = 200
			m := startManager(t, cfg, r)
			newTestMusician(t, r, "ana", musicianOpts{offerFirst: true})
			eve := newTestMusician(t, r, "eve", tc.flood)
			for _, id := range []MusicianID{"ana", "eve"} {
				if err := m.MusicianJoined(id); err != nil {
					t.Fatal(err)
				}
			}
			waitFor(t, "bridge connected to ana", bridgeConnected(m, "ana"))
			waitFor(t, "ana's audio", func() bool { return s.fromMic("ana") >= 10 })
			if tc.rtcp {
				waitFor(t, "bridge connected to eve", bridgeConnected(m, "eve"))
				stop := make(chan struct{})
				flooded := make(chan struct{})
				go func() {
					defer close(flooded)
					tick := time.NewTicker(2 * time.Millisecond)
					defer tick.Stop()
					for {
						select {
						case <-stop:
							return
						case <-tick.C:
						}
						_ = eve.pc.WriteRTCP([]rtcp.Packet{&rtcp.PictureLossIndication{SenderSSRC: 1, MediaSSRC: undeclared}})
					}
				}()
				defer func() { close(stop); <-flooded }()
			}
			waitFor(t, "eve's flooding connection closed", func() bool {
				st, _ := musicianStats(m, "eve")
				return st.Floods > 0
			})
			if eve, _ := musicianStats(m, "eve"); tc.name == "RTP on her track" && eve.PacketsReceived < uint64(floodSeconds*cfg.MaxPacketsPerSecond) {
				t.Errorf("eve's connection closed after %d packets: before the budget's depth, %d s at %d a second", eve.PacketsReceived, floodSeconds, cfg.MaxPacketsPerSecond)
			}
			before := s.fromMic("ana")
			waitFor(t, "ana's audio after eve's connection closed", func() bool { return s.fromMic("ana") >= before+50 })
			if leftConnected(states.get("ana")) {
				t.Errorf("ana's connection changed state: %v", states.get("ana"))
			}
			if st, _ := musicianStats(m, "ana"); st.Floods != 0 {
				t.Errorf("ana, at a browser's rate, counted %d floods", st.Floods)
			}
		})
	}
}
