package session

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/ledbridge/ledbridge/analysis/effect"
)

// A dark brightness (the status page's 0, or brightness_cap: 0 in the file) is held as
// effect.Dark, the smallest float32 above 0, because a zero cap means the default: the snapshot,
// and so /api/status, reports it as 0, not 1.401298464324817e-45.
func TestSnapshotReportsADarkBrightnessAsZero(t *testing.T) {
	s, _ := newReviewStrip(t, "leds=30", 0)
	if err := s.SetBrightness(0); err != nil {
		t.Fatal(err)
	}
	if got := s.Snapshot().Room.Brightness; got != 0 {
		t.Errorf("after SetBrightness(0): snapshot brightness %g, want 0", got)
	}
	out, err := json.Marshal(s.Snapshot().Room)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(out), `"brightness":0`) {
		t.Errorf("room as JSON %s, want \"brightness\":0", out)
	}

	s.mu.Lock()
	cfg := s.effectCfg
	s.mu.Unlock()
	cfg.BrightnessCap = effect.Dark // what EffectConfig makes of brightness_cap: 0
	if err := s.SetEffects(cfg); err != nil {
		t.Fatal(err)
	}
	if got := s.Snapshot().Room.Brightness; got != 0 {
		t.Errorf("after SetEffects with the dark cap: snapshot brightness %g, want 0", got)
	}
}
