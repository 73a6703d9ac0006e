package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// slackChildEnv marks the run of TestTimerSlackReachesEveryThread inside a build without cgo.
const slackChildEnv = "LEDBRIDGE_TEST_SLACK_CHILD"

// TestTimerSlackReachesEveryThread checks that the daemon's timer slack is on every thread of the
// process: those that existed before (the runtime's monitor among them), and those started after.
// The runtime sets it on all its threads only in a binary without cgo, as the daemon ships, so
// the test runs itself again from such a build.
func TestTimerSlackReachesEveryThread(t *testing.T) {
	if os.Getenv(slackChildEnv) == "" {
		bin := filepath.Join(t.TempDir(), "cmd.test")
		build := exec.Command("go", "test", "-c", "-o", bin, ".")
		build.Env = append(os.Environ(), "CGO_ENABLED=0", "GOFLAGS=") // -race needs cgo
		if out, err := build.CombinedOutput(); err != nil {
			t.Fatalf("go test -c without cgo: %v\n%s", err, out)
		}
		child := exec.Command(bin, "-test.run=^"+t.Name()+"$", "-test.v")
		child.Env = append(filteredEnv(slackChildEnv, timerSlackEnv), slackChildEnv+"=1")
		out, err := child.CombinedOutput()
		if err != nil || !strings.Contains(string(out), "--- PASS: "+t.Name()) {
			t.Fatalf("the run without cgo: %v\n%s", err, out)
		}
		t.Logf("%s", out)
		return
	}

	// Whatever slack this process inherited (a unit's TimerSlackNSec=, a parent's), start from
	// the kernel's default on every thread, as a process started from a shell does.
	if _, _, errno := syscall.AllThreadsSyscall(syscall.SYS_PRCTL, syscall.PR_SET_TIMERSLACK, uintptr(defaultTimerSlack.Nanoseconds()), 0); errno != 0 {
		t.Fatalf("reset the slack: %v", errno)
	}

	// Threads held by goroutines, started before the slack is set, and more after it than the
	// process has threads, so that some of those are new.
	type thread struct {
		tid   int
		slack time.Duration
	}
	var (
		ready, done sync.WaitGroup
		check       = make(chan struct{})
		release     sync.Once
		mu          sync.Mutex
		seen        []thread
	)
	defer release.Do(func() { close(check) }) // a failure below must not leave them waiting
	hold := func() {
		defer done.Done()
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		ready.Done()
		<-check
		s, err := timerSlack()
		if err != nil {
			t.Error(err)
		}
		mu.Lock()
		seen = append(seen, thread{syscall.Gettid(), s})
		mu.Unlock()
	}
	const heldBefore = 4
	ready.Add(heldBefore)
	done.Add(heldBefore)
	for range heldBefore {
		go hold()
	}
	ready.Wait()
	tasks, err := os.ReadDir("/proc/self/task")
	if err != nil {
		t.Fatal(err)
	}
	before := map[int]bool{}
	for _, task := range tasks {
		var tid int
		if _, err := fmt.Sscan(task.Name(), &tid); err == nil {
			before[tid] = true
		}
	}

	const slack = 3 * time.Millisecond
	if err := setTimerSlackOnEveryThread(slack); err != nil {
		t.Fatal(err)
	}
	heldAfter := len(before) + 2
	ready.Add(heldAfter)
	done.Add(heldAfter)
	for range heldAfter {
		go hold()
	}
	ready.Wait()
	release.Do(func() { close(check) })
	done.Wait()
	newThreads := 0
	for _, th := range seen {
		if !before[th.tid] {
			newThreads++
		}
		if th.slack != slack {
			t.Errorf("thread %d (new: %v): timer slack %v, want %v", th.tid, !before[th.tid], th.slack, slack)
		}
	}
	if newThreads == 0 {
		t.Errorf("none of the %d threads held after the slack was set is new: inheritance not checked", heldAfter)
	}
	// Every thread, the monitor included, answers the same; the runtime stops the process if one
	// differs.
	got, _, errno := syscall.AllThreadsSyscall(syscall.SYS_PRCTL, syscall.PR_GET_TIMERSLACK, 0, 0)
	if errno != 0 || time.Duration(got) != slack {
		t.Fatalf("every thread's timer slack: %v (%v), want %v", time.Duration(got), errno, slack)
	}
	// Someone else's choice is left alone.
	if err := setTimerSlackOnEveryThread(time.Millisecond); err != nil {
		t.Fatal(err)
	}
	if cur, _ := timerSlack(); cur != slack {
		t.Errorf("a slack set before was changed to %v", cur)
	}
	t.Logf("%d threads checked, %d of them started after the slack was set", len(seen), newThreads)
}
