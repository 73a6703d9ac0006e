package main

import (
	"fmt"
	"os"
	"runtime"
	"time"
)

// The join daemon's process settings (issue 4: at most 5 % of one core for 4 musicians and 4
// strips; docs/benchmarks/pipeline.md has the measurements behind both).
//
// Its load is a few percent of one core, in short bursts: a 60 fps tick of about half a
// millisecond, an RTP packet every 5 ms passing four goroutines in pion, a DDP send per strip per
// tick. Go's runtime, tuned for busy servers, spends as much again on these bursts:
//
//   - With more than one P, every goroutine handoff wakes an idle thread to run it, which then
//     spins looking for more work before it sleeps again. One P runs the same handoffs on the
//     thread that made them. One core is ample: the whole daemon uses a tenth of one.
//   - The runtime's monitor thread (sysmon) sleeps 20 µs at a time whenever any goroutine runs
//     (go.dev/issue/18236: the tick is hard-coded), so every burst wakes it dozens of times.
//     The kernel's timer slack lets a sleep end up to that much later, where it can share a
//     wake-up with others: with 1 ms, a burst costs sysmon one or two wake-ups. Timer slack is per
//     thread and sysmon exists before any of ledbridge's code runs, so the daemon sets it on every
//     thread at once (tune_linux.go). Timers elsewhere fire up to that much late: the ticker
//     keeps its absolute deadlines, so a frame moves by at most the slack and the rate does not
//     drift (measured: frame interval p99 17.6 ms with 1 ms, the same as without).
const (
	daemonMaxProcs   = 1
	daemonTimerSlack = time.Millisecond
)

// timerSlackEnv overrides daemonTimerSlack with a Go duration; "0" leaves the system's slack.
const timerSlackEnv = "LEDBRIDGE_TIMER_SLACK"

// tuneDaemonProcess applies the settings above to the join daemon. GOMAXPROCS set in the
// environment is left alone. It returns what it could not apply (nothing on success), for the
// log.
func tuneDaemonProcess() []string {
	var problems []string
	if os.Getenv("GOMAXPROCS") == "" {
		runtime.GOMAXPROCS(daemonMaxProcs)
	}
	slack := daemonTimerSlack
	if v := os.Getenv(timerSlackEnv); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d < 0 {
			return append(problems, fmt.Sprintf("%s=%q is not a duration such as 1ms; timer slack left as it is", timerSlackEnv, v))
		}
		slack = d
	}
	if slack == 0 {
		return problems
	}
	if err := setTimerSlackOnEveryThread(slack); err != nil {
		problems = append(problems, fmt.Sprintf("timer slack %v not applied (the runtime's idle polling costs more CPU): %v", slack, err))
	}
	return problems
}
