package main

import (
	"errors"
	"fmt"
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

// setTimerSlackOnEveryThread gives every thread of the process the timer slack, unless the slack
// is not the kernel's default: then someone chose another (systemd's TimerSlackNSec=, a parent
// process) and it is left alone.
//
// Timer slack is per thread, and sysmon exists before any of ledbridge's code runs, so setting it
// on the calling thread is not enough. The Go runtime can run one system call on each of its
// threads (syscall.AllThreadsSyscall), and threads it starts later inherit the slack from the
// thread that creates them. That works only without cgo: the shipped binaries are built with
// CGO_ENABLED=0. An earlier version re-executed the binary with the slack instead, and a signal
// that arrived while the old image was being replaced could be lost.
func setTimerSlackOnEveryThread(slack time.Duration) error {
	cur, err := timerSlack()
	if err != nil {
		return err
	}
	if cur != defaultTimerSlack {
		return nil
	}
	_, _, errno := syscall.AllThreadsSyscall(syscall.SYS_PRCTL, syscall.PR_SET_TIMERSLACK, uintptr(slack.Nanoseconds()), 0)
	switch {
	case errno == syscall.ENOTSUP:
		return errors.New("this binary uses cgo, and the Go runtime cannot then set it on all its threads: build with CGO_ENABLED=0, or set the slack from outside (TimerSlackNSec= in the systemd unit)")
	case errno != 0:
		return fmt.Errorf("prctl(PR_SET_TIMERSLACK) on every thread: %w", errno)
	}
	return nil
}
