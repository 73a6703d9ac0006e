//go:build unix

package effect

import (
	"syscall"
	"time"
)

// processCPU is the CPU time this process has used. On a shared, loaded
// machine wall time per op overstates cost; CPU time per op does not.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
