package discovery

import (
	"fmt"
	"math/rand/v2"
	"net/netip"
	"testing"
)

func TestParseStaticErrors(t *testing.T) {
	for _, raw := range []string{"", "   ", "ftp://x", "wled://", "ddp://h:0", "wled://h?rgbw=1", "wled://u@h", "ddp://h/path"} {
		if _, err := parseStatic(raw); err == nil {
			t.Errorf("parseStatic(%q) = nil error", raw)
		}
	}
	s, err := parseStatic(" 10.0.0.9 ")
	if err != nil || s.forced() || s.httpPort() != 80 || s.target.Host != "10.0.0.9" {
		t.Errorf("bare IP: %+v, %v", s, err)
	}
	s, err = parseStatic("ddp://strip.lan:4049?leds=300&rgbw=1")
	if err != nil || !s.forced() || s.httpPort() != 80 || s.target.Port != 4049 || s.target.LEDs != 300 || !s.target.RGBW {
		t.Errorf("ddp URL: %+v, %v", s, err)
	}
}

func TestEventKindText(t *testing.T) {
	for k := EventUnknown; k <= lastEventKind; k++ {
		b, _ := k.MarshalText()
		var back EventKind
		if err := back.UnmarshalText(b); err != nil || back != k {
			t.Errorf("%v round trip = %v, %v", k, back, err)
		}
	}
}

func TestAnswerSampleKeepsARealDeviceInAFlood(t *testing.T) {
	// 2,560 invented instances arrive before the real WLED answers: the first-come cap would
	// drop it in every browse; the sample keeps it in about maxAnswers/2561 = 10 % of them.
	rng := rand.New(rand.NewPCG(1, 2))
	realDev := Answer{Instance: "wled-real", Addr: netip.MustParseAddr("10.0.0.9"), Port: 80}
	const trials = 200
	kept := 0
	for range trials {
		s := newAnswerSample(maxAnswers, rng.IntN)
		for i := range 10 * maxAnswers {
			s.add(Answer{Instance: fmt.Sprintf("fake-%d", i), Addr: netip.MustParseAddr("10.0.0.66"), Port: 80})
		}
		s.add(realDev)
		if len(s.byInstance) != maxAnswers || len(s.order) != maxAnswers {
			t.Fatalf("sample holds %d/%d instances, want %d", len(s.byInstance), len(s.order), maxAnswers)
		}
		for _, in := range s.order {
			if _, ok := s.byInstance[in]; !ok {
				t.Fatalf("order lists %q, which the sample lacks", in)
			}
		}
		if _, ok := s.byInstance[realDev.Instance]; ok {
			kept++
		}
	}
	if kept < trials/20 || kept > trials/5 {
		t.Errorf("real device kept in %d of %d flooded browses, want about 10 %%", kept, trials)
	}

	// A known instance is updated in place (an address change within the window), not re-drawn.
	s := newAnswerSample(2, func(int) int { t.Fatal("drew for a known instance"); return 0 })
	s.add(Answer{Instance: "a", Port: 80})
	s.add(Answer{Instance: "a", Port: 81})
	if len(s.order) != 1 || s.byInstance["a"].Port != 81 {
		t.Errorf("sample after an update = %+v", s.byInstance)
	}
}
