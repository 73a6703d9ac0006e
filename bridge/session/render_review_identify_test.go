package session

import (
	"testing"
	"time"
)

// newReviewStrip starts a session driving one DDP strip (device options in query, e.g.
// "leds=300&rgbw=1") on a loopback socket, with maxMilliamps as output.max_milliamps, and returns
// the session and its strip for ticking the frame loop by hand.
func newReviewStrip(t *testing.T, query string, maxMilliamps float32) (*Session, *strip) {
	t.Helper()
	s, strips := handTickedSession(t, Config{MaxMilliamps: maxMilliamps}, query)
	return s, strips[0]
}

// Identify during a blackout must still flash (the operator asked for it), but within the
// brightness cap and output.max_milliamps exactly as it does outside a blackout: a full-power
// white flash on a 300-LED RGBW strip draws about nine times the 2 A budget.
func TestRenderReviewIdentifyDuringBlackoutKeepsCapAndCurrentLimit(t *testing.T) {
	const limit = 2000
	s, st := newReviewStrip(t, "leds=300&rgbw=1", limit)
	now := s.clock.Now()
	s.loop.tick(now)
	if err := s.Identify(st.key); err != nil {
		t.Fatal(err)
	}
	now = s.clock.Now()
	now = now.Add(-time.Duration(now.UnixNano() % 500e6)) // the flash's "on" quarter second
	s.loop.tick(now)
	lit := append([]byte(nil), st.frame[:4]...)
	if lit[0] == 0 {
		t.Fatalf("identify without blackout: LED 0 %v, want the flash", lit)
	}

	if err := s.SetBlackout(true); err != nil {
		t.Fatal(err)
	}
	s.loop.tick(now.Add(time.Millisecond))
	frame := st.frame[:st.frameBytes]
	if got := s.effectCfg.Current.Estimate(frame, 4); got > limit {
		t.Errorf("identify during blackout draws an estimated %.0f mA, over output.max_milliamps %d (LED 0 %v)", got, limit, frame[:4])
	}
	if frame[0] == 0 {
		t.Errorf("identify during blackout: LED 0 %v, want the flash (the operator asked for it)", frame[:4])
	}
	for i := 0; i < 4; i++ {
		if frame[i] != lit[i] {
			t.Errorf("identify during blackout: LED 0 %v, want %v as outside a blackout", frame[:4], lit)
			break
		}
	}

	// Off-phase of the flash during blackout: dark.
	s.loop.tick(now.Add(300 * time.Millisecond))
	for i, v := range st.frame[:st.frameBytes] {
		if v != 0 {
			t.Fatalf("blackout, identify flash off: byte %d is %d, want dark", i, v)
		}
	}
}
