// Command fakewled runs a wledtest fake WLED on loopback for measuring senders by hand, e.g.
//
//	go run ./wled/wledtest/fakewled -leds 300 &
//	go run ./cmd/ledbridge test-pattern --device 'ddp://127.0.0.1:PORT?leds=300' --seconds 10
//
// It prints its addresses, then, once frames stop arriving for -idle, the frame count, the
// frame rate between the first and the last frame (receive timestamps), incomplete frames,
// malformed packets, sequence gaps and the packets -seqskip dropped, and exits.
package main

import (
	"flag"
	"fmt"
	"os"
	"os/signal"
	"time"

	"github.com/ledbridge/ledbridge/wled/wledtest"
)

func main() {
	leds := flag.Int("leds", 300, "LED count")
	rgbw := flag.Bool("rgbw", false, "4 bytes per LED")
	ddp := flag.String("ddp", "127.0.0.1:0", "DDP listen address")
	rt := flag.String("realtime", "127.0.0.1:0", "UDP realtime listen address")
	httpAddr := flag.String("http", "127.0.0.1:0", "JSON API listen address")
	idle := flag.Duration("idle", 2*time.Second, "report and exit after frames stop for this long")
	seqSkip := flag.Bool("seqskip", false, `drop DDP packets as WLED's "Skip out-of-sequence packets" does`)
	flag.Parse()

	f, err := wledtest.Start(wledtest.Config{LEDs: *leds, RGBW: *rgbw, DDPListen: *ddp, RealtimeListen: *rt, HTTPListen: *httpAddr,
		MaxFrames: 1 << 16, SkipOutOfSequence: *seqSkip})
	if err != nil {
		fmt.Fprintln(os.Stderr, "fakewled:", err)
		os.Exit(1)
	}
	defer f.Close()
	fmt.Printf("ddp %s\nrealtime %s\nhttp %s\nurls %s %s %s\n", f.DDPAddr(), f.RealtimeAddr(), f.HTTPAddr(), f.DDPURL(), f.RealtimeURL("dnrgb"), f.URL())

	sig := make(chan os.Signal, 1)
	signal.Notify(sig, os.Interrupt)
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-sig:
			report(f)
			return
		case <-tick.C:
		}
		frames := f.Frames()
		if len(frames) > 0 && time.Since(frames[len(frames)-1].Received) > *idle {
			report(f)
			return
		}
	}
}

func report(f *wledtest.Fake) {
	frames := f.Frames()
	incomplete := 0
	for _, fr := range frames {
		if !fr.Complete {
			incomplete++
		}
	}
	fps, span := 0.0, time.Duration(0)
	if len(frames) > 1 {
		span = frames[len(frames)-1].Received.Sub(frames[0].Received)
		fps = float64(len(frames)-1) / span.Seconds()
	}
	fmt.Printf("frames %d over %v: %.2f fps; incomplete %d; packets %d; malformed %d %v; sequence gaps %d; skipped %d; releases %d; state requests %d\n",
		len(frames), span.Round(time.Millisecond), fps, incomplete, f.Packets(), f.Malformed(), f.MalformedReasons(), f.SequenceGaps(), f.Skipped(), f.Releases(), len(f.StateRequests()))
}
