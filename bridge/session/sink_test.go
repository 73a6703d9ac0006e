package session

import (
	"bytes"
	"context"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/ledbridge/ledbridge/analysis/color"
	"github.com/ledbridge/ledbridge/analysis/effect"
	"github.com/ledbridge/ledbridge/bridge/realtime"
	"github.com/ledbridge/ledbridge/bridge/room"
	"github.com/ledbridge/ledbridge/wled"
)

// memSink is an in-memory Sink: it keeps the last frame submitted. Its zero value is a strip of
// no LEDs; Run blocks until its context is done.
type memSink struct {
	leds int
	rgbw bool

	mu        sync.Mutex
	last      []byte
	submitted uint64
	running   bool
	stopped   bool
}

func (m *memSink) LEDs() int  { return m.leds }
func (m *memSink) RGBW() bool { return m.rgbw }
func (m *memSink) FrameBytes() int {
	if m.rgbw {
		return 4 * m.leds
	}
	return 3 * m.leds
}

func (m *memSink) Submit(frame []byte) {
	m.mu.Lock()
	m.last = append(m.last[:0], frame...)
	m.submitted++
	m.mu.Unlock()
}

func (m *memSink) Run(ctx context.Context) error {
	m.mu.Lock()
	m.running = true
	m.mu.Unlock()
	<-ctx.Done()
	m.mu.Lock()
	m.stopped = true
	m.mu.Unlock()
	return nil
}

func (m *memSink) Stats() wled.OutputStats {
	m.mu.Lock()
	defer m.mu.Unlock()
	return wled.OutputStats{FramesSent: m.submitted}
}

func (m *memSink) CopyLastSent(dst []byte) int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return copy(dst, m.last)
}

// lastFrame is a copy of the last frame submitted, and how many were.
func (m *memSink) lastFrame() ([]byte, uint64) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return bytes.Clone(m.last), m.submitted
}

var _ Sink = (*memSink)(nil)

// The session renders into any Sink: two strips (RGB and RGBW) whose sinks are in-memory doubles,
// no device and no socket, show a led-update's red after a second of ticks, the status page's
// preview and the device list read them through the same interface, a tick still allocates
// nothing, and each sink's Run is the session's to start and stop.
func TestSessionRendersIntoAnySink(t *testing.T) {
	clock := &stepClock{now: time.Date(2026, 11, 26, 20, 0, 0, 0, time.UTC)}
	code, _ := room.ParseCode("SNK234")
	var mu sync.Mutex
	sinks := map[string]*memSink{}
	s, err := New(Config{
		Code:     code,
		Mode:     effect.ModeBroadcast,
		Realtime: realtime.Config{URL: "http://127.0.0.1:1", APIKey: "k"},
		// Addresses of TEST-NET-1: no frame may reach a network.
		Devices: []string{"ddp://192.0.2.1:4048?leds=30", "ddp://192.0.2.2:4048?leds=10&rgbw=1"},
		Clock:   clock,
		Logger:  slog.New(slog.DiscardHandler),
		OpenSink: func(cfg wled.OutputConfig) (Sink, error) {
			m := &memSink{leds: cfg.Target.LEDs, rgbw: cfg.Target.RGBW}
			mu.Lock()
			sinks[cfg.Target.Host] = m
			mu.Unlock()
			return m, nil
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = s.devices.run(ctx) }()
	defer func() { cancel(); <-done }()
	waitFor(t, "both strips", func() bool { return len(s.devices.current()) == 2 })
	mu.Lock()
	rgb, rgbw := sinks["192.0.2.1"], sinks["192.0.2.2"]
	mu.Unlock()
	if rgb == nil || rgbw == nil {
		t.Fatalf("sinks opened for %v", sinks)
	}
	waitFor(t, "the sinks to run", func() bool {
		rgb.mu.Lock()
		defer rgb.mu.Unlock()
		rgbw.mu.Lock()
		defer rgbw.mu.Unlock()
		return rgb.running && rgbw.running
	})

	s.handleBroadcast(room.EventLEDUpdate, []byte(`{"colors":["#ff0000","#ff0000","#ff0000"],"seq":1}`))
	tick := func() {
		clock.work(time.Second / 60)
		s.loop.tick(clock.Now())
	}
	for range 60 {
		tick()
	}
	for _, c := range []struct {
		sink *memSink
		bpl  int
	}{{rgb, 3}, {rgbw, 4}} {
		frame, n := c.sink.lastFrame()
		if n != 60 || len(frame) != c.sink.leds*c.bpl {
			t.Fatalf("%d-LED strip: %d frames submitted, the last %d bytes; want 60 of %d", c.sink.leds, n, len(frame), c.sink.leds*c.bpl)
		}
		px := make([]color.RGB, c.sink.leds)
		for i := range px {
			px[i] = color.RGB{R: frame[c.bpl*i], G: frame[c.bpl*i+1], B: frame[c.bpl*i+2]}
		}
		if !shows(px, red) {
			t.Errorf("%d-LED strip shows %v, want the led-update's red", c.sink.leds, px)
		}
		for _, p := range s.Previews(nil) {
			if p.RGBW == c.sink.rgbw && !bytes.Equal(p.Pixels, frame) {
				t.Errorf("preview of the %d-LED strip is % x, want the sink's last frame % x", c.sink.leds, p.Pixels, frame)
			}
		}
	}
	for _, d := range s.Snapshot().Devices {
		if d.Frames != 60 {
			t.Errorf("device %s: %d frames in the snapshot, want the sink's 60", d.Name, d.Frames)
		}
	}
	if allocs := testing.AllocsPerRun(100, tick); allocs > 0 {
		t.Errorf("a tick into the sinks allocates %.1f times", allocs)
	}

	cancel()
	<-done
	for _, m := range []*memSink{rgb, rgbw} {
		m.mu.Lock()
		stopped := m.stopped
		m.mu.Unlock()
		if !stopped {
			t.Errorf("%d-LED sink still running after the session's devices stopped", m.leds)
		}
	}
}
