package main

import (
	"sync"
	"testing"
	"time"
)

// A stop waits for join's goroutines only until its deadline: one stuck behind a hung frame
// loop must not keep the daemon from exiting.
func TestWaitGroupUntilGivesUpAtTheDeadline(t *testing.T) {
	var wg sync.WaitGroup
	stuck := make(chan struct{})
	defer close(stuck)
	wg.Add(1)
	go func() {
		defer wg.Done()
		<-stuck
	}()
	start := time.Now()
	waitGroupUntil(&wg, start.Add(300*time.Millisecond))
	if waited := time.Since(start); waited < 300*time.Millisecond || waited > 5*time.Second {
		t.Errorf("waited %v for a stuck goroutine, want its deadline (300 ms)", waited)
	}

	var done sync.WaitGroup
	done.Add(1)
	go func() {
		defer done.Done()
		time.Sleep(50 * time.Millisecond)
	}()
	start = time.Now()
	waitGroupUntil(&done, time.Time{}) // no deadline: until they are done
	if waited := time.Since(start); waited < 40*time.Millisecond {
		t.Errorf("returned after %v, before the goroutine was done", waited)
	}
}
