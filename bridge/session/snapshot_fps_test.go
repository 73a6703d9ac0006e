package session

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/ledbridge/ledbridge/bridge/realtime"
	"github.com/ledbridge/ledbridge/bridge/room"
)

// newClockedSession is a session on clock whose frame loop is replaced by onTick (given the
// ticker, to stop it): the status page's pipeline figures come from that loop.
func newClockedSession(t *testing.T, clock Clock, onTick func(tk *Ticker, now time.Time)) *Session {
	t.Helper()
	code, err := room.ParseCode("FPS234")
	if err != nil {
		t.Fatal(err)
	}
	s, err := New(Config{Code: code, FPS: 60, Clock: clock,
		Realtime: realtime.Config{URL: "http://127.0.0.1:1", APIKey: "k"},
		Logger:   slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	var tk *Ticker
	tk = NewTicker(time.Second/60, clock, func(now time.Time) { onTick(tk, now) })
	s.ticker = tk
	return s
}

// The status page's frame rate is the loop's over its last seconds. It was the mean of the last
// 600 intervals: review 280's starved loop (strips at 4.5-7 fps) read 12-14 fps, and took a
// minute to fall.
func TestFrameRateFollowsTheLastSeconds(t *testing.T) {
	clock := &stepClock{now: time.Date(2026, 11, 27, 20, 0, 0, 0, time.UTC)}
	start := clock.Now()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	s := newClockedSession(t, clock, func(tk *Ticker, now time.Time) {
		switch elapsed := now.Sub(start); {
		case elapsed < 100*time.Second:
			clock.work(time.Millisecond) // keeping up at 60 fps
		case elapsed < 115*time.Second:
			clock.work(150 * time.Millisecond) // a CPU that cannot keep up: about 6.7 fps
		default:
			cancel()
		}
	})
	if err := s.ticker.Run(ctx); err != nil {
		t.Fatal(err)
	}
	if got := s.Snapshot().Pipeline.FPS; got < 6 || got > 7.5 {
		t.Errorf("frame rate %v after 15 s at 150 ms a tick, want about 6.7", got)
	}
	clock.work(20 * time.Second) // the loop has stopped
	if got := s.Snapshot().Pipeline.FPS; got != 0 {
		t.Errorf("frame rate %v 20 s after the last tick, want 0", got)
	}
}
