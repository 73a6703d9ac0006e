package main

import (
	"errors"
	"fmt"
	"os"
	"runtime"
	"syscall"
	"time"
)

// timerSlack returns the calling thread's timer slack (prctl PR_GET_TIMERSLACK).
func timerSlack() (time.Duration, error) {
	ns, _, errno := syscall.RawSyscall(syscall.SYS_PRCTL, syscall.PR_GET_TIMERSLACK, 0, 0)
	if errno != 0 {
		return 0, fmt.Errorf("prctl(PR_GET_TIMERSLACK): %w", errno)
	}
	return time.Duration(ns), nil
}

// defaultTimerSlack is the kernel's timer slack for ordinary (not real-time) threads.
const defaultTimerSlack = 50 * time.Microsecond

// reexecMarkerEnv is set in the environment of the re-executed process (and removed by it).
const reexecMarkerEnv = "LEDBRIDGE_TIMER_SLACK_REEXEC"

// reexecWithTimerSlack makes every thread of the process run with slack. When the slack is not the
// kernel's default it returns nil: it is already slack (this function ran before the exec), or
// someone chose another (systemd's TimerSlackNSec=, a parent process). Otherwise it sets slack on
// this thread and executes its own binary again with the same arguments and environment, so that the new
// runtime's threads, sysmon first, inherit it. It returns only on failure.
func reexecWithTimerSlack(slack time.Duration) error {
	cur, err := timerSlack()
	if err != nil {
		return err
	}
	// The marker makes a second exec impossible, whatever the kernel did with the slack.
	reexeced := os.Getenv(reexecMarkerEnv) != ""
	os.Unsetenv(reexecMarkerEnv)
	if cur != defaultTimerSlack {
		return nil
	}
	if reexeced {
		return errors.New("the timer slack did not survive the exec")
	}
	runtime.LockOSThread() // the slack is this thread's, and execve keeps the caller's
	defer runtime.UnlockOSThread()
	if _, _, errno := syscall.RawSyscall(syscall.SYS_PRCTL, syscall.PR_SET_TIMERSLACK, uintptr(slack.Nanoseconds()), 0); errno != 0 {
		return fmt.Errorf("prctl(PR_SET_TIMERSLACK): %w", errno)
	}
	// The binary's own path, not /proc/self/exe: the kernel names the process after the file
	// executed, and pgrep, pkill and top would know it as "exe".
	self, pathErr := os.Executable()
	if pathErr != nil {
		self = "/proc/self/exe"
	}
	err = syscall.Exec(self, os.Args, append(os.Environ(), reexecMarkerEnv+"=1"))
	// Still here: put this thread back as it was.
	if _, _, errno := syscall.RawSyscall(syscall.SYS_PRCTL, syscall.PR_SET_TIMERSLACK, uintptr(cur.Nanoseconds()), 0); errno != 0 {
		err = errors.Join(err, fmt.Errorf("prctl(PR_SET_TIMERSLACK) back: %w", errno))
	}
	return fmt.Errorf("re-execute %s: %w", self, err)
}
