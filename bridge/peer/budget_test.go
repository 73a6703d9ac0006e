package peer

import (
	"testing"
	"time"
)

// The signal budget, stepped with a fake clock: work that is not priority fills half the
// window at most, so priority work still gets in; a promise holds room for a negotiation's
// candidates; nothing ever takes the window past the limit; waits are long enough and no
// longer.
func TestSignalBudget(t *testing.T) {
	fc := newFakeClock()
	const limit = 20
	b := newSignalBudget(fc, limit)
	storm := make([]*musician, 8)
	for i := range storm {
		storm[i] = &musician{}
	}
	ana := &musician{}
	var sentAt []time.Time
	send := func(who *musician, priority bool) bool {
		ok := b.send(who, priority)
		if ok {
			sentAt = append(sentAt, fc.Now())
		}
		return ok
	}

	// Storming negotiations (not priority) fit into half the window, promises included.
	admitted := 0
	var wait time.Duration
	for _, who := range storm {
		ok, w := b.admit(who, signalCost, false)
		if ok {
			admitted++
		} else if wait == 0 {
			wait = w
		}
	}
	if want := (limit / 2) / signalCost; admitted != want || wait <= 0 {
		t.Fatalf("%d storming negotiations admitted (want %d), wait %v", admitted, want, wait)
	}
	// Their candidates go out on their promises; an unpromised signal of theirs does not.
	for _, who := range storm[:admitted] {
		for range signalCost {
			if !send(who, false) {
				t.Fatal("a promised signal was refused")
			}
		}
	}
	for send(storm[admitted], false) {
	}
	if len(sentAt) != limit/2 {
		t.Errorf("storming signals took %d of the window, half is %d", len(sentAt), limit/2)
	}
	// A playing musician's negotiation still fits, and all its signals go out.
	if ok, w := b.admit(ana, signalCost, true); !ok {
		t.Fatalf("priority negotiation refused, wait %v", w)
	}
	for range signalCost {
		if !send(ana, true) {
			t.Fatal("a promised priority signal was refused")
		}
	}
	// Unpromised priority signals fill the window to the limit, and no further.
	for send(ana, true) {
	}
	if len(sentAt) != limit {
		t.Fatalf("%d signals in one window, limit %d", len(sentAt), limit)
	}
	// The wait a refusal names is when room frees: not before.
	_, w := b.admit(storm[0], signalCost, false)
	fc.Advance(w - time.Millisecond)
	if ok, _ := b.admit(storm[0], signalCost, false); ok {
		t.Fatalf("admitted %v before the wait it was given (%v) was over", time.Millisecond, w)
	}
	fc.Advance(time.Millisecond)
	if ok, w := b.admit(storm[0], signalCost, false); !ok {
		t.Fatalf("not admitted when the wait was over (asked to wait %v more)", w)
	}
	// A promise not kept expires, and its room is free again.
	fc.Advance(promiseLife)
	b.mu.Lock()
	b.pruneLocked(fc.Now())
	promised := b.promised
	b.mu.Unlock()
	if promised != 0 {
		t.Errorf("%d signals still promised after promiseLife", promised)
	}
	for i, at := range sentAt {
		n := 0
		for _, o := range sentAt[i:] {
			if o.Sub(at) < signalWindow {
				n++
			}
		}
		if n > limit {
			t.Fatalf("%d signals within %v of %v, limit %d", n, signalWindow, at, limit)
		}
	}
}

// A musician's offers count as a storm while its offer budget is not paid back, and for
// offerInterval after one of them was put off: put-off offers spend nothing, and an
// established musician storming must not win the priority half of the signal budget back
// by being put off.
func TestOfferBudgetCalm(t *testing.T) {
	fc := newFakeClock()
	var b offerBudget
	var gate timer
	defer gate.stop()
	if !b.calm(fc.Now()) {
		t.Fatal("no offer yet, not calm")
	}
	b.spend(fc, &gate)
	if b.calm(fc.Now()) {
		t.Error("calm right after an offer")
	}
	fc.Advance(offerInterval)
	if !b.calm(fc.Now()) {
		t.Error("not calm once the offer was paid back")
	}
	b.stormedAt = fc.Now()
	fc.Advance(offerInterval - time.Millisecond)
	if b.calm(fc.Now()) {
		t.Error("calm within offerInterval of a put-off storming offer")
	}
	fc.Advance(time.Millisecond)
	if !b.calm(fc.Now()) {
		t.Error("not calm offerInterval after the last put-off storming offer")
	}
}
