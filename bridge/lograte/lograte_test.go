package lograte

import (
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestLimiterLetsOneLinePerIntervalAndCountsTheRest(t *testing.T) {
	l := Limiter{Every: time.Second}
	t0 := time.Date(2026, 11, 25, 20, 0, 0, 0, time.UTC)
	if n, ok := l.Allow(t0); !ok || n != 0 {
		t.Fatalf("first call: %d, %v; want it logged", n, ok)
	}
	for i := range 5 {
		if _, ok := l.Allow(t0.Add(time.Duration(i+1) * 100 * time.Millisecond)); ok {
			t.Fatalf("call %d within the interval was let through", i+2)
		}
	}
	if n, ok := l.Allow(t0.Add(time.Second)); !ok || n != 5 {
		t.Fatalf("after the interval: %d, %v; want logged with 5 held back", n, ok)
	}
	if n, ok := l.Allow(t0.Add(3 * time.Second)); !ok || n != 0 {
		t.Fatalf("later: %d, %v; want logged with none held back", n, ok)
	}
}

func TestZeroLimiterLetsEverythingThrough(t *testing.T) {
	var l Limiter
	now := time.Now()
	for range 3 {
		if _, ok := l.Allow(now); !ok {
			t.Fatal("a zero Limiter held a line back")
		}
	}
}

// A Budget lets its burst through at once, then one line per Every, and the line after a held-back
// run says how many were held back.
func TestBudgetBurstThenPaced(t *testing.T) {
	b := Budget{Burst: 3, Every: time.Second}
	now := time.Unix(1000, 0)
	for i := range 3 {
		if held, ok := b.Allow(now); !ok || held != 0 {
			t.Fatalf("line %d of the burst: %d, %v; want it through", i, held, ok)
		}
	}
	for range 4 {
		if _, ok := b.Allow(now); ok {
			t.Fatal("a line past the burst was let through at once")
		}
	}
	if held, ok := b.Allow(now.Add(time.Second)); !ok || held != 4 {
		t.Fatalf("a second later: %d, %v; want through with 4 held back", held, ok)
	}
	if _, ok := b.Allow(now.Add(time.Second)); ok {
		t.Fatal("two lines in the same second after the burst")
	}
}

// Reset starts a new episode: the next line goes through at once and reports nothing held back,
// however soon it comes after the last one.
func TestLimiterResetLetsTheNextLineThrough(t *testing.T) {
	l := Limiter{Every: time.Minute}
	t0 := time.Date(2026, 11, 25, 20, 0, 0, 0, time.UTC)
	l.Allow(t0)
	if _, ok := l.Allow(t0.Add(time.Second)); ok {
		t.Fatal("a second line within the interval was let through")
	}
	l.Reset()
	if n, ok := l.Allow(t0.Add(2 * time.Second)); !ok || n != 0 {
		t.Fatalf("after Reset: %d, %v; want logged with none held back", n, ok)
	}
	if _, ok := l.Allow(t0.Add(3 * time.Second)); ok {
		t.Fatal("after Reset the interval no longer holds lines back")
	}
}
