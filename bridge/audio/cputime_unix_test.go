//go:build unix

package audio

import (
	"syscall"
	"time"
)

// processCPUTime is user+system CPU time of this process. Benchmarks report it per op
// besides wall time because the shared CI/dev machines are loaded: wall time then includes
// time spent waiting for a core, CPU time does not.
func processCPUTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
