//go:build !linux

package main

import (
	"errors"
	"time"
)

// setTimerSlackOnEveryThread does nothing: timer slack is a Linux setting.
func setTimerSlackOnEveryThread(time.Duration) error { return nil }

// timerSlack reports that there is no timer slack to read.
func timerSlack() (time.Duration, error) { return 0, errors.New("timer slack is Linux only") }
