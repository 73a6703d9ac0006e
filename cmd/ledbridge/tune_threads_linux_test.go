package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
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
// the test runs itself again from such a build: /proc shows only the main thread's slack.
func TestTimerSlackReachesEveryThread(t *testing.T) {
	if os.Getenv(slackChildEnv) == "" {
		bin := filepath.Join(t.TempDir(), "cmd.test")
		build := exec.Command("go", "test", "-c", "-o", bin, ".")
		build.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := build.CombinedOutput(); err != nil {
			t.Fatalf("go test -c without cgo: %v\n%s", err, out)
		}
		child := exec.Command(bin, "-test.run=^TestTimerSlackReachesEveryThread$", "-test.v")
		child.Env = append(filteredEnv(slackChildEnv, timerSlackEnv), slackChildEnv+"=1")
		out, err := child.CombinedOutput()
		if err != nil {
			t.Fatalf("the run without cgo: %v\n%s", err, out)
		}
		t.Logf("%s", out)
		return
	}

	const slack = 3 * time.Millisecond
	if cur, err := timerSlack(); err != nil || cur != defaultTimerSlack {
		t.Fatalf("the child starts with timer slack %v (%v), want the kernel's default", cur, err)
	}
	// Threads held by goroutines, started before the slack is set.
	const held = 4
	var (
		ready, check, done sync.WaitGroup
		mu                 sync.Mutex
		seen               []time.Duration
	)
	hold := func() {
		defer done.Done()
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		ready.Done()
		check.Wait()
		s, err := timerSlack()
		if err != nil {
			t.Error(err)
		}
		mu.Lock()
		seen = append(seen, s)
		mu.Unlock()
	}
	ready.Add(held)
	check.Add(1)
	done.Add(held)
	for range held {
		go hold()
	}
	ready.Wait()

	if err := setTimerSlackOnEveryThread(slack); err != nil {
		t.Fatal(err)
	}
	// A thread started afterwards: it inherits the slack from the thread that creates it.
	ready.Add(1)
	done.Add(1)
	go hold()
	ready.Wait()
	check.Done()
	done.Wait()
	for i, s := range seen {
		if s != slack {
			t.Errorf("thread %d of %d: timer slack %v, want %v", i+1, len(seen), s, slack)
		}
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
}
