package session

import (
	"fmt"
	"log/slog"
	"net"
	"runtime"
	"testing"
	"weak"

	"github.com/pion/webrtc/v4"

	"github.com/ledbridge/ledbridge/analysis"
	"github.com/ledbridge/ledbridge/bridge/realtime"
	"github.com/ledbridge/ledbridge/bridge/room"
)

// TestDepartedMusiciansAreReleased: once musicians leave, the frame loop must not keep them (and
// their analysers, about 16 kB each, and their PCM blocks) reachable through the per-tick slices
// it reuses, nor through the sound-sync mix's lanes. Eight musicians with audio tracks join, six
// leave; after a GC the six are gone.
func TestDepartedMusiciansAreReleased(t *testing.T) {
	t.Run("no-sound-sync", func(t *testing.T) { testDepartedMusiciansAreReleased(t, false) })
	t.Run("sound-sync", func(t *testing.T) { testDepartedMusiciansAreReleased(t, true) })
}

func testDepartedMusiciansAreReleased(t *testing.T, soundSync bool) {
	// No strips: a renderer keeps its own copy of the last sources (effect.Renderer's sorted
	// slots, up to effect.MaxSources), which is the effect package's to release, not the loop's.
	code, _ := room.ParseCode("TCK234")
	cfg := Config{Code: code, Realtime: realtime.Config{URL: "http://127.0.0.1:1", APIKey: "k"}, Logger: slog.New(slog.DiscardHandler)}
	if soundSync {
		sink, err := net.ListenPacket("udp4", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { sink.Close() })
		cfg.SoundSyncAddr = sink.LocalAddr().String()
	}
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	params := webrtc.RTPCodecParameters{RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypePCMU, ClockRate: 8000}}
	var departed []weak.Pointer[musician]
	join := func(i int) {
		m, err := newMusician(fmt.Sprint("m", i), room.Meta{Name: "m"}, i, analysis.Config{})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := m.attachStream(params, s.clock.Now); err != nil {
			t.Fatal(err)
		}
		s.mu.Lock()
		s.musicians[m.id] = m
		s.mu.Unlock()
		if i >= 2 {
			departed = append(departed, weak.Make(m))
		}
	}
	for i := range 8 {
		join(i)
	}
	s.loop.musiciansChanged()
	s.loop.tick(s.clock.Now())
	if len(s.loop.musicians) != 8 {
		t.Fatalf("the loop follows %d musicians, want 8", len(s.loop.musicians))
	}

	s.mu.Lock()
	for i := 2; i < 8; i++ {
		delete(s.musicians, fmt.Sprint("m", i))
	}
	s.mu.Unlock()
	s.loop.musiciansChanged()
	s.loop.tick(s.clock.Now())
	s.loop.tick(s.clock.Now())
	runtime.GC()
	runtime.GC()
	for i, w := range departed {
		if w.Value() != nil {
			t.Errorf("musician m%d left the room but is still reachable after a GC", i+2)
		}
	}
	if len(s.loop.musicians) != 2 {
		t.Fatalf("the loop follows %d musicians, want 2", len(s.loop.musicians))
	}
}
