package session

import (
	"testing"
	"time"

	"github.com/pion/webrtc/v4"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/thesyncim/gopus"
)

// A musician who stops playing with her microphone muted or quiet, in Opus DTX (Chrome then sends
// a packet every ≈ 400 ms), has not stopped sending: she must never count as stopped in her
// pause, or ledbridge_room_musicians_silent counts her on every scrape that falls late in a gap
// (1 in 29 of 60 scrapes) although a muted microphone is not counted. Her packets stopping for
// good is still a stop.
func TestMusicianInDTXIsNotStoppedBetweenPackets(t *testing.T) {
	const pauseFrom, stopAt = 2.0, 10.0
	sent := opusEncode(t, opusSignal{f0: 220, frame: 960, seconds: stopAt, app: gopus.ApplicationVoIP, dtx: true,
		amp: func(at float64) float64 {
			if at >= pauseFrom {
				return 0
			}
			return 1
		}})
	var longest time.Duration
	for i := 1; i < len(sent); i++ {
		longest = max(longest, sent[i].at-sent[i-1].at)
	}
	if longest < 300*time.Millisecond || longest > maxArrivalGap {
		t.Fatalf("the DTX encoder's longest gap between packets is %v: the test shows nothing", longest)
	}
	reg := prometheus.NewRegistry()
	r := newStopRig(t, Config{Metrics: reg}, opusParams, 1)
	r.musicians[0].setPeerState(webrtc.PeerConnectionStateConnected)
	silentGauge := func() float64 {
		families, err := reg.Gather()
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range families {
			if f.GetName() == "ledbridge_room_musicians_silent" {
				return f.GetMetric()[0].GetGauge().GetValue()
			}
		}
		t.Fatal("/metrics has no ledbridge_room_musicians_silent")
		return 0
	}
	var checked, stopped, stoppedAfter, countedSilent, countedAfter int
	r.runOpus(sent, stopAt*time.Second+2*time.Second, func(el time.Duration) {
		m := r.musicians[0]
		isStopped := m.audioStopped(m.stream.Load())
		switch s := el.Seconds(); {
		case s > pauseFrom+1 && s < stopAt:
			checked++
			if isStopped {
				stopped++
			}
			if silentGauge() != 0 {
				countedSilent++
			}
		case s > stopAt+1:
			if isStopped {
				stoppedAfter++
			}
			if silentGauge() == 1 {
				countedAfter++
			}
		}
	})
	t.Logf("DTX packets up to %v apart; wait before silence %v", longest, r.musicians[0].silenceWait())
	if stopped > 0 {
		t.Errorf("in her DTX pause she counted as stopped on %d of %d ticks", stopped, checked)
	}
	if countedSilent > 0 {
		t.Errorf("in her DTX pause ledbridge_room_musicians_silent counted her on %d of %d scrapes", countedSilent, checked)
	}
	if stoppedAfter == 0 || countedAfter == 0 {
		t.Errorf("once her packets stopped for good she counted as stopped on %d ticks and ledbridge_room_musicians_silent on %d scrapes, want both", stoppedAfter, countedAfter)
	}
}
