package session

import (
	"fmt"
	"net"
	"testing"
	"time"
)

// The sound sync mix, like a musician's own analyser, is fed digital silence once nobody
// delivers audio: the step from the music to zeros must not go out to the WLEDs as a beat. It
// did ≈ 200 ms after every stop (a peak on WLED's audio-reactive effects after the band stopped).
func TestSoundSyncMixSendsNoBeatWhenTheMusicStops(t *testing.T) {
	const stopAt = 3 * time.Second
	for _, f0 := range []float64{110, 220, 440} {
		tone := opusTone(t, f0, 960, 5)
		for phase := range 3 {
			stop := stopAt + time.Duration(phase)*20*time.Millisecond
			var played []opusPacket
			for _, p := range tone {
				if p.at < stop {
					played = append(played, p)
				}
			}
			sink, err := net.ListenPacket("udp4", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			r := newStopRig(t, Config{SoundSyncAddr: sink.LocalAddr().String()}, opusParams, 1)
			var heard int
			var ghost string
			r.runOpus(played, 5*time.Second, func(el time.Duration) {
				f := &r.s.loop.mixFeatures
				if el > time.Second && el < stop && f.Level > silenceFloor {
					heard++
				}
				if el > stop && (f.Onset || f.Attack) {
					ghost += fmt.Sprintf(" +%v onset %v attack %v;", el-stop, f.Onset, f.Attack)
				}
			})
			sink.Close()
			if heard == 0 {
				t.Fatalf("%.0f Hz: the mix never carried her note: the test shows nothing", f0)
			}
			if ghost != "" {
				t.Errorf("%.0f Hz, packets stopped at %v: the mix after the stop:%s", f0, stop, ghost)
			}
		}
	}
}
