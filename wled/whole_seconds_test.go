package wled_test

import (
	"testing"
	"time"

	"github.com/ledbridge/ledbridge/wled"
)

// WholeSeconds rounds a timeout up to the whole seconds WLED's timeout byte carries, as
// TimeoutByte puts it on the wire and ShortestRealtimeTimeout states the least one.
func TestWholeSecondsIsWhatTheTimeoutByteCarries(t *testing.T) {
	for _, c := range []struct{ in, want time.Duration }{
		{0, 0}, {time.Nanosecond, time.Second}, {time.Second, time.Second},
		{1200 * time.Millisecond, 2 * time.Second}, {2*time.Second + 1, 3 * time.Second},
		{254 * time.Second, 254 * time.Second},
	} {
		if got := wled.WholeSeconds(c.in); got != c.want {
			t.Errorf("WholeSeconds(%v) = %v, want %v", c.in, got, c.want)
		}
		if c.in == 0 {
			continue // TimeoutByte takes 0 as the default timeout
		}
		b, err := wled.TimeoutByte(c.in)
		if err != nil || time.Duration(b)*time.Second != c.want {
			t.Errorf("TimeoutByte(%v) = %d, %v; WholeSeconds says %v", c.in, b, err, c.want)
		}
	}
	for fps := 1; fps <= 120; fps++ {
		if got, want := wled.ShortestRealtimeTimeout(fps), wled.WholeSeconds(2*time.Second/time.Duration(fps)); got != want {
			t.Errorf("ShortestRealtimeTimeout(%d) = %v, WholeSeconds of two frames = %v", fps, got, want)
		}
	}
}
